"""Tiny reader/writer for the safetensors format (numpy only; Debian has no safetensors).

File layout: u64 little-endian N, then N bytes of UTF-8 JSON
  {"__metadata__": {...str: str}, "<name>": {"dtype": "F16", "shape": [..], "data_offsets": [b, e]}, ...}
(padded with spaces so the data starts 8-byte aligned), then the tensor bytes, little-endian,
C order. Offsets are relative to the start of the data block; the tensors tile it exactly
(no holes, as the reference implementation requires). The writer puts tensors whose byte size
is a multiple of 8 first, so every tensor but possibly the last few starts 8-byte aligned.
"""
import json
import struct

import numpy as np

DTYPES = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "BF16": None,
          "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8,
          "BOOL": np.bool_}
NP2ST = {np.dtype(v): k for k, v in DTYPES.items() if v is not None}


def save_file(tensors, path, metadata=None):
    """tensors: dict name -> numpy array (C-contiguous copies are made)."""
    names = sorted(tensors, key=lambda n: (tensors[n].nbytes % 8 != 0, n))
    header, off = {}, 0
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for n in names:
        a = tensors[n]
        nb = a.nbytes
        header[n] = {"dtype": NP2ST[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + nb]}
        off += nb
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - (8 + len(hb)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for n in names:
            a = np.ascontiguousarray(tensors[n])
            if a.dtype.byteorder == ">":
                a = a.astype(a.dtype.newbyteorder("<"))
            f.write(a.tobytes(order="C"))
    return names


def load_file(path):
    """-> (dict name -> numpy array (copies), metadata dict). Validates the layout."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = memoryview(buf)[8 + n:]
    spans = sorted((v["data_offsets"][0], v["data_offsets"][1], k) for k, v in header.items())
    pos = 0
    for b, e, k in spans:
        if b != pos:
            raise ValueError(f"{k}: offset {b}, expected {pos} (hole or overlap)")
        pos = e
    if pos != len(data):
        raise ValueError(f"data block is {len(data)} bytes, tensors cover {pos}")
    out = {}
    for k, v in header.items():
        dt = np.dtype(DTYPES[v["dtype"]]).newbyteorder("<")
        b, e = v["data_offsets"]
        a = np.frombuffer(data[b:e], dtype=dt)
        if a.size != int(np.prod(v["shape"], dtype=np.int64)):
            raise ValueError(f"{k}: {a.size} elements for shape {v['shape']}")
        out[k] = a.reshape(v["shape"]).copy()
    return out, meta
