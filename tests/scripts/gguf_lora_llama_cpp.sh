#!/usr/bin/env bash
# LoRA adapters as llama.cpp adapter GGUFs (`convert --to gguf` on an adapter), with
# llama.cpp (node-llama-cpp 3.21.1's prebuilt CPU build) as the judge, for a GPT-2 base
# (fused attn_qkv adapter), a Llama base (q/k adapter rows permuted like the base's) and a
# Qwen3 base (q/k norms, rows not permuted).
# A small base is trained on one corpus and a rank-4 adapter on another (so the adapter
# visibly changes greedy continuations); the base and the adapter are exported as GGUF f32.
# llama.cpp loads the base alone and the base with the adapter at scale 1 and 0.5, and
# must continue each prompt greedily token for token as `chatforge generate` without
# --lora, with --lora DIR and with --lora DIR:0.5; the adapter must change at least one
# continuation (so the comparison can fail). The f16 adapter is judged teacher-forced: every
# token equal, but where chatforge's top-2 logit margin is below 0.05 (f16 rounding may flip a
# near-tie). Bad inputs (one-line errors, nothing written): a quantized adapter type, a
# missing base, a base of another architecture, --merge-lora with an adapter, --to hf of an
# adapter, --base with a model.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_SOURCE_DIR:?}" "${CF_BINARY_DIR:?}"
PY=${CF_TORCH_PYTHON:-/usr/bin/python3}
source "$(dirname "$0")/lib/make_text_shards.sh"
tmp="$CF_BINARY_DIR/test-tmp/gguf_lora_llama_cpp"
rm -rf "$tmp" && mkdir -p "$tmp"
deps="$CF_SOURCE_DIR/.cache/testdeps"
[ -d "$deps/node_modules/node-llama-cpp" ] || bash "$CF_SOURCE_DIR/scripts/fetch_testdeps.sh" >/dev/null
make_text_shards "$tmp"
# The adapter's corpus: other sentences over the same tokenizer.
"$PY" - "$tmp/lora.jsonl" <<'PY'
import random, sys
random.seed(9)
subj = "the river|a storm|the blue ship|my sister|the north wind".split("|")
verb = "carries|breaks|crosses|wakes|drives".split("|")
obj = "the old bridge|a silver fish|the dark hill|a cold morning|the iron gate".split("|")
with open(sys.argv[1], "w") as f:
    for _ in range(800):
        f.write('{"text": "%s"}\n' % " ".join(f"{random.choice(subj)} {random.choice(verb)} {random.choice(obj)}."
                                             for _ in range(random.randint(3, 8))))
PY
"$CHATFORGE" data tokenize --tokenizer "$tmp/tok" --input "$tmp/lora.jsonl" --out "$tmp/lora-shards" --no-progress \
  >/dev/null 2>&1
N=16
prompts=("the cat" "a small bird sees" "the teacher" "my friend follows the")
for arch in gpt2 llama qwen3; do
  d=$tmp/$arch; mkdir -p "$d"
  arch_flags=(--arch "$arch")
  [ "$arch" != gpt2 ] && arch_flags+=(--n-kv-head 1 --untied-head)
  "$CHATFORGE" train --data "$tmp/shards" --tokenizer "$tmp/tok" --n-layer 2 --n-head 2 --n-embd 32 --seq-len 32 \
    "${arch_flags[@]}" --batch-size 8 --steps 60 --eval-every 0 --lr 1e-2 --no-progress --seed 3 --out "$d/base" \
    >"$d/base.log" 2>&1 || { cat "$d/base.log"; exit 1; }
  "$CHATFORGE" train --data "$tmp/lora-shards" --init "$d/base/last" --seq-len 32 --batch-size 8 --steps 40 \
    --eval-every 0 --lr 1e-2 --no-progress --seed 5 --lora-rank 4 --lora-alpha 16 --lora-dropout 0 --out "$d/lora" \
    >"$d/lora.log" 2>&1 || { cat "$d/lora.log"; exit 1; }
  "$CHATFORGE" convert --to gguf --input "$d/base" --out "$d/base.gguf" --type f32 >/dev/null
  # the training run (its last/ holds the adapter); the base comes from base_model_name_or_path
  "$CHATFORGE" convert --to gguf --input "$d/lora" --out "$d/lora.gguf" --type f32 | tee "$d/convert.out"
  grep -q "LoRA adapter for llama.cpp's $arch" "$d/convert.out"
  "$CHATFORGE" convert --to gguf --input "$d/lora/last" --base "$d/base/last" --out "$d/lora-f16.gguf" >/dev/null
done

