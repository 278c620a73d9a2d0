#!/usr/bin/env bash
# Short connections through a Layer 7 TCP-mode VIP with a small control-block pool: one
# client opens 20,000 connections one after the other (a request, a 256-byte answer,
# the client closes first), with layer7.max_conns_per_worker 2048. Each leaves its
# backend connection in TIME_WAIT at lbd (lbd closes it first) for 30 s, far more of them
# than the pool holds: a connection in TIME_WAIT keeps an entry of the TIME_WAIT table,
# not a control block (doc/tcp.md, "TIME_WAIT"), so every connection must succeed with
# no refusal, no SYN cookie, no reset and no eviction, and the stack must count more
# connections in TIME_WAIT than its pool has blocks.
source "$(dirname "$0")/lib.sh"

"$lab" up >/dev/null || exit 1
peer="python3 $top/tests/lab/burst_peer.py"
vip=192.168.112.110
n=${LBD_TW_CONNS:-20000}

cfg=$tmp/timewait.json
make_config "$cfg" '
c["appliance"]["idle_sleep_us"] = 100
c["layer7"] = {"connect_timeout_ms": 3000, "client_timeout_s": 1200, "server_timeout_s": 1200,
               "max_conns_per_worker": 2048, "max_time_wait_per_worker": 32768}
c["virtual_services"] = [
  {"label": "Short", "ip": "192.168.112.110", "ports": [80], "protocol": "tcp", "layer": 7,
   "mode": "tcp", "scheduler": "wrr", "health_check": {"type": "none"},
   "real_servers": lab_servers()}]
'
for rs in rs1 rs2 rs3; do
    "$lab" exec $rs $peer short-server 80 256 >"$tmp/http-$rs.log" 2>&1 &
done
sleep 1

tw_now() { stat "sum(w['tcp']['states'].get('time_wait', 0) for w in r['workers'])"; }
counters() {
    tcp_sums refused_conns refused_ports syncookies_sent time_wait_evicted time_wait_reused \
        time_wait_acks time_wait_ack_limited rst_sent rst_rcvd
}

serial() {
    logged_run "$n in a row" on c1 timeout 600 $peer serial $vip 80 "$n" 10
}
run_notes() { echo "tcp: $(counters), time_wait $(tw_now), conns $(tsum conns)"; }
no_refusal() {
    echo "tcp: $(counters)"
    echo "proxy: connect errors $(wsum proxy_connect_errors), server resets $(wsum proxy_server_resets), client resets $(wsum proxy_client_resets)"
    expect_stat "all(sum(w['tcp'][k] for w in r['workers']) == 0 for k in ('refused_conns', 'refused_ports', 'syncookies_sent', 'time_wait_evicted'))" &&
        expect_stat "sum(w['proxy_connect_errors'] + w['proxy_server_resets'] + w['proxy_client_resets'] for w in r['workers']) == 0"
}
more_than_the_pool() {
    local tw
    tw=$(tw_now)
    echo "connections in TIME_WAIT: $tw, the pool 2048 blocks a worker"
    ((tw > 2048))
}

check "lbd starts with 2 workers, 2,048 control blocks each" \
    "$lab" lbd start --workers 2 --config "$cfg"
check "$n short connections in a row through the Layer 7 VIP: all answered" serial
check "no refused connection or port, no SYN cookie, no eviction, no reset" no_refusal
check "more connections in TIME_WAIT than the pool has control blocks" more_than_the_pool
cat "$tmp/times" 2>/dev/null
"$lab" lbd stop

done_testing
