#!/usr/bin/env bash
# The GPU validation of the CUDA backend (docs/cuda.md), in one run on a machine with an
# NVIDIA GPU: builds with CUDA for that GPU, runs the backend op table (every op of the CPU
# and CUDA backends, fp32 and bf16, against the double reference) and the model tests (the
# one model of src/model on the CUDA backend vs the CPU: training steps with masks and
# packed rows, recompute, determinism, KV-cache decoding), fp32 training runs on GPU vs CPU
# (plain rows, --recompute, packed SFT rows), a bf16 GPU run of a few hundred steps vs the
# CPU fp32 loss curve, the GPT-2 124M training benchmark vs PyTorch (bench/gpu_train.py),
# and decode tokens/s at batch 1 and 32. Every step runs the shared model and trainer code
# (the same as the CPU's); only the ops differ. Writes everything to the results file; the
# last line is "GPU-CHECK PASS" or "GPU-CHECK FAIL (...)". Meant to finish in under 8
# minutes on an H100/H200.
# Usage: scripts/gpu-check.sh [--dry-run] [--out FILE] [--build DIR] [--skip-bench]
#   --dry-run   check the prerequisites, configure the CUDA build and print the plan
#               (no GPU needed; exits 0 when the plan can run up to the GPU steps)
# Environment: PYTHON (default python3, needs torch with CUDA for the benchmark),
#   CF_BF16_STEPS (default 300), CF_JOBS (build parallelism, default nproc).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dry=0 skip_bench=0
out=$root/gpu-check-results.txt
build=$root/build/gpu-check
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) dry=1 ;;
    --skip-bench) skip_bench=1 ;;
    --out) out=$2; shift ;;
    --build) build=$2; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case $out in /*) ;; *) out=$PWD/$out ;; esac
PYTHON=${PYTHON:-python3}
bf16_steps=${CF_BF16_STEPS:-300}
jobs=${CF_JOBS:-$(nproc)}
start=$(date +%s)
mkdir -p "$(dirname "$out")"
: > "$out"
log() { echo "$*" | tee -a "$out"; }
failures=()
fail() { log "FAIL: $*"; failures+=("$1"); }
elapsed() { echo "$(( $(date +%s) - start ))s"; }

# --- prerequisites ------------------------------------------------------------------------
nvcc=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
have() { command -v "$1" >/dev/null 2>&1; }
log "gpu-check $(date -u +%FT%TZ) in $root"
missing=()
have cmake || missing+=(cmake)
have ninja || missing+=(ninja)
[ -x "$nvcc" ] || missing+=("nvcc (CUDA toolkit; set CUDACXX)")
if [ ${#missing[@]} -gt 0 ]; then
  log "missing prerequisites: ${missing[*]}"
  echo "GPU-CHECK FAIL (prerequisites)" | tee -a "$out"
  exit 1
fi
log "nvcc: $("$nvcc" --version | tail -1)"
gpus=0 arch=""
if have nvidia-smi && nvidia-smi -L >/dev/null 2>&1; then
  gpus=$(nvidia-smi -L | grep -c '^GPU' || true)
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d '. ')
  log "GPUs: $gpus ($(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | head -1)), sm_$arch"
else
  log "GPUs: none visible (nvidia-smi missing or failing)"
fi
torch_ok=0
if "$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then
  torch_ok=1
  log "PyTorch: $("$PYTHON" -c 'import torch; print(torch.__version__)') with CUDA"
else
  log "PyTorch with CUDA: not available to $PYTHON (the benchmark's reference side needs it)"
fi
archs=${arch:-80;90}

plan="plan:
  1. build   cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCHATFORGE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES='$archs'
             cmake --build $build -j $jobs --target chatforge test_unit test_cuda bench_gpu_train bench_gpu_decode
  2. ops     $build/tests/test_unit --gtest_filter='Table/BackendOps.*'   (every op of every backend vs the double
             reference: CPU, CUDA fp32, CUDA bf16); $build/tests/test_cuda   (the model on CUDA vs CPU: loss, every
             gradient, AdamW, masks, packed rows, recompute bit-identical, determinism, KV-cache greedy decoding);
             nothing may skip
  3. fp32    chatforge train --device cpu  vs  --device cuda --dtype fp32 (4L/256C, B=8, T=64, 8 steps): losses equal to 1e-4;
             the GPU run again with --recompute: the same losses bit for bit; packed SFT rows (data chat --pack,
             train --stage sft, 2L/64C, T=256, 8 steps): GPU losses equal the CPU's to 1e-4
  4. bf16    chatforge train --device cuda --dtype bf16 vs --device cpu (fp32), $bf16_steps steps, B=16, T=128:
             mean |loss difference| < 0.05 and last-50-step means within 2%
  5. bench   bench_gpu_train 12 12 768 50257 1024 (largest batch) vs $PYTHON bench/gpu_train.py (torch.compile + SDPA):
             tokens/s, MFU, ratio (target ratio >= 1.0, MFU >= 45%)
  6. decode  bench_gpu_decode 12 12 768 50257 1024 --batches 1,32: tokens/s
  results: $out"
log "$plan"

if [ $dry = 1 ]; then
  # everything that can be checked without a GPU: the files the plan uses and the CUDA
  # configure step (finds nvcc, cuBLASLt, NCCL)
  for f in bench/gpu_train.py bench/gpu_train.cpp bench/gpu_decode.cpp tests/unit/test_backend_ops.cpp \
           tests/cuda/test_cuda_model.cpp tests/scripts/lib/make_text_shards.sh; do
    [ -f "$root/$f" ] || { log "dry run: missing $f"; echo "GPU-CHECK FAIL (files)" | tee -a "$out"; exit 1; }
  done
  "$PYTHON" -c "import ast; ast.parse(open('$root/bench/gpu_train.py').read())"
  if cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCHATFORGE_CUDA=ON \
       "-DCMAKE_CUDA_ARCHITECTURES=$archs" -DCMAKE_CUDA_COMPILER="$nvcc" >"$build.configure.log" 2>&1; then
    log "dry run: CUDA configure ok ($(grep -m1 'CUDA backend' "$build.configure.log" | sed 's/^-- //'))"
  else
    log "dry run: CUDA configure FAILED, see $build.configure.log"
    echo "GPU-CHECK FAIL (configure)" | tee -a "$out"
    exit 1
  fi
  [ "$gpus" -gt 0 ] || log "dry run: no GPU here, steps 2-6 need one"
  [ $torch_ok = 1 ] || log "dry run: step 5's PyTorch side needs $PYTHON with torch+CUDA"
  echo "GPU-CHECK DRY-RUN OK ($(elapsed))" | tee -a "$out"
  exit 0
fi

[ "$gpus" -gt 0 ] || { log "no GPU: run with --dry-run on machines without one"; echo "GPU-CHECK FAIL (no GPU)" | tee -a "$out"; exit 1; }

# --- 1. build -------------------------------------------------------------------------------
log "== 1. build ($(elapsed))"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCHATFORGE_CUDA=ON \
  "-DCMAKE_CUDA_ARCHITECTURES=$archs" -DCMAKE_CUDA_COMPILER="$nvcc" >"$build.configure.log" 2>&1 ||
  { tail -20 "$build.configure.log" | tee -a "$out"; echo "GPU-CHECK FAIL (configure)" | tee -a "$out"; exit 1; }
if ! cmake --build "$build" -j "$jobs" --target chatforge test_unit test_cuda bench_gpu_train bench_gpu_decode \
     >"$build.build.log" 2>&1; then
  grep -E "error|FAILED" "$build.build.log" | head -30 | tee -a "$out"
  echo "GPU-CHECK FAIL (build)" | tee -a "$out"
  exit 1
fi
log "built in $(elapsed)"
CHATFORGE=$build/chatforge
export CHATFORGE

# --- 2. op and model tests ----------------------------------------------------------------------
log "== 2. backend op table and CUDA model tests ($(elapsed))"
run_tests() {  # NAME BINARY [gtest args]: runs, greps the verdict into the results, fails on failure or skip
  local name=$1 bin=$2 rc=0
  shift 2
  "$bin" --gtest_brief=1 "$@" >"$build.$name.log" 2>&1 || rc=$?
  grep -E "FAILED|Failure|error|Expected|Which is|PASSED|tests ran|SKIPPED" "$build.$name.log" | head -60 | tee -a "$out"
  [ $rc = 0 ] || fail "$name tests (exit $rc, log $build.$name.log)"
  ! grep -q "SKIPPED" "$build.$name.log" || fail "$name tests skipped (no device visible to the test binary)"
}
run_tests ops "$build/tests/test_unit" --gtest_filter='Table/BackendOps.*'
run_tests model "$build/tests/test_cuda"

# --- 3./4. training on GPU vs CPU -------------------------------------------------------------------
work=$build/gpu-check-work
rm -rf "$work"; mkdir -p "$work"
# shellcheck source=../tests/scripts/lib/make_text_shards.sh
source "$root/tests/scripts/lib/make_text_shards.sh"
make_text_shards "$work" 320
losses() { "$PYTHON" -c "import json,sys
for l in open(sys.argv[1]):
    j = json.loads(l)
    if j.get('type') == 'train': print(j['loss'])" "$1/metrics.jsonl"; }
model=(--n-layer 4 --n-head 4 --n-embd 256 --eval-every 0 --no-progress --lr 1e-3 --seed 5)

same_losses() {  # A B STEPS TOL LABEL: both runs logged STEPS losses, equal to TOL relative (0: bit for bit)
  [ -f "$1/metrics.jsonl" ] && [ -f "$2/metrics.jsonl" ] || { fail "$5: a run has no metrics"; return; }
  paste <(losses "$1") <(losses "$2") | tee -a "$out" | awk -v n="$3" -v tol="$4" -v label="$5" '
    { if (tol == 0) { if ($1 != $2) m = 1 } else { d = $1 - $2; if (d < 0) d = -d; r = d / $1; if (r > m) m = r } }
    END { printf "%s: max relative loss difference %.2e over %d steps\n", label, m, NR
          exit (NR == n && (tol == 0 ? m == 0 : m < tol)) ? 0 : 1 }' | tee -a "$out" || fail "$5"
}

log "== 3. fp32 training: GPU vs CPU ($(elapsed))"
fp32_run() {  # OUT DEVICE-FLAGS...: 8 steps of the 4-layer model on the text shards
  local dir=$1
  shift
  "$CHATFORGE" train --data "$work/shards" --out "$work/$dir" "${model[@]}" --batch-size 8 --seq-len 64 --steps 8 \
    "$@" 2>>"$work/train.log"
}
fp32_run cpu32 --device cpu || fail "fp32 CPU training run"
fp32_run gpu32 --device cuda --dtype fp32 || fail "fp32 GPU training run"
same_losses "$work/cpu32" "$work/gpu32" 8 1e-4 "fp32 GPU vs CPU"
if [ -f "$work/gpu32/metrics.jsonl" ]; then
  cmp -s <(cat "$work/cpu32/last/config.json") <(cat "$work/gpu32/last/config.json") ||
    fail "checkpoint config differs between devices"
fi
fp32_run gpu32r --device cuda --dtype fp32 --recompute || fail "fp32 GPU training run with --recompute"
same_losses "$work/gpu32" "$work/gpu32r" 8 0 "GPU --recompute vs not (bit for bit)"
# packed SFT rows: several conversations per row, attention kept inside each, positions restarting
"$PYTHON" - "$work" <<'PY'
import json, random, sys
d = sys.argv[1]
random.seed(3)
words = "what is the capital of france paris hello there how are you today fine thanks".split()
with open(f"{d}/corpus.txt", "w") as f:
    for _ in range(300):
        f.write(" ".join(random.choice(words) for _ in range(12)) + "\n")
with open(f"{d}/chats.jsonl", "w") as f:
    for _ in range(300):
        q = " ".join(random.choice(words) for _ in range(random.randint(1, 12)))
        a = " ".join(random.choice(words) for _ in range(random.randint(1, 20)))
        f.write(json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}) + "\n")
PY
"$CHATFORGE" tokenizer train --input "$work/corpus.txt" --vocab-size 300 --out "$work/chat_tok" \
  --special-tokens '<|im_start|>' '<|im_end|>' >>"$work/train.log" 2>&1 || fail "tokenizer train for the chats"
"$CHATFORGE" data chat --tokenizer "$work/chat_tok" --input "$work/chats.jsonl" --max-len 257 --val-fraction 0.1 \
  --pack --out "$work/packed" --no-progress >>"$work/train.log" 2>&1 || fail "data chat --pack"
sft_run() {
  local dir=$1
  shift
  "$CHATFORGE" train --stage sft --data "$work/packed" --out "$work/$dir" --n-layer 2 --n-head 2 --n-embd 64 \
    --seq-len 256 --batch-size 4 --steps 8 --lr 3e-3 --warmup 3 --eval-every 0 --no-progress --seed 5 "$@" \
    2>>"$work/train.log"
}
sft_run sft_cpu --device cpu || fail "packed SFT run on the CPU"
sft_run sft_gpu --device cuda --dtype fp32 || fail "packed SFT run on the GPU"
same_losses "$work/sft_cpu" "$work/sft_gpu" 8 1e-4 "packed SFT rows, GPU vs CPU"

log "== 4. bf16 GPU vs fp32 CPU, $bf16_steps steps ($(elapsed))"
"$CHATFORGE" train --data "$work/shards" --out "$work/gpu16" "${model[@]}" --batch-size 16 --seq-len 128 \
  --steps "$bf16_steps" --device cuda --dtype bf16 2>>"$work/train.log" || fail "bf16 GPU training run"
"$CHATFORGE" train --data "$work/shards" --out "$work/cpu32b" "${model[@]}" --batch-size 16 --seq-len 128 \
  --steps "$bf16_steps" --device cpu 2>>"$work/train.log"
if [ -f "$work/gpu16/metrics.jsonl" ]; then
  paste <(losses "$work/cpu32b") <(losses "$work/gpu16") > "$work/curves.tsv"
  awk 'NR % 25 == 1 { printf "  step %d: cpu fp32 %.4f  gpu bf16 %.4f\n", NR, $1, $2 }' "$work/curves.tsv" | tee -a "$out"
  awk -v n="$bf16_steps" '
    { d = $1 - $2; if (d < 0) d = -d; s += d; if (NR > n - 50) { a += $1; b += $2; k++ } }
    END { mean = s / NR; rel = (a - b) / a; if (rel < 0) rel = -rel
          printf "bf16 vs fp32: mean |loss diff| %.4f, last-50 means %.4f (cpu) vs %.4f (gpu), %.2f%% apart\n", mean, a/k, b/k, 100*rel
          exit (NR == n && mean < 0.05 && rel < 0.02) ? 0 : 1 }' "$work/curves.tsv" | tee -a "$out" ||
    fail "bf16 loss curve does not track fp32"
fi

# --- 5. benchmark ---------------------------------------------------------------------------------
if [ $skip_bench = 0 ]; then
  log "== 5. GPT-2 124M, T=1024 training: chatforge vs PyTorch ($(elapsed))"
  cf=$("$build/bench/bench_gpu_train" 12 12 768 50257 1024 --steps 10 2>&1 | tee -a "$out" | grep '^RESULT' || true)
  peak=$(echo "$cf" | sed -n 's/.*peak_tflops=\([0-9.]*\).*/\1/p')
  if [ $torch_ok = 1 ]; then
    pt=$("$PYTHON" "$root/bench/gpu_train.py" --steps 10 --peak-tflops "${peak:-989}" 2>&1 | tee -a "$out" |
         grep '^RESULT' || true)
  else
    pt=""
    log "PyTorch side skipped: no torch with CUDA"
  fi
  field() { echo "$1" | sed -n "s/.*$2=\([0-9.e+-]*\).*/\1/p"; }
  cf_tok=$(field "$cf" tok_s) pt_tok=$(field "$pt" tok_s)
  if [ -n "$cf_tok" ] && [ -n "$pt_tok" ]; then
    awk -v a="$cf_tok" -v b="$pt_tok" -v m="$(field "$cf" mfu)" 'BEGIN {
      printf "RESULT bench=gpu-train chatforge_tok_s=%.0f torch_tok_s=%.0f ratio=%.3f chatforge_mfu=%.3f\n", a, b, a/b, m }' |
      tee -a "$out"
  else
    fail "benchmark did not produce both RESULT lines"
  fi
fi

# --- 6. decode ------------------------------------------------------------------------------------
log "== 6. decode tokens/s ($(elapsed))"
"$build/bench/bench_gpu_decode" 12 12 768 50257 1024 --batches 1,32 --tokens 256 2>&1 | tee -a "$out" |
  grep -q '^RESULT decode_batch=32' || fail "decode benchmark"

log "total $(elapsed)"
if [ ${#failures[@]} -eq 0 ]; then
  echo "GPU-CHECK PASS" | tee -a "$out"
else
  echo "GPU-CHECK FAIL (${failures[*]})" | tee -a "$out"
  exit 1
fi
