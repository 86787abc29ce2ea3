#!/usr/bin/env bash
# Damaged model folders fail fast with one line naming the file and the field or tensor:
# a FIFO (or a directory) as model.safetensors, config.json sizes that the weights do not
# back (checked before gigabytes are allocated), an integer beyond int, overlapping
# safetensors data_offsets, and NaN weights (at load, not as "zero probability" later).
set -euo pipefail
tmp=$CF_BINARY_DIR/test-tmp/model_bad_files
rm -rf "$tmp"; mkdir -p "$tmp"
py=${CF_TORCH_PYTHON:-/usr/bin/python3}
"$CHATFORGE" model init --out "$tmp/good" --n-layer 2 --n-head 2 --n-embd 32 --vocab-size 300 --n-ctx 32 >/dev/null
fails=0
# expect_error NAME "text" ... -- args: exit 1, one line, containing every text, within 60 s
expect_error() {
  local name=$1; shift
  local texts=()
  while [ "$1" != "--" ]; do texts+=("$1"); shift; done
  shift
  local rc=0 out
  out=$(timeout 60 /usr/bin/time -f "maxrss_kb=%M" "$CHATFORGE" "$@" 2>&1) || rc=$?
  local rss; rss=$(printf '%s\n' "$out" | sed -n 's/^maxrss_kb=//p')
  out=$(printf '%s\n' "$out" | grep -v '^maxrss_kb=' | grep -v '^Command exited')
  local ok=1
  [ "$rc" = 1 ] || ok=0
  [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || ok=0
  for t in "${texts[@]}"; do [[ "$out" == *"$t"* ]] || ok=0; done
  # nothing of the config's size was allocated (the good model needs ~20 MB)
  [ -n "$rss" ] && [ "$rss" -lt 400000 ] || ok=0
  if [ $ok = 1 ]; then echo "ok: $name: $out (peak ${rss} KB)"; else
    echo "FAIL: $name: expected exit 1 and one line with ${texts[*]}, got exit $rc (peak ${rss:-?} KB): $out"
    fails=$((fails+1))
  fi
}
copy() { rm -rf "$tmp/$1"; cp -r "$tmp/good" "$tmp/$1"; }
set_config() {  # set_config DIR KEY VALUE (raw JSON)
  "$py" - "$1/config.json" "$2" "$3" <<'PY'
import json, sys
p, k, v = sys.argv[1], sys.argv[2], sys.argv[3]
c = json.load(open(p)); c[k] = json.loads(v)
if k == "n_positions": c["n_ctx"] = c[k]
json.dump(c, open(p, "w"))
PY
}

# a FIFO where the weights should be: an error at once, not a read that never returns
copy fifo; rm "$tmp/fifo/model.safetensors"; mkfifo "$tmp/fifo/model.safetensors"
expect_error fifo "fifo/model.safetensors is a FIFO" "regular file" -- model info "$tmp/fifo"
expect_error fifo-load "fifo/model.safetensors is a FIFO" -- convert --to hf --in "$tmp/fifo" --out "$tmp/out_fifo"
copy dir; rm "$tmp/dir/model.safetensors"; mkdir "$tmp/dir/model.safetensors"
expect_error directory "dir/model.safetensors is a directory" -- convert --to hf --in "$tmp/dir" --out "$tmp/out_dir"

# config.json sizes the weights do not back: 2^24 x 32 floats would be 2 GiB
copy vocab; set_config "$tmp/vocab" vocab_size 16777216
expect_error vocab "vocab/config.json: vocab_size is 16777216" "'transformer.wte.weight'" -- \
  convert --to hf --in "$tmp/vocab" --out "$tmp/out_vocab"
copy positions; set_config "$tmp/positions" n_positions 1048576
expect_error positions "positions/config.json: n_positions is 1048576" -- \
  convert --to hf --in "$tmp/positions" --out "$tmp/out_positions"
copy layers; set_config "$tmp/layers" n_layer 1000
expect_error layers "layers/config.json: n_layer is 1000" "2 layers" -- \
  convert --to hf --in "$tmp/layers" --out "$tmp/out_layers"
copy hf_vocab; set_config "$tmp/hf_vocab" vocab_size 16777216
expect_error hf-vocab "config.json: vocab_size is 16777216" -- convert --from hf --in "$tmp/hf_vocab" --out "$tmp/out_hf"
# 2^32 + 300 must not read as 300
copy wrap; set_config "$tmp/wrap" vocab_size 4294967596
expect_error wrap "wrap/config.json: field 'vocab_size' is 4294967596" -- model info "$tmp/wrap"

# overlapping data_offsets: the last tensor re-pointed at bytes of the one before it
copy overlap
"$py" - "$tmp/overlap/model.safetensors" <<'PY'
import json, struct, sys
p = sys.argv[1]; b = open(p, "rb").read()
n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
t = sorted((k for k in h if k != "__metadata__"), key=lambda k: h[k]["data_offsets"][0])
a, z = h[t[-2]], h[t[-1]]
size = z["data_offsets"][1] - z["data_offsets"][0]
z["data_offsets"] = [a["data_offsets"][0], a["data_offsets"][0] + size]
hs = json.dumps(h).encode(); hs += b" " * ((8 - (8 + len(hs)) % 8) % 8)
data = b[8 + n:]
data = data[:a["data_offsets"][1]]  # the file ends after the second-to-last tensor
open(p, "wb").write(struct.pack("<Q", len(hs)) + hs + data)
PY
expect_error overlap "overlap/model.safetensors: tensor" "overlap tensor" -- model info "$tmp/overlap"

# NaN weights: named at load, by file and tensor
copy nan
"$py" - "$tmp/nan/model.safetensors" <<'PY'
import json, struct, sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
off = 8 + n + h["transformer.h.1.attn.c_proj.weight"]["data_offsets"][0] + 4 * 7
b[off:off + 4] = struct.pack("<f", float("nan"))
open(p, "wb").write(bytes(b))
PY
expect_error nan "nan/model.safetensors: tensor 'transformer.h.1.attn.c_proj.weight' holds a non-finite value" -- \
  convert --to hf --in "$tmp/nan" --out "$tmp/out_nan"
[ "$fails" = 0 ] || { echo "$fails failures"; exit 1; }
echo "every damaged model folder gave one clear line"
