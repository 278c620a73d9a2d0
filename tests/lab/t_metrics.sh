#!/usr/bin/env bash
# The management server: GET /metrics in the Prometheus format with a sample for every
# number of `stats`, counters that move with the traffic (pings of a VIP, STUN through
# the Layer 4 VIP), the servers' health and operator state as 0/1 gauges, the status
# page and its JSON, its limits (connections, request size, idle timeout) that leave
# the control core serving, and configs that are refused.
source "$(dirname "$0")/lib.sh"

prom() { python3 "$top/tests/lab/prom.py" "$@"; }
mport=9100
murl=http://127.0.0.1:$mport

"$lab" up >/dev/null || exit 1
# The management address is on the appliance namespace's own loopback.
on lb1 ip link set lo up
for rs in rs1 rs2; do
    on $rs turnserver -n --stun-only --listening-port 3478 --no-tls --no-dtls --no-cli \
        --log-file stdout --simple-log --pidfile "$tmp/turn-$rs.pid" >"$tmp/turn-$rs.log" 2>&1 &
done

make_config "$tmp/m.json" '
c["management"] = {"address": "127.0.0.1", "port": '$mport', "max_clients": 4, "timeout_s": 2}
c["virtual_services"][1]["health_check"] = {"type": "ping", "interval_ms": 500, "timeout_ms": 300, "rise": 1, "fall": 2}'
check "lbd starts with a management server on 127.0.0.1:$mport (2 workers)" \
    "$lab" lbd start --config "$tmp/m.json" --workers 2
check "the start-up log names the management server" \
    grep -q "management server on http://127.0.0.1:$mport/" "$labrun/lb1.log"

# scrape FILE: GET /metrics into FILE (headers in FILE.h); fails unless 200.
scrape() {
    on lb1 curl -s --max-time 5 -D "$1.h" -o "$1" -w '%{http_code}\n' "$murl/metrics" | grep -qx 200
}
metric() { prom value "$1" "$2"; }
# after_cache: the replies of /metrics and /api/stats are shared for 200 ms.
after_cache() { sleep 0.3; }

check "GET /metrics answers 200" scrape "$tmp/m1"
check "... as Prometheus text 0.0.4" grep -qi '^Content-Type: text/plain; version=0.0.4' "$tmp/m1.h"
check "... in the exposition format (HELP, TYPE, families whole, counters _total)" prom parse "$tmp/m1"
check "... with the appliance's name and version" grep -q '^lbd_info{name="lab",version="' "$tmp/m1"
check "... with both workers" bash -c "grep -q '^lbd_worker_rx_packets_total{worker=\"0\"}' '$tmp/m1' && grep -q '^lbd_worker_rx_packets_total{worker=\"1\"}' '$tmp/m1'"
lbctl --json stats >"$tmp/s1.json"
check "every number of 'lbctl stats' is a sample, named as doc/metrics.md says" \
    prom cover "$tmp/s1.json" "$tmp/m1"

wait_metric() { # wait_metric SAMPLE VALUE MILLISECONDS (one scrape at least, however slow)
    local end=$(($(date +%s%N) / 1000000 + $3)) v
    while :; do
        scrape "$tmp/mw" && [[ $(metric "$tmp/mw" "$1") == "$2" ]] && return 0
        (($(date +%s%N) / 1000000 < end)) || break
        sleep 0.2
    done
    echo "$1 is $(metric "$tmp/mw" "$1"), wanted $2"
    return 1
}
check "Stun/rs1 health up as a gauge" \
    wait_metric 'lbd_server_health{service="Stun",server="rs1",state="up"}' 1 5000
check "... and not down" wait_metric 'lbd_server_health{service="Stun",server="rs1",state="down"}' 0 100
check "... its last check ok" \
    wait_metric 'lbd_server_check_result{service="Stun",server="rs1",result="ok"}' 1 100
check "Stun/rs2 online" wait_metric 'lbd_server_state{service="Stun",server="rs2",state="online"}' 1 100

