#!/usr/bin/env bash
# Mixed precision on the CPU (`train --dtype bf16`): bf16 GEMM inputs, fp32 accumulation,
# fp32 master weights and AdamW. A small GPT trained 300 steps in bf16 tracks the fp32 run
# of the same seed: every 25-step window's mean training loss within 3% of fp32's and the
# final validation loss within 2%; the curves are not identical (the flag changes the
# arithmetic) and both learn. Where the CPU has AVX512-BF16, the native kernel (AMX tiles
# where the CPU has AMX-BF16, else vdpbf16ps) and the emulation (CHATFORGE_BF16=emulate: the
# fp32 kernel on rounded inputs) agree closely over 20 steps, and with AMX so does the
# vdpbf16ps kernel (CHATFORGE_BF16=avx512bf16); where it lacks it, the run says it is emulated.
# ctest: alone (both cores for most of its run)
set -euo pipefail
source "$(dirname "$0")/lib/make_text_shards.sh"
tmp=$CF_BINARY_DIR/test-tmp/train_bf16
rm -rf "$tmp"; mkdir -p "$tmp"
make_text_shards "$tmp" 320
args=(--data "$tmp/shards" --n-layer 2 --n-head 4 --n-embd 64 --seq-len 64 --batch-size 8 --lr 3e-3 --warmup 10
      --eval-every 100 --eval-batches 4 --no-progress --seed 5)
"$CHATFORGE" train "${args[@]}" --steps 300 --out "$tmp/fp32" 2>"$tmp/fp32.log"
"$CHATFORGE" train "${args[@]}" --steps 300 --dtype bf16 --out "$tmp/bf16" 2>"$tmp/bf16.log"
grep -q "cpu (bf16)" "$tmp/bf16.log" || { echo "FAIL: the plan does not name the bf16 CPU backend"; cat "$tmp/bf16.log"; exit 1; }
native=0
grep -q -w avx512_bf16 /proc/cpuinfo && native=1
if [ $native = 0 ]; then
  grep -q "lacks AVX512-BF16.*emulated" "$tmp/bf16.log" || { echo "FAIL: no emulation warning"; exit 1; }
fi
/usr/bin/python3 - "$tmp/fp32/metrics.jsonl" "$tmp/bf16/metrics.jsonl" <<'PY'
import json, sys
runs = [[json.loads(l) for l in open(f)] for f in sys.argv[1:]]
tr = [[r["loss"] for r in run if r["type"] == "train"] for run in runs]
ev = [[r["val_loss"] for r in run if r["type"] == "eval"] for run in runs]
assert len(tr[0]) == len(tr[1]) == 300, [len(t) for t in tr]
assert tr[0] != tr[1], "bf16 gave the fp32 curve bit for bit: the flag changed nothing"
worst = 0
for w in range(0, 300, 25):
    a, b = (sum(t[w:w + 25]) / 25 for t in tr)
    worst = max(worst, abs(b - a) / a)
final = abs(ev[1][-1] - ev[0][-1]) / ev[0][-1]
print(f"bf16 vs fp32 over 300 steps: worst 25-step window {100 * worst:.2f}% apart, final val loss "
      f"{ev[0][-1]:.4f} (fp32) vs {ev[1][-1]:.4f} (bf16), {100 * final:.2f}% apart; first loss {tr[0][0]:.3f}")
assert worst < 0.03, ("bf16 strays from fp32", worst)
assert final < 0.02, ("bf16 final validation loss strays from fp32", final)
for t in tr:
    assert sum(t[-25:]) / 25 < 0.6 * t[0], "did not learn"
PY
if [ $native = 1 ]; then
  "$CHATFORGE" train "${args[@]}" --steps 20 --dtype bf16 --out "$tmp/native" 2>/dev/null
  CHATFORGE_BF16=emulate "$CHATFORGE" train "${args[@]}" --steps 20 --dtype bf16 --out "$tmp/emulated" 2>"$tmp/em.log"
  grep -q "emulated" "$tmp/em.log" || { echo "FAIL: CHATFORGE_BF16=emulate did not emulate"; exit 1; }
  runs=("$tmp/native/metrics.jsonl")
  if grep -q -w amx_bf16 /proc/cpuinfo; then
    CHATFORGE_BF16=avx512bf16 "$CHATFORGE" train "${args[@]}" --steps 20 --dtype bf16 --out "$tmp/vdp" 2>/dev/null
    runs+=("$tmp/vdp/metrics.jsonl")
  fi
  /usr/bin/python3 - "$tmp/emulated/metrics.jsonl" "${runs[@]}" <<'PY'
import json, sys
em, *runs = ([json.loads(l)["loss"] for l in open(f) if '"train"' in l] for f in sys.argv[1:])
for name, a in zip(["native kernel", "vdpbf16ps kernel"], runs):
    worst = max(abs(x - y) / y for x, y in zip(a, em))
    print(f"{name} vs emulation over 20 steps: worst relative loss difference {worst:.1e}")
    assert worst < 1e-3, (name, worst)
PY
fi
echo "train --dtype bf16 on the CPU tracks fp32"
