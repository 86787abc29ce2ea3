"""Hugging Face GPT-2 folders for the convert tests, written with numpy the way
transformers' save_pretrained does (no "transformer." prefix, Conv1D (in, out) weights
are stored as they are, attn.bias mask buffers included), from a chatforge checkpoint.

  make SRC_DIR OUT_DIR f32|f16|bf16|sharded   an HF folder from our model.safetensors
  compare A_DIR B_DIR                          byte-identical tensors (names sans prefix)
  break KIND HF_DIR                            damage a folder: missing|shape|arch|truncated
"""
import json, os, shutil, struct, sys

import numpy as np

DT = {"F32": np.float32, "F16": np.float16}


def read(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    meta = head.pop("__metadata__", None)
    out = {}
    for name, t in head.items():
        b, e = t["data_offsets"]
        out[name] = (t["dtype"], t["shape"], raw[8 + n + b:8 + n + e])
    return out, meta


def write(path, tensors):  # tensors: name -> (dtype, shape, bytes)
    head, off = {"__metadata__": {"format": "pt"}}, 0
    for name, (dt, shape, data) in tensors.items():
        head[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data)
    h = json.dumps(head).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for _, _, data in tensors.values():
            f.write(data)


def to_bf16(a):
    u = a.astype(np.float32).view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def make(src, out, kind):
    os.makedirs(out, exist_ok=True)
    cfg = json.load(open(f"{src}/config.json"))
    tensors, _ = read(f"{src}/model.safetensors")
    conv = {}
    for name, (dt, shape, data) in tensors.items():
        a = np.frombuffer(data, dtype=np.float32).reshape(shape)
        name = name[len("transformer."):] if name.startswith("transformer.") else name
        if kind == "f16":
            conv[name] = ("F16", shape, a.astype(np.float16).tobytes())
        elif kind == "bf16":
            conv[name] = ("BF16", shape, to_bf16(a).tobytes())
        else:
            conv[name] = ("F32", shape, a.tobytes())
        if name.endswith("ln_1.weight"):  # the causal-mask buffer old saves carry
            layer = name.split(".")[1]
            n = 8
            conv[f"h.{layer}.attn.bias"] = ("F32", [1, 1, n, n], np.tril(np.ones((n, n), np.float32)).tobytes())
    cfg["torch_dtype"] = {"f16": "float16", "bf16": "bfloat16"}.get(kind, "float32")
    json.dump(cfg, open(f"{out}/config.json", "w"), indent=2)
    if kind == "sharded":
        names = list(conv)
        parts = [names[: len(names) // 2], names[len(names) // 2:]]
        wmap = {}
        for i, part in enumerate(parts):
            fname = f"model-{i + 1:05d}-of-00002.safetensors"
            write(f"{out}/{fname}", {k: conv[k] for k in part})
            wmap.update({k: fname for k in part})
        json.dump({"metadata": {"total_size": sum(len(v[2]) for v in conv.values())}, "weight_map": wmap},
                  open(f"{out}/model.safetensors.index.json", "w"), indent=2)
    else:
        write(f"{out}/model.safetensors", conv)


def compare(a_dir, b_dir):
    def load(d):
        files = [f for f in os.listdir(d) if f.endswith(".safetensors")]
        out = {}
        for f in files:
            t, _ = read(f"{d}/{f}")
            for name, v in t.items():
                if name.endswith(".attn.bias"):
                    continue
                out[name[len("transformer."):] if name.startswith("transformer.") else name] = v
        return out
    a, b = load(a_dir), load(b_dir)
    assert sorted(a) == sorted(b), f"tensor names differ: {sorted(set(a) ^ set(b))}"
    for name in a:
        assert a[name][0] == b[name][0], f"{name}: dtype {a[name][0]} vs {b[name][0]}"
        assert a[name][1] == b[name][1], f"{name}: shape {a[name][1]} vs {b[name][1]}"
        assert a[name][2] == b[name][2], f"{name}: bytes differ"
    print(f"{len(a)} tensors byte-identical")


def damage(kind, d):
    st = f"{d}/model.safetensors"
    if kind == "arch":
        cfg = json.load(open(f"{d}/config.json"))
        cfg["model_type"], cfg["architectures"] = "mamba", ["MambaForCausalLM"]
        json.dump(cfg, open(f"{d}/config.json", "w"))
    elif kind == "truncated":
        raw = open(st, "rb").read()
        n = struct.unpack("<Q", raw[:8])[0]
        open(st, "wb").write(raw[: 8 + n // 2])
    else:
        t, _ = read(st)
        if kind == "missing":
            del t["h.1.mlp.c_fc.weight"]
        elif kind == "shape":
            dt, shape, data = t["h.0.attn.c_attn.weight"]
            t["h.0.attn.c_attn.weight"] = (dt, [shape[1], shape[0]], data)
        write(st, t)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "make":
        make(*sys.argv[2:5])
    elif cmd == "compare":
        compare(*sys.argv[2:4])
    elif cmd == "break":
        damage(*sys.argv[2:4])
