#!/usr/bin/env bash
# DPDK's own tools against a running lbd: the EAL's telemetry socket answers lbd's
# commands (/lbd/stats, /lbd/services, /lbd/worker,N) through dpdk-telemetry.py with
# the counters `lbctl stats` gives, and unknown arguments get null, not a crash.
source "$(dirname "$0")/lib.sh"

"$lab" up >/dev/null || exit 1
cfg=$tmp/tel.json
make_config "$cfg" '
c["virtual_services"][0]["health_check"] = {"type": "none"}
c["virtual_services"][1]["health_check"] = {"type": "none"}'
for rs in rs1 rs2 rs3; do
    mkdir -p "$tmp/www-$rs" && echo "$rs" >"$tmp/www-$rs/who"
    "$lab" exec $rs python3 -m http.server 80 --directory "$tmp/www-$rs" >/dev/null 2>&1 &
done
sleep 1
check "lbd starts with 2 workers" "$lab" lbd start --workers 2 --config "$cfg"
prefix=$LBD_LAB_PREFIX-lb1

# tel CMD: the reply of the telemetry socket to CMD (its JSON), as dpdk-telemetry.py
# prints it.
tel() {
    echo "$1" | dpdk-telemetry.py -f "$prefix" 2>&1 |
        python3 -c '
import json, sys
for l in sys.stdin:
    l = l.strip().lstrip("-> ").strip()
    key = sys.argv[1].split(",")[0]
    if l.startswith("{") and key in l:
        print(json.dumps(json.loads(l)[key]))
        break
else:
    sys.exit(1)' "$1"
}
check "the telemetry socket lists lbd's commands" \
    bash -c "echo /help,/lbd/stats | dpdk-telemetry.py -f '$prefix' | grep -q 'lbd: appliance counters'"

# Traffic that moves counters: pings of the VIP, HTTP through the Layer 7 VIP.
on c1 ping -c 4 -i 0.2 -W 1 192.168.112.110 >/dev/null
for i in 1 2 3; do on c1 curl -s --max-time 5 -o /dev/null http://192.168.112.110/who; done
sleep 1     # telemetry answers from a copy the control core refreshes every 250 ms

lbctl --json stats >"$tmp/stats.json"
tel /lbd/stats >"$tmp/tel-stats.json"
tel /lbd/services >"$tmp/tel-vs.json"
tel /lbd/worker,1 >"$tmp/tel-w1.json"
same_stats() {
    python3 - "$tmp/stats.json" "$tmp/tel-stats.json" "$tmp/tel-vs.json" "$tmp/tel-w1.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["result"]
t, tv, tw = (json.load(open(f)) for f in sys.argv[2:5])
bad = []
def same(name, a, b):
    if a != b:
        bad.append("%s: lbctl %s, telemetry %s" % (name, a, b))
for k in ("icmp_echo_replies", "arp_replies", "neighbours"):
    same(k, s[k], t[k])
for k, v in s["drops"].items():
    same("drops." + k, v, t["drops"][k])
for k in ("proxy_accepted", "proxy_connected", "proxy_sessions_closed", "icmp_echo_replies"):
    same("workers." + k, sum(w[k] for w in s["workers"]), t["workers"][k])
for vs in s["virtual_services"]:
    for k in ("total_conns", "bytes_in", "bytes_out", "active_conns"):
        same(vs["label"] + "." + k, vs[k], tv[vs["label"]][k])
w1 = [w for w in s["workers"] if w["worker"] == 1][0]
for k in ("proxy_accepted", "l4_conns_created", "icmp_echo_replies"):
    same("worker 1." + k, w1[k], tw[k])
print("icmp_echo_replies", t["icmp_echo_replies"], "Web total_conns", tv["Web"]["total_conns"],
      "accepted", t["workers"]["proxy_accepted"])
if s["icmp_echo_replies"] < 4 or s["virtual_services"][0]["total_conns"] < 3:
    bad.append("the traffic did not move the counters")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
}
check "/lbd/stats, /lbd/services and /lbd/worker,1 give the counters of 'lbctl stats'" same_stats
one_service() {
    local j
    j=$(tel /lbd/service,Web) || return 1
    echo "$j"
    python3 -c '
import json, sys
d = json.loads(sys.argv[1])
sys.exit(0 if d["total_conns"] >= 3 and "rs1/bytes_out" in d else 1)' "$j"
}
check "/lbd/service,Web has its counters and its real servers' (rs1/bytes_out)" one_service
unknown_is_null() {
    local o
    o=$(echo /lbd/service,Nope | dpdk-telemetry.py -f "$prefix" 2>&1)
    echo "$o"
    grep -q '"/lbd/service": null' <<<"$o"
}
check "an unknown service gets null" unknown_is_null
check "lbd is still running" "$lab" lbd pid
done_testing
