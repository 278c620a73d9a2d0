#!/usr/bin/env bash
# The HA pair (issue 12): lb1 (priority 150) and lb2 (priority 100) share a Layer 4
# TCP and a UDP VIP and the floating addresses the real servers and the client route
# through. SIGKILL the master during a long download and a UDP exchange: both carry
# on byte-exact through the backup (synced connection entries), the clients' ARP
# moves to it (gratuitous ARP); the old master comes back, takes the state (bulk
# resync) and preempts without breaking the flows; adverts with a wrong key, replayed,
# or from anyone but the peer are ignored and counted; ha.demote hands over with a
# transfer running; a cut link (split brain) heals with the lower one stepping down; a
# data port down puts the master in fault and the peer takes over. Layer 7: a client
# opening a new connection every 100 ms across the SIGKILL is served again through the
# backup, always by its persistent real server. A monitored gateway that stops
# answering the master's pings puts it in fault and hands over; when it answers again
# the master comes back. With preempt false, the returning higher unit stays backup and
# the flows through the master run on undisturbed.
source "$(dirname "$0")/lib.sh"
peer_py=$top/tests/lab/ha_peer.py

"$lab" up --peer >/dev/null || exit 1

key=$tmp/ha.key
head -c 32 /dev/urandom | base64 >"$key"
chmod 600 "$key"
ha_config() { # OUT SELF PEER PRIORITY
    make_config "$1" "
c['appliance']['name'] = 'ha$4'
c['interfaces'] = [{'port': 0, 'ip': '192.168.112.$2/24'}, {'port': 1, 'ip': '10.200.50.$2/24'}]
c['routing'] = {'forward': True}
c['virtual_services'] = [
  {'label': 'Bulk', 'ip': '10.200.50.120', 'ports': [8000], 'layer': 4, 'scheduler': 'wrr',
   'persistence': {'type': 'source_ip', 'timeout_s': 1200}, 'health_check': {'type': 'none'},
   'real_servers': [{'label': 'rs1', 'ip': '192.168.112.51', 'port': None},
                    {'label': 'rs2', 'ip': '192.168.112.52', 'port': None}]},
  {'label': 'Media', 'ip': '10.200.50.120', 'ports': [7000], 'protocol': 'udp', 'layer': 4,
   'scheduler': 'wrr', 'persistence': {'type': 'source_ip', 'timeout_s': 1200},
   'health_check': {'type': 'none'},
   'real_servers': [{'label': 'rs1', 'ip': '192.168.112.51', 'port': 7000},
                    {'label': 'rs2', 'ip': '192.168.112.52', 'port': 7000}]},
  {'label': 'Web', 'ip': '10.200.50.121', 'ports': [8000], 'layer': 7, 'mode': 'tcp',
   'scheduler': 'wrr', 'persistence': {'type': 'source_ip', 'timeout_s': 1200},
   'health_check': {'type': 'none'},
   'real_servers': [{'label': 'rs1', 'ip': '192.168.112.51', 'port': None},
                    {'label': 'rs2', 'ip': '192.168.112.52', 'port': None}]}]
c['ha'] = {'peer': '192.168.112.$3', 'priority': $4, 'advert_interval_ms': 200,
           'preempt': True, 'preempt_delay_ms': 1000, 'auth_key_file': '$key',
           'floating_ips': ['192.168.112.4', '10.200.50.4'],
           'monitor': ['10.200.50.1'], 'monitor_interval_ms': 200, 'monitor_fall': 3}"
}
ha_config "$tmp/lb1.json" 5 6 150
ha_config "$tmp/lb2.json" 6 5 100
# lb2 is added as the guide adds a slave: local settings and ha only, no services.
python3 -c "import json; c=json.load(open('$tmp/lb2.json')); c['virtual_services']=[]; json.dump(c, open('$tmp/lb2.json','w'))"

# The real servers and the client route through the floating addresses.
for rs in rs1 rs2; do on $rs ip route replace default via 192.168.112.4; done
on x1 ip route replace default via 10.200.50.4
head -c 60000000 /dev/urandom >"$tmp/big"
want=$(sha256sum <"$tmp/big" | cut -d' ' -f1)
for rs in rs1 rs2; do
    mkdir -p "$tmp/www-$rs" && ln "$tmp/big" "$tmp/www-$rs/big" && echo $rs >"$tmp/www-$rs/who"
    (cd "$tmp/www-$rs" && exec "$lab" exec $rs python3 -m http.server 8000 >"$tmp/http-$rs.log" 2>&1) &
    "$lab" exec $rs python3 "$peer_py" udp-server $rs 7000 &
