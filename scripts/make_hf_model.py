#!/usr/bin/python3
"""Writes a random-weight Hugging Face model folder of the Llama family, laid out as
transformers' save_pretrained writes one, for chatforge's loader and converter tests
(no hub is reachable, so real architectures are tested with random weights).

The folder: config.json (the real keys of the model_type, "architectures", "torch_dtype";
json.dumps(indent=2, sort_keys=True) as HF writes it), generation_config.json, and either
model.safetensors or, with --shards N, model-00001-of-0000N.safetensors ... plus
model.safetensors.index.json ({"metadata": {"total_size": bytes}, "weight_map": {name:
file}}). Tensors are stored under HF names in the chosen dtype (bf16/f16 as raw
little-endian bits), header metadata {"format": "pt"}; a tied model has no lm_head.weight.
No tokenizer files: tests add one.

With --ids, the model (scripts/torch_llama.py) runs on those token ids AFTER its weights are
rounded to the stored dtype, computing in float32 (what a loader that widens bf16/f16 to f32
must reproduce), and --logits-out FILE.json gets
  {"ids": [...], "logits_last": [V floats: the logits after the last id],
   "greedy": [N ids: argmax decoding, each step recomputed over the whole sequence],
   "greedy_margins": [N: top-1 minus top-2 logit of each step, to judge near-ties]}.
(Greedy with HF's KV cache gives the same ids, except with "dynamic" rope scaling once the
sequence outgrows max_position_embeddings: HF's cached keys keep their old rotation.)

Defaults per --arch (every size flag overrides): vocab 256, 2 layers, hidden 64, 4 heads,
2 kv heads, intermediate 128, max positions 256; llama: head_dim written (hidden/heads, as
Llama 3.2 does), rope_theta 500000, llama3 rope scaling (factor 8, original context 64: all
three frequency bands at head size 16), untied; mistral: no head_dim key, rope_theta 1e6,
sliding_window null, untied; qwen2: q/k/v biases, no head_dim key, rope_theta 1e6, tied;
qwen3: head_dim 2 * hidden/heads (as Qwen3-0.6B), q/k norms, rope_theta 1e6, tied. Weights: matrices and
embeddings --init-std randn (0.02), biases 0.02 randn, norm weights 1 + 0.1 randn.

Usage: /usr/bin/python3 scripts/make_hf_model.py --arch llama|mistral|qwen2|qwen3 --out DIR
         [--dtype f32|bf16|f16] [--shards N] [--seed S] [--vocab V] [--layers L] [--hidden C]
         [--heads NH] [--kv-heads NKV] [--intermediate I] [--head-dim HS] [--max-pos P]
         [--rope-theta X] [--rope-scaling JSON|none] [--tie|--no-tie] [--attention-bias]
         [--rms-eps E] [--bos-id N] [--eos-id N] [--init-std S]
         [--ids 1,2,3 --logits-out FILE.json [--greedy N]]
e.g. make_hf_model.py --arch qwen3 --dtype bf16 --shards 2 --out /tmp/q3 --ids 5,9,2 \\
       --logits-out /tmp/q3/expect.json --greedy 8
Needs Debian's python3-torch (1.13, CPU).
"""
import argparse
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_llama  # noqa: E402

TRANSFORMERS_VERSION = "4.51.3"  # the save_pretrained format emulated (Qwen3 needs >= 4.51)
DTYPES = {"f32": (torch.float32, "F32", "float32"), "bf16": (torch.bfloat16, "BF16", "bfloat16"),
          "f16": (torch.float16, "F16", "float16")}

ARCH_DEFAULTS = {
    "llama": dict(head_dim=lambda a: a.hidden // a.heads, rope_theta=500000.0, rms_norm_eps=1e-5, tie_word_embeddings=False,
                  rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                "high_freq_factor": 4.0, "original_max_position_embeddings": 64}),
    "mistral": dict(rope_theta=1000000.0, rms_norm_eps=1e-5, tie_word_embeddings=False, rope_scaling=None),
    "qwen2": dict(rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True, rope_scaling=None),
    "qwen3": dict(head_dim=lambda a: 2 * a.hidden // a.heads, rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True,
                  rope_scaling=None),
}


