#!/usr/bin/env bash
# Layer 4 NAT and routing (issue 4), with real peers: STUN (coturn) on UDP 3478 and
# HTTPS on TCP 443 through the VIP 10.200.50.120 from the external client x1; the real
# servers see the client's own address and answer through the appliance (their
# default gateway); source-IP persistence across new flows; drain and halt; a real
# server's own traffic to a client routed (TTL, ICMP time exceeded); one and two
# workers (af_packet qpairs=2: flows land on the wrong worker and are handed off).
source "$(dirname "$0")/lib.sh"

"$lab" up >/dev/null || exit 1

cfg=$tmp/l4.json
make_config "$cfg" '
c["appliance"]["idle_sleep_us"] = 100
c["routing"] = {"forward": True}
c["layer4"] = {"udp_timeout_s": 60}
c["virtual_services"] = [
  {"label": "AvUDP", "ip": "10.200.50.120", "ports": [3478], "protocol": "udp", "layer": 4,
   "forwarding": "nat", "scheduler": "wrr",
   "persistence": {"type": "source_ip", "timeout_s": 1200}, "health_check": {"type": "ping"},
   "real_servers": [{"label": "rs1", "ip": "192.168.112.51", "port": 3478},
                    {"label": "rs2", "ip": "192.168.112.52", "port": 3478}]},
  {"label": "AvTCP", "ip": "10.200.50.120", "ports": [443], "protocol": "tcp", "layer": 4,
   "forwarding": "nat", "scheduler": "wrr",
   "persistence": {"type": "source_ip", "timeout_s": 1200},
   "real_servers": [{"label": "rs1", "ip": "192.168.112.51", "port": None},
                    {"label": "rs2", "ip": "192.168.112.52", "port": None},
                    {"label": "rs3", "ip": "192.168.112.57", "port": None}]}]
'

# Peers: coturn (STUN only) on rs1 and rs2, an HTTPS server naming itself on rs1..rs3,
# a plain HTTP server on the client x1 for the real servers' own traffic.
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=lab -keyout "$tmp/key.pem" \
    -out "$tmp/cert.pem" -days 1 >/dev/null 2>&1
for rs in rs1 rs2; do
    on $rs turnserver -n --stun-only --listening-port 3478 --no-tls --no-dtls --no-cli \
        --log-file stdout --simple-log --pidfile "$tmp/turn-$rs.pid" >"$tmp/turn-$rs.log" 2>&1 &
done
for rs in rs1 rs2 rs3; do
    mkdir -p "$tmp/www-$rs" && echo $rs >"$tmp/www-$rs/who"
    https_server $rs "$tmp/www-$rs" "$tmp/https-$rs.log"
done
mkdir -p "$tmp/www-x1" && echo x1 >"$tmp/www-x1/who"
(cd "$tmp/www-x1" && exec "$lab" exec x1 python3 -m http.server 8080 >"$tmp/http-x1.log" 2>&1) &
# Twenty more client addresses, so that with two workers flows land on both.
for i in $(seq 21 40); do on x1 ip addr add 10.200.50.$i/24 dev eth0; done
sleep 1