done
for i in $(seq 21 30); do on x1 ip addr add 10.200.50.$i/24 dev eth0; done
# x1 is also the client LAN's router that both units monitor.
on x1 ip addr add 10.200.50.1/24 dev eth0
sleep 0.5

hastate() { "$lab" lbctl --name "$1" --json ha 2>/dev/null | json "r['state']" 2>/dev/null; }
wait_state() { # NAME STATE SECONDS
    local i
    for i in $(seq 1 $(($3 * 10))); do [[ $(hastate "$1") == "$2" ]] && return 0; sleep 0.1; done
    echo "$1 is $(hastate "$1"), not $2"
    "$lab" lbctl --name "$1" ha
    return 1
}
mac_of() { "$lab" lbctl --name "$1" --json status | json "[p['mac'] for p in r['ports'] if p['port'] == $2][0]"; }
neigh_is() { # NODE IP MAC
    local o
    o=$(on "$1" ip neigh show "$2")
    echo "$1: $o (want $3)"
    grep -qi "lladdr $3" <<<"$o"
}
transfer() { # NAME SIZE-FILE RATE
    (on x1 curl -s --max-time 80 --limit-rate "$3" -o "$tmp/got-$1" http://10.200.50.120:8000/$2
     echo $? >"$tmp/rc-$1") &
}
transfer_ok() {
    local i
    for i in $(seq 1 600); do [[ -f $tmp/rc-$1 ]] && break; sleep 0.1; done
    echo "curl exit $(cat "$tmp/rc-$1" 2>/dev/null), sha $(sha256sum <"$tmp/got-$1" | cut -c1-16)"
    [[ $(cat "$tmp/rc-$1") == 0 && $(sha256sum <"$tmp/got-$1" | cut -d' ' -f1) == "$want" ]]
}
hastat() { "$lab" lbctl --name "$1" --json ha | json "$2"; }
expect_ha() { [[ $(hastat "$1" "$2") == True ]]; }
expect_lbstat() { [[ $("$lab" lbctl --name "$1" --json stats | json "$2") == True ]]; }

# 1. The pair comes up: lb1 alone becomes master after the master-down interval.
check "lb1 starts (ha section, key 0600)" "$lab" lbd start --name lb1 --config "$tmp/lb1.json"
check "lb1 alone becomes master after the master-down interval" wait_state lb1 master 3
check "lb2 starts" "$lab" lbd start --name lb2 --config "$tmp/lb2.json"
check "lb2 hears lb1 and stays backup" wait_state lb2 backup 2
vs_of() { "$lab" lbctl --name "$1" --json vs list | json "sorted((v['label'], [(s['label'], s['weight'], s['state']) for s in v['real_servers']]) for v in r)"; }
same_services() {
    local i
    for i in $(seq 1 ${1:-20}); do [[ $(vs_of lb2) == "$(vs_of lb1)" ]] && return 0; sleep 0.1; done
    echo "lb1: $(vs_of lb1)"; echo "lb2: $(vs_of lb2)"
    return 1
}
check "lb2, started without services, receives lb1's" same_services 20
check "lb1 sees lb2 as backup" bash -c "sleep 1; [[ \$('$lab' lbctl --name lb1 --json ha | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"result\"][\"peer\"][\"state\"])') == backup ]]"
chmod 644 "$key"
check "a key readable by others is refused (exit 2)" bash -c "
    '$LBD_BUILD/control/lbd' -- --config '$tmp/lb1.json' >'$tmp/keytest.log' 2>&1
    rc=\$?; cat '$tmp/keytest.log'; [[ \$rc == 2 ]] && grep -q 'must be 0600' '$tmp/keytest.log'"
chmod 600 "$key"

# 2. Traffic through lb1; its entries reach lb2.
transfer kill big 3M
(on x1 python3 "$peer_py" udp-client 10.200.50.120 7000 30 "$tmp/udp.json") &
sleep 2.5
check "lb1 carries the traffic" expect_lbstat lb1 "sum(w['l4_forward_packets'] for w in r['workers']) > 100"
check "lb2 carries nothing" expect_lbstat lb2 "sum(w['l4_forward_packets'] for w in r['workers']) == 0"
check "lb2 installed the synced TCP and UDP entries" expect_lbstat lb2 "sum(w['l4_conns_active'] for w in r['workers']) >= 2 and sum(w['l4_sync_installed'] for w in r['workers']) >= 2"
check "lb1's sync lag is small" expect_ha lb1 "r['sync']['lag_batches'] <= 5 and r['sync']['records_tx'] >= 2"
check "a weight and a state changed on the master reach the backup within a second" bash -c "
    '$lab' lbctl --name lb1 rs weight Bulk rs2 50 >/dev/null && '$lab' lbctl --name lb1 rs drain Media rs2 >/dev/null"
