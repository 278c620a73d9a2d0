#!/usr/bin/env bash
# Layer 7 HTTP mode with real peers, two workers: a Python HTTP/1.1 server on three real
# servers (tests/lab/http_peer.py), curl and raw clients. Keep-alive with several
# requests on one connection, pipelining answered in order, the MS-WSMAN cookie (insert,
# indirect, nocache) keeping several clients each on its own server and moving off a
# halted one, X-Forwarded-For, a chunked upload with Expect: 100-continue, a 100 MB
# download checked by SHA-256, HEAD and 204, an upgrade to a tunnel, and lbd's own
# answers provoked for real: 400 (smuggling shapes), 431, 503 (no server; connect
# failures after retries), 502 (garbage; close before the status line), 504, 408.
source "$(dirname "$0")/lib.sh"

"$lab" up >/dev/null || exit 1
peer="python3 $top/tests/lab/http_peer.py"
vip=192.168.112.112

cfg=$tmp/http.json
make_config "$cfg" '
c["appliance"]["idle_sleep_us"] = 100
c["layer7"] = {"connect_timeout_ms": 1000, "client_timeout_s": 60, "server_timeout_s": 3}
rs = lab_servers(8080)
c["virtual_services"] = [
  {"label": "FePoolWsExt8080", "ip": "192.168.112.112", "ports": [8080], "protocol": "tcp",
   "layer": 7, "mode": "http", "scheduler": "wlc",
   "persistence": {"type": "http_cookie", "cookie": "MS-WSMAN", "max_idle_s": None,
                   "max_life_s": None},
   "health_check": {"type": "none"}, "max_header_bytes": 4096,
   "http_request_timeout_ms": 3000, "real_servers": rs},
  {"label": "Rp", "ip": "192.168.112.113", "ports": [80], "protocol": "tcp", "layer": 7,
   "mode": "http", "scheduler": "wlc", "health_check": {"type": "none"}, "real_servers": rs},
  {"label": "Dead", "ip": "192.168.112.114", "ports": [80], "protocol": "tcp", "layer": 7,
   "mode": "http", "scheduler": "wrr", "health_check": {"type": "none"},
   "real_servers": [{"label": "rs3", "ip": "192.168.112.57", "port": 81, "weight": 300},
                    {"label": "rs1", "ip": "192.168.112.51", "port": 82, "weight": 100}]},
  {"label": "Empty", "ip": "192.168.112.115", "ports": [80], "protocol": "tcp", "layer": 7,
   "mode": "http", "health_check": {"type": "none"},
   "real_servers": [{"label": "rs1", "ip": "192.168.112.51", "port": 8080, "state": "halt"}]},
  {"label": "Timed", "ip": "192.168.112.116", "ports": [80], "protocol": "tcp", "layer": 7,
   "mode": "http", "health_check": {"type": "none"}, "x_forwarded_for": False,
   "persistence": {"type": "http_cookie", "cookie": "MS-WSMAN", "max_idle_s": 600,
                   "max_life_s": 86400}, "real_servers": rs}]
'

head -c 100000000 /dev/urandom >"$tmp/big"
big_sha=$(sha256sum "$tmp/big" | cut -d' ' -f1)
head -c 10000000 /dev/urandom >"$tmp/up"
up_sha=$(sha256sum "$tmp/up" | cut -d' ' -f1)
for rs in rs1 rs2 rs3; do
    mkdir -p "$tmp/www-$rs" && ln "$tmp/big" "$tmp/www-$rs/big"
    "$lab" exec $rs $peer server $rs 8080 "$tmp/www-$rs" >"$tmp/http-$rs.log" 2>&1 &
done
on rs3 nft add table inet ht
on rs3 nft add chain inet ht in '{ type filter hook input priority 0; }'
on rs3 nft add rule inet ht in tcp dport 81 drop
for i in 21 22 23 24; do on c1 ip addr add 192.168.112.$i/24 dev eth0; done
sleep 1

