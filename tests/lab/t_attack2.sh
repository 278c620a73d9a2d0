#!/usr/bin/env bash
# More attacks while a real client works (the hardening issue; t_attack has the rest):
# a real server's fragmented answers through a Layer 4 VIP (reassembled and sent from
# the VIP), a flood of first fragments that never complete at a Layer 4 VIP, and a
# spoofed-source SYN flood at a Layer 7 VIP. During each, the external client's STUN
# transactions (Layer 4 UDP), HTTP requests through a Layer 4 and a Layer 7 VIP and
# fragmented UDP exchanges all succeed, no health state changes, lbd's memory stays
# bounded, and the counters say what happened.
# With LBD_ATTACK_REPORT=FILE each attack appends a line of figures to FILE
# (tools/bench attack makes the table in doc/benchmarks.md of them).
source "$(dirname "$0")/lib.sh"

"$lab" up >/dev/null || exit 1

cfg=$tmp/attack2.json
make_config "$cfg" '
c["appliance"]["idle_sleep_us"] = 0
c["routing"] = {"forward": True}
rs = [{"label": "rs1", "ip": "192.168.112.51", "port": None},
      {"label": "rs2", "ip": "192.168.112.52", "port": None}]
ping = {"type": "ping", "interval_ms": 500, "timeout_ms": 300, "rise": 2, "fall": 3}
conn = {"type": "connect", "port": 80, "interval_ms": 500, "timeout_ms": 300, "rise": 2,
        "fall": 3}
c["virtual_services"] = [
  {"label": "AvUDP", "ip": "10.200.50.120", "ports": [3478], "protocol": "udp", "layer": 4,
   "forwarding": "nat", "scheduler": "wrr", "health_check": ping, "real_servers": rs},
  {"label": "AvBig", "ip": "10.200.50.120", "ports": [9999], "protocol": "udp", "layer": 4,
   "forwarding": "nat", "scheduler": "wrr", "health_check": ping, "real_servers": rs},
  {"label": "AvTCP", "ip": "10.200.50.120", "ports": [80], "protocol": "tcp", "layer": 4,
   "forwarding": "nat", "scheduler": "wrr", "health_check": conn, "real_servers": rs},
  {"label": "AvL7", "ip": "10.200.50.121", "ports": [80], "protocol": "tcp", "layer": 7,
   "mode": "tcp", "scheduler": "wrr", "persistence": {"type": "none"},
   "health_check": conn, "real_servers": rs}]
'
for rs in rs1 rs2; do
    mkdir -p "$tmp/www-$rs" && echo $rs >"$tmp/www-$rs/who"
    (cd "$tmp/www-$rs" && exec "$lab" exec $rs python3 -c "
import http.server as h
h.ThreadingHTTPServer(('0.0.0.0', 80), h.SimpleHTTPRequestHandler).serve_forever()" \
        >"$tmp/http-$rs.log" 2>&1) &
    on $rs turnserver -n --stun-only --listening-port 3478 --no-tls --no-dtls --no-cli \
        --log-file stdout --simple-log --pidfile "$tmp/turn-$rs.pid" >"$tmp/turn-$rs.log" 2>&1 &
    # Answers each datagram with 3,000 bytes (the request's first 16, then filler): more
    # than the MTU, so Linux sends it in fragments.
    on $rs python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 9999))
while True:
    d, a = s.recvfrom(65536)
    s.sendto(d[:16] + b'$rs'.ljust(2984, b'.'), a)" >"$tmp/big-$rs.log" 2>&1 &
done
sleep 1
# Through libpcap, not af_packet: DPDK 22.11's af_packet joins a fanout group with
# PACKET_FANOUT_FLAG_DEFRAG, so the kernel would reassemble every fragment before lbd
# saw it (and drop the flood's, which never complete, unseen).
export LBD_LAB_PMD=pcap
check "lbd starts with Layer 4 UDP and TCP services and a Layer 7 one (pcap ports)" \
    "$lab" lbd start --workers 1 --config "$cfg"

