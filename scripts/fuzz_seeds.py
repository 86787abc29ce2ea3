#!/usr/bin/env python3
"""Seed corpora and dictionaries for the fuzz targets in tests/fuzz (docs/fuzzing.md).

Usage: scripts/fuzz_seeds.py OUT_DIR
Writes OUT_DIR/corpus/<target>/<name> (valid inputs of every kind each target reads, plus
a few broken ones) and OUT_DIR/dict/<target>.dict (libFuzzer dictionaries: the field
names and keywords of each format). Everything is generated here from code, with the
standard library only: no third-party text. The input layout of each target (a leading
choice byte, NUL-separated files) is described at the top of its fuzz_<target>.cpp.
"""
import json
import os
import shutil
import struct
import sys

# ---------------------------------------------------------------------------------------
# Byte-level BPE tokenizers (GPT-2's byte -> unicode alphabet, merges learned here)

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


B2U = bytes_to_unicode()

TRAIN_TEXT = (
    "the cat sat on the mat and the dog sat on the log. "
    "there is a theory that the other thing is in the garden. "
    "they then thanked the teacher; the teacher thought it was fine. "
    "an answer is an answer, and another answer is another one. "
)


def spell(bs):
    return "".join(B2U[b] for b in bs)


def learn_merges(text, n_merges):
    """A tiny BPE trainer: words (a leading space kept) as byte sequences, the most
    frequent adjacent pair merged each round (ties: first seen)."""
    words = {}
    for i, w in enumerate(text.split(" ")):
        if not w:
            continue
        key = tuple(bytes([b]) for b in ((" " if i else "") + w).encode())
        words[key] = words.get(key, 0) + 1
    merges = []
    for _ in range(n_merges):
        counts = {}
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + c
        if not counts:
            break
        best = max(counts.items(), key=lambda kv: kv[1])[0]
        merges.append(best)
        new_words = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new_words[tuple(out)] = new_words.get(tuple(out), 0) + c
        words = new_words
    return merges


MERGES = learn_merges(TRAIN_TEXT, 40)


def base_vocab(merges=MERGES):
    vocab = {spell([b]): b for b in range(256)}
    for a, b in merges:
        s = spell(a + b)
        if s not in vocab:
            vocab[s] = len(vocab)
    return vocab


GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
GPT4_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
                r"""\s*[\r\n]+|\s+(?!\S)|\s+""")
QWEN2_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
                 r"""\s*[\r\n]+|\s+(?!\S)|\s+""")
CJK_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{Han}| ?(?:(?!\p{Han})\p{L})+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def added(id_, content):
    return {"id": id_, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": True}


def tokenizer_json(pattern=None, merges_as="string", specials=("<|endoftext|>",), nfc=False,
                   ignore_merges=False, merges=MERGES, extra_model=None):
    vocab = base_vocab(merges)
    added_tokens = []
    for s in specials:
        added_tokens.append(added(len(vocab), s))
        vocab[s] = len(vocab)
    if merges_as == "string":
        m = [spell(a) + " " + spell(b) for a, b in merges]
    else:
        m = [[spell(a), spell(b)] for a, b in merges]
    if pattern is None:
        pre = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    else:
        pre = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    model = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
             "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
             "ignore_merges": ignore_merges, "vocab": vocab, "merges": m}
    if extra_model:
        model.update(extra_model)
    j = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added_tokens,
         "normalizer": {"type": "NFC"} if nfc else None, "pre_tokenizer": pre,
         "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                            "use_regex": True},
         "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
         "model": model}
    return json.dumps(j, ensure_ascii=False).encode()


CHAT_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")


def tokenizer_seeds():
    s = {
        "gpt2_bytelevel.json": tokenizer_json(),
        "gpt4_split_nfc.json": tokenizer_json(GPT4_PATTERN, "array", CHAT_SPECIALS, nfc=True),
        "qwen2_split_ignore_merges.json": tokenizer_json(QWEN2_PATTERN, "array", CHAT_SPECIALS, ignore_merges=True),
        "cjk_split.json": tokenizer_json(CJK_PATTERN, "string", ()),
        "bytes_only.json": tokenizer_json(merges=[], specials=()),
        "chat_specials.json": tokenizer_json(None, "string", CHAT_SPECIALS),
        "short_regex.json": tokenizer_json(r"\s+|\S+", "string", ()),
        # broken on purpose: each is one clear error
        "bad_no_model.json": b'{"version": "1.0", "added_tokens": []}',
        "bad_unigram.json": tokenizer_json(extra_model={"type": "Unigram"}),
        "bad_byte_fallback.json": tokenizer_json(extra_model={"byte_fallback": True}),
        "bad_merge.json": tokenizer_json(extra_model={"merges": ["x y", "Ġ q"]}),
        "bad_truncated.json": tokenizer_json()[:700],
    }
    return s


