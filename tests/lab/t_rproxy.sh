#!/usr/bin/env bash
# The guide's reverse-proxy chain with real peers: the external client x1 -> a second
# appliance as the reverse proxy (lb2, a lab copy of config/reverse-proxy.json: one
# interface on the client LAN, 10.200.50.7, its HTTP service ReverseProxyFE-HTTP on
# 10.200.50.160:80 whose one real server is LB1's VIP, reached by its static route to
# 192.168.112.0/24 via LB1) -> LB1's HTTP-mode FePoolWsExt8080 with the MS-WSMAN cookie
# (wlc, as the guide) -> the real servers (tests/lab/http_peer.py on 8080).
#
# lbd keeps one backend connection per client connection, used again for every request
# routed to the same real server: the reverse proxy's real server is always LB1, so
# everything a client connection carries reaches LB1 on one connection. Several users
# (each a cookie jar) merged on few client connections, as a proxy in front of the
# reverse proxy would, thus reach LB1 on few kept-alive connections, and each must stay
# on its own real server by its cookie (routed per request by LB1), the users spread
# over the servers; the cookie moves off a halted server through the chain. Over TLS
# too: the reverse proxy's FeRpSSL terminates the client's TLS and re-encrypts to LB1's
# FePoolWsExt4443 (HTTP mode over TLS with the cookie), one backend handshake per
# client connection.
source "$(dirname "$0")/lib.sh"

"$lab" up --peer >/dev/null || exit 1
peer="python3 $top/tests/lab/http_peer.py"
rpvip=10.200.50.160
lb1vip=192.168.112.112

# One certificate in a password-protected PFX for both appliances' VIPs.
pki=$tmp/pki
lab_pki "$pki" || exit 1

lb1_cfg=$tmp/lb1.json
make_config "$lb1_cfg" '
c["appliance"]["name"] = "lb1"
c["appliance"]["idle_sleep_us"] = 100
c["layer7"] = {"connect_timeout_ms": 1000, "client_timeout_s": 60, "server_timeout_s": 10}
rs = lab_servers(8080)
c["virtual_services"] = [
  {"label": "FePoolWsExt8080", "ip": "192.168.112.112", "ports": [8080], "protocol": "tcp",
   "layer": 7, "mode": "http", "scheduler": "wlc",
   "persistence": {"type": "http_cookie", "cookie": "MS-WSMAN", "max_idle_s": None,
                   "max_life_s": None},
   "health_check": {"type": "none"}, "real_servers": rs},
  {"label": "FePoolWsExt4443", "ip": "192.168.112.112", "ports": [4443], "protocol": "tcp",
   "layer": 7, "mode": "http", "scheduler": "wlc",
   "tls": {"pfx": "'"$pki/vip.pfx"'", "pfx_password_file": "'"$pki/vip.pass"'"},
   "persistence": {"type": "http_cookie", "cookie": "MS-WSMAN", "max_idle_s": None,
                   "max_life_s": None},
   "health_check": {"type": "none"}, "real_servers": rs}]
'
# The reverse proxy: the shipped file, made to fit the lab. Its interface (port 1 of
# the lab's second appliance, on the client LAN) and route stay; the lab has no
# 10.200.50.254 and 10.200.50.253, so no gateway and the route goes via LB1's
# 10.200.50.5. The HTTP service keeps its VIP, mode, scheduler and source address; its
# real server is LB1's FePoolWsExt8080. No health check, so that LB1's connection
# counts are the proxied clients' alone. FeRpSSL keeps its cipher list, takes the lab's
# certificate and re-encrypts to LB1's FePoolWsExt4443. The Director services are left
# out.
rp_cfg=$tmp/rp.json
python3 - "$top/config/reverse-proxy.json" "$rp_cfg" "$lb1vip" "$pki" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["appliance"].update({"idle_sleep_us": 100})
c["interfaces"] = [{"port": 1, "ip": "10.200.50.7/24"}]
c["routing"]["routes"] = [{"prefix": "192.168.112.0/24", "via": "10.200.50.5"}]
c["layer7"] = {"connect_timeout_ms": 1000, "client_timeout_s": 60, "server_timeout_s": 10}
by = {v["label"]: v for v in c["virtual_services"]}
web, tls = by["ReverseProxyFE-HTTP"], by["FeRpSSL"]
web["health_check"] = tls["health_check"] = {"type": "none"}
web["real_servers"] = [{"label": "LB1", "ip": sys.argv[3], "port": 8080, "weight": 100}]
tls["tls"].update({"cert": sys.argv[4] + "/vip.pfx",
                   "pfx_password_file": sys.argv[4] + "/vip.pass"})
