#!/usr/bin/env python3
"""A wire with a delay, in user space: every Ethernet frame that arrives on one of two
interfaces leaves on the other DELAY_MS later (both ways, so the round trip grows by
twice that). For the lab's TCP benchmarks on a kernel without netem (tc's delay
qdisc): the relay stands between a client and the switch, as a long path would.

    delay_relay.py IF_A IF_B DELAY_MS

Frames keep their order (one FIFO a direction, a constant delay). Nothing is dropped
but what the interfaces' own queues drop; a frame the relay's send finds no room for
is counted and dropped (printed at the end, on SIGTERM). Root; the interfaces need
their offloads off (no GSO frames) and promiscuous mode (frames for other MACs).
"""
import collections
import select
import signal
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: delay_relay.py IF_A IF_B DELAY_MS")
    names = sys.argv[1:3]
    delay = float(sys.argv[3]) / 1000.0
    socks = []
    for n in names:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((n, 0))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
        s.setblocking(False)
        socks.append(s)
    # queue[i]: frames that arrived on socks[i], to leave on socks[1 - i]: (due, frame)
    queue = [collections.deque(), collections.deque()]
    counts = {"relayed": 0, "send_failed": 0}
    done = []
    signal.signal(signal.SIGTERM, lambda *_: done.append(1))
    signal.signal(signal.SIGINT, lambda *_: done.append(1))
    fds = {s.fileno(): i for i, s in enumerate(socks)}
    while not done:
        now = time.monotonic()
        for i in (0, 1):
            q = queue[i]
            while q and q[0][0] <= now:
                _, frame = q.popleft()
                try:
                    socks[1 - i].send(frame)
                    counts["relayed"] += 1
                except (BlockingIOError, OSError):
                    counts["send_failed"] += 1
        due = [q[0][0] for q in queue if q]
        timeout = max(0.0, min(due) - time.monotonic()) if due else 0.5
        try:
            ready, _, _ = select.select(list(fds), [], [], timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd in ready:
            i = fds[fd]
            for _ in range(256):
                try:
                    frame, addr = socks[i].recvfrom(65536)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue            # what this relay itself sent on that interface
                queue[i].append((now + delay, frame))
    print("delay_relay: %d frames relayed, %d sends failed" %
          (counts["relayed"], counts["send_failed"]), file=sys.stderr)


if __name__ == "__main__":
    main()
