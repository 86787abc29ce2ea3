#!/usr/bin/env bash
# Slow clients against `chatforge serve` (issue #19: 200 sockets dribbling header lines made
# /health and chat requests time out after > 45 s). tests/scripts/lib/slowloris.py holds
# 200 slowloris sockets (a header line a second, never the blank line) and 40 slow-POST
# sockets (8 body bytes a second; half Content-Length, half chunked), replacing each one the
# server closes, while probes time GET /health and a chat completion on fresh connections
# every half second. Phase 1, default limits, 15 s: every probe answers within 1 s, the
# attack really held its 240 sockets open, and the slowloris sockets were cut by the
# 10 s header timeout with a 408 (a few may see a reset instead: see the check). Phase 2, --max-connections 64 (fewer slots than
# attackers), 10 s: the stalest unfinished connections are evicted and every probe still
# answers within 1 s (one refusal per kind allowed: at the cap, a connection arriving while
# every slot is busy or being evicted gets a 503). Prints the latencies (median / p90 / max).
# ctest: alone (it checks timeouts or measures time)
set -euo pipefail
: "${CHATFORGE:?}" "${CF_BINARY_DIR:?}" "${CF_SOURCE_DIR:?}"
tmp="$CF_BINARY_DIR/test-tmp/serve_slowloris"
rm -rf "$tmp" && mkdir -p "$tmp"
source "$CF_SOURCE_DIR/tests/scripts/lib/make_chat_model.sh"
source "$CF_SOURCE_DIR/tests/scripts/lib/serve_server.sh"
make_chat_model "$tmp" 2 64 256
trap 'stop_server || true' EXIT
attack="$CF_SOURCE_DIR/tests/scripts/lib/slowloris.py"
chat='{"model": "model", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 4}'

start_server "$tmp/p1.log" --model "$tmp/model" --parallel 2
/usr/bin/python3 "$attack" "$PORT" 15 200 40 --chat-body "$chat" > "$tmp/p1.json" &
attacker=$!
sleep 8
threads=$(awk '/^Threads:/ {print $2}' "/proc/$SERVER_PID/status")
wait "$attacker"
stop_server
/usr/bin/python3 - "$tmp/p1.json" "$threads" "default limits" 1 <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
threads, label, phase = sys.argv[2], sys.argv[3], int(sys.argv[4])
fmt = lambda s: f"median {s['median'] * 1000:.1f} ms, p90 {s['p90'] * 1000:.1f} ms, max {s['max'] * 1000:.1f} ms over {s['n']}" if s else "none"
print(f"phase {phase} ({label}): {r['attackers']} attackers, {r['open_min']}..{r['open_max']} open at once, "
      f"{r['closed_by_server']} cut by the server {r['statuses']}, server threads {threads}")
print(f"  /health under attack: {fmt(r['health'])}")
print(f"  chat    under attack: {fmt(r['chat'])}")
problems = []
for kind in ("health", "chat"):
    if r[f"{kind}_failures"]: problems.append(f"{kind} probes failed: {r[kind + '_failures'][:5]}")
    s = r[kind]
    if not s or s["n"] < 8: problems.append(f"too few {kind} probes answered: {s}")
    elif s["max"] >= 1.0: problems.append(f"a {kind} probe took {s['max']:.3f} s (bound: 1 s)")
if phase == 1:
    if r["open_max"] < 230: problems.append(f"the attack never held its sockets: at most {r['open_max']} open")
    # 408 each. "none": the client saw a reset instead of the 408 (it kept sending after the
    # server's close). The server drains closed sockets for 2 s to prevent that, but at most
    # 64 at once (serve/lingering_close.h), and the 200 header timeouts fall within seconds of
    # each other: on a loaded machine (CI) one in 200 was seen. At most 5% may.
    st = r["statuses"]
    if set(st) - {"408", "none"} or st.get("none", 0) > 0.05 * max(1, r["closed_by_server"]):
        problems.append(f"attackers were cut with {st} (want 408, a reset for at most 5%)")
    if r["closed_by_server"] < 150: problems.append(f"the header timeout cut only {r['closed_by_server']} slowloris sockets")
    if r["lifetime"] and r["lifetime"]["max"] > 13.5: problems.append(f"a slowloris socket lived {r['lifetime']['max']:.1f} s (header timeout 10 s)")
if problems: sys.exit("FAIL: " + "; ".join(problems))
PY

start_server "$tmp/p2.log" --model "$tmp/model" --parallel 2 --max-connections 64
/usr/bin/python3 "$attack" "$PORT" 10 200 40 --chat-body "$chat" > "$tmp/p2.json"
evicted=$(curl -sf "$BASE/metrics" | awk '/^chatforge_connections_evicted_total/ {print $2}')
stop_server
/usr/bin/python3 - "$tmp/p2.json" "-" "--max-connections 64" 2 <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
fmt = lambda s: f"median {s['median'] * 1000:.1f} ms, p90 {s['p90'] * 1000:.1f} ms, max {s['max'] * 1000:.1f} ms over {s['n']}" if s else "none"
print(f"phase 2 (--max-connections 64): {r['attackers']} attackers, {r['closed_by_server']} connections cut")
print(f"  /health under attack: {fmt(r['health'])}")
print(f"  chat    under attack: {fmt(r['chat'])}")
problems = []
for kind in ("health", "chat"):
    # At the cap a new connection may be refused (503, closed at once) when every other slot
    # is busy or already being evicted; the client may see the close before the 503. One
    # such refusal per kind is allowed; anything else, or more, fails.
    fails = r[f"{kind}_failures"]
    refused = [f for f in fails if f.startswith(("503 ", "RemoteDisconnected", "ConnectionResetError"))]
    if refused: print(f"  {kind}: refused at the cap: {refused}")
    if len(fails) > len(refused) or len(refused) > 1: problems.append(f"{kind} probes failed: {fails[:5]}")
    s = r[kind]
    if not s or s["n"] < 5: problems.append(f"too few {kind} probes answered: {s}")
    elif s["max"] >= 1.0: problems.append(f"a {kind} probe took {s['max']:.3f} s (bound: 1 s)")
if problems: sys.exit("FAIL: " + "; ".join(problems))
PY
echo "evicted at the cap: $evicted connections"
[ "${evicted:-0}" -gt 100 ] || { echo "FAIL: the cap of 64 was never reached (evicted: $evicted)" >&2; exit 1; }
echo "serve_slowloris: OK"
