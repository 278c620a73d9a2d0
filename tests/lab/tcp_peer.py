#!/usr/bin/env python3
"""tcp_peer: the Linux side of the TCP lab scenarios (tests/lab/t_tcp.sh).

  tcp_peer.py echo HOST PORT BYTES        send BYTES, read them back, compare SHA-256
  tcp_peer.py recv HOST PORT BYTES [STALL_S]
                                          read BYTES of lbd's source stream (optionally
                                          not reading for STALL_S seconds first), check SHA-256
  tcp_peer.py send HOST PORT BYTES        send BYTES to discard, wait for lbd's FIN
  tcp_peer.py many HOST PORT N            N concurrent connections, each echoes 100 bytes
  tcp_peer.py cps HOST PORT SECONDS       sequential connect/close rate (prints conn/s)
  tcp_peer.py hold HOST PORT              connect to source, read 64 KB, then sleep forever
  tcp_peer.py flood SRC_NET DST PORT N    N SYNs from random addresses of SRC_NET (/24)
Exit status 0 when the check passed.
"""
import hashlib
import os
import random
import selectors
import socket
import struct
import sys
import threading
import time

LINE = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\n"


def pattern(n):
    block = bytes((i * 131 + (i >> 8)) & 0xff for i in range(1 << 16))
    while n > 0:
        yield block[: min(n, len(block))]
        n -= min(n, len(block))


def source_sha(n):
    h, k = hashlib.sha256(), 0
    big = LINE * 2000
    while k < n:
        m = min(n - k, 63 * 1000)
        off = k % 63
        h.update(big[off: off + m])
        k += m
    return h.digest()


def echo(host, port, n):
    s = socket.create_connection((host, port), timeout=60)
    t0 = time.time()
    sent, got, recv = hashlib.sha256(), 0, hashlib.sha256()

    def writer():
        for chunk in pattern(n):
            s.sendall(chunk)
            sent.update(chunk)
        s.shutdown(socket.SHUT_WR)

    th = threading.Thread(target=writer)
    th.start()
    while True:
        b = s.recv(1 << 16)
        if not b:
            break
        recv.update(b)
        got += len(b)
    th.join()
    dt = time.time() - t0
    ok = got == n and sent.digest() == recv.digest()
    print(f"echo {n} bytes, {got} back, sha256 {'equal' if ok else 'DIFFERENT'}, "
          f"{n / dt / 1e6:.1f} MB/s each way, {dt:.1f} s")
    return ok


def recv(host, port, n, stall=0.0):
    s = socket.create_connection((host, port), timeout=60)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    if stall:
        time.sleep(stall)
    t0 = time.time()
    h, got = hashlib.sha256(), 0
    while got < n:
        b = s.recv(min(1 << 16, n - got))
        if not b:
            break
        h.update(b)
        got += len(b)
    dt = time.time() - t0
    s.close()
    ok = got == n and h.digest() == source_sha(n)
    print(f"recv {got}/{n} bytes, sha256 {'equal' if ok else 'DIFFERENT'}, "
          f"{n / max(dt, 1e-6) / 1e6:.1f} MB/s, {dt:.1f} s")
    return ok


def send(host, port, n):
    s = socket.create_connection((host, port), timeout=60)
    t0 = time.time()
    for chunk in pattern(n):
        s.sendall(chunk)
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
    dt = time.time() - t0
    print(f"send {n} bytes, {n / dt / 1e6:.1f} MB/s")
    return True


def many(host, port, n):
    socks = []
    for i in range(n):
        s = socket.create_connection((host, port), timeout=30)
        socks.append(s)
    for i, s in enumerate(socks):
        s.sendall(b"%099d" % i + b"\n")
    bad = 0
    for i, s in enumerate(socks):
        want, got = b"%099d" % i + b"\n", b""
        while len(got) < 100:
            b = s.recv(100 - len(got))
            if not b:
                break
            got += b
        bad += got != want
    for s in socks:
        s.close()
    print(f"{n} concurrent connections, {n - bad} echoed correctly")
    return bad == 0


def cps(host, port, seconds):
    end, n = time.time() + seconds, 0
    while time.time() < end:
        s = socket.create_connection((host, port), timeout=5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        n += 1
    print(f"{n / seconds:.0f} connections/s")
    return True


def hold(host, port):
    s = socket.create_connection((host, port), timeout=30)
    got = 0
    while got < 65536:
        got += len(s.recv(65536))
    print("holding", os.getpid(), flush=True)
    time.sleep(3600)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def flood(src_net, dst, port, n):
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    base = src_net.rsplit(".", 1)[0]
    d = socket.inet_aton(dst)
    t0 = time.time()
    for i in range(n):
        src = socket.inet_aton(f"{base}.{random.randint(150, 250)}")
        sport = random.randint(1024, 65535)
        tcp = struct.pack("!HHIIBBHHH", sport, port, random.getrandbits(32), 0, 5 << 4, 0x02,
                          65535, 0, 0)
        ph = src + d + struct.pack("!BBH", 0, 6, len(tcp))
        tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp)) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i & 0xffff, 0, 64, 6, 0, src, d)
        raw.sendto(ip + tcp, (dst, 0))
    print(f"{n} SYNs in {time.time() - t0:.1f} s")
    return True


def main():
    a = sys.argv[1:]
    cmd = a[0]
    if cmd == "echo":
        ok = echo(a[1], int(a[2]), int(a[3]))
    elif cmd == "recv":
        ok = recv(a[1], int(a[2]), int(a[3]), float(a[4]) if len(a) > 4 else 0.0)
    elif cmd == "send":
        ok = send(a[1], int(a[2]), int(a[3]))
    elif cmd == "many":
        ok = many(a[1], int(a[2]), int(a[3]))
    elif cmd == "cps":
        ok = cps(a[1], int(a[2]), float(a[3]))
    elif cmd == "hold":
        hold(a[1], int(a[2]))
        ok = True
    elif cmd == "flood":
        ok = flood(a[1], a[2], int(a[3]), int(a[4]))
    else:
        print(__doc__)
        ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