tls["real_servers"] = [{"label": "LB1", "ip": sys.argv[3], "port": 4443, "weight": 100,
                        "tls": True}]
c["virtual_services"] = [web, tls]
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY

for rs in rs1 rs2 rs3; do
    mkdir -p "$tmp/www-$rs"
    "$lab" exec $rs $peer server $rs 8080 "$tmp/www-$rs" >"$tmp/http-$rs.log" 2>&1 &
done
users=(u1 u2 u3 u4 u5 u6)
sleep 1

check "LB1 starts with 2 workers and FePoolWsExt8080 (HTTP mode, MS-WSMAN)" \
    "$lab" lbd start --workers 2 --config "$lb1_cfg"
check "the reverse proxy starts as the second appliance (one interface, on the client LAN)" \
    "$lab" lbd start --name lb2 --workers 1 --config "$rp_cfg"

rpctl() { "$lab" lbctl --name lb2 "$@"; }
rpstat() { rpctl --json stats | json "$1"; }
lb1_vs() { stat "[v for v in r['virtual_services'] if v['label'] == 'FePoolWsExt8080'][0]$1"; }
rp_vs() { rpstat "[v for v in r['virtual_services'] if v['label'] == '$1'][0]$2"; }
rp_reused() { rpstat "sum(w['proxy_http_backend_reused'] for w in r['workers'])"; }
signed_on() { cut -d' ' -f1 "$tmp/in-$1"; }     # the server a user signed in on
times() { local i o=""; for ((i = 0; i < $2; i++)); do o+="${o:+ }$1"; done; echo "$o"; }