# The real client for SECONDS (and KINDS, a comma-separated subset): rounds of a STUN binding request (Layer 4 UDP), an HTTP
# request through the Layer 4 VIP and one through the Layer 7 VIP (a connection each),
# and a 3,000-byte UDP exchange (fragments both ways), 50 ms apart. Prints JSON: per
# kind [ok, tried], and the latency of the successful ones (p50, p99, max, ms).
legit_py='
import json, os, socket, struct, sys, time
end = time.monotonic() + float(sys.argv[1])
kinds = sys.argv[2].split(",") if len(sys.argv) > 2 else ["stun", "http_l4", "http_l7", "frag"]
res = {k: [0, 0] for k in kinds}
lat = []
# UDP exchanges are sent up to 3 times, 0.5 s apart, as a STUN client does (RFC 8489).
def udp_ask(port, msg, good):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5)
    s.connect(("10.200.50.120", port))     # only the VIP may answer a connected socket
    try:
        for _ in range(3):
            s.send(msg)
            try:
                while True:
                    if good(s.recv(65536)):
                        return True
            except socket.timeout:
                pass
        return False
    finally:
        s.close()
def stun():
    tid = os.urandom(12)
    return udp_ask(3478, struct.pack("!HHI", 1, 0, 0x2112A442) + tid,
                   lambda d: d[:2] == b"\x01\x01" and d[8:20] == tid)
# TCP: a 4 s timeout covers the first two SYN retransmits of Linux (1 s, then 3 s): a
# flood above what one worker takes in (the L7 one sends ~190,000 SYNs/s) costs a real
# client SYNs at the port ring as it does the flood, and a client retries them.
def http(vip):
    s = socket.create_connection((vip, 80), timeout=4)
    s.sendall(b"GET /who HTTP/1.0\r\n\r\n")
    got = b""
    while True:
        d = s.recv(4096)
        if not d: break
        got += d
    s.close()
    return got.startswith(b"HTTP/1.0 200") and (got.endswith(b"rs1\n") or got.endswith(b"rs2\n"))
def frag():
    tag = os.urandom(16)
    return udp_ask(9999, tag + b"q" * 2984, lambda d: len(d) == 3000 and d[:16] == tag)
tests = [("stun", stun), ("http_l4", lambda: http("10.200.50.120")),
         ("http_l7", lambda: http("10.200.50.121")), ("frag", frag)]
while time.monotonic() < end:
    for k, fn in tests:
        if k not in res:
            continue
        t0 = time.monotonic()
        res[k][1] += 1
        try:
            if fn():
                res[k][0] += 1
                lat.append((time.monotonic() - t0) * 1000)
        except OSError:
            pass
    time.sleep(0.05)
lat.sort()
q = lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))], 2) if lat else None
print(json.dumps({"res": res, "p50": q(0.5), "p99": q(0.99), "max": q(1.0)}))'
# all_ok FILE: every transaction of every kind succeeded.
all_ok() {
    json "all(v[0] == v[1] and v[1] > 0 for v in r['res'].values())" <"$1" >/dev/null
}
changes() { lbctl --json health | json "sum(e['changes'] for e in r)"; }
all_up() { lbctl --json health | json "all(e['health'] == 'up' for e in r)" | grep -qx True; }
source "$top/tests/lab/attack_lib.sh"

check "health: every real server up before the attacks" \
    bash -c "$(declare -f lbctl json all_up); lab=$lab; for i in \$(seq 50); do all_up && exit 0; sleep 0.2; done; exit 1"
h0=$(changes)

# --- a real server's fragmented answers ----------------------------------------------
# Each 3,000-byte answer leaves rs1 or rs2 in fragments; lbd reassembles it on the
# client's worker and sends it from the VIP (cut again to the MTU), so the client's
# connected socket takes it. Without the reverse NAT the fragments would leave with
# the real server's address and the socket would never see them.
r0=$(wsum l4_reverse_reassembled)
on x1 python3 -c "$legit_py" 2 >"$tmp/quiet.json"
echo "# quiet: $(cat "$tmp/quiet.json")"
check "fragmented answers: every exchange of the client succeeded (from the VIP)" all_ok "$tmp/quiet.json"
check "fragmented answers: lbd reassembled them (l4_reverse_reassembled)" \
    bash -c "(( $(wsum l4_reverse_reassembled) - $r0 >= $(json "r['res']['frag'][0]" <"$tmp/quiet.json") ))"
base_mbufs=$(wsum mbufs_in_use)
attack_report "none (baseline: STUN, HTTP L4 and L7, fragmented UDP; pcap ports)" "-" \
    "$tmp/quiet.json" 0 "$base_mbufs"