def vocab_merges_seeds():
    vocab = base_vocab()
    vocab["<|endoftext|>"] = len(vocab)
    v = json.dumps(vocab, ensure_ascii=False).encode()
    lines = [spell(a) + " " + spell(b) for a, b in MERGES]
    merges = ("#version: 0.2\n" + "\n".join(lines) + "\n").encode()
    return {
        "gpt2.bin": v + b"\0" + merges,
        "crlf_no_version.bin": v + b"\0" + "\r\n".join(lines).encode(),
        "no_merges.bin": json.dumps(base_vocab([]), ensure_ascii=False).encode() + b"\0",
        "bad_merge_line.bin": v + b"\0" + b"#version: 0.2\nt h e\n",
        "bad_vocab_id.bin": b'{"a": -1}\0',
    }


# ---------------------------------------------------------------------------------------
# safetensors

def safetensors(tensors, metadata=None):
    header, data = {}, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def f32(*xs):
    return struct.pack("<%df" % len(xs), *xs)


def safetensors_seeds():
    return {
        "f32.st": safetensors([("w", "F32", [2, 3], f32(1, 2, 3, 4, 5, 6))], {"format": "pt"}),
        "mixed.st": safetensors([
            ("h", "F16", [4], struct.pack("<4H", 0x3C00, 0xC000, 0x7C00, 0x0001)),
            ("b", "BF16", [2, 2], struct.pack("<4H", 0x3F80, 0xBF80, 0x7F80, 0x0001)),
            ("d", "F64", [2], struct.pack("<2d", 1.5, -2.25)),
            ("i", "I64", [2], struct.pack("<2q", -3, 1 << 40)),
            ("j", "I32", [1], struct.pack("<i", -7)),
            ("k", "I16", [1], struct.pack("<h", 300)),
            ("l", "I8", [2], struct.pack("<2b", -1, 5)),
            ("u", "U8", [2], b"\x00\xff"),
            ("t", "BOOL", [2], b"\x01\x00"),
        ]),
        "scalar_and_empty.st": safetensors([("s", "F32", [], f32(3.5)), ("e", "F32", [0, 4], b"")]),
        "gpt2_names.st": safetensors([
            ("transformer.wte.weight", "F32", [4, 2], f32(*range(8))),
            ("transformer.wpe.weight", "F32", [2, 2], f32(*range(4))),
            ("transformer.ln_f.weight", "F32", [2], f32(1, 1)),
        ], {"format": "pt", "note": "seed"}),
        "bad_offsets.st": struct.pack("<Q", 64) +
        b'{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,99]}}'.ljust(64) + f32(1, 2, 3, 4),
        "bad_header_len.st": struct.pack("<Q", 1 << 40) + b"{}",
    }


# ---------------------------------------------------------------------------------------
# config.json

GPT2_CONFIG = {
    "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
    "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256, "initializer_range": 0.02,
    "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 1024, "n_embd": 768, "n_head": 12,
    "n_inner": None, "n_layer": 12, "n_positions": 1024, "resid_pdrop": 0.1,
    "scale_attn_weights": True, "tie_word_embeddings": True, "use_cache": True, "vocab_size": 50257,
}


def tiny_config(vocab, n_layer=1, n_embd=32, n_head=2, n_positions=16, **extra):
    c = {"model_type": "gpt2", "activation_function": "gelu_new", "n_layer": n_layer, "n_head": n_head,
         "n_embd": n_embd, "vocab_size": vocab, "n_positions": n_positions, "n_inner": None}
    c.update(extra)
    return c


def model_config_seeds():
    return {
        "gpt2.json": json.dumps(GPT2_CONFIG, indent=2).encode(),
        "tiny.json": json.dumps(tiny_config(300, bos_token_id=0, eos_token_id=1)).encode(),
        "n_ctx_only.json": b'{"n_layer": 2, "n_head": 4, "n_embd": 64, "vocab_size": 1000, "n_ctx": 128}',
        "n_inner.json": json.dumps(tiny_config(300, n_inner=128, activation_function="gelu_pytorch_tanh")).encode(),
        "bad_llama.json": b'{"model_type": "llama", "n_layer": 1}',
        "bad_type.json": b'{"n_layer": "12", "n_head": 12, "n_embd": 768, "vocab_size": 5}',
    }


# ---------------------------------------------------------------------------------------
# Token shards (src/data/shard.h: 64-byte header)

