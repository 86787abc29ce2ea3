#!/usr/bin/env bash
# Hostile input against `chatforge serve`: every strict prefix of a valid body (broken
# JSON), wrong types and out-of-range values for every field, prompts over the context, a
# body over the size limit, non-object JSON, path traversal on the page (only it and
# /favicon.ico are served), missing and wrong API keys, wrong methods, raw garbage on the
# socket, and seeded random byte mutations.
# Every answer must be a 4xx with an OpenAI error object (mutations that stay valid may be
# 200), never a 5xx; afterwards the server is healthy, still answers, and exits cleanly.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_BINARY_DIR:?}" "${CF_SOURCE_DIR:?}"
tmp="$CF_BINARY_DIR/test-tmp/serve_bad_input"
rm -rf "$tmp" && mkdir -p "$tmp"
source "$CF_SOURCE_DIR/tests/scripts/lib/make_chat_model.sh"
source "$CF_SOURCE_DIR/tests/scripts/lib/serve_server.sh"
make_chat_model "$tmp" 2 64 256
trap 'stop_server || true' EXIT
start_server "$tmp/server.log" --model "$tmp/model" --parallel 2 --api-key secret-key --db "$tmp/fb.sqlite" --max-body-kb 64

/usr/bin/python3 - "$PORT" <<'PY'
import http.client, json, random, socket, sys
port = int(sys.argv[1])
AUTH = {"Authorization": "Bearer secret-key", "Content-Type": "application/json"}
counts, failures = {}, []

def request(method, path, body=None, headers=AUTH, allow=(400, 499), label=""):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
    finally:
        c.close()
    counts[r.status] = counts.get(r.status, 0) + 1
    ok = allow[0] <= r.status <= allow[1] or (r.status == 200 and allow == "any")
    if not ok:
        failures.append(f"{label or method + ' ' + path}: {r.status} {data[:200]!r}")
    if 400 <= r.status < 500 and path.startswith("/v1"):
        try:
            e = json.loads(data)["error"]
            assert isinstance(e["message"], str) and e["message"] and "type" in e and "param" in e and "code" in e
        except Exception:
            failures.append(f"{label}: 4xx without an OpenAI error object: {data[:200]!r}")
    return r.status, data

CHAT = "/v1/chat/completions"
base = {"model": "model", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 2}
valid = json.dumps(base)
status, _ = request("POST", CHAT, valid, allow=(200, 200), label="valid request")

# 1. every strict prefix of a valid body is broken JSON
for i in range(len(valid)):
    request("POST", CHAT, valid[:i], label=f"prefix {i}")
# 2. non-object JSON and junk
for body in ["[]", "null", "1", '"x"', "true", "{", "}", "{}", "{\"model\":}", "\x00\x01\x02", "\xff\xfe" * 10, "NaN", "{\"a\":1}{"]:
    request("POST", CHAT, body.encode("latin-1"), label=f"junk {body!r}")
# 3. wrong types / out-of-range values, one field at a time
bad_values = {
    "model": [1, None, "", "gpt-4", ["model"], {"id": "model"}],
    "messages": ["hi", [], [1], [{"role": 1, "content": "x"}], [{"role": "user"}], [{"role": "bogus", "content": "x"}],
                 [{"role": "user", "content": 5}], [{"role": "user", "content": [{"type": "image_url", "image_url": "x"}]}],
                 [{"role": "user", "content": "x"}, {"role": "system", "content": "late"}],
                 [{"role": "user", "content": "很长的句子。" * 400}], {"role": "user"}],
    "temperature": ["hot", -1, 3, [1], True],
    "top_p": [2, -0.5, "1"],
    "n": [0, 100, 1.5, "2", -1],
    "max_tokens": [0, -1, 10**9, "10", 2.5, 10**30],
    "max_completion_tokens": [0, 10**6],
    "stop": [5, [1], ["a", "b", "c", "d", "e"], [""], {"x": 1}, "x" * 300],
    "seed": ["x", 1.5, [1], 10**30],
    "logprobs": ["yes", 1],
    "top_logprobs": [50, -1, "3"],
    "stream": ["yes", 1],
    "stream_options": [1, "x"],
    "logit_bias": [[], {"abc": 1}, {"99999": 1}, {"1": 1000}, {"1": "x"}, {"-1": 1}],
    "frequency_penalty": [5, "x"],
    "presence_penalty": [-5],
    "top_k": [-1, "x"],
    "conversation_id": [5, "", "x" * 200],
}
for field, values in bad_values.items():
    for v in values:
        body = dict(base); body[field] = v
        request("POST", CHAT, json.dumps(body), label=f"{field}={str(v)[:40]}")
for field in ["model", "messages"]:
    body = dict(base); del body[field]
    request("POST", CHAT, json.dumps(body), label=f"missing {field}")
body = dict(base); body["top_logprobs"] = 2
request("POST", CHAT, json.dumps(body), label="top_logprobs without logprobs")
# completions
for p in [5, [1, 2], "", ["a", "b"], None, {"x": 1}, "Hello " * 400]:
    request("POST", "/v1/completions", json.dumps({"model": "model", "prompt": p, "max_tokens": 2}), label=f"prompt={str(p)[:30]}")
