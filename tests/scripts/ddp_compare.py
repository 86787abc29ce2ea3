#!/usr/bin/env python3
"""Compares two training runs for the data-parallel tests: per-step train losses from
metrics.jsonl and every tensor of a safetensors file in their last checkpoints, within a
relative tolerance (max |a-b| / max |a| per tensor; losses |a-b| / |a|). Exit 1 on a
mismatch, naming it.
One exception, by design: the key third of each attn.c_attn.bias has an exactly zero
gradient (softmax ignores a shift shared by all keys), so its values are round-off that
Adam scales up to ~lr per step and any change of summation order (ranks, threads) changes
them; it is compared with an absolute tolerance (tol) instead, like the 1e-6-sized
values it holds. Usage: ddp_compare.py RUN_A RUN_B [--tol 1e-5] [--file NAME]..."""
import argparse, json, os, sys
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from cf_files import read_safetensors  # noqa: E402


def losses(run):
    res = {}
    for line in open(f"{run}/metrics.jsonl"):
        j = json.loads(line)
        if j["type"] == "train":
            res[j["step"]] = j["loss"]
    return res

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a"); ap.add_argument("b")
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--file", action="append", default=None)
    args = ap.parse_args()
    bad = 0
    la, lb = losses(args.a), losses(args.b)
    if sorted(la) != sorted(lb):
        print(f"FAIL: logged steps differ: {sorted(la)} vs {sorted(lb)}"); return 1
    worst_loss = 0.0
    for s in sorted(la):
        rel = abs(la[s] - lb[s]) / max(abs(la[s]), 1e-30)
        worst_loss = max(worst_loss, rel)
        if rel > args.tol:
            print(f"FAIL: step {s} loss {la[s]!r} vs {lb[s]!r} (relative {rel:.2e})"); bad += 1
    worst = 0.0
    for fname in args.file or ["model.safetensors"]:
        ta = read_safetensors(f"{args.a}/last/{fname}")
        tb = read_safetensors(f"{args.b}/last/{fname}")
        if sorted(ta) != sorted(tb):
            print(f"FAIL: {fname}: tensor names differ"); return 1
        for k in ta:
            if ta[k].shape != tb[k].shape:
                print(f"FAIL: {fname}:{k}: shapes {ta[k].shape} vs {tb[k].shape}"); bad += 1; continue
            a64, b64 = ta[k].astype(np.float64), tb[k].astype(np.float64)
            if k.endswith("attn.c_attn.bias"):  # check the key third absolutely (see above)
                c = a64.shape[-1] // 3
                kd = float(np.max(np.abs(a64[..., c:2 * c] - b64[..., c:2 * c])))
                if kd > args.tol:
                    print(f"FAIL: {fname}:{k} key bias differs by {kd:.2e} > {args.tol:g}"); bad += 1
                a64 = np.concatenate([a64[..., :c], a64[..., 2 * c:]], axis=-1)
                b64 = np.concatenate([b64[..., :c], b64[..., 2 * c:]], axis=-1)
            scale = float(np.max(np.abs(a64))) or 1.0
            rel = float(np.max(np.abs(a64 - b64))) / scale if a64.size else 0.0
            worst = max(worst, rel)
            if rel > args.tol:
                print(f"FAIL: {fname}:{k} differs: max relative {rel:.2e} > {args.tol:g}"); bad += 1
    print(f"{len(la)} step losses (worst relative {worst_loss:.1e}) and tensors of {', '.join(args.file or ['model.safetensors'])}"
          f" (worst relative {worst:.1e}) agree within {args.tol:g}" if not bad else f"{bad} mismatches")
    return 1 if bad else 0

if __name__ == "__main__":
    sys.exit(main())