def shard(docs, token_bytes=2, mask=False, rows=None, vocab=300, eot=0, fingerprint=b"seedtok"):
    tokens, masks = [], []
    for d in docs:
        tokens += d + [eot]
        masks += [i % 2 for i in range(len(d))] + [1]
    version = 2 if rows is not None else 1
    header = b"CFSHARD\0" + struct.pack("<IIQQIIiI", version, token_bytes, len(tokens), len(docs),
                                        1 if mask else 0, vocab, eot, len(rows) if rows else 0)
    header += fingerprint[:16].ljust(16, b"\0")
    assert len(header) == 64
    body = struct.pack("<%d%s" % (len(tokens), "H" if token_bytes == 2 else "I"), *tokens)
    if mask:
        body += bytes(masks)
    if rows:
        body += struct.pack("<%dQ" % len(rows), *rows)
    return header + body


def shard_seeds():
    docs = [[5, 6, 7], [8, 9], [10, 11, 12, 13], [14]]
    return {
        "u16.bin": shard(docs),
        "u16_mask.bin": shard(docs, mask=True),
        "u32.bin": shard(docs, token_bytes=4, vocab=70000, eot=69999),
        "packed.bin": shard(docs, mask=True, rows=[2, 4]),
        "empty.bin": shard([]),
        "bad_magic.bin": b"NOTSHARD" + shard(docs)[8:],
        "bad_truncated.bin": shard(docs)[:70],
    }


# ---------------------------------------------------------------------------------------
# Chat data (fuzz_chat_records: choice byte c -> file name c % 4 (jsonl json csv tsv),
# format c // 4 % 7 (auto messages sharegpt alpaca prompt-completion csv tsv), strict c // 28)

def jl(*records):
    return ("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n").encode()


MESSAGES = {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there?"},
                         {"role": "assistant", "content": "Hello! 你好 🙂"}]}
SHAREGPT = {"conversations": [{"from": "human", "value": "What is 2+2?"}, {"from": "gpt", "value": "4"},
                              {"from": "human", "value": "And 3+3?"}, {"from": "gpt", "value": "6"}],
            "system": "You add numbers."}
ALPACA = {"instruction": "Translate to French", "input": "cat", "output": "chat", "system": ""}
PROMPT_COMPLETION = {"prompt": "Say yes", "completion": "Yes."}


def chat_seeds():
    def seed(choice, body):
        return bytes([choice]) + body
    bad = b'{"messages": [{"role": "wizard", "content": "x"}]}\n{broken\n{"messages": []}\n'
    csv = b'question,answer,system\n"Why, though?","Because ""reasons"".\nTwo lines",Be kind\nq2,a2,\n'
    tsv = b"prompt\tresponse\nWhere?\tHere.\nWho?\tMe.\n"
    return {
        "messages_auto": seed(0, jl(MESSAGES, MESSAGES) + bad),
        "sharegpt_auto": seed(0, jl(SHAREGPT)),
        "alpaca_auto": seed(0, jl(ALPACA)),
        "prompt_completion_auto": seed(0, jl(PROMPT_COMPLETION)),
        "messages_explicit": seed(4 * 1, jl(MESSAGES)),
        "sharegpt_explicit": seed(4 * 2, jl(SHAREGPT)),
        "alpaca_explicit": seed(4 * 3, jl(ALPACA)),
        "prompt_completion_explicit": seed(4 * 4, jl(PROMPT_COMPLETION)),
        "json_array": seed(1, json.dumps([MESSAGES, SHAREGPT, ALPACA, PROMPT_COMPLETION]).encode()),
        "csv_auto": seed(2, csv),
        "csv_explicit_crlf": seed(4 * 5, csv.replace(b"\n", b"\r\n")),
        "tsv_auto": seed(3, tsv),
        "tsv_explicit": seed(4 * 6 + 3, tsv),
        "strict_messages": seed(28, jl(MESSAGES)),
        "strict_bad": seed(28, bad),
    }


# ---------------------------------------------------------------------------------------
# Chat templates (Jinja), written here in the styles real models use

CHATML_TEMPLATE = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
                   "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
                   "{% endif %}")

HEADER_TEMPLATE = """{{ bos_token }}{% for message in messages %}
    {%- set text = '[' ~ message.role | upper ~ ']\\n\\n' ~ message.content | trim ~ '</s>' %}
    {{- text }}
{% endfor %}
{% if add_generation_prompt %}[ASSISTANT]

{% endif %}"""

