#!/usr/bin/env bash
# Data preparation benchmark: per-stage throughput (bench_data_stages), `data clean` with
# every filter on over 100 MB of generated JSONL on 2 threads (MB/s, against a Python
# reference doing a subset of the work in the same invocation), peak RSS at 100 MB and
# 400 MB (memory stays bounded apart from the dedup index), and `data tokenize` MB/s when
# this build has the tokenizer. Corpora are generated once into .cache/bench-data.
# Builds nothing: run after `cmake --build --preset release`. Last line: RESULT ...
set -euo pipefail
cd "$(dirname "$0")/../.."
CF=${CHATFORGE:-build/release/chatforge}
PY=/usr/bin/python3
cache=.cache/bench-data
mkdir -p "$cache"
export OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE

for mb in 100 400; do
  if [ ! -f "$cache/c$mb/corpus.jsonl" ]; then
    echo "generating ${mb} MB corpus (once) ..."
    "$PY" tests/scripts/data_corpus.py bench --out "$cache/c$mb" --mb "$mb" --seed "$mb"
  fi
done

echo "== stages (1 thread) =="
stages=$(build/release/bench/bench_data_stages)
echo "$stages"
ac_ratio=$(echo "$stages" | sed -n 's/.*ac100k_over_ac10=\([0-9.]*\).*/\1/p')

printf 'darnword\nforbidden phrase\n违禁词\n敏感内容\n' > "$cache/sensitive.txt"
run_clean() {  # corpus_dir out_dir -> prints "seconds peak_rss_kb"
  rm -rf "$2"
  /usr/bin/time -f "%e %M" -o "$2.time" "$CF" data clean --input "$1/corpus.jsonl" --out "$2" --threads 2 \
    --no-progress --sensitive-words "$cache/sensitive.txt" --max-share 0.6 >"$2.log"
  cat "$2.time"
}

echo "== data clean, all filters, 2 threads =="
bytes100=$(stat -c %s "$cache/c100/corpus.jsonl")
bytes400=$(stat -c %s "$cache/c400/corpus.jsonl")
read -r t100 rss100 < <(run_clean "$cache/c100" "$cache/out100")
cat "$cache/out100.log"
read -r t400 rss400 < <(run_clean "$cache/c400" "$cache/out400")
index400=$("$PY" -c "import json;print(json.load(open('$cache/out400/report.json'))['dedup_index']['bytes'])")
index100=$("$PY" -c "import json;print(json.load(open('$cache/out100/report.json'))['dedup_index']['bytes'])")
clean_mbps=$(awk -v b="$bytes100" -v t="$t100" 'BEGIN{printf "%.1f", b/1e6/t}')
clean400_mbps=$(awk -v b="$bytes400" -v t="$t400" 'BEGIN{printf "%.1f", b/1e6/t}')
echo "100 MB: ${t100}s, ${clean_mbps} MB/s, peak RSS $((rss100 / 1024)) MB (dedup index $((index100 / 1048576)) MB)"
echo "400 MB: ${t400}s, ${clean400_mbps} MB/s, peak RSS $((rss400 / 1024)) MB (dedup index $((index400 / 1048576)) MB)"

echo "== Python reference (JSON, NFC, whitespace, exact dedup, e-mail regex; 1 process) =="
py_mbps=$("$PY" - "$cache/c100/corpus.jsonl" "$cache/pyref.jsonl" <<'PYEOF'
import hashlib, json, re, sys, time, unicodedata
t = time.time(); n = 0; seen = set()
email = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
with open(sys.argv[1], "rb") as f, open(sys.argv[2], "w", encoding="utf-8") as out:
    for line in f:
        n += len(line)
        d = json.loads(line)
        text = " ".join(unicodedata.normalize("NFC", d["text"]).split(" "))
        h = hashlib.blake2b(text.lower().encode(), digest_size=8).digest()
        if h in seen:
            continue
        seen.add(h)
        out.write(json.dumps({"text": email.sub("<EMAIL>", text), "source": d.get("source", "")}, ensure_ascii=False) + "\n")
print(f"{n / 1e6 / (time.time() - t):.1f}")
PYEOF
)
rm -f "$cache/pyref.jsonl"
ratio=$(awk -v a="$clean_mbps" -v b="$py_mbps" 'BEGIN{printf "%.2f", a/b}')
echo "python reference: ${py_mbps} MB/s; chatforge clean (all filters) is ${ratio}x"

tok_result="tokenize_mbps=skipped"
# `--help` of an unknown subcommand still exits 0 in CLI11: look for it in the help text.
if "$CF" data --help 2>/dev/null | grep -q '^ *tokenize'; then
  tokdir=${CF_BENCH_TOKENIZER:-}
  if [ -z "$tokdir" ] && "$CF" --help 2>/dev/null | grep -q '^ *tokenizer'; then
    tokdir="$cache/tokenizer"
    if [ ! -d "$tokdir" ]; then
      head -c 20000000 "$cache/out100/train.jsonl" > "$cache/tok_sample.jsonl"
      "$CF" tokenizer train --input "$cache/tok_sample.jsonl" --out "$tokdir" --vocab-size 8192 >/dev/null 2>&1 \
        || { echo "note: could not train a tokenizer (set CF_BENCH_TOKENIZER=DIR)"; tokdir=""; rm -rf "$cache/tokenizer"; }
    fi
  fi
  if [ -n "$tokdir" ]; then
    echo "== data tokenize, 2 threads =="
    rm -rf "$cache/shards100"
    tbytes=$(( $(stat -c %s "$cache/out100/train.jsonl") + $(stat -c %s "$cache/out100/val.jsonl") ))
    /usr/bin/time -f "%e %M" -o "$cache/tok.time" "$CF" data tokenize --tokenizer "$tokdir" \
      --input "$cache/out100/train.jsonl" "$cache/out100/val.jsonl" --out "$cache/shards100" --threads 2 --no-progress
    read -r ttok rsstok < "$cache/tok.time"
    tok_mbps=$(awk -v b="$tbytes" -v t="$ttok" 'BEGIN{printf "%.1f", b/1e6/t}')
    echo "tokenize: ${ttok}s, ${tok_mbps} MB/s, peak RSS $((rsstok / 1024)) MB"
    tok_result="tokenize_mbps=$tok_mbps"
    rm -rf "$cache/shards100"
  fi
else
  echo "note: this build has no tokenizer (data tokenize missing): tokenize benchmark skipped"
fi
rm -rf "$cache/out100" "$cache/out400"
echo "RESULT clean_mbps=$clean_mbps clean400_mbps=$clean400_mbps clean_vs_python=$ratio rss100_mb=$((rss100 / 1024)) rss400_mb=$((rss400 / 1024)) index400_mb=$((index400 / 1048576)) ac100k_over_ac10=$ac_ratio $tok_result"
