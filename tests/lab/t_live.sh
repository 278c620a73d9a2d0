#!/usr/bin/env bash
# Operating a running appliance (issue 6) with traffic flowing through Layer 4 NAT:
# drain a real server while a long transfer runs through it (the transfer completes,
# new connections go elsewhere, its persistent clients move); apply a new config that
# adds a service and changes weights mid-transfer (nothing dropped, new weights
# honoured); halt a server (its connections are reset at once).
source "$(dirname "$0")/lib.sh"

"$lab" up >/dev/null || exit 1
cfg=$tmp/live.json
make_config "$cfg" '
c["routing"] = {"forward": True}
c["virtual_services"] = [
  {"label": "Bulk", "ip": "10.200.50.130", "ports": [8000], "layer": 4, "scheduler": "wrr",
   "persistence": {"type": "source_ip", "timeout_s": 1200}, "health_check": {"type": "none"},
   "real_servers": [{"label": "rs1", "ip": "192.168.112.51", "port": None},
                    {"label": "rs2", "ip": "192.168.112.52", "port": None}]}]'
# Both servers serve the same 40 MB file, and their own name.
head -c 40000000 /dev/urandom >"$tmp/big"
want=$(sha256sum <"$tmp/big" | cut -d' ' -f1)
for rs in rs1 rs2; do
    mkdir -p "$tmp/www-$rs" && ln "$tmp/big" "$tmp/www-$rs/big" && echo $rs >"$tmp/www-$rs/who"
    # 400 MB (sparse) for the halt: a transfer that cannot end before the halt does.
    truncate -s 400000000 "$tmp/www-$rs/huge"
    (cd "$tmp/www-$rs" && exec "$lab" exec $rs python3 -m http.server 8000 >"$tmp/http-$rs.log" 2>&1) &
done
for i in $(seq 21 60); do on x1 ip addr add 10.200.50.$i/24 dev eth0; done
# The client's receive buffer at most 1 MB: Linux hands a reset socket's buffered data to
# the reader before the error, and with autotuning up to 32 MB (this kernel's tcp_rmem)
# curl, at 8 MB/s, would take seconds to see a reset that had long been taken.
on x1 sysctl -qw net.ipv4.tcp_rmem="4096 131072 1048576"
sleep 1
check "lbd starts" "$lab" lbd start --config "$cfg"