TOOLS_TEMPLATE = """{#- a template exercising most of the supported subset -#}
{%- macro render_tools(tools) -%}
  {%- for tool in tools %}
{{ tool | tojson(indent=2) }}
  {%- endfor %}
{%- endmacro -%}
{%- if messages | length == 0 %}{{ raise_exception('no messages') }}{% endif %}
{%- set ns = namespace(last_user=-1, system='') %}
{%- for m in messages[::-1] %}
  {%- if m.role == 'user' and ns.last_user < 0 %}{% set ns.last_user = (messages|length - 1) - loop.index0 %}{% endif %}
{%- endfor %}
{%- if messages[0].role == 'system' %}{% set ns.system = messages[0].content %}{% endif %}
<sys>{{ ns.system }} today={{ strftime_now('%d %b %Y') }}{% if tools is defined and tools %}{{ render_tools(tools) }}{% endif %}</sys>
{% for m in messages if m.role != 'system' %}
  {%- if m.role == 'assistant' %}
    {%- set content = m.content if m.content is string else '' %}
    {%- if '</think>' in content and loop.index0 < ns.last_user %}
      {%- set content = content.split('</think>')[-1].lstrip('\\n') %}
    {%- endif %}
<a>{% generation %}{{ content }}{% for call in m.tool_calls | default([]) %}<call>{{ call.name }} {{ call.arguments | tojson }}</call>{% endfor %}</a>{% endgeneration %}
  {%- elif m.role in ['user', 'tool'] %}
<{{ m.role[0] }}>{{ m.content | string | replace('\\r', '') }}</{{ m.role[0] }}>
  {%- else %}{{ raise_exception('unknown role ' ~ m.role) }}
  {%- endif %}
{%- else %}(empty){% endfor %}
{%- if add_generation_prompt %}{{ '\\n<a>' }}{% endif %}
{# {% raw %}{{ not rendered }}{% endraw %} #}{% raw %}{{ raw }}{% endraw %}"""

JINJA_MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there? 你好"},
                  {"role": "assistant", "content": "<think>\nhm\n</think>\n\nHello! 🙂"},
                  {"role": "user", "content": "Weather in \"Oslo\"?"},
                  {"role": "assistant", "content": None, "tool_calls": [{"name": "get_weather",
                                                                          "arguments": {"city": "Oslo", "days": 2}}]},
                  {"role": "tool", "content": "{\"sunny\": true}"}]


def jinja_seeds():
    def seed(choice, template, messages=None):
        body = template.encode()
        if messages is not None:
            body += b"\x00" + json.dumps(messages, ensure_ascii=False).encode()
        return bytes([choice]) + body
    return {
        "chatml": seed(0, CHATML_TEMPLATE),
        "chatml_spans": seed(3, CHATML_TEMPLATE, MESSAGES["messages"]),
        "header": seed(1, HEADER_TEMPLATE),
        "header_spans": seed(2 | 4, HEADER_TEMPLATE),
        "tools": seed(1, TOOLS_TEMPLATE, JINJA_MESSAGES),
        "tools_spans": seed(3, TOOLS_TEMPLATE, JINJA_MESSAGES[:4]),
        "tools_builtin": seed(8, TOOLS_TEMPLATE),
        "expressions": seed(0, "{{ [1, 2.5, 'x', none, true][::-1] | tojson }}{{ {'a': {'b': [1]}}.a.b[0] + 2 ** 3 // 3 % 2 }}"
                              "{{ 'A-b c' | title ~ 'x' * 3 if 1 < 2 <= 3 and not false or none else 'no' }}"
                              "{{ ' s '.strip().split(' ') | join(',') }}{% set a, b = 1, 2 %}{{ (a, b) | list }}"
                              "{{ range(3) | map('string') | join }}{{ messages | selectattr('role', 'eq', 'user') | list | length }}"),
        "unclosed": seed(0, "{% for m in messages %}{{ m.content }"),
        "unknown_filter": seed(0, "{{ x | no_such_filter }}"),
        "bad_string": seed(0, "{{ 'abc\\x4 }}"),
        "deep": seed(0, "{{ " + "(" * 250 + "1" + ")" * 250 + " }}"),
        "loop_bomb": seed(0, "{% for i in range(99999) %}{% for j in range(99999) %}{{ i }}{% endfor %}{% endfor %}"),
    }


# ---------------------------------------------------------------------------------------
# Documents for data clean / tokenize

WORDS = ("river stone light garden quiet morning paper window yellow market number simple "
         "question answer teacher student evening winter summer travel mountain ocean").split()


def sentence(i, n=18):
    return " ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(n)).capitalize() + "."