def build_config(args):
    """The config.json dict of --arch with the keys HF writes for that model_type."""
    d = ARCH_DEFAULTS[args.arch]
    V = args.vocab
    cfg = dict(
        architectures=[torch_llama.ARCHITECTURES[args.arch]], model_type=args.arch,
        vocab_size=V, hidden_size=args.hidden, intermediate_size=args.intermediate,
        num_hidden_layers=args.layers, num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
        hidden_act="silu", max_position_embeddings=args.max_pos, initializer_range=args.init_std,
        rms_norm_eps=args.rms_eps if args.rms_eps is not None else d["rms_norm_eps"],
        rope_theta=args.rope_theta if args.rope_theta is not None else d["rope_theta"],
        rope_scaling=d["rope_scaling"], attention_dropout=0.0, use_cache=True,
        tie_word_embeddings=d["tie_word_embeddings"] if args.tie is None else args.tie,
        bos_token_id=args.bos_id if args.bos_id is not None else V - 2,
        eos_token_id=args.eos_id if args.eos_id is not None else V - 1,
        torch_dtype=DTYPES[args.dtype][2], transformers_version=TRANSFORMERS_VERSION)
    if args.rope_scaling is not None:
        cfg["rope_scaling"] = None if args.rope_scaling == "none" else json.loads(args.rope_scaling)
    head_dim = args.head_dim if args.head_dim is not None else d.get("head_dim", lambda a: None)(args)
    if head_dim is not None:
        cfg["head_dim"] = head_dim
    if args.arch == "llama":
        cfg.update(attention_bias=args.attention_bias, mlp_bias=False, pretraining_tp=1)
    elif args.arch == "mistral":
        cfg.update(sliding_window=None)
        if args.attention_bias:
            sys.exit("error: --attention-bias: Mistral has no attention biases")
    elif args.arch == "qwen2":
        cfg.update(use_sliding_window=False, sliding_window=4096, max_window_layers=args.layers)
        if args.attention_bias:
            sys.exit("error: --attention-bias: Qwen2 always has q/k/v biases and never an o_proj bias")
    else:
        cfg.update(attention_bias=args.attention_bias, use_sliding_window=False, sliding_window=None,
                   max_window_layers=args.layers)
    return cfg


