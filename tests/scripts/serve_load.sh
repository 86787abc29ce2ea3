#!/usr/bin/env bash
# Load on loopback: 32 concurrent streaming clients for SERVE_LOAD_SECONDS (default 12 s
# here; `scripts/bench.sh serve` runs 60 s) against --parallel 8 --max-queue 8. Zero 5xx,
# every stream complete (finish_reason + [DONE]) or cleanly refused (429 + Retry-After),
# every 7th client disconnects after its first token, RSS flat (second-half peak within
# 10% + 16 MB of the first-half peak), nothing left running afterwards. Then the same
# load at --parallel 1 and the throughput ratio is printed (no timed assertion). Finally a
# disconnect frees its slot at once: a 400-token stream dropped after one token generates
# far fewer than 400 tokens.
# ctest: alone (it checks timeouts or measures time)
set -euo pipefail
: "${CHATFORGE:?}" "${CF_BINARY_DIR:?}" "${CF_SOURCE_DIR:?}"
tmp="$CF_BINARY_DIR/test-tmp/serve_load"
rm -rf "$tmp" && mkdir -p "$tmp"
source "$CF_SOURCE_DIR/tests/scripts/lib/make_chat_model.sh"
source "$CF_SOURCE_DIR/tests/scripts/lib/serve_server.sh"
command -v node >/dev/null || { echo "node not installed: skipped"; exit 77; }
seconds=${SERVE_LOAD_SECONDS:-12}
make_chat_model "$tmp" 4 256 512
bias="{\"$IM_END\":-100,\"$EOT\":-100}"
load="$CF_SOURCE_DIR/bench/serve_load.mjs"
trap 'stop_server || true' EXIT

start_server "$tmp/p8.log" --model "$tmp/model" --parallel 8 --max-queue 8
node "$load" "$BASE" 32 "$seconds" 24 "$SERVER_PID" 7 "$bias" | tee "$tmp/p8.json"
curl -sf "$BASE/health" > "$tmp/health.json"
stop_server
/usr/bin/python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
s = json.loads(open(f"{tmp}/p8.json").read().strip().splitlines()[-1])
h = json.load(open(f"{tmp}/health.json"))
problems = []
for k in ("status5xx", "incomplete", "other_status", "refused_without_retry_after"):
    if s[k] != 0: problems.append(f"{k}={s[k]}")
if s["complete"] < 8: problems.append(f"only {s['complete']} complete streams")
if s["refused"] == 0: problems.append("32 clients on 8 slots + 8 queue were never refused")
if s["aborted"] == 0: problems.append("no client disconnected")
if s["rss_kb_second_half_max"] > s["rss_kb_first_half_max"] * 1.10 + 16384:
    problems.append(f"memory grew: {s['rss_kb_first_half_max']} -> {s['rss_kb_second_half_max']} kB")
if h["running"] != 0 or h["queued"] != 0: problems.append(f"left running after the load: {h}")
print(f"parallel 8: {s['requests']} requests, {s['complete']} complete, {s['refused']} refused (429), "
      f"{s['aborted']} disconnected, {s['tokens_per_s']:.1f} tok/s, RSS {s['rss_kb_first_half_max']//1024} -> "
      f"{s['rss_kb_second_half_max']//1024} MB")
if problems: sys.exit("FAIL: " + "; ".join(problems))
PY

start_server "$tmp/p1.log" --model "$tmp/model" --parallel 1 --max-queue 64
node "$load" "$BASE" 32 "$(( (seconds + 1) / 2 ))" 24 "$SERVER_PID" 0 "$bias" | tee "$tmp/p1.json"
# disconnect: a long stream dropped after its first token stops generating at once
before=$(curl -sf "$BASE/metrics" | awk '/^chatforge_generated_tokens_total/ {print $2}')
/usr/bin/python3 - "$PORT" "$bias" <<'PY'
import http.client, json, socket, sys
port, bias = int(sys.argv[1]), json.loads(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
c.request("POST", "/v1/chat/completions", json.dumps({"model": "model", "stream": True, "max_tokens": 400, "logit_bias": bias,
          "messages": [{"role": "user", "content": "Hello"}]}), {"Content-Type": "application/json"})
r = c.getresponse()
assert r.status == 200, r.status
while True:  # read until the first generated token arrives
    line = r.fp.readline()
    if not line: sys.exit("FAIL: the stream ended before its first token")
    if b'"content":"' in line and b'"role"' not in line: break
c.sock.shutdown(socket.SHUT_RDWR)  # drop the connection mid-stream
r.close(); c.close()
# the next request gets the only slot and completes
c2 = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
c2.request("POST", "/v1/chat/completions", json.dumps({"model": "model", "max_tokens": 4, "logit_bias": bias,
           "messages": [{"role": "user", "content": "Hi"}]}), {"Content-Type": "application/json"})
r2 = c2.getresponse(); body = json.loads(r2.read())
assert r2.status == 200 and body["usage"]["completion_tokens"] == 4, body
PY
after=$(curl -sf "$BASE/metrics" | awk '/^chatforge_generated_tokens_total/ {print $2}')
stop_server
used=$((after - before - 4))
echo "dropped 400-token stream generated $used tokens before its slot was freed"
[ "$used" -lt 200 ] || { echo "FAIL: the disconnected stream kept generating ($used tokens)" >&2; exit 1; }
/usr/bin/python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
p8 = json.loads(open(f"{tmp}/p8.json").read().strip().splitlines()[-1])
p1 = json.loads(open(f"{tmp}/p1.json").read().strip().splitlines()[-1])
assert p1["status5xx"] == 0 and p1["incomplete"] == 0, p1
print(f"throughput: parallel 8 {p8['tokens_per_s']:.1f} tok/s vs parallel 1 {p1['tokens_per_s']:.1f} tok/s = "
      f"{p8['tokens_per_s'] / max(p1['tokens_per_s'], 1e-9):.2f}x")
PY
echo "serve_load: OK"