check "lbd starts with 2 workers and the HTTP-mode config" \
    "$lab" lbd start --workers 2 --config "$cfg"

url=http://$vip:8080
# The first answer sets MS-WSMAN to an opaque id (no address in it), session cookie,
# path /, with Cache-Control: private.
first_answer_sets_cookie() {
    local h
    h=$(on c1 curl -s -D - -o /dev/null --max-time 5 "$url/who") || return 1
    echo "$h"
    grep -qiE '^Set-Cookie: MS-WSMAN=[0-9a-f]{16}; path=/'$'\r''?$' <<<"$h" &&
        grep -qi '^Cache-Control: private' <<<"$h" && ! grep -qi 'Set-Cookie:.*192\.168' <<<"$h"
}
check "the first response sets MS-WSMAN (opaque, session) with Cache-Control: private" \
    first_answer_sets_cookie

# max_idle_s / max_life_s: the value carries its times and a tag; honoured as it is,
# replaced when tampered with. x_forwarded_for off on that service.
timed_cookie() {
    local h c who again forged
    h=$(on c1 curl -s -D - --max-time 5 http://192.168.112.116/who)
    c=$(grep -io 'MS-WSMAN=[^;]*' <<<"$h")
    who=$(tail -1 <<<"$h")
    echo "$h"
    [[ $c =~ ^MS-WSMAN=[0-9a-f]{16}\.[0-9a-f]{8}\.[0-9a-f]{8}\.[0-9a-f]{8}$ ]] || return 1
    again=$(on c1 curl -s -D - --max-time 5 -H "Cookie: $c" http://192.168.112.116/who)
    echo "again: $again"
    [[ $(tail -1 <<<"$again") == "$who" ]] && ! grep -qi '^Set-Cookie' <<<"$again" || return 1
    forged=$(on c1 curl -s -D - --max-time 5 -H "Cookie: ${c%?}$([[ ${c: -1} == 0 ]] && echo 1 || echo 0)" \
        http://192.168.112.116/who)
    echo "forged: $forged"
    grep -qi '^Set-Cookie: MS-WSMAN=' <<<"$forged" &&
        ! on c1 curl -s --max-time 5 http://192.168.112.116/headers | grep -qi '^X-Forwarded-For'
}
check "a cookie with max_idle_s/max_life_s carries authenticated times; forged ones replaced" \
    timed_cookie

# curl: five requests on one connection.
keepalive_curl() {
    local out
    out=$(on c1 curl -s --max-time 10 -w 'connects=%{num_connects}\n' "$url/who" "$url/who" \
        "$url/who" "$url/who" "$url/who") || return 1
    echo "$out"
    [[ $(grep -c '^rs' <<<"$out") == 5 &&
        $(grep -o 'connects=[0-9]*' <<<"$out" | awk -F= '{s += $2} END {print s}') == 1 ]]
}
check "keep-alive: five requests on one client connection" keepalive_curl

pipelined() {
    local out
    out=$(on c1 timeout 10 $peer pipeline $vip 8080 6) || return 1
    echo "$out"
    [[ $(grep -c '^200 rs' <<<"$out") == 6 ]]
}
check "six pipelined requests answered in order" pipelined

# Four clients at once, each with its own keep-alive connection and cookie jar: each
# stays on one server, the servers are shared; later connections with the same
# cookies go back to the same servers.
clients_by_cookie() {
    local i pids=() first second ok=0
    for i in 21 22 23 24; do
        rm -f "$tmp/jar-$i"
        on c1 timeout 20 env HTTP_PEER_PAUSE=0.5 $peer keepalive $vip 8080 4 "$tmp/jar-$i" \
            >"$tmp/ka-$i" 2>&1 &
        pids+=($!)
    done
    wait "${pids[@]}"
    for i in 21 22 23 24; do
        first=$(cat "$tmp/ka-$i")
        second=$(on c1 timeout 10 $peer keepalive $vip 8080 3 "$tmp/jar-$i")
        echo "client $i: $first | $second (cookie $(cat "$tmp/jar-$i"))"
        [[ $(tr ' ' '\n' <<<"$first $second" | sort -u | wc -l) == 1 ]] && ok=$((ok + 1))
    done
    ((ok == 4)) && [[ $(cat "$tmp"/ka-2? | tr ' ' '\n' | sort -u | wc -l) -ge 2 ]]
}
check "several clients, each kept on its own server by the cookie, servers shared" \
    clients_by_cookie

# X-Forwarded-For; our cookie is taken out of the request, the others pass.
xff_and_cookie_removed() {
    local out
    out=$(on c1 curl -s --max-time 5 -H "Cookie: a=1; $(cat "$tmp/jar-21"); b=2" "$url/headers")
    echo "$out"
    grep -q '^X-Forwarded-For: 192.168.112.20' <<<"$out" &&
        grep -q '^Cookie: a=1; b=2' <<<"$out" && ! grep -q MS-WSMAN <<<"$out"
}
check "X-Forwarded-For added, MS-WSMAN taken out of the request, other cookies kept" \
    xff_and_cookie_removed

# Halting the cookie's server: the next request goes elsewhere and gets a new cookie.
cookie_moves_off_halted() {
    local was now h
    was=$(on c1 timeout 10 $peer keepalive $vip 8080 1 "$tmp/jar-22")
    lbctl rs halt FePoolWsExt8080 "$was" >/dev/null || return 1
    sleep 1
    h=$(on c1 curl -s -D - --max-time 5 -H "Cookie: $(cat "$tmp/jar-22")" "$url/who")
    now=$(tail -1 <<<"$h")
    lbctl rs online FePoolWsExt8080 "$was" >/dev/null
    echo "was $was, now: $h"
    [[ -n $now && $now != "$was" ]] && grep -qi '^Set-Cookie: MS-WSMAN=' <<<"$h"
}
check "a cookie for a halted server is replaced, the request served elsewhere" \
    cookie_moves_off_halted

chunked_upload() {
    local out
    out=$(on c1 curl -s --max-time 60 -H 'Transfer-Encoding: chunked' -H 'Expect: 100-continue' \
        --data-binary @"$tmp/up" "$url/upload")
    echo "$out, want $up_sha"
    [[ $out == *" 10000000 $up_sha" ]]
}
check "chunked upload (10 MB, Expect: 100-continue) arrives whole" chunked_upload

download() {
    local got
    got=$(on c1 sh -c "curl -s --max-time 120 http://192.168.112.113/big | sha256sum" | cut -d' ' -f1)
    echo "got $got, want $big_sha"
    [[ $got == "$big_sha" ]]
}
check "100 MB download through HTTP mode, SHA-256 intact" download

head_and_204() {
    local a b
    a=$(on c1 curl -s -I --max-time 5 "$url/big" "$url/nocontent" -w '%{http_code}\n')
    echo "$a"
    [[ $(grep -c '^HTTP/1.1 200' <<<"$a") == 1 && $(grep -c '^HTTP/1.1 204' <<<"$a") == 1 ]] &&
        grep -q 'Content-Length: 100000000' <<<"$a"
}
check "HEAD and 204 on one connection: no body expected, none waited for" head_and_204

upgrade_tunnel() {
    local out
    out=$(on c1 timeout 10 $peer upgrade $vip 8080)
    echo "$out"
    [[ $(head -1 <<<"$out") == "HTTP/1.1 101"* && $(tail -1 <<<"$out") == "ping through the tunnel" ]]
}
check "Connection: Upgrade (101) switches to a tunnel" upgrade_tunnel

# Smuggling shapes and malformed requests: 400 and close.
bad_requests() {
    local n=0 f
    printf 'POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' >"$tmp/b1"
    printf 'POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde' >"$tmp/b2"
    printf 'GET /who HTTP/1.1\r\nHost: a\r\nX-Fold: a\r\n b\r\n\r\n' >"$tmp/b3"
    printf 'GET /who HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n' >"$tmp/b4"
    printf 'GET /who HTTP/1.1\r\nHost : a\r\n\r\n' >"$tmp/b5"
    printf 'GET /who HTTP/1.1\nHost: a\n\n' >"$tmp/b6"
    printf 'POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n' >"$tmp/b7"
    printf 'GET /who HTTP/1.1\r\n\r\n' >"$tmp/b8"
    for f in b1 b2 b3 b4 b5 b6 b7 b8; do
        out=$(on c1 timeout 10 $peer raw $vip 8080 "$tmp/$f" 2>&1)
        echo "$f: $out"
        [[ $out == "HTTP/1.1 400"* ]] && n=$((n + 1))
    done
    ((n == 8))
}
check "malformed and smuggling-shaped requests get 400" bad_requests

too_large() {
    local c
    c=$(on c1 curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "X-Big: $(head -c 5000 /dev/zero | tr '\0' a)" "$url/who")
    echo "got $c"
    [[ $c == 431 ]]
}
check "a header block over max_header_bytes gets 431" too_large

code() { on c1 curl -s -o /dev/null -w '%{http_code}' --max-time "${2:-10}" "$1"; }
no_server() { local c; c=$(code http://192.168.112.115/who); echo "got $c"; [[ $c == 503 ]]; }
check "no usable server: 503" no_server
connect_fails() {
    local c t0=$SECONDS
    c=$(code http://192.168.112.114/who)
    echo "got $c after $((SECONDS - t0)) s"
    [[ $c == 503 ]] && expect_stat "sum(w['proxy_connect_timeouts'] + w['proxy_connect_refused'] for w in r['workers']) >= 2"
}
check "connect failures (timeout, refused) on every try: 503" connect_fails
bad_gateway() {
    local a b
    a=$(code "$url/garbage"); b=$(code "$url/close")
    echo "garbage $a, close $b"
    [[ $a == 502 && $b == 502 ]]
}
check "garbage or a close before the status line: 502" bad_gateway
gateway_timeout() {
    local c t0=$SECONDS
    c=$(code "$url/slow" 20)
    echo "got $c after $((SECONDS - t0)) s"
    [[ $c == 504 ]]
}
check "server timeout (layer7.server_timeout_s) before the response: 504" gateway_timeout
trickle() {
    local out
    out=$(on c1 timeout 20 $peer trickle $vip 8080 10)
    echo "$out"
    [[ $out == "HTTP/1.1 408"* ]]
}
check "a request header trickling past http_request_timeout_ms: 408" trickle

counted() {
    lbctl stats | grep -A3 '^FePoolWsExt8080'
    expect_stat "[v['http'] for v in r['virtual_services'] if v['label'] == 'FePoolWsExt8080'][0]['err_400'] >= 8" &&
    expect_stat "all([v['http'] for v in r['virtual_services'] if v['label'] == 'FePoolWsExt8080'][0][k] >= 1 for k in ('responses_1xx', 'err_408', 'err_431', 'err_502', 'err_504', 'cookie_inserted', 'cookie_hits', 'cookie_replaced', 'upgrades', 'responses_2xx', 'responses_4xx', 'responses_5xx'))" &&
    expect_stat "sum(s['http']['requests'] for v in r['virtual_services'] if v['label'] == 'FePoolWsExt8080' for s in v['real_servers']) >= 20" &&
    expect_stat "[v['http'] for v in r['virtual_services'] if v['label'] == 'Empty'][0]['err_503'] >= 1"
}
check "requests, responses by class and errors counted per service and real server" counted

sessions_back() {
    sleep 3
    stat "[w['proxy_sessions'] for w in r['workers']]"
    expect_stat "sum(w['proxy_sessions'] for w in r['workers']) == 0"
}
check "every session ends once the clients are gone" sessions_back

"$lab" lbd stop
done_testing