stun_from() { timeout 10 "$lab" exec x1 stun 10.200.50.120 -v ${1:+-i $1} 2>&1; }
https_from() { on x1 curl -sk --max-time 5 ${1:+--interface $1} https://10.200.50.120/who; }

# The STUN server's answer carries the address it saw: the client's own.
# (Outputs are captured first: with pipefail, grep -q closing the pipe early fails it.)
stun_sees_client() { local o; o=$(stun_from); echo "$o"; grep -q "MappedAddress = 10.200.50.20:" <<<"$o"; }
# Every STUN exchange of the client, on new ports each time, answered by one server.
stun_persistent() {
    local all=""
    for i in 1 2 3 4 5; do all+="$(stun_from | grep -m1 -o 'SourceAddress = [0-9.]*:3478')"$'\n'; done
    echo "$all"
    [[ $(grep -c 3478 <<<"$all") == 5 && $(sort -u <<<"$all" | grep -c 3478) == 1 ]]
}
https_persistent() {
    local all=""
    for i in 1 2 3 4 5; do all+="$(https_from)"$'\n'; done
    echo "$all"
    [[ $(grep -c rs <<<"$all") == 5 && $(sort -u <<<"$all" | grep -c rs) == 1 ]]
}
# Each of 20 clients keeps its server across two connections; the servers share them.
many_clients() {
    local i a b seen=""
    for i in $(seq 21 40); do
        a=$(https_from 10.200.50.$i) b=$(https_from 10.200.50.$i)
        echo "10.200.50.$i: $a $b"
        [[ -n $a && $a == "$b" ]] || return 1
        seen+="$a"$'\n'
    done
    [[ $(sort -u <<<"$seen" | grep -c rs) -ge 2 ]]
}
rs_saw_client() { grep -q "^10.200.50.20 " "$tmp"/https-rs*.log; }
routed_from_rs() {
    on rs2 curl -s --max-time 5 http://10.200.50.20:8080/who | grep -qx x1 &&
        grep -q "^192.168.112.52 " "$tmp/http-x1.log"
}
ttl_exceeded() {
    local o
    o=$(on rs1 ping -c 1 -t 1 -W 2 10.200.50.20)   # no echo reply: ping exits 1
    echo "$o"
    grep -q "From 192.168.112.5 .*Time to live exceeded" <<<"$o"
}
drain_moves() {
    local first after
    first=$(https_from) && "$lab" lbctl rs drain AvTCP "$first" >/dev/null || return 1
    after=$(https_from)
    echo "persistent $first, after drain $after"
    "$lab" lbctl rs online AvTCP "$first" >/dev/null
    [[ -n $after && $after != "$first" ]]
}

# persist.list names, for a client, the server it was seen to use; persist.flush forgets it.
persist_lists_client() {
    local who r
    who=$(https_from 10.200.50.21) || return 1
    r=$("$lab" lbctl --json persist list AvTCP 10.200.50.21 | json "[(e['rs'], e['vs']) for e in r['entries']]")
    echo "curl saw $who; persist.list: $r"
    [[ $r == "[('$who', 'AvTCP')]" ]]
}
persist_lists_all_workers() {
    # 21 clients used AvTCP (x1 and .21-.40): their entries live on every worker.
    local n
    n=$("$lab" lbctl --json persist list AvTCP | json "len(set(e['client'] for e in r['entries']))")
    echo "$n clients listed"
    ((n >= 21))
}
persist_flush_client() {
    "$lab" lbctl --json persist flush AvTCP 10.200.50.21 | json "r['flushed'] == 1" >/dev/null &&
        "$lab" lbctl --json persist list - 10.200.50.21 | json "[e['vs'] for e in r['entries']] == []" >/dev/null
}
persist_flush_service() {
    local n
    n=$("$lab" lbctl --json persist flush AvUDP | json "r['flushed']")
    echo "flushed $n"
    ((n >= 1)) && "$lab" lbctl --json persist list AvUDP | json "r['total'] == 0" >/dev/null &&
        "$lab" lbctl --json persist list AvTCP | json "r['total'] >= 20" >/dev/null
}

scenario() {
    local workers=$1 n
    for n in rs1 rs2 rs3 x1; do on $n ip neigh flush all; done
    check "lbd starts with $workers worker(s) and the L4 config" \
        "$lab" lbd start --workers "$workers" --config "$cfg"
    check "[$workers w] STUN through the VIP: coturn sees the client's own address" stun_sees_client
    check "[$workers w] STUN: new flows of the client stay on one real server" stun_persistent
    check "[$workers w] HTTPS through the VIP with curl, persistent" https_persistent
    check "[$workers w] the HTTPS server saw the client's own address" rs_saw_client
    check "[$workers w] 20 clients each keep their server, and the servers share them" many_clients
    check "[$workers w] persist.list shows the client's server" persist_lists_client
    check "[$workers w] persist.list gathers the entries of every worker" persist_lists_all_workers
    check "[$workers w] persist.flush of one client" persist_flush_client
    check "[$workers w] persist.flush of one service leaves the others" persist_flush_service
    check "[$workers w] persist.list with a bad client is invalid_argument" \
        bash -c "'$lab' lbctl raw '{\"cmd\":\"persist.list\",\"client\":\"10.1\"}' | grep -q invalid_argument"
    check "[$workers w] a real server's own traffic to a client is routed" routed_from_rs
    check "[$workers w] TTL 1 through the appliance: ICMP time exceeded from 192.168.112.5" ttl_exceeded
    check "[$workers w] drain: the persistent client moves to another server" drain_moves
    check "[$workers w] counters: NAT both ways, persistence hits, routed packets" \
        expect_stat "sum(w['l4_forward_packets'] for w in r['workers']) > 0 and sum(w['l4_reverse_packets'] for w in r['workers']) > 0 and sum(w['l4_persist_hits'] for w in r['workers']) >= 8 and sum(w['forwarded'] for w in r['workers']) > 0"
    check "[$workers w] each worker counts its cycles: busy and idle, NAT and dispatch among the stages, the stages adding up to busy" \
        expect_stat "r['tsc_hz'] > 0 and all(w['cycles_busy'] > 0 and w['cycles_idle'] > 0 and w['cycles']['l4'] > 0 and w['cycles']['dispatch'] > 0 and w['cycles']['rx'] > 0 and w['cycles']['tx'] > 0 and abs(sum(w['cycles'].values()) - w['cycles_busy']) <= w['cycles_busy'] // 100 for w in r['workers'])"
    check "[$workers w] bytes each way per real server, adding up to the service's answers" \
        expect_stat "all(s['bytes_in'] > 0 and s['bytes_out'] > 0 for v in r['virtual_services'] for s in v['real_servers'] if s['total_conns'] > 0) and all(sum(s['bytes_out'] for s in v['real_servers']) == v['bytes_out'] and sum(s['packets_out'] for s in v['real_servers']) == v['packets_out'] for v in r['virtual_services'])"
    check "[$workers w] per service and real server connection counts" \
        expect_stat "all(v['total_conns'] > 0 for v in r['virtual_services']) and sum(s['total_conns'] for v in r['virtual_services'] for s in v['real_servers']) == sum(v['total_conns'] for v in r['virtual_services'])"
    check "[$workers w] no Layer 4 drops, nothing malformed" \
        expect_stat "all(v == 0 for k, v in r['drops'].items() if k.startswith('l4_') or k.startswith('malformed') or k in ('bad_ip_checksum', 'handoff_ring_full', 'no_route'))"
    if ((workers > 1)); then
        check "[$workers w] hand-offs carried Layer 4 flows" \
            expect_stat "sum(w['handoff_in'] for w in r['workers']) > 0 and all(w['l4_conns_created'] > 0 for w in r['workers'])"
    fi
    check "[$workers w] halt: UDP flows of the halted server move on" bash -c "
        '$lab' lbctl rs halt AvUDP rs1 >/dev/null && '$lab' lbctl rs halt AvUDP rs2 >/dev/null &&
        '$lab' lbctl rs online AvUDP rs2 >/dev/null &&
        timeout 10 '$lab' exec x1 stun 10.200.50.120 -v 2>&1 | grep -m1 'SourceAddress' | grep -q 192.168.112.52:3478"
    "$lab" lbd stop
}

scenario 1
scenario 2

done_testing
