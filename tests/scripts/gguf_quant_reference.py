#!/usr/bin/python3
"""Writes a copy of a Hugging Face Llama-family folder (F32 safetensors) whose weights are
rounded as chatforge's GGUF export stores them at --type q8_0 or q4_0, so `chatforge
generate` on the copy is the reference for llama.cpp running the quantized file (what is
left is llama.cpp's own rounding of activations to 8 bits in its quantized dot products).
Rounding, written here from ggml's reference quantizers (independently of the C++ writer):
  Q8_0: blocks of 32 along a row, d = max|x| / 127 (stored as fp16), q = round(x / d)
        (half away from zero), x' = q * fp16(d);
  Q4_0: blocks of 32, m = the value of largest magnitude (first one), d = m / -8,
        q = min(15, trunc(x / d + 8.5)), x' = (q - 8) * fp16(d).
Matrices and embeddings take the type (with q4_0 the tensor that computes the logits,
lm_head.weight or a tied embed_tokens.weight, takes Q8_0); norms and biases stay F32.

Usage: gguf_quant_reference.py SRC_DIR DST_DIR q8_0|q4_0
"""
import json
import os
import shutil
import struct
import sys

import numpy as np


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    head.pop("__metadata__", None)
    out = {}
    for name, t in head.items():
        assert t["dtype"] == "F32", (name, t["dtype"])
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(t["shape"]).copy()
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        data = tensors[name].astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def fp16(x):
    return x.astype(np.float16).astype(np.float32)


def q8_0(w):
    b = w.reshape(-1, 32).astype(np.float32)
    d = (np.abs(b).max(axis=1) / np.float32(127)).astype(np.float32)
    inv = np.where(d != 0, np.float32(1) / np.where(d != 0, d, 1), 0).astype(np.float32)
    x = b * inv[:, None]
    q = np.sign(x) * np.floor(np.abs(x) + np.float32(0.5))
    return (q * fp16(d)[:, None]).astype(np.float32).reshape(w.shape)


def q4_0(w):
    b = w.reshape(-1, 32).astype(np.float32)
    m = b[np.arange(len(b)), np.abs(b).argmax(axis=1)]
    d = (m / np.float32(-8)).astype(np.float32)
    inv = np.where(d != 0, np.float32(1) / np.where(d != 0, d, 1), 0).astype(np.float32)
    q = np.minimum(15, np.trunc(b * inv[:, None] + np.float32(8.5)))
    return ((q - 8) * fp16(d)[:, None]).astype(np.float32).reshape(w.shape)


def main():
    src, dst, kind = sys.argv[1], sys.argv[2], sys.argv[3]
    assert kind in ("q8_0", "q4_0"), kind
    cfg = json.load(open(os.path.join(src, "config.json")))
    logits = "model.embed_tokens.weight" if cfg.get("tie_word_embeddings") else "lm_head.weight"
    tensors = read_safetensors(os.path.join(src, "model.safetensors"))
    for name, w in tensors.items():
        if w.ndim != 2:
            continue
        assert w.shape[1] % 32 == 0, (name, w.shape)
        tensors[name] = q8_0(w) if kind == "q8_0" or name == logits else q4_0(w)
    os.makedirs(dst, exist_ok=True)
    for f in os.listdir(src):
        if f.endswith(".json") and f != "model.safetensors.index.json":
            shutil.copy(os.path.join(src, f), os.path.join(dst, f))
    write_safetensors(os.path.join(dst, "model.safetensors"), tensors)


if __name__ == "__main__":
    main()
