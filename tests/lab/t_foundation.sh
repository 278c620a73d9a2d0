#!/usr/bin/env bash
# The appliance foundation: ARP and ping of VIPs and self IPs through lbd with one and
# with two workers (af_packet qpairs=2, so packets land on the wrong worker and go
# through the hand-off rings), the counters that show it, bad configs and bad API input.
source "$(dirname "$0")/lib.sh"

"$lab" up >/dev/null || exit 1

# Twenty source addresses on the internal client, so that with two workers some flows
# are certain to arrive on the worker that does not own them.
for i in $(seq 21 40); do on c1 ip addr add 192.168.112.$i/24 dev eth0; done

# Nothing in the lab waits on DNS: the host's own name resolves from the namespace's
# hosts file, and a name that is nowhere fails at once instead of timing out.
resolves_fast() {
    on c1 timeout 2 getent hosts "$(hostname)" >/dev/null || return 1
    local t0=$(date +%s%N)
    on c1 timeout 5 getent hosts no-such-host.invalid >/dev/null && return 1
    (( ($(date +%s%N) - t0) / 1000000 < 1500 )) || { echo "a failed look-up took too long"; return 1; }
}
check "lab namespaces resolve the host's name without DNS, and fail other names at once" resolves_fast

ping_from() { on "$1" ping -c "${3:-3}" -i 0.2 -W 1 "${@:4}" "$2"; }

scenario() {
    local workers=$1 n
    # Clients forget lbd's MAC, so that the new daemon learns them from their ARP.
    for n in c1 rs1 rs2 rs3 x1; do on $n ip neigh flush all; done
    check "lbd starts with $workers worker(s)" "$lab" lbd start --workers "$workers"
    check "[$workers w] arping VIP 192.168.112.110 from c1" on c1 arping -c 2 -w 3 -I eth0 192.168.112.110
    check "[$workers w] arping self IP 192.168.112.5 from c1" on c1 arping -c 2 -w 3 -I eth0 192.168.112.5
    check "[$workers w] ping VIP 192.168.112.110 from c1" ping_from c1 192.168.112.110 5
    check "[$workers w] ping VIP 192.168.112.140 from rs1" ping_from rs1 192.168.112.140
    check "[$workers w] ping self IP 192.168.112.5 from rs2" ping_from rs2 192.168.112.5
    check "[$workers w] ping self IP 10.200.50.5 from x1 (port 1)" ping_from x1 10.200.50.5
    check "[$workers w] ping VIP 192.168.112.110 from x1 through port 1" ping_from x1 192.168.112.110
    local i
    for i in $(seq 21 40); do
        ping_from c1 192.168.112.110 1 -I 192.168.112.$i >/dev/null 2>&1 &
    done
    wait
    check "[$workers w] pings from 20 sources all answered" \
        expect_stat "r['icmp_echo_replies'] >= 5 + 3 + 3 + 3 + 3 + 20"
    check "[$workers w] ARP replies counted" expect_stat "r['arp_replies'] >= 4"
    check "[$workers w] neighbours learned" expect_stat "r['neighbours'] >= 4"
    check "[$workers w] lbctl status names the workers and ports" \
        bash -c "'$lab' lbctl --json status | grep -q '\"workers\":$workers' && '$lab' lbctl status | grep -q net_af_packet0"
    check "[$workers w] lbctl stats shows a table" bash -c "'$lab' lbctl stats | grep -qi worker"
    if ((workers > 1)); then
        check "[$workers w] hand-off rings carried packets" \
            expect_stat "sum(w['handoff_in'] for w in r['workers']) > 0 and sum(w['handoff_in'] for w in r['workers']) == sum(w['handoff_out'] for w in r['workers'])"
        check "[$workers w] every worker answered some pings" \
            expect_stat "all(w['icmp_echo_replies'] > 0 for w in r['workers'])"
    fi
    check "[$workers w] nothing was dropped as malformed" \
        expect_stat "r['drops']['malformed_ip'] == 0 and r['drops']['bad_ip_checksum'] == 0 and r['drops']['handoff_ring_full'] == 0"
    # Bad API input: error replies, the connection and the daemon keep serving.
    check "[$workers w] malformed JSON gets protocol_error" \
        bash -c "'$lab' lbctl raw '{\"cmd\": ' | grep -q protocol_error"
    check "[$workers w] unknown command gets unknown_command" \
        bash -c "'$lab' lbctl raw '{\"cmd\":\"frobnicate\"}' | grep -q unknown_command"
    check "[$workers w] oversized request gets too_big, and the same connection still answers" \
        bash -c "{ python3 -c 'print(\"{\\\"cmd\\\":\\\"\" + \"x\" * 1100000 + \"\\\"}\")'; echo '{\"cmd\":\"status\"}'; } | '$lab' lbctl raw - | tr '\n' ' ' | grep -q 'too_big.*\"ok\":true'"
    check "[$workers w] wrong argument type gets invalid_argument" \
        bash -c "'$lab' lbctl raw '{\"cmd\":\"stats\",\"vs\":7}' | grep -q invalid_argument"
    check "[$workers w] a client that hangs up mid-line does no harm" \
        bash -c "printf '{\"cmd\":\"sta' | socat - UNIX-CONNECT:$labrun/lb1.sock; '$lab' lbctl status >/dev/null"
    check "[$workers w] daemon still up and answering ping" ping_from c1 192.168.112.110 1
    check "[$workers w] socket is mode 0600" bash -c "[[ \$(stat -c %a $labrun/lb1.sock) == 600 ]]"
    check "[$workers w] SIGTERM stops lbd cleanly" bash -c "
        pid=\$('$lab' lbd pid); kill -TERM \$pid
        for i in \$(seq 50); do kill -0 \$pid 2>/dev/null || break; sleep 0.1; done
        ! kill -0 \$pid 2>/dev/null && grep -q stopping $labrun/lb1.log && [[ ! -e $labrun/lb1.sock ]]"
    "$lab" lbd stop
}

