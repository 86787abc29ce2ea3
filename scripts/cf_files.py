"""Readers of chatforge's files for the Python reference scripts and tests (numpy only):
safetensors (F32 tensors, e.g. model.safetensors, optimizer.safetensors) and token shards
(data/shard.h: a 64-byte header, then uint16 or uint32 tokens)."""
import json
import struct

import numpy as np


def read_safetensors(path):
    """{name: float32 array} of every tensor in a safetensors file."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (path, name, info["dtype"])
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=np.float32).reshape(info["shape"])
    return out


def read_shard(path):
    """The tokens of a chatforge token shard as an int64 array."""
    raw = open(path, "rb").read()
    assert raw[:7] == b"CFSHARD", path
    token_bytes, n_tokens = struct.unpack("<I", raw[12:16])[0], struct.unpack("<Q", raw[16:24])[0]
    dtype = np.uint16 if token_bytes == 2 else np.uint32
    return np.frombuffer(raw[64:64 + n_tokens * token_bytes], dtype=dtype).astype(np.int64)
