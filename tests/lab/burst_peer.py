#!/usr/bin/env python3
"""burst_peer: the client and the real servers of the request burst (tests/lab/t_burst.sh).

  burst_peer.py http-server PORT [BYTES]
                                        a threaded HTTP/1.1 server (keep-alive): every GET is
                                        answered with a body of BYTES (default 256) that
                                        starts with the server's name
  burst_peer.py short-server PORT [BYTES]
                                        a threaded server for serial: every request (the
                                        bytes up to a blank line) is answered in one write
                                        (no small second segment to wait behind Nagle and
                                        the peer's delayed ACK), until the peer closes
  burst_peer.py burst HOST PORT N TIMEOUT
                                        open N connections (all of them first), then send one
                                        request on each at once and read the answers with one
                                        selector; each request waits at most TIMEOUT seconds.
                                        Prints one line:
                                          "N opened, A answered, T timed out, R reset,
                                           E closed early, X s (slowest Y s)"
  burst_peer.py serial HOST PORT N TIMEOUT
                                        N connections one after the other: connect, one
                                        request, the whole answer, close (the client closes
                                        first); each at most TIMEOUT seconds. Prints one line:
                                          "N tried, A answered, F failed, X s (Y/s)"
                                        and the first failures on stderr
Exit status 0 when every request was answered.
"""
import http.server
import resource
import selectors
import socket
import sys
import time


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    body = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 4096       # the burst's connections arrive together
    daemon_threads = True


def http_server(port, size):
    raise_nofile()
    head = (socket.gethostname() + " ok\n").encode()
    Handler.body = (head + b"x" * size)[:max(size, len(head))]
    Server(("0.0.0.0", port), Handler).serve_forever()


def short_server(port, size):
    import socketserver

    head = (socket.gethostname() + " ok\n").encode()
    body = (head + b"x" * size)[:max(size, len(head))]
    answer = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
              + str(len(body)).encode() + b"\r\n\r\n" + body)

    class H(socketserver.BaseRequestHandler):
        def handle(self):
            buf = b""
            while True:
                b = self.request.recv(65536)
                if not b:
                    return
                buf += b
                while b"\r\n\r\n" in buf:
                    _, _, buf = buf.partition(b"\r\n\r\n")
                    self.request.sendall(answer)

    class S(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True
        request_queue_size = 1024

    raise_nofile()
    S(("0.0.0.0", port), H).serve_forever()


def open_all(host, port, n, deadline):
    """N non-blocking connects, at most 256 pending at once. Returns the sockets."""
    sel = selectors.DefaultSelector()
    socks, pending, started = [], 0, 0
    while len(socks) < n:
        while started < n and pending < 256:
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex((host, port))
            sel.register(s, selectors.EVENT_WRITE)
            started += 1
            pending += 1
        if time.time() > deadline:
            raise SystemExit(f"only {len(socks)} of {n} connections opened")
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj
            sel.unregister(s)
            pending -= 1
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err != 0:
                raise SystemExit(f"connect failed: {err}")
            socks.append(s)
    sel.close()
    return socks


def answered(buf):
    """True when buf holds a whole response (headers and Content-Length bytes)."""
    head, sep, rest = buf.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            return len(rest) >= int(v)
    return False


def burst(host, port, n, timeout):
    raise_nofile()
    socks = open_all(host, port, n, time.time() + 60)
    time.sleep(0.5)                 # every backend connection is up before the burst
    req = f"GET /burst HTTP/1.1\r\nHost: {host}\r\nUser-Agent: burst\r\n\r\n".encode()
    sel = selectors.DefaultSelector()
    bufs = {}
    t0 = time.time()
    for s in socks:
        s.send(req)                 # a few dozen bytes: the socket buffer takes them
        bufs[s] = b""
        sel.register(s, selectors.EVENT_READ)
    done = {}
    resets = early = 0
    while len(done) < n and time.time() < t0 + timeout:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                b = s.recv(65536)
            except ConnectionError:
                resets += 1
                b = None
            if b:
                bufs[s] += b
                if not answered(bufs[s]):
                    continue
                done[s] = time.time() - t0
            elif b is not None:
                early += 1
            sel.unregister(s)
            if s not in done:
                done[s] = None
    ok = sum(1 for v in done.values() if v is not None)
    slow = max([v for v in done.values() if v is not None], default=0.0)
    left = n - len(done)
    took = time.time() - t0
    late = [s.getsockname()[1] for s in socks if s not in done]
    if late:
        print("unanswered, by local port:", " ".join(map(str, late[:20])), file=sys.stderr)
    for s in socks:
        s.close()
    print(f"{n} opened, {ok} answered, {left} timed out, {resets} reset, {early} closed early, "
          f"{took:.1f} s (slowest {slow:.1f} s)")
    return 0 if ok == n else 1


def serial(host, port, n, timeout):
    req = f"GET /serial HTTP/1.1\r\nHost: {host}\r\nUser-Agent: serial\r\n\r\n".encode()
    ok = failed = 0
    t0 = time.time()
    for i in range(n):
        s = socket.socket()
        s.settimeout(timeout)
        buf = b""
        try:
            s.connect((host, port))
            s.sendall(req)
            while not answered(buf):
                b = s.recv(65536)
                if not b:
                    raise ConnectionError("closed before the whole answer")
                buf += b
            ok += 1
        except OSError as e:
            failed += 1
            if failed <= 10:
                print(f"connection {i}: {e!r} after {len(buf)} bytes", file=sys.stderr)
        finally:
            s.close()
    took = time.time() - t0
    print(f"{n} tried, {ok} answered, {failed} failed, {took:.1f} s ({n / took:.0f}/s)")
    return 0 if ok == n else 1


def main():
    a = sys.argv[1:]
    if a and a[0] == "http-server":
        http_server(int(a[1]), int(a[2]) if len(a) > 2 else 256)
    elif a and a[0] == "burst":
        return burst(a[1], int(a[2]), int(a[3]), float(a[4]))
    elif a and a[0] == "short-server":
        short_server(int(a[1]), int(a[2]) if len(a) > 2 else 256)
    elif a and a[0] == "serial":
        return serial(a[1], int(a[2]), int(a[3]), float(a[4]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
