#!/usr/bin/env python3
"""l7_peer: clients and real servers of the Layer 7 proxy scenario (tests/lab/t_l7.sh).

  l7_peer.py sink-server PORT           each connection: read to EOF, answer the SHA-256
                                        (hex) of what came and the byte count, close
  l7_peer.py hold-server PORT           each connection: held open until the peer closes
  l7_peer.py upload HOST PORT FILE      send FILE, half-close, print the server's answer
  l7_peer.py hold HOST PORT N READY DONE
                                        open N connections, hold them; touch READY when all
                                        are up, wait for DONE to exist, then close them all
  l7_peer.py idle HOST PORT SECONDS     connect, stay silent; print "reset" or "eof" with the
                                        time it took, or "open" if nothing happened
Exit status 0 when the check passed.
"""
import hashlib
import os
import resource
import selectors
import socket
import sys
import threading
import time


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def serve(port, handler):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(4096)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=handler, args=(c,), daemon=True).start()


def sink_handler(c):
    h, n = hashlib.sha256(), 0
    try:
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            h.update(b)
            n += len(b)
        c.sendall(f"{h.hexdigest()} {n}\n".encode())
    finally:
        c.close()


def hold_server(port):
    """Many idle connections: one selector thread, not one thread each."""
    raise_nofile()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(4096)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj is ls:
                try:
                    c, _ = ls.accept()
                except BlockingIOError:
                    continue
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ)
            else:
                try:
                    b = key.fileobj.recv(4096)
                except ConnectionError:
                    b = b""
                if not b:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()


def upload(host, port, path):
    s = socket.create_connection((host, port), timeout=600)
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 16)
            if not b:
                break
            s.sendall(b)
    s.shutdown(socket.SHUT_WR)
    answer = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        answer += b
    print(answer.decode().strip())
    return 0


def hold(host, port, n, ready, done):
    raise_nofile()
    socks = []
    for i in range(n):
        for attempt in range(5):
            try:
                socks.append(socket.create_connection((host, port), timeout=10))
                break
            except OSError as e:
                if attempt == 4:
                    print(f"connection {i}: {e}")
                    return 1
                time.sleep(0.2)
    open(ready, "w").close()
    deadline = time.time() + 300
    while not os.path.exists(done) and time.time() < deadline:
        time.sleep(0.1)
    # Every connection must still be open: nothing to read, no reset.
    alive = 0
    for s in socks:
        s.setblocking(False)
        try:
            s.recv(1)
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    for s in socks:
        s.close()
    print(f"{alive} of {n} alive")
    return 0 if alive == n else 1


def idle(host, port, seconds):
    s = socket.create_connection((host, port), timeout=seconds)
    t0 = time.time()
    try:
        b = s.recv(1)
        what = "eof" if not b else "data"
    except socket.timeout:
        what = "open"
    except ConnectionResetError:
        what = "reset"
    print(f"{what} {time.time() - t0:.1f}")
    return 0


def main():
    a = sys.argv[1:]
    if a[0] == "sink-server":
        serve(int(a[1]), sink_handler)
    elif a[0] == "hold-server":
        hold_server(int(a[1]))
    elif a[0] == "upload":
        return upload(a[1], int(a[2]), a[3])
    elif a[0] == "hold":
        return hold(a[1], int(a[2]), int(a[3]), a[4], a[5])
    elif a[0] == "idle":
        return idle(a[1], int(a[2]), float(a[3]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