# Through the chain: a real server answers, LB1's Set-Cookie reaches the client through
# the reverse proxy, and the server sees both appliances' X-Forwarded-For (the client's
# address added by the reverse proxy, the reverse proxy's by LB1).
through_chain() {
    local h hd
    h=$(on x1 curl -s -D - --max-time 5 http://$rpvip/who) || return 1
    hd=$(on x1 curl -s --max-time 5 http://$rpvip/headers)
    echo "$h"; echo "$hd"
    [[ $(tail -1 <<<"$h") == rs[123] ]] &&
        grep -qiE '^Set-Cookie: MS-WSMAN=[0-9a-f]{16}; path=/' <<<"$h" &&
        grep -qi '^Cache-Control: private' <<<"$h" &&
        grep -q '^X-Forwarded-For: 10.200.50.20' <<<"$hd" &&
        grep -q '^X-Forwarded-For: 10.200.50.160' <<<"$hd"
}
check "client -> reverse proxy -> LB1 -> real server; LB1's MS-WSMAN cookie comes back" \
    through_chain

# Six users sign in at once, each on its own keep-alive connection to the reverse proxy
# three requests each, on one backend connection of the
# reverse proxy each (reused twice), LB1 spreading the users over the servers by wlc.
sign_in() {
    local u pids=() r0 c0 servers
    r0=$(rp_reused); c0=$(lb1_vs "['total_conns']")
    for u in "${users[@]}"; do
        rm -f "$tmp/jar-$u"
        on x1 timeout 20 env HTTP_PEER_PAUSE=0.5 $peer keepalive $rpvip 80 3 "$tmp/jar-$u" \
            >"$tmp/in-$u" 2>&1 &
        pids+=($!)
    done
    wait "${pids[@]}"
    servers=""
    for u in "${users[@]}"; do
        echo "$u: $(cat "$tmp/in-$u") (cookie $(cat "$tmp/jar-$u"))"
        [[ $(tr ' ' '\n' <<<"$(cat "$tmp/in-$u")" | grep -c '^rs[123]$') == 3 &&
            $(tr ' ' '\n' <<<"$(cat "$tmp/in-$u")" | sort -u | wc -l) == 1 ]] || return 1
        grep -q '^MS-WSMAN=' "$tmp/jar-$u" || return 1
        servers+="$(signed_on $u) "
    done
    echo "reverse proxy reused its backend connection $(($(rp_reused) - r0)) times," \
        "LB1 accepted $(($(lb1_vs "['total_conns']") - c0)) connections"
    [[ $(tr ' ' '\n' <<<"$servers" | sort -u | grep -c .) -ge 2 ]] &&
        (($(rp_reused) - r0 == 12 && $(lb1_vs "['total_conns']") - c0 == 6))
}
check "six users sign in on their own connections: each on one server, the users spread" \
    sign_in

# The same six users merged on two client connections (three users each, interleaved,
# five rounds: 30 requests): the reverse proxy carries each connection's requests to
# LB1 on one kept-alive connection, so LB1 accepts two connections for 30 requests
# and routes each request by its cookie: every user stays on the server it signed in
# on, with no new cookie.
merged() {
    local r0 c0 q0 a b u line ok=0
    r0=$(rp_reused); c0=$(lb1_vs "['total_conns']"); q0=$(lb1_vs "['http']['requests']")
    on x1 timeout 30 $peer users $rpvip 80 5 "$tmp/jar-u1" "$tmp/jar-u2" "$tmp/jar-u3" \
        >"$tmp/m-a" 2>&1 &
    a=$!
    on x1 timeout 30 $peer users $rpvip 80 5 "$tmp/jar-u4" "$tmp/jar-u5" "$tmp/jar-u6" \
        >"$tmp/m-b" 2>&1 &
    b=$!
    wait $a $b
    cat "$tmp/m-a" "$tmp/m-b"
    for u in "${users[@]}"; do
        line=$(grep -h "^jar-$u " "$tmp/m-a" "$tmp/m-b" | cut -d' ' -f2-)
        [[ $line == "$(times "$(signed_on $u)" 5)" ]] && ok=$((ok + 1))
    done
    echo "$ok of 6 users stayed on their servers; reverse proxy reused its backend" \
        "connection $(($(rp_reused) - r0)) times; LB1 accepted $(($(lb1_vs "['total_conns']") - c0))" \
        "connections for $(($(lb1_vs "['http']['requests']") - q0)) requests"
    ((ok == 6 && $(rp_reused) - r0 == 28 && $(lb1_vs "['total_conns']") - c0 == 2 &&
        $(lb1_vs "['http']['requests']") - q0 == 30))
}
check "six users over two kept-alive connections to LB1 (30 requests): each on its own server" \
    merged

# Halting one user's server on LB1: on the merged connection its next request goes to
# another server with a new cookie, which reaches the client through the reverse proxy
# and holds from then on; the other users are not moved.
halted_moves() {
    local was u line now others_ok=1 rest
    was=$(signed_on u1)
    lbctl rs halt FePoolWsExt8080 "$was" >/dev/null || return 1
    sleep 1
    on x1 timeout 30 $peer users $rpvip 80 3 "$tmp/jar-u1" "$tmp/jar-u2" "$tmp/jar-u3" \
        "$tmp/jar-u4" >"$tmp/h" 2>&1
    lbctl rs online FePoolWsExt8080 "$was" >/dev/null
    cat "$tmp/h"
    line=$(grep '^jar-u1 ' "$tmp/h" | cut -d' ' -f2-)
    read -r now rest <<<"$line"
    echo "u1 was on $was, now: $line"
    [[ $now == rs[123]+ && ${now%+} != "$was" && $rest == "${now%+} ${now%+}" ]] || return 1
    for u in u2 u3 u4; do
        [[ $(signed_on $u) == "$was" ]] && continue
        line=$(grep "^jar-$u " "$tmp/h" | cut -d' ' -f2-)
        [[ $line == "$(times "$(signed_on $u)" 3)" ]] || others_ok=0
    done
    ((others_ok))
}
check "a halted server: the user's cookie moves to another server through the chain" \
    halted_moves

# Over TLS: three users sign in at once on their own TLS connections to FeRpSSL, then
# come back on new ones; each stays on one server by the cookie LB1 reads from the
# re-encrypted requests. Every client connection costs the reverse proxy one backend
# handshake to LB1, used for all of its requests.
lb1_tls() { stat "[v for v in r['virtual_services'] if v['label'] == 'FePoolWsExt4443'][0]$1"; }
over_tls() {
    local u pids=() b0 h0 q0 b h q again ok=0
    b0=$(rp_vs FeRpSSL "['tls']['backend_handshakes']"); h0=$(lb1_tls "['tls']['handshakes']")
    q0=$(lb1_tls "['http']['requests']")
    for u in t1 t2 t3; do
        rm -f "$tmp/jar-$u"
        on x1 timeout 20 env HTTP_PEER_TLS=1 HTTP_PEER_PAUSE=0.5 $peer keepalive $rpvip 443 3 \
            "$tmp/jar-$u" >"$tmp/in-$u" 2>&1 &
        pids+=($!)
    done
    wait "${pids[@]}"
    for u in t1 t2 t3; do
        again=$(on x1 timeout 20 env HTTP_PEER_TLS=1 $peer keepalive $rpvip 443 2 "$tmp/jar-$u")
        echo "$u: $(cat "$tmp/in-$u") | $again (cookie $(cat "$tmp/jar-$u"))"
        [[ $(tr ' ' '\n' <<<"$(cat "$tmp/in-$u") $again" | grep -c '^rs[123]$') == 5 &&
            $(tr ' ' '\n' <<<"$(cat "$tmp/in-$u") $again" | sort -u | wc -l) == 1 ]] && ok=$((ok + 1))
    done
    b=$(($(rp_vs FeRpSSL "['tls']['backend_handshakes']") - b0))
    h=$(($(lb1_tls "['tls']['handshakes']") - h0)); q=$(($(lb1_tls "['http']['requests']") - q0))
    echo "$ok of 3 users on one server; reverse proxy: $b backend handshakes;" \
        "LB1: $h handshakes, $q requests"
    ((ok == 3 && b == 6 && h == 6 && q == 15))
}
check "over TLS: FeRpSSL re-encrypts to LB1's FePoolWsExt4443, each user kept on its server" \
    over_tls

counted() {
    lbctl stats | grep -A3 '^FePoolWsExt8080'
    rpctl stats | grep -A3 '^ReverseProxyFE-HTTP'
    [[ $(lb1_vs "['http']['cookie_hits'] >= 40") == True &&
        $(lb1_vs "['http']['cookie_replaced'] >= 1") == True &&
        $(lb1_vs "['http']['responses_5xx'] == 0") == True &&
        $(rp_vs ReverseProxyFE-HTTP "['http']['requests'] >= 60") == True &&
        $(rp_vs ReverseProxyFE-HTTP "['http']['cookie_inserted'] == 0") == True &&
        $(rp_vs FeRpSSL "['http']['cookie_inserted'] == 0") == True &&
        $(rp_vs FeRpSSL "['tls']['backend_failed'] == 0") == True ]]
}
check "cookie hits and the replacement counted on LB1, no 5xx; the reverse proxy set no cookie, no backend handshake failed" \
    counted

sessions_back() {
    sleep 2
    stat "[(w['proxy_sessions'], w['tls_streams_active']) for w in r['workers']]"
    rpstat "[(w['proxy_sessions'], w['tls_streams_active']) for w in r['workers']]"
    expect_stat "sum(w['proxy_sessions'] + w['tls_streams_active'] for w in r['workers']) == 0" &&
        [[ $(rpstat "sum(w['proxy_sessions'] + w['tls_streams_active'] for w in r['workers']) == 0") == True ]]
}
check "every session and TLS stream ends on both appliances once the clients are gone" \
    sessions_back

check "the reverse proxy stops cleanly" "$lab" lbd stop --name lb2
check "LB1 stops cleanly" "$lab" lbd stop
done_testing
