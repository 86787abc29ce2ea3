#!/usr/bin/env bash
# batch-1 decode vs llama.cpp: GPT-2 124M and Qwen2.5-0.5B shapes, f32/f16/8-bit (SHAPE=gpt2|qwen2-0.5b|all)
# SHAPE=gpt2|qwen2-0.5b|all (default all). Random-weight checkpoints (made once, kept under
# $CF_BUILD/bench-tmp/decode*) are run by chatforge (bench_decode: every weight format, the
# bound measured in the same run) and, exported to GGUF by `chatforge convert`, by llama.cpp
# (node-llama-cpp 3.21.1, bench/decode_llama.mjs) with the same threads, one after the other.
#   gpt2:       GPT-2 124M shape; GGUF f32, f16; batch-1 decode after a 256-token prompt,
#               that prefill, batch-8 decode, thread scaling 1 -> THREADS.
#   qwen2-0.5b: Qwen2.5-0.5B shape (24 layers, 896 channels, 14 query / 2 key-value heads of 64,
#               SwiGLU 4864, vocab 151936, tied, q/k/v biases, rope theta 1e6; Qwen3's real
#               tokenizer for the GGUF metadata); batch-1 decode after a 256-token prompt and
#               that prefill, per format: chatforge f32 / f16 / int8 (per-row scales) against
#               llama.cpp f32 / f16 / q8_0, and llama.cpp q4_0 alone (chatforge has no 4-bit format).
# usage: scripts/bench.sh decode (THREADS=2, SHAPE=all by default: ~5 min on 2 Zen 5 cores
# once the model files exist; the first run writes ~7 GB of them). Builds nothing.
# Ends with one RESULT line (GPT-2 keys unprefixed, the Qwen shape's keys prefixed qwen05b_).
set -euo pipefail
cd "$(dirname "$0")/../.."
CF_BUILD=${CF_BUILD:-build/release}
CF=$CF_BUILD/chatforge
threads=${THREADS:-2}
shape=${SHAPE:-all}
case "$shape" in
  gpt2 | qwen2-0.5b | all) ;;
  *) echo "decode.sh: SHAPE='$shape': use gpt2, qwen2-0.5b or all" >&2; exit 2 ;;
esac
# libgomp's default wait policy (spin a little, then sleep): a decode step meets at ~60
# barriers, and sleeping threads take tens of microseconds to wake at each. llama.cpp's
# own thread pool spins too. (PASSIVE only matters when two programs share the cores.)
unset OMP_WAIT_POLICY
export OMP_NUM_THREADS=$threads
deps=.cache/testdeps
[ -d "$deps/node_modules/node-llama-cpp" ] || bash scripts/fetch_testdeps.sh >/dev/null
# llama.cpp's script runs from a private folder whose node_modules points at the test deps
# (ESM resolves packages from the script's folder up; the shared cache may be refreshed meanwhile)
node=$CF_BUILD/bench-tmp/decode-node
mkdir -p "$node"
ln -sfn "$(readlink -f "$deps/node_modules")" "$node/node_modules"
cp bench/decode_llama.mjs "$node/decode_llama.mjs"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $threads threads; shape $shape"
result=""

# "RESULT k=v ..." lines of a python summary: the table goes to stdout, the keys to $result
summarise() {
  local out
  out=$(/usr/bin/python3 - "$@")
  echo "$out" | grep -v '^RESULT'
  result="$result $(echo "$out" | grep '^RESULT' | tail -1 | sed 's/^RESULT //')"
}

