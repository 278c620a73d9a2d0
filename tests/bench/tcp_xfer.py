#!/usr/bin/env python3
"""tcp_xfer: one bulk transfer over one TCP connection, timed (tools/bench tcp).

  tcp_xfer.py serve ADDR SRC_PORT SINK_PORT  Linux's side as lbd's test services are:
                                              SRC_PORT sends the source stream until the
                                              client closes, SINK_PORT reads to EOF and
                                              closes (one thread per connection)
  tcp_xfer.py get HOST PORT BYTES [TIMEOUT]  reads BYTES of the source stream, checks
                                              their SHA-256, closes
  tcp_xfer.py put HOST PORT BYTES [TIMEOUT]  sends BYTES, half-closes, waits for the
                                              peer's close (all of it taken)
get and put print "SECONDS ok" or "SECONDS fail REASON" and exit 0 either way; no
socket buffer is set, so Linux's own tuning applies, as for any application.
TCP_XFER_CC=NAME (cubic, reno, ...): every socket opened or accepted uses that
congestion control (TCP_CONGESTION; outside the namespace's allowed list it needs
CAP_NET_ADMIN), not the namespace's default.
The stream is the one of tests/lab/tcp_peer.py (lbd's source service sends it too).
"""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))
from tcp_peer import LINE, pattern, source_sha  # noqa: E402

BIG = LINE * 2000
CC = os.environ.get("TCP_XFER_CC", "")
TCP_CONGESTION = getattr(socket, "TCP_CONGESTION", 13)


def set_cc(s):
    """Sets TCP_XFER_CC's congestion control on socket s (nothing when unset)."""
    if CC:
        s.setsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, CC.encode())


def connect(host, port, timeout):
    """socket.create_connection's, with the congestion control set before the SYN."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        set_cc(s)
        s.settimeout(timeout)
        s.connect((host, port))
    except OSError:
        s.close()
        raise
    return s


def serve_source(c):
    k = 0
    try:
        while True:
            off = k % 63
            c.sendall(BIG[off: off + 63 * 1000])
            k += 63 * 1000
    except OSError:
        pass
    c.close()


def serve_sink(c):
    try:
        while c.recv(1 << 20):
            pass
    except OSError:
        pass
    c.close()


def serve(addr, src, sink):
    def loop(port, fn):
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        set_cc(ls)
        ls.bind((addr, port))
        ls.listen(64)
        while True:
            c, _ = ls.accept()
            try:
                set_cc(c)
            except OSError:
                c.close()
                continue
            threading.Thread(target=fn, args=(c,), daemon=True).start()

    threading.Thread(target=loop, args=(src, serve_source), daemon=True).start()
    loop(sink, serve_sink)


def get(host, port, n, timeout):
    import hashlib
    t0 = time.time()
    s = connect(host, port, timeout)
    h, got = hashlib.sha256(), 0
    try:
        while got < n and time.time() - t0 < timeout:
            b = s.recv(min(1 << 20, n - got))
            if not b:
                break
            h.update(b)
            got += len(b)
    except OSError as e:
        return time.time() - t0, "fail %s after %d bytes" % (e, got)
    dt = time.time() - t0
    s.close()
    if got < n:
        return dt, "fail %d of %d bytes" % (got, n)
    return dt, "ok" if h.digest() == source_sha(n) else "fail sha256 differs"


def put(host, port, n, timeout):
    t0 = time.time()
    s = connect(host, port, timeout)
    try:
        for chunk in pattern(n):
            s.sendall(chunk)
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass
    except OSError as e:
        return time.time() - t0, "fail %s" % e
    return time.time() - t0, "ok"


def main():
    mode = sys.argv[1]
    if mode == "serve":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 600.0
    try:
        dt, res = (get if mode == "get" else put)(sys.argv[2], int(sys.argv[3]),
                                                   int(sys.argv[4]), timeout)
    except OSError as e:
        dt, res = 0.0, "fail %s" % e
    print("%.2f %s" % (dt, res))


if __name__ == "__main__":
    main()