who() { on x1 curl -s --max-time 5 ${1:+--interface $1} http://10.200.50.130:8000/who; }
# A transfer of 40 MB at 8 MB/s (5 s), in the background; its status and hash in files.
transfer() {
    (on x1 curl -s --max-time 60 --limit-rate 8M -o "$tmp/got-$1" http://10.200.50.130:8000/${2:-big}
     echo $? >"$tmp/rc-$1") &
}
transfer_ok() {
    local i
    for i in $(seq 1 300); do [[ -f $tmp/rc-$1 ]] && break; sleep 0.1; done
    echo "curl exit $(cat "$tmp/rc-$1" 2>/dev/null), sha $(sha256sum <"$tmp/got-$1" | cut -c1-16)"
    [[ $(cat "$tmp/rc-$1") == 0 && $(sha256sum <"$tmp/got-$1" | cut -d' ' -f1) == "$want" ]]
}
# The real server carrying the transfer: the one whose bytes towards the client grow.
# (Not "the first with an active connection": closed connections of earlier checks
# stay in the table until their closing timeout, on either server.)
rs_out() { lbctl --json stats Bulk | json "{s['label']: s['bytes_out'] for s in r['virtual_services'][0]['real_servers']}"; }
serving() {
    local a b
    a=$(rs_out); sleep 0.5; b=$(rs_out)
    python3 -c "import ast, sys; a, b = ast.literal_eval(sys.argv[1]), ast.literal_eval(sys.argv[2]); print(max(b, key=lambda k: b[k] - a.get(k, 0)))" "$a" "$b"
}

# 1. Drain during a transfer.
first=$(who)
transfer drain
sleep 1
busy=$(serving)
echo "# persistent server $first, transfer on $busy"
check "the transfer runs on the client's persistent server" test "$busy" == "$first"
check "drain it mid-transfer" "$lab" lbctl rs drain Bulk "$busy"
check "new connections of the same client go elsewhere (persistence moves)" \
    bash -c "[[ \$('$lab' exec x1 curl -s --max-time 5 http://10.200.50.130:8000/who) != $busy ]]"
check "new clients avoid the drained server" bash -c "
    for i in \$(seq 21 30); do
        [[ \$('$lab' exec x1 curl -s --max-time 5 --interface 10.200.50.\$i http://10.200.50.130:8000/who) != $busy ]] || exit 1
    done"
check "the transfer through the drained server completes intact" transfer_ok drain
check "back online" "$lab" lbctl rs online Bulk "$busy"

# 2. A new config mid-transfer: a service added, weights 3:1 on a service without persistence.
transfer apply
sleep 1
make_config "$tmp/next.json" '
c["routing"] = {"forward": True}
c["virtual_services"] = [
  {"label": "Bulk", "ip": "10.200.50.130", "ports": [8000], "layer": 4, "scheduler": "wrr",
   "persistence": {"type": "none"}, "health_check": {"type": "none"},
   "real_servers": [{"label": "rs1", "ip": "192.168.112.51", "port": None, "weight": 300},
                    {"label": "rs2", "ip": "192.168.112.52", "port": None, "weight": 100}]},
  {"label": "Added", "ip": "10.200.50.131", "ports": [8000], "layer": 4,
   "health_check": {"type": "none"},
   "real_servers": [{"label": "rs2", "ip": "192.168.112.52", "port": None}]}]'
python3 -c "import json; c=json.load(open('$tmp/next.json')); c['virtual_services'][0]['real_servers'][1]['ip']='192.168.112.300'; json.dump(c, open('$tmp/bad.json','w'))"
check "an invalid config mid-transfer is refused, naming the field" \
    bash -c "'$lab' lbctl config apply $tmp/bad.json 2>&1 | grep -F 'virtual_services[0].real_servers[1].ip'"
check "config.apply mid-transfer" "$lab" lbctl config apply "$tmp/next.json"
check "the added service serves at once" bash -c "[[ \$('$lab' exec x1 curl -s --max-time 5 http://10.200.50.131:8000/who) == rs2 ]]"
weights() {
    local i n1=0 n2=0 w
    for i in $(seq 21 60); do
        w=$(who 10.200.50.$i)
        [[ $w == rs1 ]] && n1=$((n1 + 1))
        [[ $w == rs2 ]] && n2=$((n2 + 1))
    done
    echo "rs1 $n1, rs2 $n2"
    ((n1 + n2 == 40 && n1 >= 28 && n1 <= 32))
}
check "new weights 3:1 honoured over 40 new connections" weights
check "the transfer that ran through the reconfig completes intact" transfer_ok apply
check "nothing was dropped for a missing connection" expect_stat "r['drops']['l4_tcp_no_conn'] == 0"

# 3. Halt: the server's connections are reset at once. The transfer is of a file large
# enough to be still running when the halt comes (the 40 MB one could be through the
# appliance, ahead of curl's rate, by then).
transfer halt huge
sleep 1
busy=$(serving)
check "halt the server of a running transfer" "$lab" lbctl rs halt Bulk "$busy"
# On failure: what the client's socket and the appliance's halt counters say.
halt_reset() {
    local i
    for i in $(seq 1 30); do
        [[ -f $tmp/rc-halt ]] && break
        sleep 0.1
    done
    echo "curl exit $(cat "$tmp/rc-halt" 2>/dev/null)"
    [[ $(cat "$tmp/rc-halt" 2>/dev/null) == 56 ]] && return 0
    on x1 ss -tnio state established '( dport = :8000 )'
    lbctl --json stats | json "[(w['l4_halt_resets'], w['l4_conns_halted']) for w in r['workers']]"
    lbctl --json stats | json "{k: v for k, v in r['drops'].items() if v}"
    return 1
}
check "the transfer is reset within 3 s" halt_reset
check "the resets are counted" expect_stat "sum(w['l4_halt_resets'] for w in r['workers']) >= 1"
check "the halted server gets no new connection" bash -c "
    for i in \$(seq 21 28); do
        [[ \$('$lab' exec x1 curl -s --max-time 5 --interface 10.200.50.\$i http://10.200.50.130:8000/who) != $busy ]] || exit 1
    done"

# 4. Slots are reused: a new service or real server starts from zero, whatever traffic
# the one that had its slot before carried.
vs_stat() { lbctl --json stats | json "[(v['total_conns'], v['bytes_in']) for v in r['virtual_services'] if v['label'] == '$1'][0]"; }
rs_stat() { lbctl --json stats | json "[(s['total_conns'], s['bytes_in']) for v in r['virtual_services'] if v['label'] == '$1' for s in v['real_servers'] if s['label'] == '$2'][0]"; }
check "the service about to be removed carried traffic" bash -c "[[ \"$(vs_stat Added)\" != '(0, 0)' ]]"
check "vs del, then vs add: the new service takes the freed slot" bash -c "
    '$lab' lbctl vs del Added >/dev/null && '$lab' lbctl vs add '{\"label\": \"Fresh\", \"ip\": \"10.200.50.132\", \"ports\": [8000], \"layer\": 4, \"health_check\": {\"type\": \"none\"}, \"real_servers\": [{\"label\": \"f1\", \"ip\": \"192.168.112.51\", \"port\": null}]}' >/dev/null"
check "the new service's counters start from zero" test "$(vs_stat Fresh)" == "(0, 0)"
old_rs=$(rs_stat Bulk rs2)
check "rs del, then rs add: the new real server's counters start from zero" bash -c "
    [[ '$old_rs' != '(0, 0)' ]] && '$lab' lbctl rs del Bulk rs2 >/dev/null &&
    '$lab' lbctl rs add Bulk '{\"label\": \"rs9\", \"ip\": \"192.168.112.52\", \"port\": null}' >/dev/null"
check "rs9 (rs2's slot) starts from zero" test "$(rs_stat Bulk rs9)" == "(0, 0)"

done_testing