request("POST", "/v1/completions", json.dumps({"model": "model", "prompt": "hi", "logprobs": 9}), label="completions logprobs 9")
# feedback
for fb in [{}, {"message_id": "1", "rating": 1}, {"message_id": 1, "rating": 5}, {"message_id": 1, "rating": "up"},
           {"message_id": -3, "rating": 1}, {"message_id": 1, "rating": 1, "comment": 7}, {"message_id": 987654, "rating": 1},
           {"message_id": 1, "rating": 1, "comment": "x" * 20000}, [], "x"]:
    request("POST", "/v1/feedback", json.dumps(fb), label=f"feedback {str(fb)[:40]}")
# 4. bodies over the limit (64 KiB here)
huge = json.dumps({"model": "model", "messages": [{"role": "user", "content": "a" * 200000}]})
request("POST", CHAT, huge, label="huge body")
request("POST", "/v1/feedback", "x" * 100000, label="huge feedback body")
# 5. static files: only the embedded page exists
for path in ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/index.html/../../etc/passwd", "/web/index.html",
             "/src/serve/web/index.html", "//etc/passwd", "/..%2f..%2fetc%2fpasswd", "/CMakeLists.txt", "/.git/config",
             "/static/../../../../etc/shadow", "/%00", "/favicon.ico/../../etc/passwd", "/v2/models", "/metrics/../etc/passwd"]:
    s, data = request("GET", path, headers={}, label=f"GET {path}")
    if b"root:" in data:
        failures.append(f"GET {path} leaked a file")
# ... besides the page's icon: a 32x32 ICO (browsers ask for it on every visit), GET and HEAD only
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
c.request("GET", "/favicon.ico")
r = c.getresponse(); ico = r.read(); c.close()
if r.status != 200 or r.getheader("Content-Type") != "image/x-icon" or ico[:6] != b"\0\0\1\0\1\0" \
        or ico[6:8] != b"\x20\x20" or len(ico) != 6 + 16 + 40 + 32 * 32 * 4 + 32 * 4:
    failures.append(f"GET /favicon.ico: {r.status} {r.getheader('Content-Type')} {len(ico)} bytes {ico[:8]!r}")
counts[r.status] = counts.get(r.status, 0) + 1
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
c.request("HEAD", "/favicon.ico")
r = c.getresponse(); r.read(); c.close()
if r.status != 200:
    failures.append(f"HEAD /favicon.ico: {r.status}")
request("POST", "/favicon.ico", "x", headers={}, allow=(405, 405), label="POST /favicon.ico")
# 6. API key
for headers in [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic c2VjcmV0LWtleQ=="},
                {"Authorization": "Bearer "}, {"Authorization": "Bearer secret-key-and-more"}, {"Authorization": "secret-key"},
                {"Authorization": "Bearer secret-ke"}, {"Authorization": "Bearer " + "x" * 4000}]:
    for method, path, body in [("GET", "/v1/models", None), ("POST", CHAT, valid), ("POST", "/v1/feedback", "{}")]:
        s, _ = request(method, path, body, headers=headers, allow=(401, 401), label=f"auth {headers} {path}")
# 7. wrong methods
for method, path in [("GET", CHAT), ("PUT", CHAT), ("DELETE", "/v1/models"), ("PATCH", "/"), ("POST", "/"), ("GET", "/v1/feedback")]:
    request(method, path, None, label=f"{method} {path}")
# 8. seeded random mutations of the valid body: anything but a 5xx
rng = random.Random(1234)
for i in range(150):
    b = bytearray(valid.encode())
    for _ in range(rng.randint(1, 4)):
        op = rng.randint(0, 2); pos = rng.randrange(len(b))
        if op == 0: b[pos] = rng.randrange(256)
        elif op == 1: del b[pos]
        else: b.insert(pos, rng.randrange(256))
    request("POST", CHAT, bytes(b), allow=(200, 499), label=f"mutation {i}")
# 9. raw socket garbage: a 4xx or a closed connection, never a 5xx
raw = [b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET " + b"/a" * 10000 + b" HTTP/1.1\r\n\r\n",
       b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":",
       b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
       b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
       b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n0\r\n\r\n",
       b"GET / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 20000 + b"\r\n\r\n", b"\r\n\r\n\r\n", b"\x16\x03\x01\x00\xa5\x01\x00"]
for r in raw:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(r)
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk: break
            data += chunk
    except (ConnectionResetError, socket.timeout, BrokenPipeError):
        data = b""
    finally:
        s.close()
    if data:
        code = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
        counts[code] = counts.get(code, 0) + 1
        if not 400 <= code <= 499:
            failures.append(f"raw {r[:40]!r}: {data[:100]!r}")
    else:
        counts["closed"] = counts.get("closed", 0) + 1

total = sum(counts.values())
print(f"{total} hostile requests; statuses {dict(sorted(counts.items(), key=str))}")
# the server is healthy and still answers
request("GET", "/health", headers={}, allow=(200, 200), label="health after")
request("POST", CHAT, valid, allow=(200, 200), label="valid request after")
if failures:
    print("\n".join(failures[:40]), file=sys.stderr)
    sys.exit(f"FAIL: {len(failures)} unexpected answers")
assert total >= 300, total
assert not any(isinstance(k, int) and k >= 500 for k in counts), counts
PY
stop_server || { echo "FAIL: server did not exit cleanly" >&2; exit 1; }
echo "serve_bad_input: OK"