# Traffic moves the counters: pings of a VIP, then STUN through the Layer 4 VIP.
scrape "$tmp/m2"
on c1 ping -c 5 -i 0.2 -W 1 192.168.112.110 >/dev/null
after_cache
scrape "$tmp/m3"
pings_counted() {
    local a b
    a=$(metric "$tmp/m2" lbd_icmp_echo_replies_total) b=$(metric "$tmp/m3" lbd_icmp_echo_replies_total)
    echo "lbd_icmp_echo_replies_total $a -> $b"
    ((b >= a + 5))
}
check "5 pings of VIP 192.168.112.110: lbd_icmp_echo_replies_total up by 5 or more" pings_counted
stun() {
    local o
    o=$(timeout 5 "$lab" exec x1 stun 192.168.112.140 -v 2>&1)
    grep -q "SourceAddress = 192.168.112.5[12]:3478" <<<"$o" || { echo "$o"; return 1; }
}
check "STUN through the Layer 4 VIP 192.168.112.140 is answered" stun
after_cache
scrape "$tmp/m4"
l4_counted() {
    local c p0 p1 s
    c=$(metric "$tmp/m4" 'lbd_service_connections_total{service="Stun"}')
    p0=$(metric "$tmp/m2" 'lbd_service_packets_in_total{service="Stun"}')
    p1=$(metric "$tmp/m4" 'lbd_service_packets_in_total{service="Stun"}')
    s=$(($(metric "$tmp/m4" 'lbd_server_connections_total{service="Stun",server="rs1"}') +
         $(metric "$tmp/m4" 'lbd_server_connections_total{service="Stun",server="rs2"}')))
    echo "connections $c, packets_in $p0 -> $p1, per server $s"
    ((c >= 1 && p1 > p0 && s == c))
}
check "... counted: service connections and packets in, the servers' connections add up" l4_counted
check "... and the worker's Layer 4 counters" bash -c "
    a=\$(grep -h '^lbd_worker_l4_forward_packets_total' '$tmp/m4' | awk '{s += \$2} END {print s}')
    echo \"l4_forward_packets \$a\"; ((a >= 1))"

# The operator's state, as the API changes it.
check "lbctl rs drain Stun rs2" lbctl rs drain Stun rs2
check "Stun/rs2 drain is 1" wait_metric 'lbd_server_state{service="Stun",server="rs2",state="drain"}' 1 2000
check "... online 0" wait_metric 'lbd_server_state{service="Stun",server="rs2",state="online"}' 0 100
check "lbctl rs online Stun rs2" lbctl rs online Stun rs2

# The status page and its JSON.
check "GET / is the status page" bash -c "[[ \$('$lab' exec lb1 curl -s --max-time 5 -o '$tmp/index.html' -D '$tmp/index.h' -w '%{http_code}' $murl/) == 200 ]] && grep -q '<script src=\"/status.js\"' '$tmp/index.html' && grep -qi '^Content-Type: text/html' '$tmp/index.h'"
check "... with no asset from outside the appliance" bash -c "! grep -Eqi '(src|href)=\"(https?:)?//' '$tmp/index.html'"
check "... and a content security policy" grep -qi "^Content-Security-Policy: default-src 'self'" "$tmp/index.h"
check "GET /status.js and /status.css" bash -c "[[ \$('$lab' exec lb1 curl -s --max-time 5 -o /dev/null -w '%{http_code} %{content_type}' $murl/status.js) == '200 text/javascript'* ]] && [[ \$('$lab' exec lb1 curl -s --max-time 5 -o /dev/null -w '%{http_code} %{content_type}' $murl/status.css) == '200 text/css'* ]]"
api_same() {
    on lb1 curl -s --max-time 5 "$murl/api/stats" >"$tmp/api.json" || return 1
    python3 - "$tmp/api.json" "$tmp/s1.json" <<'PY'
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a["ok"] is True, a
ra, rb = a["result"], b["result"]
assert sorted(ra) == sorted(rb), (sorted(ra), sorted(rb))
assert [v["label"] for v in ra["virtual_services"]] == [v["label"] for v in rb["virtual_services"]]
assert sorted(ra["workers"][0]) == sorted(rb["workers"][0])
PY
}
check "GET /api/stats is the API's stats reply" api_same
check "GET /api/status, /api/health, /api/services answer ok" bash -c "
    for p in status health services; do
        '$lab' exec lb1 curl -s --max-time 5 $murl/api/\$p | grep -q '^{\"ok\":true' || { echo \$p; exit 1; }
    done"
