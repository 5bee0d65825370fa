"""safetensors_f32.py — writes float32 tensors as a .safetensors file the way the train
fixtures have always been written (names sorted, optional __metadata__ first, header
padded with spaces to 8 bytes), for the generators that need nothing more."""
import json
import struct


def write_f32(path, tensors, metadata=None):
    """TENSORS: name -> float32 array (numpy, C order); METADATA: str -> str or None."""
    header, blobs, off = ({"__metadata__": metadata} if metadata else {}), [], 0
    for name in sorted(tensors):
        b = tensors[name].tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)) + hj + b"".join(blobs))
