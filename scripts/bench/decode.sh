#!/usr/bin/env bash
# batch-1 decode vs the memory-bandwidth bound and vs llama.cpp (GPT-2 124M shape; f32, f16, bf16, int8)
# One random-weight checkpoint at the GPT-2 124M shape (made once, kept under
# build/release/bench-tmp/decode) is run by chatforge (bench_decode: every weight format,
# the bound measured in the same run) and, exported to GGUF f32 and f16 by `chatforge convert`,
# by llama.cpp (node-llama-cpp 3.21.1, bench/decode_llama.mjs) with the same threads: batch-1
# decode, prefill of 256 tokens and batch-8 decode. Thread scaling 1 -> 2 for both.
# usage: scripts/bench.sh decode (THREADS=2 by default). Builds nothing. Ends with RESULT.
set -euo pipefail
cd "$(dirname "$0")/../.."
CF_BUILD=${CF_BUILD:-build/release}
CF=$CF_BUILD/chatforge
threads=${THREADS:-2}
# libgomp's default wait policy (spin a little, then sleep): a decode step meets at ~60
# barriers, and sleeping threads take tens of microseconds to wake at each. llama.cpp's
# own thread pool spins too. (PASSIVE only matters when two programs share the cores.)
unset OMP_WAIT_POLICY
export OMP_NUM_THREADS=$threads
tmp=$CF_BUILD/bench-tmp/decode
deps=.cache/testdeps
[ -d "$deps/node_modules/node-llama-cpp" ] || bash scripts/fetch_testdeps.sh >/dev/null
mkdir -p "$tmp"
if [ ! -f "$tmp/model-f16.gguf" ]; then
  echo "making the GPT-2 124M-shape checkpoint and its GGUF files (once) ..."
  rm -rf "$tmp"/* && mkdir -p "$tmp/corpus"
  printf 'The quick brown fox jumps over the lazy dog. 你好，世界。\n%.0s' {1..50} > "$tmp/corpus/a.txt"
  "$CF" tokenizer train --input "$tmp/corpus" --vocab-size 300 --out "$tmp/tok" >/dev/null 2>&1
  "$CF" model init --out "$tmp/model" --n-layer 12 --n-head 12 --n-embd 768 --vocab-size 50257 --n-ctx 1024 \
    >/dev/null
  cp "$tmp/tok/tokenizer.json" "$tmp/model/"
  for t in f32 f16; do "$CF" convert --to gguf --input "$tmp/model" --out "$tmp/model-$t.gguf" --type "$t" >/dev/null; done
fi
# the script runs from a private folder whose node_modules points at the test deps (ESM
# resolves packages from the script's folder up; the shared cache may be refreshed meanwhile)
mkdir -p "$tmp/node"
ln -sfn "$(readlink -f "$deps/node_modules")" "$tmp/node/node_modules"
cp bench/decode_llama.mjs "$tmp/node/decode_llama.mjs"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $threads threads"

echo "== chatforge =="
out=$("$CF_BUILD/bench/bench_decode" model="$tmp/model" prompt=256 new=32 batch=8 formats=f32,f16,bf16,int8 \
  threads=1,$threads)
echo "$out" | grep -v '^RESULT'
cf_result=$(echo "$out" | grep '^RESULT' | tail -1)

echo "== llama.cpp (node-llama-cpp 3.21.1) =="
declare -A llama
for run in "f32 $threads" "f16 $threads" "f32 1"; do
  set -- $run
  line=$(node "$tmp/node/decode_llama.mjs" "$tmp/model-$1.gguf" "$2" 256 32 8 | grep '^LLAMA')
  echo "$1 GGUF, $2 threads: ${line#LLAMA }"
  llama[$1_$2]=$line
done

/usr/bin/python3 - "$cf_result" "${llama[f32_$threads]}" "${llama[f16_$threads]}" "${llama[f32_1]}" "$threads" <<'PY'
import sys
kv = lambda line: {k: float(v) for k, v in (x.split("=") for x in line.split()[1:])}
cf, lf32, lf16, lf32_1, T = kv(sys.argv[1]), kv(sys.argv[2]), kv(sys.argv[3]), kv(sys.argv[4]), sys.argv[5]
r = {}
for fmt, ll in (("f32", lf32), ("f16", lf16)):
    r[f"{fmt}_tok_s"] = cf[f"{fmt}_tok_s"]
    r[f"{fmt}_llama_tok_s"] = ll["decode_tok_s"]
    r[f"{fmt}_ratio"] = cf[f"{fmt}_tok_s"] / ll["decode_tok_s"]
    r[f"{fmt}_bound_tok_s"] = cf[f"{fmt}_bound_tok_s"]
    r[f"{fmt}_bound_frac"] = cf[f"{fmt}_bound_frac"]
for fmt in ("bf16", "int8"):
    r[f"{fmt}_tok_s"] = cf[f"{fmt}_tok_s"]
    r[f"{fmt}_bound_frac"] = cf[f"{fmt}_bound_frac"]
r["prefill_tok_s"] = cf["f32_prefill_tok_s"]
r["prefill_llama_tok_s"] = lf32["prefill_tok_s"]
r["f16_prefill_tok_s"] = cf["f16_prefill_tok_s"]
r["f16_prefill_llama_tok_s"] = lf16["prefill_tok_s"]
r["batch8_tok_s"] = cf["f32_batch8_tok_s"]
r["batch8_llama_tok_s"] = lf32["batch_tok_s"]
r["f16_batch8_tok_s"] = cf["f16_batch8_tok_s"]
r["f16_batch8_llama_tok_s"] = lf16["batch_tok_s"]
r["t1_tok_s"] = cf["t1_tok_s"]
r[f"t{T}_tok_s"] = cf[f"t{T}_tok_s"]
r["t1_llama_tok_s"] = lf32_1["decode_tok_s"]
r["bandwidth_gbs"] = cf["bandwidth_gbs"]
print(f"\nbatch-1 decode, {T} threads (tok/s)      chatforge   llama.cpp   ratio   chatforge / bandwidth bound")
for fmt in ("f32", "f16"):
    print(f"  {fmt:<36} {r[fmt+'_tok_s']:9.1f} {r[fmt+'_llama_tok_s']:11.1f} {r[fmt+'_ratio']:7.2f}x   "
          f"{100*r[fmt+'_bound_frac']:.0f}% of {r[fmt+'_bound_tok_s']:.1f}")
for fmt in ("bf16", "int8"):
    print(f"  {fmt:<36} {r[fmt+'_tok_s']:9.1f} {'-':>11} {'':7}   {100*r[fmt+'_bound_frac']:.0f}% of the bound")
print(f"prefill 256 tokens f32 / f16 (tok/s)    {r['prefill_tok_s']:9.1f} {r['prefill_llama_tok_s']:11.1f}"
      f" {r['prefill_tok_s']/r['prefill_llama_tok_s']:7.2f}x   f16: {r['f16_prefill_tok_s']:.1f} vs {r['f16_prefill_llama_tok_s']:.1f}")
print(f"batch-8 decode f32 / f16 (tok/s)        {r['batch8_tok_s']:9.1f} {r['batch8_llama_tok_s']:11.1f}"
      f" {r['batch8_tok_s']/r['batch8_llama_tok_s']:7.2f}x   f16: {r['f16_batch8_tok_s']:.1f} vs {r['f16_batch8_llama_tok_s']:.1f}")
print(f"threads 1 -> {T}, f32 decode (tok/s)      {r['t1_tok_s']:.1f} -> {r['t'+T+'_tok_s']:.1f} "
      f"({r['t'+T+'_tok_s']/r['t1_tok_s']:.2f}x); llama.cpp {r['t1_llama_tok_s']:.1f} -> {r['f32_llama_tok_s']:.1f}")
print("RESULT " + " ".join(f"{k}={v:.3f}" if k.endswith(("_ratio", "_frac")) else f"{k}={v:.1f}" for k, v in r.items()))
PY