def data_input_seeds():
    def seed(choice, body):
        return bytes([choice]) + body
    docs = jl({"text": sentence(1), "source": "web", "label": "a"},
              {"text": sentence(2), "label": 3},
              {"text": sentence(3), "source": "", "label": {"k": [1, 2]}},
              {"text": 5}, {"no_text": "x"}) + b"not json\n[1,2]\n\n"
    text = ("\n".join(sentence(i) for i in range(4)) + "\n\n\n" + sentence(9) + "\r\n").encode()
    return {
        "jsonl": seed(0, docs),
        "json_strict": seed(1 + 12, docs),
        "txt_file": seed(2, text),
        "txt_paragraph": seed(2 + 4, text),
        "md_line": seed(3 + 8, text),
        "txt_invalid_utf8": seed(2 + 8, b"caf\xc3\xa9 \xff\xfe bad\n\xe4\xbd\nend"),
    }


def data_clean_seeds():
    docs = [{"text": sentence(i, 30), "source": ["web", "books"][i % 2], "label": ["x", "y", "z"][i % 3]}
            for i in range(6)]
    docs.append(dict(docs[0]))  # an exact duplicate
    docs.append({"text": sentence(0, 30).replace("river", "rivers"), "source": "web"})  # a near duplicate
    docs.append({"text": "Mail jane.doe@example.com or call +1 (555) 010-2345; card 4111 1111 1111 1111. " +
                 sentence(7, 20), "source": "web"})
    docs.append({"text": "short"})
    docs.append({"text": "\u00a0Tabs\tand  spaces\u200b and ﬁ ligatures \ufeff" + sentence(8, 25)})
    body = jl(*docs) + b'{"text": "bad \\udc00 surrogate"}\n' + b"{\"text\": \"caf\xff\"}\n"
    text = ("\n\n".join(sentence(i, 25) for i in range(5)) + "\n").encode()
    return {
        "jsonl_defaults": bytes([0]) + body,
        "jsonl_all_options": bytes([0b11111110]) + body,
        "jsonl_label_balance": bytes([0b01100000]) + body,
        "txt_paragraphs": bytes([1]) + text,
        "txt_lines_nfkc": bytes([1 | 2 | 4 | 128]) + text,
    }


# ---------------------------------------------------------------------------------------
# Eval items (choice: bit 0 reference field "answer", bit 1 group field, bit 2 need a
# prompt; 15: the eval tools' CSV reader)

def eval_seeds():
    items = jl({"id": "q1", "prompt": "Capital of France?", "references": ["Paris", "paris"], "group": "geo",
                "facts": ["Paris"]},
               {"id": 2, "prompt": "2+2?", "answer": "4", "group": 1},
               {"messages": [{"role": "system", "content": "Short."}, {"role": "user", "content": "Hi"},
                             {"role": "assistant", "content": "Hello"}], "group": True},
               {"prompt": "Colour of the sky?", "target": "blue", "facts": "blue", "group": "sci"})
    csv = b'id,question,answer\n1,"Why, ""now""?",Because\n2,"multi\nline",x\r\n'
    return {
        "items_default": bytes([0]) + items,
        "items_answer_group_prompt": bytes([7]) + items,
        "items_group": bytes([2]) + items,
        "items_bad": bytes([0]) + b'{"id": "a", "prompt": 3}\n{"id": "a"}\n',
        "csv": bytes([15]) + csv,
    }


# ---------------------------------------------------------------------------------------
# --config files (choice: file name run.toml run.yaml run.json run)

def config_seeds():
    toml = b'# training run\n[train]\nsteps = 100\nlr = 3e-4\nout = "runs/a"  # comment\nrecompute = true\n' \
           b"no_val = false\nspecial_tokens = ['<|im_start|>', \"<|im_end|>\"]\n"
    yaml = b"---\nsteps: 100\nlr: 0.0003\ninput:\n  - data/a.jsonl\n  - 'data/b.jsonl'\nname: \"x # y\"\n"
    js = json.dumps({"steps": 100, "lr": 3e-4, "recompute": True, "no_val": False, "input": ["a", "b"],
                     "sampling": {"top_k": 5}, "seed": None}).encode()
    return {"toml": bytes([0]) + toml, "yaml": bytes([1]) + yaml, "json": bytes([2]) + js,
            "json_noext": bytes([3]) + js, "bad_line": bytes([0]) + b"steps 100\n"}


# ---------------------------------------------------------------------------------------
# OpenAI request bodies (choice: c % 4: 0 chat, 1 completion, 2 chat, 3 feedback;
# bit 2: a 64-token context; bit 3: a default system prompt)

