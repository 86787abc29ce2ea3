#!/usr/bin/python3
"""Compares two safetensors fixtures written by scripts/make_golden.py: the same tensor
names, shapes and dtypes and metadata (the torch version aside), integer tensors equal,
float tensors equal within a tolerance relative to each tensor's largest value.

PyTorch's last bits differ between CPUs (Intel vs AMD, AVX2 vs AVX-512 kernels), so a
fixture regenerated on another machine never matches byte for byte; this checks that the
committed fixture is still what the generator writes, up to that noise.

Usage: /usr/bin/python3 scripts/compare_fixture.py A.safetensors B.safetensors [--rtol 1e-4]
       [--rtol-for REGEX RTOL ...] [--noise-only REGEX ...]
--rtol-for: another tolerance for the tensors whose names match (the first match counts),
e.g. weights after a few AdamW steps, which divide small gradients by their own size and so
carry the noise of the last bits further than a forward or a gradient does.
--noise-only: tensors whose values are rounding noise by construction (trained weights whose
gradient is zero in exact arithmetic, e.g. attention key biases: softmax ignores a shift
that is the same for every key; AdamW turns their noise gradients into full-size steps whose
signs differ from CPU to CPU). Their names and shapes are checked, not their values.
Exits 1 naming the first tensor that differs. Needs numpy only.
"""
import argparse
import json
import re
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "I32": np.int32, "U8": np.uint8, "F16": np.float16, "I64": np.int64}


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    out = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        out[name] = (info["dtype"], np.frombuffer(body[a:b], dtype=DTYPES[info["dtype"]]).reshape(info["shape"]))
    return meta, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rtol", type=float, default=1e-4)
    ap.add_argument("--rtol-for", nargs=2, action="append", default=[], metavar=("REGEX", "RTOL"))
    ap.add_argument("--noise-only", action="append", default=[], metavar="REGEX")
    args = ap.parse_args()
    ma, ta = read(args.a)
    mb, tb = read(args.b)
    ma.pop("torch", None)
    mb.pop("torch", None)
    if ma != mb:
        sys.exit(f"metadata differs: {ma} vs {mb}")
    if sorted(ta) != sorted(tb):
        sys.exit(f"tensor names differ: {sorted(set(ta) ^ set(tb))}")
    worst = ("", 0.0)
    for name in ta:
        (da, a), (db, b) = ta[name], tb[name]
        if da != db or a.shape != b.shape:
            sys.exit(f"{name}: {da}{list(a.shape)} vs {db}{list(b.shape)}")
        if any(re.search(rx, name) for rx in args.noise_only):
            continue
        if da != "F32":
            if not np.array_equal(a, b):
                sys.exit(f"{name}: integer tensor differs")
            continue
        scale = max(float(np.max(np.abs(b))), 1e-30)
        rel = float(np.max(np.abs(a.astype(np.float64) - b))) / scale
        if rel > worst[1]:
            worst = (name, rel)
        rtol = next((float(t) for rx, t in args.rtol_for if re.search(rx, name)), args.rtol)
        if rel > rtol:
            sys.exit(f"{name}: relative difference {rel:.3g} exceeds {rtol:g}")
    print(f"fixtures agree: {len(ta)} tensors, worst relative difference {worst[1]:.3g} ({worst[0] or 'none'})")


if __name__ == "__main__":
    main()
