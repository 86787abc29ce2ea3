#!/usr/bin/env bash
# The program's contract with its user: --help and --version everywhere, usage errors
# exit 2 with one line, runtime errors exit 1 with "error: ...", no crash on bad input.
set -euo pipefail
cf=$CHATFORGE
tmp=$CF_BINARY_DIR/test-tmp/cli_basics
rm -rf "$tmp"; mkdir -p "$tmp"
fails=0
expect() {  # expect CODE DESCRIPTION -- command...
  local want=$1 what=$2; shift 3
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  if [ "$rc" != "$want" ]; then
    echo "FAIL: $what: exit $rc, expected $want; output: $out"; fails=$((fails+1)); return
  fi
  if [ "$want" != 0 ]; then
    local lines; lines=$(printf '%s\n' "$out" | grep -c . || true)
    if [ "$lines" != 1 ]; then echo "FAIL: $what: expected one line, got $lines: $out"; fails=$((fails+1)); return; fi
    if [ "$want" = 1 ] && [[ "$out" != error:* ]]; then echo "FAIL: $what: runtime error must start with 'error:': $out"; fails=$((fails+1)); return; fi
  fi
  echo "ok: $what"
}
expect 0 "--version" -- "$cf" --version
"$cf" --version | grep '^chatforge [0-9]' >/dev/null
expect 0 "--help" -- "$cf" --help
expect 2 "no subcommand" -- "$cf"
expect 2 "unknown subcommand" -- "$cf" frobnicate
expect 2 "unknown flag" -- "$cf" model init --out "$tmp/m" --bogus
expect 2 "bad flag value" -- "$cf" model init --out "$tmp/m" --n-layer abc
expect 2 "invalid shape" -- "$cf" model init --out "$tmp/m" --n-head 5 --n-embd 32
expect 2 "missing required flag" -- "$cf" model init
# every subcommand answers --help with exit 0
subs=$("$cf" --help | awk '/^Subcommands:/{f=1;next} f&&NF{print $1}')
[ "$(echo "$subs" | wc -w)" -ge 10 ] || { echo "FAIL: could not list the subcommands: $subs"; fails=$((fails+1)); }
for sub in $subs; do
  expect 0 "$sub --help" -- "$cf" "$sub" --help
done
expect 0 "model init" -- "$cf" model init --out "$tmp/m" --n-layer 1 --n-head 2 --n-embd 16 --vocab-size 64 --n-ctx 32
expect 0 "model info" -- "$cf" model info "$tmp/m"
expect 1 "missing checkpoint" -- "$cf" model info "$tmp/none"
head -c 100 "$tmp/m/model.safetensors" > "$tmp/trunc.bin"; mkdir -p "$tmp/t"; cp "$tmp/m/config.json" "$tmp/t/"
mv "$tmp/trunc.bin" "$tmp/t/model.safetensors"
expect 1 "truncated checkpoint" -- "$cf" model info "$tmp/t"
echo 'garbage' > "$tmp/t/config.json"
expect 1 "corrupt config.json" -- "$cf" model info "$tmp/t"
# --config: keys equal the long flags; the command line overrides the file
printf 'n-layer = 2\nn-head = 2\nn-embd = 16\nvocab-size = 40\nn-ctx = 8\n' > "$tmp/run.toml"
expect 0 "model init --config" -- "$cf" model init --config "$tmp/run.toml" --out "$tmp/c" --n-ctx 16
"$cf" model info "$tmp/c" | grep -q "context      16 tokens" || { echo "FAIL: flag did not override config"; fails=$((fails+1)); }
"$cf" model info "$tmp/c" | grep -q "vocabulary   40" || { echo "FAIL: config file not applied"; fails=$((fails+1)); }
[ "$fails" = 0 ] || { echo "$fails failures"; exit 1; }
echo "all CLI checks passed"