def api_seeds():
    chat = {"model": "tiny", "messages": [{"role": "developer", "content": "Be brief."},
                                          {"role": "user", "content": [{"type": "text", "text": "Hi "},
                                                                       {"type": "text", "text": "there"}]}],
            "max_tokens": 16, "temperature": 0.7, "top_p": 0.9, "top_k": 5, "seed": 42, "n": 2, "stream": True,
            "stream_options": {"include_usage": True}, "stop": ["\n\n", "END"], "logprobs": True,
            "top_logprobs": 3, "logit_bias": {"65": -100, "66": 5.5}, "frequency_penalty": 0.5,
            "presence_penalty": -0.5, "conversation_id": "c-1"}
    minimal = {"model": "tiny", "messages": [{"role": "user", "content": "Hello"}]}
    completion = {"model": "tiny", "prompt": "Once upon a time", "max_tokens": 8, "logprobs": 2, "stop": "."}
    return {
        "chat_full": bytes([0]) + json.dumps(chat).encode(),
        "chat_minimal_small_ctx": bytes([4 | 8]) + json.dumps(minimal).encode(),
        "chat_max_completion_tokens": bytes([2]) + json.dumps(dict(minimal, max_completion_tokens=5)).encode(),
        "completion": bytes([1]) + json.dumps(completion).encode(),
        "completion_array_prompt": bytes([1 | 4]) + b'{"model": "tiny", "prompt": ["hi"], "echo": false}',
        "feedback": bytes([3]) + b'{"message_id": 12, "rating": -1, "comment": "too long"}',
        "bad_model": bytes([0]) + b'{"model": "gpt-4", "messages": []}',
        "bad_json": bytes([0]) + b'{"model": "tiny", "messages": [',
    }


# ---------------------------------------------------------------------------------------
# GGUF export (choice: weight type f32 f16 q8_0; then config.json \0 tokenizer.json)

def gguf_seeds():
    tok = tokenizer_json(None, "string", CHAT_SPECIALS)
    n = len(json.loads(tok)["model"]["vocab"])
    out = {}
    for t in range(3):
        cfg = tiny_config(n + 5, n_layer=1, n_embd=32, n_head=2, n_positions=8, eos_token_id=256)
        out["type%d" % t] = bytes([t]) + json.dumps(cfg).encode() + b"\0" + tok
    out["tokenizer_bigger_than_model"] = bytes([0]) + json.dumps(tiny_config(10)).encode() + b"\0" + tok
    out["split_pattern"] = bytes([1]) + json.dumps(tiny_config(n)).encode() + b"\0" + \
        tokenizer_json(GPT4_PATTERN, "string", CHAT_SPECIALS)
    return out


# ---------------------------------------------------------------------------------------
# Task mixtures (choice: bit 0 the file is mix.json (else mix.yaml), bit 1 ask for 50 picks)

def mixture_seeds():
    yaml = (b"# tasks\n---\ntasks:\n- task: qa\n  path: qa.jsonl\n  weight: 0.7\n  system: 'Be ''brief'''\n"
            b"- task: chit-chat\n  paths: [a.jsonl, \"b c.jsonl\"]\n  weight: 0.3  # rest\n  format: sharegpt\n")
    epochs = b"- task: a\n  path: a.jsonl\n  epochs: 2.5\n-\n  task: b\n  path: /abs/b.jsonl\n"
    js = json.dumps([{"task": "qa", "path": "qa.jsonl", "weight": 2},
                     {"task": "chat", "paths": ["c1.jsonl", "c2.jsonl"], "weight": 1, "system": "Hi"}]).encode()
    js_tasks = json.dumps({"tasks": [{"task": "x", "path": "x.jsonl", "epochs": 1},
                                     {"task": "y", "path": "y.jsonl", "epochs": 0.5, "format": "alpaca"}]}).encode()
    return {"yaml_weights": bytes([0]) + yaml, "yaml_weights_total": bytes([2]) + yaml,
            "yaml_epochs": bytes([0]) + epochs, "json_weights": bytes([1]) + js,
            "json_tasks_epochs_total": bytes([3]) + js_tasks,
            "bad_mixed_modes": bytes([0]) + b"- task: a\n  path: a\n  weight: 1\n- task: b\n  path: b\n  epochs: 1\n"}


# ---------------------------------------------------------------------------------------
# Human-evaluation kits (choice 0: key.json \0 ratings.csv \0 ratings.csv;
# choice 1: data.jsonl \0 answers_a.jsonl \0 answers_b.jsonl)