check "  (the backup's services now equal the master's)" same_services 10
# Layer 7: ten clients, each on its persistent server (the entries are synced too).
l7_servers() {
    local i out=""
    for i in $(seq 21 30); do
        out+="$(on x1 curl -s --max-time 3 --interface 10.200.50.$i http://10.200.50.121:8000/who) "
    done
    echo "$out"
}
l7_before=$(l7_servers)
check "ten Layer 7 clients served through lb1" bash -c "[[ \$(wc -w <<<'$l7_before') == 10 ]]"
mac1_ext=$(mac_of lb1 1) mac2_ext=$(mac_of lb2 1) mac2_int=$(mac_of lb2 0) mac1_int=$(mac_of lb1 0)

# 3. SIGKILL the master (the pid the lab started), with a Layer 7 client looping on new
# connections across the kill.
(on x1 python3 "$peer_py" http-loop 10.200.50.21 10.200.50.121 8000 /who 8 "$tmp/l7loop.json") &
sleep 1.5
pid1=$("$lab" lbd pid --name lb1)
t_kill=$(python3 -c 'import time; print(time.monotonic())')    # just before the kill
kill -KILL "$pid1"
t0=$(date +%s.%N)
check "lb2 takes over within 2 s of the SIGKILL" wait_state lb2 master 2
echo "# takeover in $(python3 -c "print(round($(date +%s.%N) - $t0, 2))") s (includes polling)"
sleep 1.5
check "the client's ARP for the VIP points at lb2" neigh_is x1 10.200.50.120 "$mac2_ext"
check "the real servers' ARP for the floating gateway points at lb2" neigh_is rs1 192.168.112.4 "$mac2_int"
carried_by() { # NAME: the flows move through it, no packet refused for want of a SYN
    local i v
    for i in $(seq 1 30); do
        v=$("$lab" lbctl --name "$1" --json stats | json "(sum(w['l4_forward_packets'] for w in r['workers']), sum(w['l4_reverse_packets'] for w in r['workers']), r['drops']['l4_tcp_not_syn'])")
        python3 -c "import sys; f, rv, n = eval(sys.argv[1]); sys.exit(0 if f > 50 and rv > 50 and n == 0 else 1)" "$v" && return 0
        sleep 0.1
    done
    echo "forward, reverse, l4_tcp_not_syn: $v"
    return 1
}
check "lb2 carries the running flows both ways (no new SYN needed)" carried_by lb2
l7_same() {
    local after
    after=$(l7_servers)
    echo "before: $l7_before"; echo "after:  $after"
    [[ $after == "$l7_before" ]]
}
check "Layer 7 clients reconnecting through lb2 land on the same servers (synced persistence)" l7_same
l7_loop_ok() { # the loop across the kill: served before and after, one server, a short gap
    local i
    for i in $(seq 1 100); do [[ -s $tmp/l7loop.json ]] && break; sleep 0.1; done
    python3 - "$tmp/l7loop.json" "$t_kill" "$(awk '{print $1}' <<<"$l7_before")" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1]))["events"]
kill, want = float(sys.argv[2]), sys.argv[3]
before = [s for t, s in ev if t < kill - 0.5]
after = [(t, s) for t, s in ev if t > kill]
fails = [t for t, s in ev if s is None]
servers = sorted({s for t, s in ev if s is not None})
ok_after = [t for t, s in after if s is not None]
back = round(ok_after[0] - kill, 2) if ok_after else None
print("attempts %d, failed %d (started at %s s from the kill), servers %s (want %s), "
      "first served %s s after the kill" % (len(ev), len(fails),
      [round(t - kill, 2) for t in fails], servers, want, back))
# (A lone attempt that times out under the machine's load before the kill is not the
# pair's doing; the takeover is what is checked.)
assert before and sum(s is not None for s in before) >= 0.8 * len(before), "not served before the kill"
assert servers == [want], "served by another real server"
assert back is not None and back < 2.0, "not served again within 2 s"
# Once served through lb2 the client stays served: a lone attempt timing out later (1 s,
# on this loaded machine) says nothing about the takeover; a lost or moved persistence
# entry or a new master not serving would fail them all (or the server check above).
later = [s for t, s in after if t >= ok_after[0]]
assert len(later) >= 20, "too few attempts after it"
assert sum(s is not None for s in later) >= 0.9 * len(later), "failures after the takeover"
PY
}
check "a Layer 7 client looping across the kill is served again through lb2, by the same server" l7_loop_ok

