#!/usr/bin/env bash
# Layer 7 SNAT proxy in TCP mode (issue 5), with real peers, two workers: SIP over TCP
# 5061 (sipp as clients and as servers on three real servers), HTTP and HTTPS (TLS
# passes through untouched) with curl on several VIP ports, 100 MB each way verified by
# SHA-256 with 2% loss at the client and at the servers, 5,000 idle connections held
# and closed with the proxy's memory back where it started, a real server that never
# answers SYN (connect timeout, next server), short idle timeouts, the VIP as the
# source the real servers see, new connections under load costing fewer packets than
# an answer and a FIN sent apart, and an HTTP-mode service beside them (t_http.sh tests
# it).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/peers.sh"

"$lab" up >/dev/null || exit 1
# Path MTU discovery: a client (c2) and a real server (rs4) behind a router whose link
# to them has an MTU of 1200 (lib.sh).
pmtu_net c2:20 rs4:51 || exit 1
peer="python3 $top/tests/lab/l7_peer.py"
vip=192.168.112.110

cfg=$tmp/l7.json
make_config "$cfg" '
c["appliance"]["idle_sleep_us"] = 100
# 3 s to connect: one lost SYN (2% loss below; initial RTO 1 s) must not fail a backend
# connection, which resets a client bound by persistence (the policy under test).
c["layer7"] = {"connect_timeout_ms": 3000, "client_timeout_s": 1200, "server_timeout_s": 1200}
rs = lab_servers()
c["virtual_services"] = [
  {"label": "FePool", "ip": "192.168.112.110", "ports": [80, 443, 5061, 8081, 8082, 9000, 9001],
   "protocol": "tcp", "layer": 7, "mode": "tcp", "scheduler": "wlc",
   "persistence": {"type": "source_ip", "timeout_s": 1200}, "health_check": {"type": "none"},
   "real_servers": rs},
  {"label": "Dead", "ip": "192.168.112.111", "ports": [80], "protocol": "tcp", "layer": 7,
   "mode": "tcp", "scheduler": "wrr", "health_check": {"type": "none"},
   "real_servers": [{"label": "rs3", "ip": "192.168.112.57", "port": 81, "weight": 300},
                    {"label": "rs1", "ip": "192.168.112.51", "port": 80, "weight": 100}]},
  {"label": "WsExt8080", "ip": "192.168.112.112", "ports": [8080], "protocol": "tcp",
   "layer": 7, "mode": "http", "health_check": {"type": "none"},
   "real_servers": [{"label": "rs1", "ip": "192.168.112.51", "port": 8080}]},
  {"label": "Pmtu", "ip": "192.168.112.113", "ports": [80, 9000], "protocol": "tcp",
   "layer": 7, "mode": "tcp", "health_check": {"type": "none"},
   "real_servers": [{"label": "rs4", "ip": "10.99.0.51", "port": None, "weight": 100}]}]
c["routing"] = {"routes": [{"prefix": "10.99.0.0/24", "via": "192.168.112.254"}]}
'

# Real servers: HTTP on 80 and 8081, HTTPS on 443 (each names itself), sipp on 5061, a
# SHA-256 sink on 9000, a connection holder on 9001. rs3 drops SYNs to port 81.
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=lab -keyout "$tmp/key.pem" \
    -out "$tmp/cert.pem" -days 1 >/dev/null 2>&1
