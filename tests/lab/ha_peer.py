#!/usr/bin/env python3
"""Peers for the HA scenario (t_ha.sh).

  ha_peer.py udp-server NAME PORT
      answers every datagram with "NAME <datagram>"
  ha_peer.py udp-client DST PORT SECONDS OUT
      one datagram every 50 ms from one source port for SECONDS; writes to OUT (JSON)
      how many were sent and answered, the longest silence and who answered
  ha_peer.py http-loop SRC DST PORT PATH SECONDS OUT
      a new TCP connection from SRC every 100 ms for SECONDS (each given 1 s), asking
      GET PATH; writes to OUT (JSON) each attempt's start time (monotonic seconds) and
      the answer's last line (the real server's name), or null when it failed
  ha_peer.py advert KEYFILE SRC DST COUNTER [--wrong-key]
      sends one HA advert (state master, priority 254) from SRC (spoofed through a raw
      socket) to DST, authenticated with the key in KEYFILE (or a wrong one), with the
      given counter: the appliance must ignore it (bad MAC, replay, not the peer)
"""
import hashlib
import hmac
import json
import select
import socket
import struct
import sys
import time

HA_PORT = 5798


def udp_server(name, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(port)))
    while True:
        data, addr = s.recvfrom(2048)
        s.sendto(name.encode() + b" " + data, addr)


def udp_client(dst, port, seconds, out):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 40000))
    s.setblocking(False)
    end = time.monotonic() + float(seconds)
    nxt = time.monotonic()
    sent = got = 0
    servers = set()
    last = None
    first = None
    max_gap = 0.0
    while time.monotonic() < end:
        now = time.monotonic()
        if now >= nxt:
            s.sendto(b"seq %d" % sent, (dst, int(port)))
            sent += 1
            nxt = now + 0.05
        r, _, _ = select.select([s], [], [], max(0.0, nxt - time.monotonic()))
        if r:
            try:
                data, _ = s.recvfrom(2048)
            except BlockingIOError:
                continue
            t = time.monotonic()
            got += 1
            servers.add(data.split(b" ")[0].decode())
            if last is not None:
                max_gap = max(max_gap, t - last)
            if first is None:
                first = t
            last = t
    if last is not None:
        max_gap = max(max_gap, end - last)
    json.dump({"sent": sent, "got": got, "max_gap_s": round(max_gap, 3),
               "servers": sorted(servers)}, open(out, "w"))


def http_once(src, dst, port, path, timeout):
    c = socket.socket()
    c.settimeout(timeout)
    try:
        c.bind((src, 0))
        c.connect((dst, int(port)))
        c.sendall(b"GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path.encode(), dst.encode()))
        data = b""
        while True:
            d = c.recv(4096)
            if not d:
                break
            data += d
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n")[0] + b" ":
            return None
        return body.strip().split(b"\n")[-1].decode() or None
    except OSError:
        return None
    finally:
        c.close()


def http_loop(src, dst, port, path, seconds, out):
    end = time.monotonic() + float(seconds)
    events = []
    while time.monotonic() < end:
        t = time.monotonic()
        events.append([round(t, 3), http_once(src, dst, port, path, 1.0)])
        time.sleep(max(0.0, t + 0.1 - time.monotonic()))
    json.dump({"events": events}, open(out, "w"))


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def advert(keyfile, src, dst, counter, wrong):
    key = open(keyfile, "rb").read().rstrip()
    if wrong:
        key = b"not the pair's key, but long enough"
    # header: magic, version, type 1 (advert), vrid 1, 0, sender, counter
    msg = struct.pack("!IBBBB4sQ", 0x4C424841, 1, 1, 1, 0, socket.inet_aton(src), int(counter))
    # body: priority 254, state master (2), 0, interval 200, sync tx/rx
    msg += struct.pack("!BBHIII", 254, 2, 0, 200, 0, 0)
    msg += hmac.new(key, msg, hashlib.sha256).digest()
    udp_len = 8 + len(msg)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", HA_PORT, HA_PORT, udp_len, 0) + msg
    udp = udp[:6] + struct.pack("!H", csum(pseudo + udp) or 0xFFFF) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 255, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    s.sendto(ip + udp, (dst, 0))


def main():
    cmd = sys.argv[1]
    if cmd == "udp-server":
        udp_server(sys.argv[2], sys.argv[3])
    elif cmd == "udp-client":
        udp_client(*sys.argv[2:6])
    elif cmd == "http-loop":
        http_loop(*sys.argv[2:8])
    elif cmd == "advert":
        advert(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], "--wrong-key" in sys.argv)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