gpt2_section() {
  local tmp=$CF_BUILD/bench-tmp/decode
  mkdir -p "$tmp"
  if [ ! -f "$tmp/model-f16.gguf" ]; then
    echo "making the GPT-2 124M-shape checkpoint and its GGUF files (once) ..."
    rm -rf "${tmp:?}"/* && mkdir -p "$tmp/corpus"
    printf 'The quick brown fox jumps over the lazy dog. 你好，世界。\n%.0s' {1..50} > "$tmp/corpus/a.txt"
    "$CF" tokenizer train --input "$tmp/corpus" --vocab-size 300 --out "$tmp/tok" >/dev/null 2>&1
    "$CF" model init --out "$tmp/model" --n-layer 12 --n-head 12 --n-embd 768 --vocab-size 50257 --n-ctx 1024 \
      >/dev/null
    cp "$tmp/tok/tokenizer.json" "$tmp/model/"
    for t in f32 f16; do "$CF" convert --to gguf --input "$tmp/model" --out "$tmp/model-$t.gguf" --type "$t" >/dev/null; done
  fi
  echo "== GPT-2 124M shape: chatforge =="
  local out cf_result line
  out=$("$CF_BUILD/bench/bench_decode" model="$tmp/model" prompt=256 new=32 batch=8 formats=f32,f16,bf16,int8 \
    threads=1,$threads)
  echo "$out" | grep -v '^RESULT'
  cf_result=$(echo "$out" | grep '^RESULT' | tail -1)
  echo "== GPT-2 124M shape: llama.cpp (node-llama-cpp 3.21.1) =="
  declare -A llama
  for run in "f32 $threads" "f16 $threads" "f32 1"; do
    set -- $run
    line=$(node "$node/decode_llama.mjs" "$tmp/model-$1.gguf" "$2" 256 32 8 | grep '^LLAMA')
    echo "$1 GGUF, $2 threads: ${line#LLAMA }"
    llama[$1_$2]=$line
  done
  summarise "$cf_result" "${llama[f32_$threads]}" "${llama[f16_$threads]}" "${llama[f32_1]}" "$threads" <<'PY'
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
for fmt in ("f32", "bf16"):  # our GEMM against the same prefill through OpenBLAS
    r[f"{fmt}_prefill_ours_tok_s"] = cf[f"{fmt}_prefill_tok_s"]
    r[f"{fmt}_prefill_openblas_tok_s"] = cf[f"{fmt}_prefill_openblas_tok_s"]
    r[f"{fmt}_prefill_openblas_ratio"] = cf[f"{fmt}_prefill_vs_openblas"]
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
print(f"prefill 256 tokens, our GEMM vs OpenBLAS: f32 {r['f32_prefill_ours_tok_s']:.1f} vs {r['f32_prefill_openblas_tok_s']:.1f}"
      f" ({r['f32_prefill_openblas_ratio']:.2f}x), bf16 weights {r['bf16_prefill_ours_tok_s']:.1f} vs "
      f"{r['bf16_prefill_openblas_tok_s']:.1f} ({r['bf16_prefill_openblas_ratio']:.2f}x)")
print(f"batch-8 decode f32 / f16 (tok/s)        {r['batch8_tok_s']:9.1f} {r['batch8_llama_tok_s']:11.1f}"
      f" {r['batch8_tok_s']/r['batch8_llama_tok_s']:7.2f}x   f16: {r['f16_batch8_tok_s']:.1f} vs {r['f16_batch8_llama_tok_s']:.1f}")
print(f"threads 1 -> {T}, f32 decode (tok/s)      {r['t1_tok_s']:.1f} -> {r['t'+T+'_tok_s']:.1f} "
      f"({r['t'+T+'_tok_s']/r['t1_tok_s']:.2f}x); llama.cpp {r['t1_llama_tok_s']:.1f} -> {r['f32_llama_tok_s']:.1f}")
print("RESULT " + " ".join(f"{k}={v:.3f}" if k.endswith(("_ratio", "_frac")) else f"{k}={v:.1f}" for k, v in r.items()))
PY
}

# Qwen2.5-0.5B shape: chatforge format -> llama.cpp GGUF type of the same width
qwen_section() {
  local tmp=$CF_BUILD/bench-tmp/decode-qwen05b
  mkdir -p "$tmp"
  if [ ! -f "$tmp/model-q4_0.gguf" ]; then
    echo "making the Qwen2.5-0.5B-shape checkpoint and its GGUF files (once, ~5.5 GB) ..."
    bash scripts/deps/tokenizer_models.fetch.sh >/dev/null
    rm -rf "${tmp:?}"/*
    "$CF" model init --out "$tmp/model" --arch qwen2 --n-layer 24 --n-head 14 --n-kv-head 2 --n-embd 896 \
      --head-dim 64 --ffn-dim 4864 --vocab-size 151936 --n-ctx 1024 --rope-theta 1000000 >/dev/null
    cp .cache/tokenizer-models/qwen3/tokenizer.json .cache/tokenizer-models/qwen3/tokenizer_config.json "$tmp/model/"
    for t in f32 f16 q8_0 q4_0; do
      "$CF" convert --to gguf --input "$tmp/model" --out "$tmp/model-$t.gguf.part" --type "$t" >/dev/null
      mv "$tmp/model-$t.gguf.part" "$tmp/model-$t.gguf"
    done
  fi
  echo "== Qwen2.5-0.5B shape: chatforge =="
  local out cf_result line
  out=$("$CF_BUILD/bench/bench_decode" model="$tmp/model" prompt=256 new=32 batch=0 formats=f32,f16,int8 \
    threads=$threads)
  echo "$out" | grep -v '^RESULT'
  cf_result=$(echo "$out" | grep '^RESULT' | tail -1)
  echo "== Qwen2.5-0.5B shape: llama.cpp (node-llama-cpp 3.21.1) =="
  local lines=()
  for t in f32 f16 q8_0 q4_0; do
    line=$(node "$node/decode_llama.mjs" "$tmp/model-$t.gguf" "$threads" 256 32 0 | grep '^LLAMA')
    echo "$t GGUF, $threads threads: ${line#LLAMA }"
    lines+=("$line")
  done
  summarise "$cf_result" "${lines[@]}" "$threads" <<'PY'
import sys
kv = lambda line: {k: float(v) for k, v in (x.split("=") for x in line.split()[1:])}
cf, T = kv(sys.argv[1]), sys.argv[6]
ll = dict(zip(("f32", "f16", "q8_0", "q4_0"), (kv(a) for a in sys.argv[2:6])))
r = {}
print(f"\nQwen2.5-0.5B shape, batch-1 decode, {T} threads (tok/s)   chatforge   llama.cpp   ratio   chatforge / bandwidth bound")
for ours, theirs in (("f32", "f32"), ("f16", "f16"), ("int8", "q8_0")):
    a, b = cf[f"{ours}_tok_s"], ll[theirs]["decode_tok_s"]
    r[f"qwen05b_{ours}_tok_s"] = a
    r[f"qwen05b_{theirs}_llama_tok_s"] = b
    r[f"qwen05b_{ours}_ratio"] = a / b
    r[f"qwen05b_{ours}_bound_frac"] = cf[f"{ours}_bound_frac"]
    print(f"  {ours + ' vs ' + theirs:<43} {a:9.1f} {b:11.1f} {a / b:7.2f}x   "
          f"{100 * cf[ours + '_bound_frac']:.0f}% of {cf[ours + '_bound_tok_s']:.1f}")
r["qwen05b_q4_0_llama_tok_s"] = ll["q4_0"]["decode_tok_s"]
print(f"  {'(no 4-bit format) vs q4_0':<43} {'-':>9} {ll['q4_0']['decode_tok_s']:11.1f}")
for ours, theirs in (("f32", "f32"), ("f16", "f16"), ("int8", "q8_0")):
    r[f"qwen05b_{ours}_prefill_tok_s"] = cf[f"{ours}_prefill_tok_s"]
    r[f"qwen05b_{theirs}_prefill_llama_tok_s"] = ll[theirs]["prefill_tok_s"]
print("prefill 256 tokens f32 / f16 / 8-bit (tok/s): " + ", ".join(
    f"{o} {cf[o + '_prefill_tok_s']:.1f} vs {ll[t]['prefill_tok_s']:.1f}"
    for o, t in (("f32", "f32"), ("f16", "f16"), ("int8", "q8_0"))))
print("RESULT " + " ".join(f"{k}={v:.3f}" if k.endswith(("_ratio", "_frac")) else f"{k}={v:.1f}" for k, v in r.items()))
PY
}

case "$shape" in
  gpt2) gpt2_section ;;
  qwen2-0.5b) qwen_section ;;
  all) gpt2_section && echo && qwen_section ;;
esac
echo "RESULT${result}"
