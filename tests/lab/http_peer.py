#!/usr/bin/env python3
"""http_peer: the real server and the raw clients of tests/lab/t_http.sh.

  http_peer.py server NAME PORT DIR [CERT KEY]  HTTP/1.1 server (keep-alive) naming
                                        itself NAME; HTTPS with CERT and KEY
  http_peer.py pipeline HOST PORT N     N requests pipelined on one connection: prints
                                        the servers that answered, in order
  http_peer.py raw HOST PORT FILE       sends FILE's bytes, prints the status line
  http_peer.py trickle HOST PORT SECS   sends a request a byte a second: status line
  http_peer.py upgrade HOST PORT        Connection: Upgrade, then echoes through the tunnel
  http_peer.py keepalive HOST PORT N [COOKIEJAR]  N requests on one connection (with the
                                        cookie the first answer set): prints the servers
  http_peer.py users HOST PORT ROUNDS JAR...  several users on one connection, as a proxy
                                        in front merges them: each round one request per
                                        user with its own cookie (updated from Set-Cookie);
                                        prints a line per user, "JAR SERVER..." (a "+"
                                        after a server: the answer set a cookie)

With HTTP_PEER_TLS=1 in the environment the clients speak TLS (no verification).

Server paths: /who (its name), /headers (the request's header block), /big (DIR/big),
/chunked (DIR/big as a chunked response, chunks of 1 byte to 64 KiB),
/upload (POST, any framing: the SHA-256 of the body), /slow (answers after 30 s),
/garbage (junk, then close), /close (closes at once), /ws (101, then echo).
"""
import hashlib
import http.server
import os
import select
import socket
import socketserver
import ssl
import sys
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    name = "?"
    root = "."

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.client_address[0], fmt % args))

    def reply(self, code, body, extra=()):
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        h = hashlib.sha256()
        n = 0
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                left = size
                while left:
                    d = self.rfile.read(min(left, 1 << 16))
                    h.update(d)
                    left -= len(d)
                    n += len(d)
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left:
                d = self.rfile.read(min(left, 1 << 16))
                if not d:
                    break
                h.update(d)
                left -= len(d)
                n += len(d)
        return n, h.hexdigest()

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        p = self.path
        if p == "/who":
            self.reply(200, (self.name + "\n").encode())
        elif p == "/headers":
            self.reply(200, str(self.headers).encode())
        elif p == "/big":
            f = os.path.join(self.root, "big")
            size = os.path.getsize(f)
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            if self.command != "HEAD":
                with open(f, "rb") as fh:
                    while True:
                        d = fh.read(1 << 20)
                        if not d:
                            break
                        self.wfile.write(d)
        elif p == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command != "HEAD":
                n = 1
                with open(os.path.join(self.root, "big"), "rb") as fh:
                    while True:
                        d = fh.read(n)
                        if not d:
                            break
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(d), d))
                        n = n * 7 % 65536 + 1
                self.wfile.write(b"0\r\n\r\n")
        elif p == "/slow":
            time.sleep(30)
            self.reply(200, b"late\n")
        elif p == "/garbage":
            self.wfile.write(b"this is not HTTP\r\n\r\n")
            self.wfile.flush()
            self.close_connection = True
        elif p == "/close":
            self.close_connection = True
        elif p == "/ws":
            self.send_response(101)
            self.send_header("Connection", "Upgrade")
            self.send_header("Upgrade", "echo")
            self.end_headers()
            self.wfile.flush()
            while True:
                d = self.connection.recv(65536)
                if not d:
                    break
                self.connection.sendall(d)
            self.close_connection = True
        elif p == "/nocontent":
            self.send_response(204)
            self.end_headers()
        else:
            self.reply(404, b"no such path\n")

    def do_POST(self):
        n, digest = self.read_body()
        self.reply(200, ("%s %d %s\n" % (self.name, n, digest)).encode())


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def server(name, port, root, cert=None, key=None):
    Handler.name = name
    Handler.root = root
    srv = Server(("0.0.0.0", int(port)), Handler)
    if cert:
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        c.load_cert_chain(cert, key)
        srv.socket = c.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