# 4. lb1 returns: backup, takes lb2's state, then preempts.
check "lb1 restarts" "$lab" lbd start --name lb1 --config "$tmp/lb1.json"
check "lb1 takes the state (bulk resync) and preempts" wait_state lb1 master 8
check "lb2 steps down to backup" wait_state lb2 backup 2
check "lb1 received a complete bulk resync first" expect_ha lb1 "r['sync']['bulk_received'] >= 1"
sleep 1.5
check "the client's ARP is back on lb1" neigh_is x1 10.200.50.120 "$mac1_ext"
check "the download survived two takeovers byte-exact (SHA-256)" transfer_ok kill
udp_ok() {
    local i
    for i in $(seq 1 300); do [[ -s $tmp/udp.json ]] && break; sleep 0.1; done
    cat "$tmp/udp.json"
    python3 -c "
import json; u = json.load(open('$tmp/udp.json'))
assert len(u['servers']) == 1, 'answered by more than one server'
assert u['max_gap_s'] < 3, 'silent too long'
assert u['got'] >= 0.8 * u['sent'], 'too many lost'"
}
check "the UDP exchange went on through both takeovers, one real server" udp_ok

# 5. Adverts from anyone but the peer, with a wrong key, or replayed: ignored, counted.
b_mac=$(hastat lb1 "r['counters']['rx_bad_mac']") b_rep=$(hastat lb1 "r['counters']['rx_replay']")
on c1 python3 "$peer_py" advert "$key" 192.168.112.6 192.168.112.5 18446744073709551000 --wrong-key
on c1 python3 "$peer_py" advert "$key" 192.168.112.6 192.168.112.5 1
on c1 python3 "$peer_py" advert "$key" 192.168.112.20 192.168.112.5 18446744073709551000
sleep 0.5
check "a wrong key is counted (rx_bad_mac) and ignored" expect_ha lb1 "r['counters']['rx_bad_mac'] > $b_mac and r['state'] == 'master'"
check "a replayed counter is counted (rx_replay) and ignored" expect_ha lb1 "r['counters']['rx_replay'] > $b_rep and r['state'] == 'master'"
check "an advert from another address is dropped (ha_not_peer)" expect_lbstat lb1 "r['drops']['ha_not_peer'] >= 1"

# 6. Maintenance: ha.demote hands over with a transfer running.
transfer demote big 8M
sleep 1.5
check "ha.demote on lb1" "$lab" lbctl --name lb1 ha demote
check "lb2 is master within a second" wait_state lb2 master 1
check "lb1 stays backup (demoted)" bash -c "sleep 1; [[ \$('$lab' lbctl --name lb1 --json ha | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"result\"][\"state\"])') == backup ]]"
check "the transfer across the demote completes byte-exact" transfer_ok demote

# 7. Split brain: the adverts between the two are cut on the switch, then let through.
check "ha.promote on lb1" "$lab" lbctl --name lb1 ha promote
check "lb2 steps down for the promoted lb1" wait_state lb2 backup 2
on sw nft add table bridge hacut
on sw nft add chain bridge hacut cut '{ type filter hook forward priority 0; }'
on sw nft add rule bridge hacut cut udp dport 5798 drop
check "link cut: both become master" bash -c "sleep 1.5; [[ \$('$lab' lbctl --name lb2 --json ha | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"result\"][\"state\"])') == master ]]"
on sw nft delete table bridge hacut
check "link healed: the lower one (lb2) steps down" wait_state lb2 backup 2
check "lb1 is the only master" wait_state lb1 master 1