head -c 100000000 /dev/urandom >"$tmp/big"
big_sha=$(sha256sum "$tmp/big" | cut -d' ' -f1)
declare -A rs_ip=([rs1]=192.168.112.51 [rs2]=192.168.112.52 [rs3]=192.168.112.57)
for rs in rs1 rs2 rs3; do
    mkdir -p "$tmp/www-$rs" && echo $rs >"$tmp/www-$rs/who" && ln "$tmp/big" "$tmp/www-$rs/big"
    (cd "$tmp/www-$rs" && exec "$lab" exec $rs python3 -m http.server 80 >"$tmp/http-$rs.log" 2>&1) &
    (cd "$tmp/www-$rs" && exec "$lab" exec $rs python3 -m http.server 8081 >"$tmp/http8081-$rs.log" 2>&1) &
    https_server $rs "$tmp/www-$rs" "$tmp/https-$rs.log"
    (cd "$tmp" && exec "$lab" exec $rs sipp -sn uas -t t1 -i "${rs_ip[$rs]}" -p 5061 -nostdin \
        -max_socket 2000 -trace_msg -message_file "$tmp/sip-$rs.log" >"$tmp/sipp-$rs.out" 2>&1) &
    "$lab" exec $rs $peer sink-server 9000 >"$tmp/sink-$rs.log" 2>&1 &
    "$lab" exec $rs $peer hold-server 9001 >"$tmp/hold-$rs.log" 2>&1 &
    # 8082: HAProxy answering every request itself, in one segment, and closing.
    answer_server_cfg $rs 8082 >"$tmp/hap-$rs.cfg"
    "$lab" exec $rs haproxy -f "$tmp/hap-$rs.cfg" -db >"$tmp/hap-$rs.log" 2>&1 &
done
on rs3 nft add table inet l7t
on rs3 nft add chain inet l7t in '{ type filter hook input priority 0; }'
on rs3 nft add rule inet l7t in tcp dport 81 drop
mkdir -p "$tmp/www-rs4" && ln "$tmp/big" "$tmp/www-rs4/big"
(cd "$tmp/www-rs4" && exec "$lab" exec rs4 python3 -m http.server 80 >"$tmp/http-rs4.log" 2>&1) &
"$lab" exec rs4 $peer sink-server 9000 >"$tmp/sink-rs4.log" 2>&1 &
for i in 21 22 23 24; do on c1 ip addr add 192.168.112.$i/24 dev eth0; done
sleep 1

tcp_conns() { stat "sum(w['tcp']['conns'] for w in r['workers'])"; }