def connect(host, port, timeout=10):
    s = socket.create_connection((host, int(port)), timeout=timeout)
    if os.environ.get("HTTP_PEER_TLS"):
        c = ssl.create_default_context()
        c.check_hostname = False
        c.verify_mode = ssl.CERT_NONE
        s = c.wrap_socket(s, server_hostname=host)
    return s


def read_response(f):
    """One response from the file f: (status line, headers dict, body)."""
    status = f.readline().decode().rstrip("\r\n")
    headers = {}
    while True:
        line = f.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        k, _, v = line.decode().partition(":")
        headers.setdefault(k.strip().lower(), []).append(v.strip())
    n = int(headers.get("content-length", ["0"])[0])
    return status, headers, f.read(n)


def pipeline(host, port, n):
    s = connect(host, port)
    req = b"GET /who HTTP/1.1\r\nHost: lab\r\n\r\n" * int(n)
    s.sendall(req)
    f = s.makefile("rb")
    for _ in range(int(n)):
        status, _, body = read_response(f)
        print(status.split(" ")[1], body.decode().strip())


def raw(host, port, path):
    s = connect(host, port)
    s.sendall(open(path, "rb").read())
    f = s.makefile("rb")
    status, _, body = read_response(f)
    print(status)
    sys.stderr.write(body.decode(errors="replace"))


def trickle(host, port, secs):
    s = connect(host, port, int(secs) + 10)
    req = b"GET /who HTTP/1.1\r\nHost: lab\r\nX-Slow: " + b"a" * 100 + b"\r\n\r\n"
    try:
        for i in range(len(req)):
            s.send(req[i:i + 1])
            if select.select([s], [], [], 1)[0]:
                break   # an answer came before the request was whole
    except OSError:
        pass
    f = s.makefile("rb")
    print(read_response(f)[0])


def upgrade(host, port):
    s = connect(host, port)
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: lab\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
    f = s.makefile("rb")
    status, _, _ = read_response(f)
    print(status)
    s.sendall(b"ping through the tunnel\n")
    print(f.readline().decode().strip())


def keepalive(host, port, n, jar=None):
    s = connect(host, port)
    f = s.makefile("rb")
    cookie = open(jar).read().strip() if jar and os.path.exists(jar) else ""
    got = []
    pause = float(os.environ.get("HTTP_PEER_PAUSE", "0"))
    for i in range(int(n)):
        if i:
            time.sleep(pause)
        extra = ("Cookie: %s\r\n" % cookie) if cookie else ""
        s.sendall(("GET /who HTTP/1.1\r\nHost: lab\r\n%s\r\n" % extra).encode())
        status, headers, body = read_response(f)
        for sc in headers.get("set-cookie", []):
            cookie = sc.split(";")[0]
        got.append(body.decode().strip())
    if jar:
        open(jar, "w").write(cookie)
    print(" ".join(got))


def users(host, port, rounds, *jars):
    s = connect(host, port)
    f = s.makefile("rb")
    cookies = {j: (open(j).read().strip() if os.path.exists(j) else "") for j in jars}
    got = {j: [] for j in jars}
    for _ in range(int(rounds)):
        for j in jars:
            extra = ("Cookie: %s\r\n" % cookies[j]) if cookies[j] else ""
            s.sendall(("GET /who HTTP/1.1\r\nHost: lab\r\n%s\r\n" % extra).encode())
            status, headers, body = read_response(f)
            mark = ""
            for sc in headers.get("set-cookie", []):
                cookies[j] = sc.split(";")[0]
                mark = "+"
            got[j].append(body.decode().strip() + mark)
    for j in jars:
        open(j, "w").write(cookies[j])
        print(os.path.basename(j), " ".join(got[j]))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"server": server, "pipeline": pipeline, "raw": raw, "trickle": trickle,
     "upgrade": upgrade, "keepalive": keepalive, "users": users}[cmd](*args)