# 8. Fault: a data port of the master loses its link; the peer takes over at once.
on lb1 ip link set p1 down
check "lb1's client-side port down: fault" wait_state lb1 fault 2
check "lb2 takes over from the unit in fault" wait_state lb2 master 2
on lb1 ip link set p1 up
check "link back: lb1 leaves fault, takes the state and preempts" wait_state lb1 master 8
check "a new connection through the VIP is served by lb1" bash -c "
    for i in \$(seq 1 20); do
        [[ \$('$lab' exec x1 curl -s --max-time 2 http://10.200.50.121:8000/who) == rs* ]] && exit 0; sleep 0.3
    done; exit 1"

# 9. A monitored gateway stops answering the master: fault, the peer takes over; when it
# answers again the master leaves fault and (preempt) takes back over. A UDP exchange
# runs across both hand-overs.
check "both units see the monitored gateway up" expect_ha lb1 "[(m['ip'], m['state']) for m in r['monitor']] == [('10.200.50.1', 'up')] and r['monitor'][0]['answered'] > 0 and r['faults'] == []"
check "  (lb2 too)" expect_ha lb2 "[(m['ip'], m['state']) for m in r['monitor']] == [('10.200.50.1', 'up')] and r['monitor'][0]['answered'] > 0"
rm -f "$tmp/udp.json"
(on x1 python3 "$peer_py" udp-client 10.200.50.120 7000 9 "$tmp/udp.json") &
sleep 1
# The router drops lb1's pings only (lb2 still reaches it).
on x1 nft add table ip mon
on x1 nft add chain ip mon in '{ type filter hook input priority 0; }'
on x1 nft add rule ip mon in ip saddr 10.200.50.5 icmp type echo-request drop
t_mon=$(date +%s.%N)
check "the gateway stops answering lb1: fault (monitor)" wait_state lb1 fault 3
echo "# fault $(python3 -c "print(round($(date +%s.%N) - $t_mon, 2))") s after the drop (3 x 200 ms pings + polling)"
check "  its reason and cause" expect_ha lb1 "r['faults'] == ['monitor'] and r['last_reason'] == 'monitored address not answering' and r['monitor'][0]['state'] == 'down' and r['monitor'][0]['misses_in_a_row'] >= 3"
check "lb2 takes over from the unit in fault" wait_state lb2 master 2
check "lb2 still sees the gateway" expect_ha lb2 "r['monitor'][0]['state'] == 'up' and r['faults'] == []"
on x1 nft delete table ip mon
check "the gateway answers again: lb1 leaves fault and preempts" wait_state lb1 master 8
check "  no fault left" expect_ha lb1 "r['faults'] == [] and r['monitor'][0]['state'] == 'up' and r['monitor'][0]['changes'] >= 2"
check "lb2 is backup again" wait_state lb2 backup 2
check "the UDP exchange went on through both hand-overs, one real server" udp_ok

# 10. preempt false: the returning higher unit stays backup while the master is healthy.
python3 -c "import json; c=json.load(open('$tmp/lb1.json')); c['ha']['preempt']=False; json.dump(c, open('$tmp/lb1-nopre.json','w'))"
kill -KILL "$("$lab" lbd pid --name lb1)"
check "lb1 killed: lb2 is master" wait_state lb2 master 2
rm -f "$tmp/udp.json" "$tmp/rc-nopre"
transfer nopre big 6M
(on x1 python3 "$peer_py" udp-client 10.200.50.120 7000 12 "$tmp/udp.json") &
sleep 1
lb2_moves=$(hastat lb2 "r['transitions']")
check "lb1 restarts with preempt false" "$lab" lbd start --name lb1 --config "$tmp/lb1-nopre.json"
check "  and is backup" wait_state lb1 backup 3
check "  with lb2's state (bulk resync)" bash -c "for i in \$(seq 1 30); do '$lab' lbctl --name lb1 --json ha | python3 -c 'import json,sys; r=json.load(sys.stdin)[\"result\"]; sys.exit(0 if r[\"sync\"][\"bulk_received\"] >= 1 and r[\"sync\"][\"ready\"] else 1)' && exit 0; sleep 0.1; done; exit 1"
sleep 5    # preempt_delay_ms (1 s) and the sync wait (3 s) over, with room
check "lb1 (priority 150, preempt false) is still backup" expect_ha lb1 "r['state'] == 'backup' and r['transitions'] == 0 and r['peer']['state'] == 'master'"
check "lb2 (priority 100) is still master, no state change" expect_ha lb2 "r['state'] == 'master' and r['transitions'] == $lb2_moves"
check "the client's ARP stays on lb2" neigh_is x1 10.200.50.120 "$mac2_ext"
check "lb1 carries nothing" expect_lbstat lb1 "sum(w['l4_forward_packets'] for w in r['workers']) == 0"
check "the download through lb2 completes byte-exact" transfer_ok nopre
udp_steady() { udp_ok && python3 -c "import json; u = json.load(open('$tmp/udp.json')); assert u['max_gap_s'] < 1.0, 'a gap'"; }
check "the UDP exchange was never interrupted, one real server" udp_steady

"$lab" lbd stop --name lb2
"$lab" lbd stop --name lb1
done_testing