http_who() { on c1 curl -s --max-time 5 "http://$vip:${1:-80}/who"; }
https_who() { on c1 curl -sk --max-time 5 "https://$vip/who"; }
same_server_each_time() {
    local all="" i
    for i in 1 2 3 4 5; do all+="$(http_who)"$'\n'"$(https_who)"$'\n'"$(http_who 8081)"$'\n'; done
    echo "$all"
    [[ $(grep -c rs <<<"$all") == 15 && $(sort -u <<<"$all" | grep -c rs) == 1 ]]
}
rs_sees_vip() {
    grep -h '"GET /who' "$tmp"/http-rs*.log | head -3
    grep -q "^$vip " "$tmp"/http-rs*.log && ! grep -q '^192.168.112.20 ' "$tmp"/http-rs*.log
}
# TLS passes through: the certificate the client gets is the real server's own.
tls_untouched() {
    local want got
    want=$(openssl x509 -in "$tmp/cert.pem" -noout -fingerprint -sha256)
    got=$(on c1 timeout 5 openssl s_client -connect $vip:443 -servername lab </dev/null 2>/dev/null |
        openssl x509 -noout -fingerprint -sha256)
    echo "want $want, got $got"
    [[ -n $got && $got == "$want" ]]
}
# Four SIP clients, 20 calls each over new TCP connections (sipp -t tn), in parallel.
sip_calls() {
    local i rc=0 pids=()
    for i in 21 22 23 24; do
        (cd "$tmp" && on c1 timeout 60 sipp -sn uac -t tn -i 192.168.112.$i $vip:5061 -m 20 -r 10 \
            -l 10 -max_socket 100 -nostdin -trace_stat -stf "$tmp/uac-$i.csv" >"$tmp/uac-$i.out" 2>&1;
         echo $? >"$tmp/uac-$i.rc") &
        pids+=($!)
    done
    wait "${pids[@]}"
    for i in 21 22 23 24; do
        python3 - "$tmp/uac-$i.csv" "$(cat "$tmp/uac-$i.rc")" <<'PY' || rc=1
import csv, sys
r = list(csv.reader(open(sys.argv[1]), delimiter=";"))
h, last = r[0], r[-1]
ok, failed = int(last[h.index("SuccessfulCall(C)")]), int(last[h.index("FailedCall(C)")])
print(f"{sys.argv[1]}: exit {sys.argv[2]}, {ok} successful, {failed} failed")
sys.exit(0 if sys.argv[2] == "0" and ok == 20 and failed == 0 else 1)
PY
    done
    return $rc
}
# Each client's calls (Via: its own address) all reached one real server; servers shared.
sip_persistent() {
    local i n used=""
    for i in 21 22 23 24; do
        n=0
        for rs in rs1 rs2 rs3; do
            if grep -q "Via: SIP/2.0/TCP 192.168.112.$i:" "$tmp/sip-$rs.log"; then
                n=$((n + 1)); used+="$rs"$'\n'
                echo "client .$i -> $rs ($(grep -c "Via: SIP/2.0/TCP 192.168.112.$i:" "$tmp/sip-$rs.log") messages)"
            fi
        done
        ((n == 1)) || return 1
    done
    [[ $(sort -u <<<"$used" | grep -c rs) -ge 2 ]]
}
# 2% random loss of TCP packets to and from c1 and each real server, on the wire
# (lib.sh's wire_loss, in the switch).
l7_loss_hosts="c1:192.168.112.20 rs1:192.168.112.51 rs2:192.168.112.52 rs3:192.168.112.57"
loss_on() { local h; for h in $l7_loss_hosts; do wire_loss "loss_${h%%:*}" "${h#*:}" 2; done; }
loss_off() {   # prints what the switch dropped, per host
    local h
    for h in $l7_loss_hosts; do
        printf '%s %s ' "${h%%:*}" "$(wire_drops "loss_${h%%:*}")"
        wire_loss "loss_${h%%:*}" "${h#*:}" 0
    done
}
# 100 MB down (curl) and 100 MB up (to the SHA-256 sink) at the same time, 2% loss.
transfers_with_loss() {
    local t0=$(date +%s) down up p1 p2 drops
    loss_on
    on c1 sh -c "curl -s --max-time 500 http://$vip/big | sha256sum" >"$tmp/down.sha" &
    p1=$!
    on c1 timeout 500 $peer upload $vip 9000 "$tmp/big" >"$tmp/up.sha" 2>&1 &
    p2=$!
    wait $p1 $p2
    drops=$(loss_off)
    down=$(cut -d' ' -f1 <"$tmp/down.sha")
    up=$(cat "$tmp/up.sha")
    echo "want $big_sha; down $down; up $up; $(($(date +%s) - t0)) s; dropped on the wire: ${drops% }" |
        tee "$tmp/loss.time"
    [[ $down == "$big_sha" && $up == "$big_sha 100000000" ]]
}
connect_timeout_next_server() {
    local t0 t1 who
    t0=$(date +%s%N)
    who=$(on c1 curl -s --max-time 10 http://192.168.112.111/who)
    t1=$(date +%s%N)
    echo "answered by '$who' after $(((t1 - t0) / 1000000)) ms"
    [[ $who == rs1 ]] && (((t1 - t0) / 1000000 >= 2950))
}
idle_check() {     # EXPECTED_SECONDS: the connection is reset after about that long
    local o
    o=$(on c1 $peer idle $vip 9001 10)
    echo "$o"
    [[ $o == reset* ]] && python3 -c "import sys; t=float('${o#* }'); sys.exit(0 if $1 - 0.5 <= t <= $1 + 1.5 else 1)"
}
apply_layer7() {   # CLIENT_S SERVER_S
    make_config "$tmp/l7b.json" "
import json
c.clear(); c.update(json.load(open('$cfg')))
c['layer7']['client_timeout_s'] = $1
c['layer7']['server_timeout_s'] = $2"
    lbctl config apply "$tmp/l7b.json" >/dev/null
}
client_idle() { apply_layer7 2 30 && idle_check 2; }
server_idle() { apply_layer7 30 2 && idle_check 2; }
many_idle() {
    local base_sessions base_conns base_mbufs i p
    base_sessions=$(wsum proxy_sessions) base_conns=$(tcp_conns) base_mbufs=$(wsum mbufs_in_use)
    echo "before: sessions $base_sessions, tcp conns $base_conns, mbufs $base_mbufs"
    rm -f "$tmp/ready" "$tmp/done"
    on c1 $peer hold $vip 9001 5000 "$tmp/ready" "$tmp/done" >"$tmp/hold.out" 2>&1 &
    p=$!
    for i in $(seq 1 120); do [[ -e $tmp/ready ]] && break; sleep 0.5; done
    sleep 1
    echo "held: sessions $(wsum proxy_sessions), tcp conns $(tcp_conns), mbufs $(wsum mbufs_in_use)"
    [[ $(wsum proxy_sessions) == $((base_sessions + 5000)) ]] || return 1
    touch "$tmp/done"
    wait $p
    cat "$tmp/hold.out"
    grep -q "5000 of 5000 alive" "$tmp/hold.out" || return 1
    # Sessions go at once; the proxy's half of each backend close waits in TIME_WAIT.
    for i in $(seq 1 90); do
        [[ $(wsum proxy_sessions) == "$base_sessions" && $(tcp_conns) -le $base_conns ]] && break
        sleep 0.5
    done
    echo "after: sessions $(wsum proxy_sessions), tcp conns $(tcp_conns), mbufs $(wsum mbufs_in_use)"
    [[ $(wsum proxy_sessions) == "$base_sessions" && $(tcp_conns) -le $base_conns &&
        $(wsum mbufs_in_use) -le $((base_mbufs + 64)) ]]
}

# New connections under load (wrk, 16 at a time, Connection: close, HAProxy answering on
# the real servers): the output a receive burst asks of other connections leaves once,
# at its end (tcp_burst_begin/end around the worker's burst), so what it brings for one
# connection, a proxied answer and its FIN among it, leaves as few segments as it can. Sent apart,
# as each segment's own input did before, a connection cost 9.0 packets on the client's
# link (both ways); the bracket brings it to about 7-8.4 (doc/tcp.md, "Event API").
c1_packets() { on c1 cat /proc/net/dev | dev_packets; }
close_packets() {
    local p0 p1
    p0=$(c1_packets)
    on c1 wrk -t1 -c16 -d3s -H 'Connection: close' "http://$vip:8082/" >"$tmp/wrk-close.out" 2>&1
    p1=$(c1_packets)
    cat "$tmp/wrk-close.out"
    python3 - "$tmp/wrk-close.out" "$p0" "$p1" <<'PY'
import re, sys
out = open(sys.argv[1]).read()
m = re.search(r"(\d+) requests in", out)
n = int(m.group(1)) if m else 0
bad = re.search(r"Socket errors|Non-2xx", out)
per = (int(sys.argv[3]) - int(sys.argv[2])) / n if n else 0
print(f"# [close] {n} connections, {per:.2f} packets each on the client's link")
sys.exit(0 if n >= 500 and not bad and per < 8.7 else 1)
PY
}

check "lbd starts with 2 workers and the Layer 7 config" \
    "$lab" lbd start --workers 2 --config "$cfg"
check "HTTP (80, 8081) and HTTPS (443) through the VIP with curl, one server per client" \
    same_server_each_time
check "the real servers see the VIP as the source address" rs_sees_vip
check "new connections under load: an answer and its FIN reach the client together" \
    close_packets
grep '^# \[close\]' "$tmp/check.out"
check "TLS passes through untouched: the client gets the real server's certificate" tls_untouched
check "SIP over TCP 5061: sipp, 4 clients x 20 calls on new connections, all complete" sip_calls
check "SIP: each client's calls land on one real server, the servers share the clients" \
    sip_persistent
check "100 MB down and 100 MB up through the proxy, SHA-256 equal, 2% loss both sides" \
    transfers_with_loss
echo "# $(cat "$tmp/loss.time" 2>/dev/null)"
check "a real server that never answers SYN: after connect_timeout_ms, the next one" \
    connect_timeout_next_server
check "connect timeout and retry counted" \
    expect_stat "sum(w['proxy_connect_timeouts'] for w in r['workers']) >= 1 and sum(w['proxy_retries'] for w in r['workers']) >= 1"
check "5,000 idle connections held, then closed: sessions, control blocks, mbufs back" many_idle
check "client idle timeout 2 s (config.apply): the client is reset" client_idle
check "server idle timeout 2 s: both sides reset" server_idle
check "idle timeouts counted on both sides" \
    expect_stat "sum(w['proxy_client_timeouts'] for w in r['workers']) >= 1 and sum(w['proxy_server_timeouts'] for w in r['workers']) >= 1"
check "an HTTP-mode service beside them answers itself: 503 when its server refuses" bash -c "
    [[ \$('$lab' exec c1 curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://192.168.112.112:8080/) == 503 ]]"
check "per service and real server: connections and bytes each way, nothing active" \
    expect_stat "[v for v in r['virtual_services'] if v['label'] == 'FePool'][0]['total_conns'] == sum(s['total_conns'] for s in [v for v in r['virtual_services'] if v['label'] == 'FePool'][0]['real_servers']) and all(v['active_conns'] == 0 for v in r['virtual_services']) and [v for v in r['virtual_services'] if v['label'] == 'FePool'][0]['bytes_in'] >= 100000000 and [v for v in r['virtual_services'] if v['label'] == 'FePool'][0]['bytes_out'] >= 100000000 and sum(s['bytes_in'] for v in r['virtual_services'] for s in v['real_servers']) >= 100000000"
# show_stat SHOW COND: prints SHOW (a stats expression), fails unless COND holds.
show_stat() { stat "$1"; expect_stat "$2"; }
check "both workers proxied and hand-offs carried segments" \
    show_stat "[(w['proxy_accepted'], w['handoff_in']) for w in r['workers']]" \
    "all(w['proxy_accepted'] > 0 for w in r['workers']) and sum(w['handoff_in'] for w in r['workers']) > 0"
check "no session refused, no service without a server, every listener up" \
    show_stat "[(w['proxy_refused_pool'], w['proxy_no_server'], w['proxy_listen_failed']) for w in r['workers']]" \
    "sum(w['proxy_refused_pool'] + w['proxy_no_server'] + w['proxy_listen_failed'] for w in r['workers']) == 0"
# Hand-off rings may overflow under the bulk transfers on the lab's two shared cores
# (counted as handoff_ring_full, recovered by TCP like loss): shown, not required zero.
check "nothing malformed, no bad checksum" \
    show_stat "{k: v for k, v in r['drops'].items() if v}" \
    "all(v == 0 for k, v in r['drops'].items() if k.startswith('malformed') or k in ('bad_ip_checksum', 'tcp_bad_checksum'))"
# Drain and halt with a transfer running through the proxy (guide section 18).
download() {   # NAME: 100 MB from the VIP at 25 MB/s in the background; rc and hash in files
    rm -f "$tmp/dl-$1" "$tmp/dlrc-$1"
    (on c1 curl -s --max-time 60 --limit-rate 25M -o "$tmp/dl-$1" "http://$vip/big"
     echo $? >"$tmp/dlrc-$1") &
}
download_done() {  # NAME SECONDS -> prints curl's exit status
    local i
    for i in $(seq 1 $(($2 * 10))); do [[ -f $tmp/dlrc-$1 ]] && break; sleep 0.1; done
    cat "$tmp/dlrc-$1" 2>/dev/null || echo none
}
drain_mid_transfer() {
    local first rc next
    first=$(http_who) && download drain && sleep 1
    lbctl rs drain FePool "$first" >/dev/null || return 1
    next=$(http_who)
    rc=$(download_done drain 30)
    echo "persistent $first, after the drain $next; transfer: curl $rc, sha $(sha256sum "$tmp/dl-drain" | cut -c1-16)"
    lbctl rs online FePool "$first" >/dev/null
    [[ -n $next && $next != "$first" && $rc == 0 &&
        $(sha256sum "$tmp/dl-drain" | cut -d' ' -f1) == "$big_sha" ]]
}
halt_mid_transfer() {
    local first rc t0 t1
    first=$(http_who) && download halt && sleep 1
    t0=$(date +%s%N)
    lbctl rs halt FePool "$first" >/dev/null || return 1
    rc=$(download_done halt 10)
    t1=$(date +%s%N)
    echo "halted $first; transfer ended with curl $rc after $(((t1 - t0) / 1000000)) ms"
    lbctl rs online FePool "$first" >/dev/null
    # 18: partial transfer (the server side was closed), 56: connection reset.
    [[ $rc == 18 || $rc == 56 ]] && (((t1 - t0) / 1000000 < 5000))
}
# Path MTU discovery through the proxy, both sides at once: 100 MB down from rs4 to c2
# (lbd's segments to the client are refused by the router: the client-side connection's
# MSS goes down) and 4 x 20 MB up from c2 to rs4 (its segments to the real server: the
# server-side connections', from four local ports, so most likely of both workers).
# Each ICMP error must reach the worker that owns the connection it quotes, or the
# connection keeps sending 1500 bytes and stalls: c2 (10.99.0.20) is worker 1's, and
# so are its backend connections (their local ports), while the hash of rs4's address
# (10.99.0.51), which the quoted packet is to, names worker 0: with ICMP errors owned
# by the quote's destination, as before, the uploads are reset (checked by hand).
# Both end hosts sit on the 1200-byte link and send segments that fit it; the proxy
# sends 1460-byte ones only where it has queued more than one of theirs, so not every
# connection is certain to need its MSS lowered (one CI run lowered 4 of the 5): at
# least one must, or nothing here was about PMTU.
pmtu_transfers() {
    local t0=$(date +%s) down want i pids=() before ok=1
    before=$(stat "sum(w['tcp']['pmtu_reduced'] for w in r['workers'])")
    head -c 20000000 "$tmp/big" >"$tmp/mid"
    want=$(sha256sum "$tmp/mid" | cut -d' ' -f1)
    on c2 sh -c "curl -s --max-time 300 http://192.168.112.113/big | sha256sum" >"$tmp/pdown.sha" &
    pids+=($!)
    for i in 1 2 3 4; do
        on c2 timeout 300 $peer upload 192.168.112.113 9000 "$tmp/mid" >"$tmp/pup$i.sha" 2>&1 &
        pids+=($!)
    done
    wait "${pids[@]}"
    down=$(cut -d' ' -f1 <"$tmp/pdown.sha")
    echo "want $big_sha; down $down; $(($(date +%s) - t0)) s"
    [[ $down == "$big_sha" ]] || ok=0
    for i in 1 2 3 4; do
        echo "up $i: $(cat "$tmp/pup$i.sha")"
        [[ $(cat "$tmp/pup$i.sha") == "$want 20000000" ]] || ok=0
    done
    echo "# [pmtu] per worker: $(stat "' '.join('%s=%s' % (k, [w['tcp'][k] for w in r['workers']]) for k in ('pmtu_reduced', 'icmp_bad_seq', 'icmp_ignored'))")"
    ((ok)) && expect_stat "sum(w['tcp']['pmtu_reduced'] for w in r['workers']) >= $before + 1"
}
check "PMTU: 100 MB down and 4 x 20 MB up through a 1200-byte link, SHA-256 equal" \
    pmtu_transfers
grep '^# \[pmtu\]' "$tmp/check.out"

# source_address: the backend connections come from the address the operator sets
# (here the appliance's self IP) instead of the VIP.
snat_self_ip() {
    make_config "$tmp/l7c.json" "
import json
c.clear(); c.update(json.load(open('$cfg')))
c['virtual_services'][0]['source_address'] = '192.168.112.5'"
    lbctl config apply "$tmp/l7c.json" >/dev/null || return 1
    local who n
    who=$(on c1 curl -s --max-time 5 "http://$vip:8081/who") || return 1
    n=$(grep -c '^192.168.112.5 .*"GET /who' "$tmp/http8081-$who.log")
    echo "served by $who; requests from 192.168.112.5 in its log: $n"
    lbctl config apply "$cfg" >/dev/null
    ((n >= 1))
}
check "source_address set to the self IP: the real server sees the self IP" snat_self_ip
apply_layer7 1200 1200
check "drain mid-transfer: the transfer completes intact, the client's new connections move" \
    drain_mid_transfer
check "halt mid-transfer: the transfer is cut at once" halt_mid_transfer
"$lab" lbd stop

done_testing