# chatforge's greedy continuations: base, --lora, --lora :0.5 (with top-2 margins).
"$PY" - "$CHATFORGE" "$tmp" "$N" "${prompts[@]}" <<'PY'
import json, subprocess, sys
cf, tmp, N, prompts = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
def gen(arch, prompt, lora):
    extra = ["--lora", f"{tmp}/{arch}/lora/last{lora}"] if lora is not None else []
    g = json.loads(subprocess.run([cf, "generate", "--model", f"{tmp}/{arch}/base/last", "--prompt", prompt,
                                   "--temperature", "0", "--max-tokens", str(N), "--json", "--logprobs", "2",
                                   "--prompt-logprobs", "--quiet", *extra],
                                  check=True, capture_output=True, text=True).stdout)
    margins = [lp["top_logprobs"][0]["logprob"] - lp["top_logprobs"][1]["logprob"] for lp in g["logprobs"]]
    return [p["id"] for p in g["prompt_logprobs"]], g["tokens"], margins
cases = []
for arch in ("gpt2", "llama", "qwen3"):
    runs = {"base": None, "lora": "", "half": ":0.5"}
    outs = {k: [gen(arch, p, v) for p in prompts] for k, v in runs.items()}
    smallest = min(min(m) for k in outs for _, _, m in outs[k])
    assert smallest > 1e-3, (arch, "a greedy step sits on a near-exact tie; pick another seed", smallest)
    changed = sum(b[1] != l[1] for b, l in zip(outs["base"], outs["lora"]))
    assert changed > 0, (arch, "the adapter changes no greedy continuation: the test could not fail")
    print(f"chatforge {arch}: the adapter changes {changed}/{len(prompts)} greedy continuations; "
          f"smallest top-2 logit margin {smallest:.4f}")
    cases.append({"name": arch, "base": f"{tmp}/{arch}/base.gguf", "prompts": [o[0] for o in outs["base"]],
                  "runs": [{"what": "base", "adapter": None, "scale": 1, "want": [o[1] for o in outs["base"]]},
                           {"what": "lora f32", "adapter": f"{tmp}/{arch}/lora.gguf", "scale": 1,
                            "want": [o[1] for o in outs["lora"]]},
                           {"what": "lora f32 scale 0.5", "adapter": f"{tmp}/{arch}/lora.gguf", "scale": 0.5,
                            "want": [o[1] for o in outs["half"]]},
                           {"what": "lora f16", "adapter": f"{tmp}/{arch}/lora-f16.gguf", "scale": 1,
                            "want": [o[1] for o in outs["lora"]], "forced_only": True,
                            "margins": [o[2] for o in outs["lora"]]}]})
json.dump({"cases": cases}, open(f"{tmp}/job.json", "w"))
PY
cp "$CF_SOURCE_DIR/tests/scripts/gguf_lora_llama_cpp_check.mjs" "$deps/cf_gguf_lora_llama_cpp_check.mjs"
node "$deps/cf_gguf_lora_llama_cpp_check.mjs" "$tmp/job.json"

# Bad inputs: one-line errors, exit 1 (2 for usage).
expect_fail() {
  local code=$1 want=$2; shift 2
  set +e; "$@" >"$tmp/err.out" 2>&1; local rc=$?; set -e
  [ "$rc" = "$code" ] && [ "$(wc -l <"$tmp/err.out")" = 1 ] && grep -q -- "$want" "$tmp/err.out" ||
    { echo "FAIL: expected exit $code and one line with '$want' from: $*"; cat "$tmp/err.out"; exit 1; }
}
expect_fail 1 "f32 or f16" "$CHATFORGE" convert --to gguf --input "$tmp/gpt2/lora" --out "$tmp/q.gguf" --type q8_0
mkdir -p "$tmp/orphan" && cp "$tmp/gpt2/lora/last/adapter_model.safetensors" "$tmp/orphan/"
sed 's|"base_model_name_or_path": "[^"]*"|"base_model_name_or_path": "/nonexistent/base"|' \
  "$tmp/gpt2/lora/last/adapter_config.json" >"$tmp/orphan/adapter_config.json"
expect_fail 1 "give it with --base DIR" "$CHATFORGE" convert --to gguf --input "$tmp/orphan" --out "$tmp/o.gguf"
expect_fail 1 "names no module of a llama model" "$CHATFORGE" convert --to gguf --input "$tmp/orphan" --base "$tmp/llama/base" \
  --out "$tmp/o.gguf"
expect_fail 2 "is an adapter" "$CHATFORGE" convert --to gguf --input "$tmp/orphan" --base "$tmp/gpt2/base" \
  --merge-lora "$tmp/orphan" --out "$tmp/o.gguf"
expect_fail 1 "already in PEFT's Hugging Face format" "$CHATFORGE" convert --to hf --input "$tmp/gpt2/lora" \
  --out "$tmp/o-hf"
expect_fail 2 "is not a LoRA adapter" "$CHATFORGE" convert --to gguf --input "$tmp/gpt2/base" --base "$tmp/gpt2/base" \
  --out "$tmp/o.gguf"
[ ! -e "$tmp/o-hf" ] && [ ! -e "$tmp/q.gguf" ] && [ ! -e "$tmp/o.gguf" ] || { echo "FAIL: a refused export left a file"; exit 1; }
echo "gguf_lora_llama_cpp: all checks passed"