def human_kit_seeds():
    key = json.dumps({"model_a": "base", "model_b": "tuned", "seed": 7,
                      "items": [{"item_id": "q1", "answer_1": "A"}, {"item_id": 2, "answer_1": "B"},
                                {"item_id": "q3", "answer_1": "A"}]}).encode()
    alice = b"item_id,preference,rater,comment\nq1,1,alice,\n2,tie,alice,\"fine, both\"\nq3,,alice,\n"
    bob = b"item_id,preference\r\nq1,2\r\n2,1\r\nq3,TIE\r\n"
    data = jl({"id": "q1", "prompt": "Hi?"}, {"messages": [{"role": "user", "content": "Yo"},
                                                          {"role": "assistant", "content": "ref"}]},
              {"id": "q3", "prompt": "Bye?"})
    a = jl({"id": "q1", "answer": "Hello"}, {"output": "Yo yo"}, {"id": "q3", "response": "Bye"})
    b = jl({"completion": "Hi!"}, {"text": "Hey"}, {"answer": "Ciao"})
    return {"score": bytes([0]) + key + b"\0" + alice + b"\0" + bob,
            "score_one_file": bytes([0]) + key + b"\0" + bob,
            "kit": bytes([1]) + data + b"\0" + a + b"\0" + b,
            "kit_bad_id": bytes([1]) + data + b"\0" + jl({"id": "zz", "answer": "x"}) + b"\0" + b}


# ---------------------------------------------------------------------------------------
# Dictionaries: the words of each format, so mutations make well-formed fields.

JSON_WORDS = ['{', '}', '[', ']', ':', ',', '"', 'null', 'true', 'false', '-1', '0', '1e400', '18446744073709551615',
              '9223372036854775808', '4294967296', '\\u0000', '\\ud800', '""']

DICTS = {
    "tokenizer_json": JSON_WORDS + ['"model"', '"vocab"', '"merges"', '"type"', '"BPE"', '"pre_tokenizer"',
                                    '"Sequence"', '"pretokenizers"', '"Split"', '"pattern"', '"Regex"',
                                    '"behavior"', '"Isolated"', '"invert"', '"ByteLevel"', '"use_regex"',
                                    '"add_prefix_space"', '"normalizer"', '"NFC"', '"added_tokens"', '"id"',
                                    '"content"', '"ignore_merges"', '"byte_fallback"', '"<|endoftext|>"',
                                    '(?i:', '\\\\p{L}', '\\\\s+', '(?!\\\\S)', '|', '*', '+'],
    "vocab_merges": JSON_WORDS + ['#version: 0.2', b'\x00', 'Ġ', 'Ġt', 'he', b'\n', b'\r\n', ' '],
    "safetensors": JSON_WORDS + ['"dtype"', '"shape"', '"data_offsets"', '"__metadata__"', '"F32"', '"F16"',
                                 '"BF16"', '"F64"', '"I64"', '"I32"', '"I16"', '"I8"', '"U8"', '"BOOL"',
                                 '"format"', '"pt"'],
    "model_config": JSON_WORDS + ['"n_layer"', '"n_head"', '"n_embd"', '"vocab_size"', '"n_positions"',
                                  '"n_ctx"', '"n_inner"', '"bos_token_id"', '"eos_token_id"', '"model_type"',
                                  '"gpt2"', '"activation_function"', '"gelu_new"', '2147483648', '16777216'],
    "shard": [b'CFSHARD\x00', b'\x01\x00\x00\x00', b'\x02\x00\x00\x00', b'\x04\x00\x00\x00',
              b'\xff\xff\xff\xff', b'\x00\x00\x00\x00\x00\x00\x00\x80'],
    "chat_records": JSON_WORDS + ['"messages"', '"role"', '"content"', '"system"', '"user"', '"assistant"',
                                  '"conversations"', '"from"', '"value"', '"human"', '"gpt"', '"instruction"',
                                  '"input"', '"output"', '"prompt"', '"completion"', 'question', 'answer',
                                  b'\n', b'\r', b'\t', '""'],
    "data_input": JSON_WORDS + ['"text"', '"source"', '"label"', b'\n', b'\n\n', b'\r\n', b'\xff'],
    "data_clean": JSON_WORDS + ['"text"', '"source"', '"label"', b'\n', b'\n\n', '@example.com', '+1 555 ',
                                '4111 1111 1111 1111', b'\xc2\xa0', b'\xe2\x80\x8b', b'\xef\xbb\xbf',
                                b'\xff', b'\xed\xa0\x80', 'http://'],
    "eval_items": JSON_WORDS + ['"id"', '"prompt"', '"messages"', '"role"', '"content"', '"assistant"',
                                '"references"', '"reference"', '"answers"', '"answer"', '"target"', '"output"',
                                '"facts"', '"group"', b'\n', '""'],
    "config_file": JSON_WORDS + ['=', ': ', '- ', '#', '[section]', '---', b'\n', "'", 'true', 'false'],
    "api_request": JSON_WORDS + ['"model"', '"tiny"', '"messages"', '"role"', '"content"', '"user"', '"system"',
                                 '"developer"', '"assistant"', '"type"', '"text"', '"prompt"', '"max_tokens"',
                                 '"max_completion_tokens"', '"temperature"', '"top_p"', '"top_k"', '"seed"', '"n"',
                                 '"stream"', '"stream_options"', '"include_usage"', '"logit_bias"',
                                 '"logprobs"', '"top_logprobs"', '"stop"', '"conversation_id"',
                                 '"frequency_penalty"', '"presence_penalty"', '"message_id"', '"rating"',
                                 '"comment"', '1e308', '-0', '2.5'],
    "mixture": JSON_WORDS + ['- ', ': ', 'tasks:', 'task', 'path', 'paths', 'weight', 'epochs', 'system', 'format',
                             '"task"', '"path"', '"paths"', '"weight"', '"epochs"', '"tasks"', 'nan', 'inf', '1e-300',
                             '1e308', "'", '#', b'\n'],
    "human_kit": JSON_WORDS + ['"items"', '"item_id"', '"answer_1"', '"A"', '"B"', '"model_a"', '"model_b"', '"seed"',
                               'item_id', 'preference', 'rater', 'tie', '"prompt"', '"messages"', '"answer"',
                               '"output"', '"response"', '"completion"', '"text"', '"id"', b'\r\n', b'\x00'],
    "jinja": ['{{', '}}', '{%', '%}', '{#', '#}', '{%-', '-%}', '{{-', '-}}', '{%+', '+%}', ' if ', ' elif ', ' else ',
              ' endif ', ' for ', ' in ', ' endfor ', ' set ', ' endset ', ' macro ', ' endmacro ', ' raw ',
              ' endraw ', ' generation ', ' endgeneration ', ' break ', ' continue ', ' is ', ' not ', ' and ',
              ' or ', 'loop.index0', 'loop.last', 'namespace(', 'range(', 'raise_exception(', 'strftime_now(',
              '|tojson', '|trim', '|length', '|join', '|default', '|items', '|map', '|selectattr', 'defined',
              'none', 'string', 'mapping', 'iterable', 'messages', 'message.role', "['content']", '[::-1]',
              '.split(', '.strip(', '.startswith(', '.get(', '.items()', "'", '"', '\\', '~', '//', '**',
              b'\x00', b'\n'],
    "gguf_export": JSON_WORDS + ['"n_layer"', '"n_head"', '"n_embd"', '"vocab_size"', '"n_positions"',
                                 '"bos_token_id"', '"eos_token_id"', '"model"', '"vocab"', '"merges"',
                                 '"added_tokens"', '"id"', '"content"', '"<|im_start|>"', '"<|im_end|>"',
                                 '"<|endoftext|>"', b'\x00'],
}

