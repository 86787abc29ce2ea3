"""Raw HTTP/1.1 on a socket for the serve tests: send exact bytes (pipelined requests,
malformed framing, huge heads, bodies sent while watching for an early answer) and parse
every response that comes back, in order, until the server closes or goes quiet."""
import select
import socket
import time


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return f"<{self.status} {len(self.body)} bytes {self.body[:80]!r}>"


def parse_responses(data, head=False):
    """All complete responses in `data` (Content-Length or chunked bodies; none for HEAD)."""
    out = []
    while data:
        head_end = data.find(b"\r\n\r\n")
        if head_end < 0:
            break
        lines = data[:head_end].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        rest = data[head_end + 4:]
        if head:
            body = b""
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                eol = rest.find(b"\r\n")
                if eol < 0:
                    return out
                n = int(rest[:eol].split(b";")[0], 16)
                if len(rest) < eol + 2 + n + 2:
                    return out
                body += rest[eol + 2:eol + 2 + n]
                rest = rest[eol + 2 + n + 2:]
                if n == 0:
                    break
        else:
            n = int(headers.get("content-length", "0"))
            if len(rest) < n:
                break
            body, rest = rest[:n], rest[n:]
        out.append(Response(status, headers, body))
        data = rest
    return out


def exchange(port, payload, quiet=2.0, limit=30.0, head=False):
    """Sends payload, reads until the server closes or sends nothing for `quiet` seconds.
    Returns (responses, closed_by_server)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=limit)
    data, closed = b"", False
    try:
        s.sendall(payload)
        end = time.monotonic() + limit
        while time.monotonic() < end:
            r, _, _ = select.select([s], [], [], quiet)
            if not r:
                break
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            data += chunk
    finally:
        s.close()
    return parse_responses(data, head), closed


def send_watching(port, head, chunks, limit=60.0):
    """Sends `head`, then each of `chunks` (an iterator of bytes) while the server has not
    answered; stops at the first answer. Returns (responses, bytes_of_body_sent, closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=limit)
    s.setblocking(False)
    sent, data, closed = 0, b"", False
    end = time.monotonic() + limit

    def pump(timeout):
        nonlocal data, closed
        r, _, _ = select.select([s], [], [], timeout)
        if r:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, BlockingIOError):
                chunk = b""
            if not chunk:
                closed = True
            data += chunk
        return bool(r)

    try:
        buf = head
        it = iter(chunks)
        while time.monotonic() < end and not data and not closed:
            if not buf:
                buf = next(it, None)
                if buf is None:
                    break
            _, w, _ = select.select([], [s], [], 0.05)
            if w:
                try:
                    n = s.send(buf)
                except BlockingIOError:
                    n = 0
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                sent += n
                buf = buf[n:]
            pump(0)
        while time.monotonic() < end and not closed:
            if not pump(2.0):
                break
    finally:
        s.close()
    return parse_responses(data), max(0, sent - len(head)), closed