def init_weights(model, gen, std):
    for name, p in model.named_parameters():
        with torch.no_grad():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(0.02 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(std * torch.randn(p.shape, generator=gen))


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: its bits as int16, little-endian
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    if t.dtype == torch.float16:
        return t.numpy().astype("<f2").tobytes()
    return t.numpy().astype("<f4").tobytes()


def write_safetensors(path, tensors, st_dtype):
    """safetensors as safetensors.torch.save_file writes it: header {"__metadata__":
    {"format": "pt"}, name: {dtype, shape, data_offsets}} padded with spaces to 8 bytes,
    tensors sorted by name (one dtype), data in that order."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in sorted(tensors, key=lambda nt: nt[0]):
        data = tensor_bytes(t)
        header[name] = {"dtype": st_dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)
    return offset


def split_shards(tensors, n):
    """n contiguous groups of the state_dict order, cut where the running byte count passes
    k/n of the total (as save_pretrained's max_shard_size cuts); by count if that leaves one empty."""
    if n > len(tensors):
        sys.exit(f"error: --shards {n}: the model has only {len(tensors)} tensors")
    sizes = [t.numel() * t.element_size() for _, t in tensors]
    total, run, groups = sum(sizes), 0, [[] for _ in range(n)]
    for (name, t), s in zip(tensors, sizes):
        groups[min(n - 1, run * n // total)].append((name, t))
        run += s
    if any(not g for g in groups):
        per = -(-len(tensors) // n)
        groups = [tensors[i * per:(i + 1) * per] for i in range(n)]
        if any(not g for g in groups):
            groups = [tensors[i::n] for i in range(n)]
    return groups


def write_json(path, obj):
    with open(path + ".tmp", "w") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")
    os.replace(path + ".tmp", path)


def greedy(model, ids, n):
    out, margins, seq = [], [], list(ids)
    with torch.no_grad():
        for _ in range(n):
            last = model(torch.tensor([seq]))[0, -1]
            top = torch.topk(last, 2)
            out.append(int(top.indices[0]))
            margins.append(float(top.values[0] - top.values[1]))
            seq.append(out[-1])
    return out, margins


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", required=True, choices=sorted(ARCH_DEFAULTS))
    ap.add_argument("--out", required=True, help="the model folder (created)")
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--vocab", type=int, default=256)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--intermediate", type=int, default=128)
    ap.add_argument("--head-dim", type=int)
    ap.add_argument("--max-pos", type=int, default=256)
    ap.add_argument("--rope-theta", type=float)
    ap.add_argument("--rope-scaling", help="rope_scaling JSON, or none")
    ap.add_argument("--tie", dest="tie", action="store_true", default=None)
    ap.add_argument("--no-tie", dest="tie", action="store_false")
    ap.add_argument("--attention-bias", action="store_true", help="llama/qwen3: q/k/v/o biases")
    ap.add_argument("--rms-eps", type=float)
    ap.add_argument("--bos-id", type=int)
    ap.add_argument("--eos-id", type=int)
    ap.add_argument("--init-std", type=float, default=0.02)
    ap.add_argument("--ids", help="comma-separated token ids to run the model on")
    ap.add_argument("--logits-out", help="with --ids: the JSON file of expected outputs")
    ap.add_argument("--greedy", type=int, default=0, help="with --ids: greedy-decode N tokens")
    args = ap.parse_args()
    if args.shards < 1:
        ap.error("--shards must be >= 1")
    if bool(args.ids) != bool(args.logits_out):
        ap.error("--ids and --logits-out go together")
    ids = [int(x) for x in args.ids.split(",")] if args.ids else []
    if any(not 0 <= i < args.vocab for i in ids):
        ap.error(f"--ids: every id must be in [0, {args.vocab})")

    torch.set_num_threads(1)
    cfg = build_config(args)
    try:
        model = torch_llama.Llama(cfg)
    except (ValueError, KeyError) as e:
        sys.exit(f"error: config: {e}")
    init_weights(model, torch.Generator().manual_seed(args.seed), args.init_std)
    dtype, st_dtype, _ = DTYPES[args.dtype]
    with torch.no_grad():  # what is stored is what the reference computes with
        for p in model.parameters():
            p.copy_(p.to(dtype).float())

    os.makedirs(args.out, exist_ok=True)
    write_json(os.path.join(args.out, "config.json"), cfg)
    write_json(os.path.join(args.out, "generation_config.json"),
               {"_from_model_config": True, "bos_token_id": cfg["bos_token_id"],
                "eos_token_id": cfg["eos_token_id"], "transformers_version": TRANSFORMERS_VERSION})
    tensors = [(n, t.to(dtype)) for n, t in torch_llama.hf_tensors(model)]
    if args.shards == 1:
        write_safetensors(os.path.join(args.out, "model.safetensors"), tensors, st_dtype)
    else:
        weight_map, total = {}, 0
        for k, group in enumerate(split_shards(tensors, args.shards)):
            fname = f"model-{k + 1:05d}-of-{args.shards:05d}.safetensors"
            total += write_safetensors(os.path.join(args.out, fname), group, st_dtype)
            weight_map.update({n: fname for n, _ in group})
        write_json(os.path.join(args.out, "model.safetensors.index.json"),
                   {"metadata": {"total_size": total}, "weight_map": weight_map})
    n_params = sum(t.numel() for _, t in tensors)
    print(f"wrote {args.out}: {args.arch}, {n_params} parameters in {args.shards} file(s), {args.dtype}")

    if ids:
        with torch.no_grad():
            logits = model(torch.tensor([ids]))[0, -1]
        gen, margins = greedy(model, ids, args.greedy)
        write_json(args.logits_out, {"ids": ids, "logits_last": [float(x) for x in logits],
                                     "greedy": gen, "greedy_margins": margins})
        print(f"wrote {args.logits_out}: greedy {gen}, smallest margin {min(margins, default=0):.3g}")


if __name__ == "__main__":
    main()
