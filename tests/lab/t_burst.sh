#!/usr/bin/env bash
# A burst of requests through the Layer 7 TCP-mode proxy: one client opens 1,000, then
# 2,000 (with LBD_LAB_LONG=1 then 5,000) connections to the VIP (all of them on one
# worker, which owns the client's address, and, by source-IP persistence as in t_l7, to
# one real server), then sends
# one HTTP/1.1 request on each at once; each answer is 16 KB. Every request must be
# answered within 15 s, no segment lbd sent may fail a peer's checksum (a burst this
# size loses ACKs in the hand-off ring, and the retransmissions cut the send queue at
# other places than the segments that filled it: DPDK 22.11's multi-segment checksum
# got those wrong, and the peers dropped every retransmission), and afterwards no
# session may be left open, no reset or timeout may appear and the TCP stack's
# buffers must be empty.
source "$(dirname "$0")/lib.sh"

"$lab" up >/dev/null || exit 1
peer="python3 $top/tests/lab/burst_peer.py"
vip=192.168.112.110

cfg=$tmp/burst.json
make_config "$cfg" '
c["appliance"]["idle_sleep_us"] = 100
c["layer7"] = {"connect_timeout_ms": 3000, "client_timeout_s": 1200, "server_timeout_s": 1200}
rs = lab_servers()
c["virtual_services"] = [
  {"label": "Burst", "ip": "192.168.112.110", "ports": [80], "protocol": "tcp", "layer": 7,
   "mode": "tcp", "scheduler": "wlc", "persistence": {"type": "source_ip", "timeout_s": 1200},
   "health_check": {"type": "none"}, "real_servers": rs}]
'
for rs in rs1 rs2 rs3; do
    "$lab" exec $rs $peer http-server 80 16384 >"$tmp/http-$rs.log" 2>&1 &
done
sleep 1

# TCP segments with a bad checksum each node's kernel dropped so far.
csum_errors() {
    local n t=0
    for n in c1 rs1 rs2 rs3; do
        t=$((t + $(on $n nstat -az TcpInCsumErrors | awk '/TcpInCsumErrors/ {print $2}')))
    done
    echo $t
}
csum_base=$(csum_errors)
no_bad_checksum() {
    local now=$(csum_errors)
    echo "TCP checksum errors at the client and the real servers: $((now - csum_base))"
    ((now == csum_base))
}
# Connections that are neither closed nor waiting out TIME_WAIT.
tcp_open() { stat "sum(w['tcp']['conns'] - w['tcp']['states'].get('time_wait', 0) for w in r['workers'])"; }
tcp_counters() {
    tcp_sums buf_segs rcv_mem_dropped snd_mem_refused ooo_segs ooo_dropped rexmt_timeouts \
        segs_retrans out_of_window hdr_alloc_fail
}
proxy_counters() {
    stat "{k: sum(w['proxy_' + k] for w in r['workers']) for k in ('accepted', 'sessions_closed', 'server_resets', 'client_resets', 'send_stalls', 'connect_timeouts', 'retries')}"
}

burst() {   # N: one request on each of N connections, 15 s each
    logged_run "burst of $1" on c1 timeout 120 $peer burst $vip 80 "$1" 15
}
run_notes() { echo "tcp: $(tcp_counters)"; echo "proxy: $(proxy_counters)"; }
# Every session ends once the client has closed; the stack holds only TIME_WAIT.
all_closed() {
    local i
    for i in $(seq 1 40); do
        [[ $(wsum proxy_sessions) == 0 && $(tcp_open) == 0 ]] && break
        sleep 0.5
    done
    echo "sessions $(wsum proxy_sessions), open tcp $(tcp_open), buf_segs $(tsum buf_segs)"
    echo "proxy: $(proxy_counters)"
    [[ $(wsum proxy_sessions) == 0 && $(tcp_open) == 0 && $(tsum buf_segs) == 0 ]]
}
no_resets() {
    echo "proxy: $(proxy_counters)"
    expect_stat "sum(w['proxy_server_resets'] + w['proxy_client_resets'] + w['proxy_connect_failed_reset'] + w['proxy_server_timeouts'] + w['proxy_client_timeouts'] for w in r['workers']) == 0"
}

check "lbd starts with 2 workers and a Layer 7 TCP-mode service" \
    "$lab" lbd start --workers 2 --config "$cfg"
check "a burst of 1,000 requests on 1,000 connections: all answered within 15 s" burst 1000
check "after it: no session left open, the stack's buffers empty" all_closed
check "a burst of 2,000 requests on 2,000 connections: all answered within 15 s" burst 2000
check "after it: no session left open, the stack's buffers empty" all_closed
# 5,000 at once: about 50 s more (the 5,000 sessions take up to 30 s to close here, their
# lost FINs waiting out backed-off retransmission timeouts), so in the long run only.
if [[ ${LBD_LAB_LONG:-0} == 1 ]]; then
    check "a burst of 5,000 requests on 5,000 connections: all answered within 15 s" burst 5000
    check "after it: no session left open, the stack's buffers empty" all_closed
fi
check "no segment from lbd failed a checksum at the client or the real servers" \
    no_bad_checksum
check "no server or client reset, no timeout" no_resets
cat "$tmp/times" 2>/dev/null
"$lab" lbd stop

done_testing
