#!/usr/bin/env bash
# Health checks: ping checks of real servers from lbd's self IP; a server whose link is
# cut is marked down within fall x interval + timeout and comes back after rise
# successes; health and the operator's state are separate; a server added live is
# checked at once.
source "$(dirname "$0")/lib.sh"

"$lab" up >/dev/null || exit 1
# STUN servers on rs1 and rs2, so that the effect of health on the scheduling shows.
for rs in rs1 rs2; do
    on $rs turnserver -n --stun-only --listening-port 3478 --no-tls --no-dtls --no-cli \
        --log-file stdout --simple-log --pidfile "$tmp/turn-$rs.pid" >"$tmp/turn-$rs.log" 2>&1 &
done
# Twelve client addresses on x1: new STUN flows from each are scheduled afresh.
for i in $(seq 21 32); do on x1 ip addr add 10.200.50.$i/24 dev eth0; done
make_config "$tmp/hc.json" '
c["virtual_services"][1]["health_check"] = {"type": "ping", "interval_ms": 500, "timeout_ms": 300, "rise": 2, "fall": 3}'
check "lbd starts with ping checks (interval 500 ms, timeout 300, rise 2, fall 3)" \
    "$lab" lbd start --config "$tmp/hc.json" --workers 2
health_of() { lbctl --json health Stun | json "[e['health'] for e in r if e['rs'] == '$1'][0]"; }
wait_health() { # wait_health RS STATE MILLISECONDS
    local end=$(($(date +%s%N) / 1000000 + $3))
    while (($(date +%s%N) / 1000000 < end)); do
        [[ $(health_of "$1") == "$2" ]] && return 0
        sleep 0.05
    done
    echo "$1 is $(health_of "$1"), wanted $2"
    return 1
}
check "rs1 up" wait_health rs1 up 5000
check "rs2 up" wait_health rs2 up 5000
check "checks are counted on the workers" expect_stat "sum(w['probes_sent'] for w in r['workers']) >= 2 and sum(w['echo_replies_in'] for w in r['workers']) >= 2"

# Cut rs2's link: down within fall x interval + timeout = 1.8 s (2.5 s with slack for
# the check in flight when the link went down and the shared machine).
on rs2 ip link set eth0 down
t0=$(date +%s%N)
check "rs2 marked down within fall x interval + timeout" wait_health rs2 down 2500
echo "# rs2 down after $((($(date +%s%N) - t0) / 1000000)) ms"
check "rs1 stays up" wait_health rs1 up 100
# Through the L4 VIP from twelve client addresses: every flow lands on rs1 (the only
# healthy server), so every one is answered.
stun_all_on_rs1() {
    local i o
    for i in $(seq 21 32); do
        o=$(timeout 5 "$lab" exec x1 stun 192.168.112.140 -v -i 10.200.50.$i 2>&1)
        grep -q "SourceAddress = 192.168.112.51:3478" <<<"$o" || { echo "10.200.50.$i: $o"; return 1; }
    done
}
check "while rs2 is down, new flows from 12 clients all go to rs1" stun_all_on_rs1
check "stats show rs2 down" bash -c "'$lab' lbctl stats Stun | grep -E 'rs2 .*health=down'"
check "stats carry the last check result" \
    expect_stat "[s['last_check'] for v in r['virtual_services'] if v['label'] == 'Stun' for s in v['real_servers'] if s['label'] == 'rs2'] == ['timeout']"
check "the change is logged" grep -q "Stun/rs2 (192.168.112.52) is down" "$labrun/lb1.log"
check "last result is timeout" bash -c "'$lab' lbctl health Stun | grep -E 'rs2 .*down +timeout'"

on rs2 ip link set eth0 up
on rs2 ip route replace default via 192.168.112.5   # Linux dropped it with the link
check "rs2 comes back after rise successes" wait_health rs2 up 3000
check "the return is logged" grep -q "Stun/rs2 (192.168.112.52) is up" "$labrun/lb1.log"

# Operator state and health are separate.
check "drain rs1" "$lab" lbctl rs drain Stun rs1
check "a drained server is still checked and up" bash -c "sleep 1.2; '$lab' lbctl health Stun | grep -E 'rs1 .* up ' && '$lab' lbctl stats Stun | grep -E 'rs1 .*drain +health=up'"
check "health of a server survives a reconfig" bash -c "'$lab' lbctl rs weight Stun rs1 10 && '$lab' lbctl --json health Stun | grep -q '\"checks_ok\":[1-9]'"