# --- a flood of first fragments that never complete ------------------------------------
f0=$(wsum reass_fragments) e0=$(wsum reass_evicted)
on x1 python3 "$top/tests/lab/flood.py" frag 10.200.50.120 3478 5 >"$tmp/frag.sent" &
fl=$!
sample_mbufs 5 >"$tmp/frag.mbufs" &
sm=$!
sleep 0.3
on x1 python3 -c "$legit_py" 4 >"$tmp/frag.json"
wait $fl $sm
sent=$(cat "$tmp/frag.sent") peak=$(cat "$tmp/frag.mbufs")
frags=$(($(wsum reass_fragments) - f0)) evicted=$(($(wsum reass_evicted) - e0))
h1=$(changes)
echo "# fragment flood: $sent first fragments sent in 5 s; $frags taken in, $evicted datagrams evicted; mbufs in use at most $peak (before $base_mbufs); health changes $((h1 - h0)); client: $(cat "$tmp/frag.json")"
check "fragment flood: the flood was sent (over 20,000 fragments)" test "${sent:-0}" -gt 20000
check "fragment flood: every transaction of the client succeeded" all_ok "$tmp/frag.json"
check "fragment flood: lbd took the fragments in (reass_fragments)" test "$frags" -gt 10000
check "fragment flood: and evicted the oldest incomplete datagrams (reass_evicted)" test "$evicted" -gt 1000
check "fragment flood: mbufs held stay within the reassembly cap (1,024) and a burst" \
    test "$peak" -le $((base_mbufs + 1024 + 512))
check "fragment flood: no health state changed" test "$h1" -eq "$h0"
attack_report "fragment flood (L4 UDP VIP, pcap ports)" "$((sent / 5)) fragments/s" "$tmp/frag.json" \
    $((h1 - h0)) "$peak"

# --- a SYN flood at a Layer 7 VIP ------------------------------------------------------
# The TCP stack's listener: its half-open queue fills and it answers with SYN cookies
# (no state); real clients' handshakes complete through them. lbd on af_packet again
# (no fragments here): the pcap ports' one system call per packet sent would make the
# SYN-ACKs, not lbd, the limit.
"$lab" lbd stop
unset LBD_LAB_PMD
check "lbd restarts on af_packet ports" "$lab" lbd start --workers 1 --config "$cfg"
check "health: every real server up again" \
    bash -c "$(declare -f lbctl json all_up); lab=$lab; for i in \$(seq 50); do all_up && exit 0; sleep 0.2; done; exit 1"
h1=$(changes)
c0=$(tsum syncookies_sent) ok0=$(tsum syncookies_ok)
on x1 python3 "$top/tests/lab/flood.py" syn 10.200.50.121 80 5 >"$tmp/syn7.sent" &
fl=$!
sample_mbufs 5 >"$tmp/syn7.mbufs" &
sm=$!
sleep 0.3
# No fragmented exchange: af_packet hands lbd none (above).
on x1 python3 -c "$legit_py" 4 stun,http_l4,http_l7 >"$tmp/syn7.json"
wait $fl $sm
sent=$(cat "$tmp/syn7.sent") peak=$(cat "$tmp/syn7.mbufs")
cookies=$(($(tsum syncookies_sent) - c0))
conns=$(tsum conns)
h2=$(changes)
echo "# L7 SYN flood: $sent SYNs sent in 5 s; $cookies SYN cookies sent, $(($(tsum syncookies_ok) - ok0)) returned; TCP control blocks at the end $conns; mbufs in use at most $peak; health changes $((h2 - h1)); client: $(cat "$tmp/syn7.json")"
check "L7 SYN flood: the flood was sent (over 20,000 SYNs)" test "${sent:-0}" -gt 20000
check "L7 SYN flood: every transaction of the client succeeded" all_ok "$tmp/syn7.json"
check "L7 SYN flood: the listener answered with SYN cookies (syncookies_sent)" test "$cookies" -gt 10000
check "L7 SYN flood: no health state changed" test "$h2" -eq "$h1"
check "L7 SYN flood: every real server still up" all_up
attack_report "SYN flood (L7 VIP)" "$((sent / 5)) SYNs/s" "$tmp/syn7.json" $((h2 - h1)) "$peak"
check "the daemon is still up" on x1 ping -c 1 -W 1 10.200.50.120
"$lab" lbd stop
done_testing
