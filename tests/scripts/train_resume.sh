#!/usr/bin/env bash
# Resume is bit-exact: a run of 2N steps and a run stopped after N steps then resumed for
# the remaining N end with byte-identical weights, Adam moments and identical logged
# losses (same threads). Also checks that --stop-after leaves a resumable checkpoint, and
# that the resumed half, run with --recompute (activations recomputed in backward, a runtime
# choice; GPT-2) or --recompute=mlp (the MLP hidden redone; Qwen3), still ends
# bit-identical. Once for GPT-2 and once for a Qwen3-architecture model (RMSNorm, rotary
# positions, grouped-query attention, q/k norms, SwiGLU, untied head).
set -euo pipefail
source "$(dirname "$0")/lib/make_text_shards.sh"
source "$(dirname "$0")/lib/run_losses.sh"
tmp=$CF_BINARY_DIR/test-tmp/train_resume
rm -rf "$tmp"; mkdir -p "$tmp"
make_text_shards "$tmp"
for arch in gpt2 qwen3; do
arch_flags=(--arch "$arch")
[ "$arch" = qwen3 ] && arch_flags+=(--n-kv-head 1 --untied-head)
mkdir -p "$tmp/$arch"
common=(--data "$tmp/shards" --tokenizer "$tmp/tok" --n-layer 2 --n-head 2 --n-embd 32 --seq-len 32 "${arch_flags[@]}"
        --batch-size 4 --total-batch-tokens 256 --steps 30 --eval-every 10 --eval-batches 2 --save-every 7
        --lr 2e-3 --no-progress --seed 5)
"$CHATFORGE" train "${common[@]}" --out "$tmp/$arch/full" 2>"$tmp/$arch/full.log"
"$CHATFORGE" train "${common[@]}" --out "$tmp/$arch/split" --stop-after 15 2>"$tmp/$arch/split1.log"
grep -q "resume with: chatforge train --resume" "$tmp/$arch/split1.log"
[ "$(readlink "$tmp/$arch/split/last")" = step_0000015 ] || { echo "FAIL: --stop-after 15 did not checkpoint step 15"; exit 1; }
rc=(--recompute) rc_said="activations recomputed in backward"
[ "$arch" = qwen3 ] && rc=(--recompute=mlp) rc_said="MLP hidden recomputed in backward"
"$CHATFORGE" train --resume "$tmp/$arch/split" --no-progress "${rc[@]}" 2>"$tmp/$arch/split2.log"
grep -q "resuming .* at step 15 of 30" "$tmp/$arch/split2.log"
grep -q "$rc_said" "$tmp/$arch/split2.log" || { echo "FAIL: ${rc[*]} not in effect"; exit 1; }
for f in model.safetensors optimizer.safetensors; do
  cmp "$tmp/$arch/full/last/$f" "$tmp/$arch/split/last/$f" || { echo "FAIL: $f differs after resume"; exit 1; }
done
diff <(losses "$tmp/$arch/full/metrics.jsonl") <(losses "$tmp/$arch/split/metrics.jsonl") || { echo "FAIL: logged losses differ"; exit 1; }
n=$(losses "$tmp/$arch/full/metrics.jsonl" | grep -vc eval)
[ "$n" = 30 ] || { echo "FAIL: expected 30 logged steps, got $n"; exit 1; }
echo "$arch: resume is bit-exact (second half with ${rc[*]}): weights, moments and 30 step losses identical"
done