scenario 1
scenario 2

# One worker polling two queues a port (interfaces[].queues: 2, af_packet qpairs=2): the
# kernel's fanout spreads the flows over both queues, so pings from 20 sources are all
# answered only if the worker polls the second queue too.
queues_cfg=$(mktemp /tmp/lbd-queues-XXXXXX.json)
python3 - "$queues_cfg" <<'PY'
import json, sys
c = json.load(open("config/lab.json"))
for i in c["interfaces"]:
    i["queues"] = 2
json.dump(c, open(sys.argv[1], "w"))
PY
for n in c1 rs1 rs2 rs3 x1; do on $n ip neigh flush all; done
check "lbd starts with 1 worker and 2 queues a port" "$lab" lbd start --workers 1 --queues 2 --config "$queues_cfg"
check "[1 w, 2 queues] the ports have 2 rx queues each" \
    bash -c "'$lab' lbctl --json status | python3 -c 'import json,sys; p=json.load(sys.stdin)[\"result\"][\"ports\"]; sys.exit(not (p and all(x[\"rx_queues\"] == 2 for x in p)))'"
for i in $(seq 21 40); do
    ping_from c1 192.168.112.110 1 -I 192.168.112.$i >/dev/null 2>&1 &
done
wait
check "[1 w, 2 queues] pings from 20 sources all answered" expect_stat "r['icmp_echo_replies'] >= 20"
check "[1 w, 2 queues] ping self IP 10.200.50.5 from x1 (port 1)" ping_from x1 10.200.50.5
"$lab" lbd stop
rm -f "$queues_cfg"

# Bad configs: exit code 2, the field path in the message, nothing started.
bad_config() {
    local edit=$1 want=$2 out rc
    make_config "$tmp/bad.json" "$edit"
    out=$(on lb1 "$LBD_BUILD/control/lbd" --no-huge -m 64 --no-pci --vdev net_af_packet0,iface=p0 \
        --file-prefix "$LBD_LAB_PREFIX-bad" -- --config "$tmp/bad.json" --api-socket "$tmp/bad.sock" 2>&1)
    rc=$?
    echo "exit $rc: $out"
    [[ $rc == 2 ]] && grep -qF "$want" <<<"$out" && [[ ! -e $tmp/bad.sock ]]
}
check "bad port: exit 2 naming the field" bad_config 'c["virtual_services"][0]["ports"][1] = 70000' \
    'virtual_services[0].ports[1]: 70000 is not a port'
check "bad scheduler: exit 2 naming the field" bad_config 'c["virtual_services"][1]["scheduler"] = "fastest"' \
    'virtual_services[1].scheduler'
check "bad address: exit 2 naming the field" bad_config 'c["interfaces"][0]["ip"] = "192.168.112.300/24"' \
    'interfaces[0].ip'
check "missing layer: exit 2 naming the field" bad_config 'del c["virtual_services"][0]["layer"]' \
    'virtual_services[0].layer: required'
check "--check accepts config/lab.json" "$LBD_BUILD/control/lbd" -- --config "$top/config/lab.json" --check
check "--check-config FILE, no EAL options: 'FILE: ok', exit 0" bash -c "
    out=\$('$LBD_BUILD/control/lbd' --check-config '$top/config/lab.json'); rc=\$?; echo \"\$out\"
    [[ \$rc == 0 && \$out == '$top/config/lab.json: ok' ]]"
check_config_refused() {
    local out rc
    make_config "$tmp/bad.json" 'c["virtual_services"][1]["real_servers"][0]["weight"] = 70000'
    out=$("$LBD_BUILD/control/lbd" --check-config "$tmp/bad.json" 2>&1)
    rc=$?
    echo "exit $rc: $out"
    [[ $rc == 2 && $out == "lbd: $tmp/bad.json: virtual_services[1].real_servers[0].weight: "* ]]
}
check "--check-config on a bad config: exit 2, the file and the field named" check_config_refused
check "missing '--' is a usage error (exit 2)" bash -c "'$LBD_BUILD/control/lbd' --config x; [[ \$? == 2 ]]"
check "no lbd left running" bash -c "! pgrep -f '^$LBD_BUILD/control/lbd .*--file-prefix $LBD_LAB_PREFIX-'"

done_testing
