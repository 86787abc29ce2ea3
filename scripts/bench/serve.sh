#!/usr/bin/env bash
# Serving under load: 32 concurrent streaming clients on loopback for SECONDS (default 60)
# against `chatforge serve --batch-size 8` and then `--batch-size 1`; tokens/s of each and the
# batching gain, first-token latency, refusals, 5xx (must be 0) and the server's RSS.
# usage: scripts/bench.sh serve [SECONDS]. Builds nothing. Last line: RESULT ...
set -euo pipefail
cd "$(dirname "$0")/../.."
export CHATFORGE=${CHATFORGE:-$PWD/build/release/chatforge} CF_SOURCE_DIR=$PWD CF_BINARY_DIR=$PWD/build/release
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OMP_WAIT_POLICY=PASSIVE
seconds=${1:-60}
tmp=$CF_BINARY_DIR/bench-tmp/serve
rm -rf "$tmp" && mkdir -p "$tmp"
source tests/scripts/lib/make_chat_model.sh
source tests/scripts/lib/serve_server.sh
make_chat_model "$tmp" 4 256 512
bias="{\"$IM_END\":-100,\"$EOT\":-100}"
trap 'stop_server || true' EXIT
for p in 8 1; do
  start_server "$tmp/p$p.log" --model "$tmp/model" --batch-size "$p" --max-queue 32
  echo "== parallel $p: 32 streaming clients, ${seconds} s, 64 tokens each =="
  node bench/serve_load.mjs "$BASE" 32 "$seconds" 64 "$SERVER_PID" 0 "$bias" | tee "$tmp/p$p.json"
  stop_server
done
/usr/bin/python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
r = {p: json.loads(open(f"{tmp}/p{p}.json").read().strip().splitlines()[-1]) for p in (8, 1)}
for p, s in r.items():
    print(f"parallel {p}: {s['tokens_per_s']:.1f} tok/s, {s['complete']} complete, {s['refused']} refused, "
          f"{s['status5xx']} 5xx, {s['incomplete']} incomplete, first token p50 {s['first_token_p50_ms']} ms "
          f"p95 {s['first_token_p95_ms']} ms, RSS {s['rss_kb_first_half_max']//1024}->{s['rss_kb_second_half_max']//1024} MB")
gain = r[8]["tokens_per_s"] / max(r[1]["tokens_per_s"], 1e-9)
print(f"RESULT serve_tok_s_p8={r[8]['tokens_per_s']:.1f} serve_tok_s_p1={r[1]['tokens_per_s']:.1f} batching_gain={gain:.2f} "
      f"errors_5xx={r[8]['status5xx'] + r[1]['status5xx']} incomplete={r[8]['incomplete'] + r[1]['incomplete']} "
      f"rss_mb_p8={r[8]['rss_kb_second_half_max']//1024}")
PY