def dict_escape(b):
    """libFuzzer dictionary syntax: printable ASCII as is, everything else as \\xHH."""
    return "".join(chr(c) if 32 <= c < 127 and c not in (34, 92) else "\\x%02x" % c for c in b)


SEEDS = {
    "tokenizer_json": tokenizer_seeds,
    "vocab_merges": vocab_merges_seeds,
    "safetensors": safetensors_seeds,
    "model_config": model_config_seeds,
    "shard": shard_seeds,
    "chat_records": chat_seeds,
    "data_input": data_input_seeds,
    "data_clean": data_clean_seeds,
    "eval_items": eval_seeds,
    "config_file": config_seeds,
    "api_request": api_seeds,
    "gguf_export": gguf_seeds,
    "mixture": mixture_seeds,
    "human_kit": human_kit_seeds,
    "jinja": jinja_seeds,
}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: fuzz_seeds.py OUT_DIR")
    out = sys.argv[1]
    for target, make in SEEDS.items():
        d = os.path.join(out, "corpus", target)
        if os.path.isdir(d):  # regenerate the seeds; inputs the fuzzer added are kept
            for name in os.listdir(d):
                if name.startswith("seed_"):
                    os.remove(os.path.join(d, name))
        os.makedirs(d, exist_ok=True)
        for name, data in make().items():
            with open(os.path.join(d, "seed_" + name), "wb") as f:
                f.write(data)
    dd = os.path.join(out, "dict")
    os.makedirs(dd, exist_ok=True)
    for target, words in DICTS.items():
        with open(os.path.join(dd, target + ".dict"), "w", encoding="utf-8") as f:
            for w in words:
                f.write('"%s"\n' % dict_escape(w if isinstance(w, bytes) else w.encode()))
    print("fuzz seeds: %d targets in %s" % (len(SEEDS), out))


if __name__ == "__main__":
    main()