one_service() {
    on lb1 curl -s --max-time 5 "$murl/api/stats?vs=Stun" |
        json 'len(r["virtual_services"]) == 1 and r["virtual_services"][0]["label"] == "Stun"'
}
check "GET /api/stats?vs=Stun is that service only" one_service
check "GET /api/stats?vs=Nope is 404 with the API's error" bash -c "[[ \$('$lab' exec lb1 curl -s --max-time 5 -o /dev/null -w '%{http_code}' '$murl/api/stats?vs=Nope') == 404 ]]"
# The last hour per service (a sample at start-up, then one every 10 s), through the
# API and the management server alike.
history_all() {
    lbctl --json history | json '[v["label"] for v in r["services"]] == ["Web", "Stun"] and r["interval_s"] == 10 and r["capacity"] == 360 and all(v["samples"] >= 1 and len(v["active_conns"]) == v["samples"] == len(v["ago_s"]) for v in r["services"])'
}
check "lbctl history: every service, in the config's order, each sampled since start-up" history_all
history_http() {
    on lb1 curl -s --max-time 5 "$murl/api/history" | json '[v["label"] for v in r["services"]] == ["Web", "Stun"] and sorted(r["services"][0]) == sorted(["label", "samples", "ago_s", "active_conns", "conns_per_s", "requests_per_s", "bytes_in_per_s", "bytes_out_per_s"])'
}
check "GET /api/history is the API's history reply" history_http
history_one() {
    on lb1 curl -s --max-time 5 "$murl/api/history?vs=Stun" | json '[v["label"] for v in r["services"]] == ["Stun"]' &&
        [[ $(on lb1 curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$murl/api/history?vs=Nope") == 404 ]]
}
check "GET /api/history?vs=Stun is that service only; ?vs=Nope is 404" history_one
# The STUN transactions above are in the first sample after them: wait for it (at most
# an interval and a bit).
history_moved() {
    local end=$((SECONDS + 13))
    while ((SECONDS < end)); do
        lbctl --json history Stun >"$tmp/hist.json" &&
            json 'any((c or 0) > 0 for c in r["services"][0]["conns_per_s"]) and any((b or 0) > 0 for b in r["services"][0]["bytes_in_per_s"]) and all(q is None for q in r["services"][0]["requests_per_s"])' <"$tmp/hist.json" >/dev/null &&
            return 0
        sleep 1
    done
    cat "$tmp/hist.json"
    return 1
}
check "... Stun's graphs move with its traffic: connections and bytes per second, no requests (Layer 4)" history_moved
check "lbctl history prints a table of the services" bash -c "'$lab' lbctl history | grep -Eq '^Stun +[0-9]+ '"
check "an unknown path is 404" bash -c "[[ \$('$lab' exec lb1 curl -s --max-time 5 -o /dev/null -w '%{http_code}' $murl/nope) == 404 ]]"
check "POST is refused (405): the server is read-only" bash -c "[[ \$('$lab' exec lb1 curl -s --max-time 5 -o /dev/null -w '%{http_code}' -d x $murl/api/stats) == 405 ]]"

# Limits. A request head over 32 KiB is refused; the daemon carries on.
big=$(head -c 40000 /dev/zero | tr '\0' a)
check "a 40 KB request header is refused" bash -c "c=\$('$lab' exec lb1 curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H 'X-Big: $big' $murl/metrics); echo \$c; [[ \$c == 4* || \$c == 000 ]]"
# max_clients (4) idle connections: a fifth client is not served while they are open,
# the control API answers meanwhile, and timeout_s (2 s) closes them.
on lb1 python3 "$top/tests/lab/prom.py" hold 127.0.0.1 $mport 4 6 >"$tmp/hold.log" 2>&1 &
hold=$!
sleep 0.5
check "4 idle connections are held" grep -q "holding 4" "$tmp/hold.log"
check "... a fifth client is not served while they are open" bash -c "! '$lab' exec lb1 curl -s --max-time 1 -o /dev/null $murl/metrics"
check "... the control API answers meanwhile" bash -c "'$lab' lbctl --timeout 1000 status >/dev/null"
check "... and traffic is forwarded" stun
sleep 2.5
check "after timeout_s the idle ones are closed and /metrics answers again" scrape "$tmp/m5"
kill "$hold" 2>/dev/null; wait "$hold" 2>/dev/null

# Changing the management server live is refused; bad configs are refused at start-up.
check "config.apply with another management port needs a restart" bash -c "
    '$lab' lbctl --json config get | python3 -c '
import json, sys
c = json.load(sys.stdin)[\"result\"]; c[\"management\"][\"port\"] = 9101
print(json.dumps({\"cmd\": \"config.apply\", \"config\": c}))' >'$tmp/apply.json'
    '$lab' lbctl raw \"\$(cat '$tmp/apply.json')\" | grep -q 'management: the management server is set up at start-up'"
bad_config() { # bad_config EDIT MESSAGE
    make_config "$tmp/bad.json" "$1"
    local out
    out=$("$LBD_BUILD/control/lbd" -- --config "$tmp/bad.json" --check 2>&1)
    local rc=$?
    echo "exit $rc: $out"
    ((rc == 2)) && grep -qF "$2" <<<"$out"
}
check "a management address on a dataplane port is refused (exit 2, field path)" bad_config \
    'c["management"] = {"address": "192.168.112.5"}' 'management.address: "192.168.112.5" is the self IP of interfaces[0]'
check "a management port out of range is refused" bad_config \
    'c["management"] = {"port": 70000}' 'management.port: 70000 is not a port'
check "an unknown management field is refused" bad_config \
    'c["management"] = {"listen": "127.0.0.1"}' 'management.listen: unknown field'

# Actions: HTTPS with a users file. The API's rs.set behind a login, and nothing else.
"$lab" lbd stop
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=127.0.0.1 -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1
echo "admin:$(openssl passwd -6 s3cret)" >"$tmp/users"
chmod 600 "$tmp/users"
make_config "$tmp/tls.json" '
c["management"] = {"port": '$mport', "tls": {"cert": "'$tmp/cert.pem'", "key": "'$tmp/key.pem'"}, "users_file": "'$tmp/users'"}'
check "lbd starts with an HTTPS management server and a users file" \
    "$lab" lbd start --config "$tmp/tls.json"
surl=https://127.0.0.1:$mport
scode() { on lb1 curl -sk --max-time 5 -o "$tmp/post.out" -D "$tmp/post.h" -w '%{http_code}' "$@"; }
check "GET /metrics over HTTPS" bash -c "[[ \$('$lab' exec lb1 curl -s --cacert '$tmp/cert.pem' --max-time 5 -o /dev/null -w '%{http_code}' $surl/metrics) == 200 ]]"
check "... and not over plain HTTP" bash -c "! '$lab' exec lb1 curl -s --max-time 2 -o /dev/null $murl/metrics"
check "GET /api/actions says actions are on" bash -c "'$lab' exec lb1 curl -sk --max-time 5 $surl/api/actions | grep -q '\"enabled\":true'"
post() { # post EXPECTED-CODE BODY [CURL ARGS...]
    local want=$1 body=$2
    shift 2
    local got
    got=$(scode -X POST -H "Content-Type: ${ct:-application/json}" -d "$body" "$@" "$surl/api/rs")
    echo "got $got: $(cat "$tmp/post.out")"
    [[ $got == "$want" ]]
}
drain='{"vs": "Stun", "rs": "rs2", "state": "drain"}'
check "POST /api/rs without a login: 401 asking for one" post 401 "$drain"
check "... with WWW-Authenticate: Basic" grep -qi '^WWW-Authenticate: Basic realm="lbd management"' "$tmp/post.h"
check "... with a wrong password: 401" post 401 "$drain" -u admin:guess
check "... the refused login is logged" grep -q "login refused for user 'admin'" "$labrun/lb1.log"
check "... rs2 is still online" expect_stat "[s['state'] for v in r['virtual_services'] if v['label'] == 'Stun' for s in v['real_servers'] if s['label'] == 'rs2'] == ['online']"
post_text() { ct=text/plain post "$@"; }
check "... with the login but not JSON: 415" post_text 415 "$drain" -u admin:s3cret
check "... with the login from another site's page: 403" post 403 "$drain" -u admin:s3cret -H 'Origin: https://elsewhere.example'
check "... with a field rs.set does not take here: 400" post 400 '{"vs": "Stun", "rs": "rs2", "label": "x"}' -u admin:s3cret
check "... with a state that does not exist: 400 and the API's message" bash -c "$(declare -f post scode on); lab='$lab' tmp='$tmp' surl='$surl'; post 400 '{\"vs\": \"Stun\", \"rs\": \"rs2\", \"state\": \"sleep\"}' -u admin:s3cret && grep -q 'not one of' '$tmp/post.out'"
check "POST /api/rs drain with the login: done" post 200 "$drain" -u admin:s3cret
check "... rs2 is drained (as lbctl sees it)" expect_stat "[s['state'] for v in r['virtual_services'] if v['label'] == 'Stun' for s in v['real_servers'] if s['label'] == 'rs2'] == ['drain']"
check "... and the action is logged with the user" grep -q 'user admin: .*rs.set.*done' "$labrun/lb1.log"
check "POST /api/rs weight 50 and online" bash -c "$(declare -f post scode on); lab='$lab' tmp='$tmp' surl='$surl'; post 200 '{\"vs\": \"Stun\", \"rs\": \"rs2\", \"weight\": 50, \"state\": \"online\"}' -u admin:s3cret"
check "... rs2 is online with weight 50" expect_stat "[(s['state'], s['weight']) for v in r['virtual_services'] if v['label'] == 'Stun' for s in v['real_servers'] if s['label'] == 'rs2'] == [('online', 50)]"
check "... and /metrics shows it at once" bash -c "'$lab' exec lb1 curl -sk --max-time 5 $surl/metrics | grep -qx 'lbd_server_weight{service=\"Stun\",server=\"rs2\"} 50'"
# A real browser (Debian's headless Chromium, tests/lab/browser.py) on the status page:
# its tables and graphs, and the drain button of Stun/rs1, with the login the page asks
# for; then the API must say drain.
browser() {
    if ! command -v chromium >/dev/null; then
        echo "chromium is missing: tools/setup installs it"
        return 1
    fi
    on lb1 timeout 50 python3 "$top/tests/lab/browser.py" --url "$surl/" --user admin \
        --password s3cret --services Web,Stun --live Stun --drain Stun/rs1 \
        --screenshot "$tmp/page.png"
}
check "headless Chromium opens the status page, its graphs are drawn and refresh, it logs in and drains Stun/rs1 with the page's button" browser
check "... the API shows Stun/rs1 as drain" expect_stat "[s['state'] for v in r['virtual_services'] if v['label'] == 'Stun' for s in v['real_servers'] if s['label'] == 'rs1'] == ['drain']"
check "... and the action is logged with the user" grep -q 'user admin: {"vs":"Stun","rs":"rs1","state":"drain","cmd":"rs.set"}: done' "$labrun/lb1.log"
check "... its screenshot is a PNG" bash -c "head -c 8 '$tmp/page.png' | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'"
"$lab" lbd stop
chmod 644 "$tmp/users"
users_refused() {
    ! "$lab" lbd start --config "$tmp/tls.json" >"$tmp/start.out" 2>&1 || return 1
    grep "users file" "$tmp/start.out"
    grep -q "users file $tmp/users: mode 0644, must be 0600" "$tmp/start.out"
}
check "a users file others may read stops lbd at start-up" users_refused

# An address that cannot be bound stops lbd at start-up, naming it.
on lb1 python3 -c "
import os, socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $mport)); s.listen(1)
open('$tmp/squatter.pid', 'w').write(str(os.getpid()))
time.sleep(30)" 2>/dev/null &
sleep 0.5
refused_start() {
    ! "$lab" lbd start --config "$tmp/m.json" >"$tmp/start.out" 2>&1 || return 1
    grep "management" "$tmp/start.out"
    grep -q "lbd: management: cannot listen on 127.0.0.1:$mport: Address already in use" "$tmp/start.out"
}
check "with 127.0.0.1:$mport taken, lbd exits at start-up naming the address" refused_start
kill "$(cat "$tmp/squatter.pid")" 2>/dev/null
sleep 0.3

# Without a management section there is no server.
check "lbd starts with the stock lab config" "$lab" lbd start --config "$top/config/lab.json"
check "... and listens on no TCP port" bash -c "! '$lab' exec lb1 ss -Hltn | grep -q ."

done_testing