# A server added live is checked; an unreachable one goes down.
check "rs add 192.168.112.99 (nobody there)" "$lab" lbctl rs add Stun '{"label": "ghost", "ip": "192.168.112.99", "port": 3478}'
check "the ghost is marked down" wait_health ghost down 4000
check "its probes waited for ARP and were dropped" expect_stat "r['drops']['neigh_timeout'] >= 1"
# TCP checks, on lbd's own TCP stack: connect (a handshake and a clean close) to the
# check port and http (GET /health, expect 200). rs1 and rs2 listen on 5061, rs3 not;
# rs1 answers /health with 200 on 8080, rs2 with 404.
# The 5061 listeners name themselves to whoever connects.
sip_listen() {
    on $1 python3 -c "
import socket, os
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 5061)); s.listen(64)
open('$tmp/sip-$1.pid', 'w').write(str(os.getpid()))
while True:
    c, a = s.accept(); open('$tmp/sip-$1.peers', 'a').write(a[0] + '\\n'); c.sendall(b'$1\\n'); c.close()" >"$tmp/sip-$1.log" 2>&1 &
}
for rs in rs1 rs2; do sip_listen $rs; done
mkdir -p "$tmp/web1" "$tmp/web2"; echo ok >"$tmp/web1/health"
(cd "$tmp/web1" && exec "$lab" exec rs1 python3 -m http.server 8080 >"$tmp/web1.log" 2>&1) &
(cd "$tmp/web2" && exec "$lab" exec rs2 python3 -m http.server 8080 >"$tmp/web2.log" 2>&1) &
sleep 1
check "vs add a Layer 4 pool with connect checks on 5061" "$lab" lbctl vs add '{"label": "Fe", "ip": "192.168.112.150", "ports": [5061], "layer": 4, "scheduler": "wrr",
  "health_check": {"type": "connect", "port": 5061, "interval_ms": 500, "timeout_ms": 300, "rise": 2, "fall": 2},
  "real_servers": [{"label": "fe1", "ip": "192.168.112.51"}, {"label": "fe2", "ip": "192.168.112.52"}, {"label": "fe3", "ip": "192.168.112.57"}]}'
check "vs add a web pool with http checks" "$lab" lbctl vs add '{"label": "Webck", "ip": "192.168.112.151", "ports": [8080], "layer": 7,
  "health_check": {"type": "http", "http_path": "/health", "http_expect": 200, "interval_ms": 500, "timeout_ms": 300, "rise": 1, "fall": 2},
  "real_servers": [{"label": "w1", "ip": "192.168.112.51"}, {"label": "w2", "ip": "192.168.112.52"}]}'
hc() { lbctl --json health "$1" | json "[e['health'] + '/' + e['last_result'] for e in r if e['rs'] == '$2'][0]"; }
wait_hc() { # wait_hc VS RS WANT MILLISECONDS
    local end=$(($(date +%s%N) / 1000000 + $4))
    while (($(date +%s%N) / 1000000 < end)); do
        [[ $(hc "$1" "$2") == "$3" ]] && return 0
        sleep 0.05
    done
    echo "$1/$2 is $(hc "$1" "$2"), wanted $3"
    return 1
}
check "connect: fe1 up" wait_hc Fe fe1 up/ok 3000
check "connect: fe2 up" wait_hc Fe fe2 up/ok 3000
check "connect: fe3 (nothing listens: reset) down, refused" wait_hc Fe fe3 down/refused 3000
check "connect checks come from the self IP" grep -qx 192.168.112.5 "$tmp/sip-rs1.peers"
# Checks run every 500 ms, so one may be in flight at any single sample; a connection
# left behind stays, so some sample within 3 s must see none.
no_conn_left() {
    local i
    for i in $(seq 1 30); do
        expect_stat "sum(w['tcp']['states']['established'] + w['tcp']['states']['syn_sent'] for w in r['workers']) == 0" && return 0
        sleep 0.1
    done
    echo "still open: $(stat "[(w['tcp']['states']['established'], w['tcp']['states']['syn_sent']) for w in r['workers']]")"
    return 1
}
check "connect checks close cleanly (no connection left on the stack)" no_conn_left
# Through the VIP from the external client: who answers on 5061.
sip_who() { on x1 timeout 3 bash -c "exec 3<>/dev/tcp/192.168.112.150/5061 && cat <&3"; }
sip_spread() { # sip_spread WANT...: 8 new connections land only on the servers named
    local i got
    for i in $(seq 1 8); do
        got=$(sip_who) || { echo "connection $i failed"; return 1; }
        [[ " $* " == *" $got "* ]] || { echo "connection $i went to $got"; return 1; }
    done
}
check "connections through the VIP reach fe1 and fe2" sip_spread rs1 rs2
kill "$(cat "$tmp/sip-rs1.pid")"
check "connect: fe1 down within fall x interval + timeout once its listener stops" wait_hc Fe fe1 down/refused 1800
check "new connections avoid fe1 while fe2 keeps serving" sip_spread rs2
sip_listen rs1
check "connect: fe1 comes back when its listener returns" wait_hc Fe fe1 up/ok 3000
check "and takes connections again" bash -c "$(declare -f on sip_who); lab='$lab'; for i in 1 2 3 4 5 6; do sip_who; done | grep -q rs1"
check "http: w1 (200) up" wait_hc Webck w1 up/ok 3000
check "http: w2 (404) down, bad_status" wait_hc Webck w2 down/bad_status 3000
check "http: the status seen is reported" bash -c "'$lab' lbctl --json health Webck | grep -q '\"last_status\":404'"
echo ok >"$tmp/web2/health"
check "http: w2 up once it answers 200" wait_hc Webck w2 up/ok 3000
check "health.list of an unknown service is not_found" \
    bash -c "'$lab' lbctl raw '{\"cmd\":\"health.list\",\"vs\":\"nope\"}' | grep -q not_found"

done_testing
