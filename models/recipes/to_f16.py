"""Rewrites a safetensors file with its F32 tensors as F16, in place (after checking
the values survive: finite, and no larger than F16 can hold).

`nlpipe train --unfreeze-top N` writes the updated backbone in F32; the bundled copies
are stored in F16 like the pretrained backbone, to keep the repository small. nlpipe
converts F16 to F32 once at load, so results change only by F16 rounding (the model
card's dev scores are measured on the F16 files).

    /usr/bin/python3 models/recipes/to_f16.py FILE.safetensors [...]
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import load_file, save_file  # noqa: E402


def main():
    for path in sys.argv[1:]:
        tensors, meta = load_file(path)
        out = {}
        for name, a in tensors.items():
            if a.dtype == np.float32:
                assert np.isfinite(a).all() and np.abs(a).max(initial=0) < 65504, name
                a = a.astype(np.float16)
            out[name] = a
        save_file(out, path + ".tmp", metadata=meta)
        os.replace(path + ".tmp", path)
        print(f"{path}: {os.path.getsize(path):,} bytes")


if __name__ == "__main__":
    main()
