#!/usr/bin/env bash
# Layer 7 HTTP mode over TLS with real peers, two workers: TLS terminated on the VIP
# (a password-protected PFX, as t_tls.sh makes it), each request parsed and routed on
# its own. FePoolWsExt4443: the MS-WSMAN cookie, real servers in clear
# (tests/lab/http_peer.py on 8080): several requests on one keep-alive connection,
# pipelining, the cookie keeping two clients each on its server and honoured on new
# connections, X-Forwarded-For, a 20 MB download checked by SHA-256, a chunked upload
# and a chunked response (SHA-256 both ways), a 400 answered over TLS, an upgrade to a
# tunnel, and lbd's own 502 (garbage, a close before the status line) and 504 (the
# server's timeout) provoked for real. FeRpSSL (the reverse proxy): re-encrypted to a
# TLS real server on 4443 whose certificate is verified (the same peer with HTTPS),
# keep-alive both sides, and a 502 from garbage inside the re-encrypted connection.
source "$(dirname "$0")/lib.sh"

"$lab" up >/dev/null || exit 1
peer="python3 $top/tests/lab/http_peer.py"
vip=192.168.112.112
rp=192.168.112.113
pki=$tmp/pki
# The VIP's certificate in a password-protected PFX; a private CA signing the TLS real
# server's certificate (fe1.lab).
lab_pki "$pki" || exit 1

cfg=$tmp/https.json
make_config "$cfg" "
c['appliance']['idle_sleep_us'] = 100
c['layer7'] = {'connect_timeout_ms': 1000, 'client_timeout_s': 60, 'server_timeout_s': 4}
tls = {'pfx': '$pki/vip.pfx', 'pfx_password_file': '$pki/vip.pass'}
rs = [{'label': n, 'ip': ip, 'port': 8080, 'weight': 100}
      for n, ip in (('rs1', '192.168.112.51'), ('rs2', '192.168.112.52'), ('rs3', '192.168.112.57'))]
c['virtual_services'] = [
  {'label': 'FePoolWsExt4443', 'ip': '$vip', 'ports': [4443], 'protocol': 'tcp',
   'layer': 7, 'mode': 'http', 'scheduler': 'wlc', 'tls': tls,
   'persistence': {'type': 'http_cookie', 'cookie': 'MS-WSMAN', 'max_idle_s': None,
                   'max_life_s': None},
   'health_check': {'type': 'none'}, 'real_servers': rs},
  {'label': 'FeRpSSL', 'ip': '$rp', 'ports': [443], 'protocol': 'tcp', 'layer': 7,
   'mode': 'http', 'health_check': {'type': 'none'}, 'tls': tls,
   'real_servers': [{'label': 'rs1', 'ip': '192.168.112.51', 'port': 4443,
                     'tls': {'verify': True, 'ca': '$pki/ca.pem', 'sni': 'fe1.lab'}}]}]
"

head -c 20000000 /dev/urandom >"$tmp/big"
big_sha=$(sha256sum "$tmp/big" | cut -d' ' -f1)
head -c 10000000 /dev/urandom >"$tmp/up"
up_sha=$(sha256sum "$tmp/up" | cut -d' ' -f1)
for rs in rs1 rs2 rs3; do
    mkdir -p "$tmp/www-$rs" && ln "$tmp/big" "$tmp/www-$rs/big"
    "$lab" exec $rs $peer server $rs 8080 "$tmp/www-$rs" >"$tmp/http-$rs.log" 2>&1 &
done
"$lab" exec rs1 $peer server rs1-tls 4443 "$tmp/www-rs1" "$pki/fe1.pem" "$pki/fe1.key" \
    >"$tmp/https-rs1.log" 2>&1 &
for i in 21 22; do on c1 ip addr add 192.168.112.$i/24 dev eth0; done
sleep 1

check "lbd starts with 2 workers and HTTP-mode services with tls" \
    "$lab" lbd start --workers 2 --config "$cfg"

url=https://$vip:4443
kcurl() { on c1 curl -sk --max-time 10 "$@"; }

first_answer_sets_cookie() {
    local h
    h=$(kcurl -D - -o /dev/null "$url/who") || return 1
    echo "$h"
    grep -qiE '^Set-Cookie: MS-WSMAN=[0-9a-f]{16}; path=/'$'\r''?$' <<<"$h" &&
        grep -qi '^Cache-Control: private' <<<"$h"
}
check "over TLS the first response sets MS-WSMAN with Cache-Control: private" \
    first_answer_sets_cookie

keepalive_curl() {
    local out
    out=$(kcurl -w 'connects=%{num_connects}\n' "$url/who" "$url/who" "$url/who" \
        "$url/who" "$url/who") || return 1
    echo "$out"
    [[ $(grep -c '^rs' <<<"$out") == 5 &&
        $(grep -o 'connects=[0-9]*' <<<"$out" | awk -F= '{s += $2} END {print s}') == 1 ]]
}
check "keep-alive over TLS: five requests on one client connection" keepalive_curl

pipelined() {
    local out
    out=$(on c1 timeout 10 env HTTP_PEER_TLS=1 $peer pipeline $vip 4443 6) || return 1
    echo "$out"
    [[ $(grep -c '^200 rs' <<<"$out") == 6 ]]
}
check "six pipelined requests over TLS answered in order" pipelined

# Two clients (two source addresses), each with its own cookie jar: each stays on the
# server its cookie names over new TLS connections; one client with the other's cookie
# goes to the other's server.
cookie_two_clients() {
    local i first second w ok=0
    for i in 21 22; do
        rm -f "$tmp/jar-$i"
        kcurl --interface 192.168.112.$i -c "$tmp/jar-$i" "$url/who" >"$tmp/who-$i" || return 1
    done
    for i in 21 22; do
        first=$(cat "$tmp/who-$i")
        second=$(for n in 1 2 3; do kcurl --interface 192.168.112.$i -b "$tmp/jar-$i" "$url/who"; done)
        echo "client $i: $first | $(echo $second)"
        [[ $(printf '%s\n%s\n' "$first" "$second" | sort -u | wc -l) == 1 ]] && ok=$((ok + 1))
    done
    w=$(kcurl --interface 192.168.112.22 -b "$tmp/jar-21" "$url/who")
    echo "client 22 with client 21's cookie: $w"
    ((ok == 2)) && [[ $w == "$(cat "$tmp/who-21")" ]]
}
check "the cookie keeps two clients each on its server, across TLS connections" \
    cookie_two_clients

xff_and_cookie_removed() {
    local out
    out=$(kcurl --interface 192.168.112.21 -b "$tmp/jar-21" -H "Cookie: a=1" "$url/headers")
    echo "$out"
    grep -qi '^X-Forwarded-For: 192.168.112.21' <<<"$out" && ! grep -qi 'MS-WSMAN' <<<"$out"
}
check "X-Forwarded-For added and MS-WSMAN taken out of a decrypted request" \
    xff_and_cookie_removed

download() {
    local got t0=$(date +%s)
    got=$(on c1 sh -c "curl -sk --max-time 120 $url/big | sha256sum" | cut -d' ' -f1)
    echo "want $big_sha, got $got, $(($(date +%s) - t0)) s"
    [[ $got == "$big_sha" ]]
}
check "20 MB download through HTTP mode over TLS, SHA-256 intact" download

# Chunked both ways through termination: a 10 MB chunked upload (with Expect:
# 100-continue) reaches the server whole; the server's 20 MB chunked response (chunks
# of 1 byte to 64 KiB) reaches the client still chunked and whole.
chunked_upload() {
    local out
    out=$(on c1 curl -sk --max-time 60 -H 'Transfer-Encoding: chunked' \
        -H 'Expect: 100-continue' --data-binary @"$tmp/up" "$url/upload")
    echo "$out, want $up_sha"
    [[ $out == rs[123]" 10000000 $up_sha" ]]
}
check "chunked upload over TLS (10 MB, Expect: 100-continue) arrives whole" chunked_upload

chunked_response() {
    local got
    on c1 curl -sk --raw --max-time 120 -D "$tmp/ch.h" -o "$tmp/ch.raw" "$url/chunked" || return 1
    # The chunked framing as it came, decoded here: every chunk whole, the last one 0.
    got=$(python3 -c '
import hashlib, sys
d, h, o, n = open(sys.argv[1], "rb").read(), hashlib.sha256(), 0, 0
while True:
    e = d.index(b"\r\n", o)
    size = int(d[o:e], 16)
    o = e + 2
    if size == 0:
        break
    h.update(d[o:o + size])
    n += 1
    assert d[o + size:o + size + 2] == b"\r\n"
    o += size + 2
assert d[o:] == b"\r\n"
print(n, h.hexdigest())' "$tmp/ch.raw") || return 1
    cat "$tmp/ch.h"
    echo "chunks and SHA-256: $got, want $big_sha"
    grep -qi '^Transfer-Encoding: chunked' "$tmp/ch.h" && [[ $got == *" $big_sha" ]] && ((${got%% *} > 100))
}
check "chunked response over TLS (20 MB, chunks of 1 byte to 64 KiB), SHA-256 intact" \
    chunked_response

code() { on c1 curl -sk -o /dev/null -w '%{http_code}' --max-time "${2:-10}" "$1"; }
bad_gateway() {
    local a b
    a=$(code "$url/garbage"); b=$(code "$url/close")
    echo "garbage $a, close $b"
    [[ $a == 502 && $b == 502 ]]
}
check "over TLS, garbage or a close before the status line: 502" bad_gateway
gateway_timeout() {
    local c t0=$SECONDS
    c=$(code "$url/slow" 20)
    echo "got $c after $((SECONDS - t0)) s"
    [[ $c == 504 ]] && ((SECONDS - t0 >= 3))
}
check "over TLS, the server's timeout (layer7.server_timeout_s) before the response: 504" \
    gateway_timeout

bad_request() {
    local st
    printf 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' \
        >"$tmp/smuggle"
    st=$(on c1 timeout 10 env HTTP_PEER_TLS=1 $peer raw $vip 4443 "$tmp/smuggle")
    echo "$st"
    [[ $st == "HTTP/1.1 400 Bad Request" ]]
}
check "a smuggling-shaped request over TLS gets lbd's 400" bad_request

upgrade_tunnel() {
    local out
    out=$(on c1 timeout 10 env HTTP_PEER_TLS=1 $peer upgrade $vip 4443)
    echo "$out"
    [[ $(head -1 <<<"$out") == "HTTP/1.1 101"* && $(tail -1 <<<"$out") == "ping through the tunnel" ]]
}
check "Connection: Upgrade (101) over TLS switches to a tunnel through the stream" upgrade_tunnel

reencrypt() {
    local out
    out=$(kcurl -w 'connects=%{num_connects}\n' "https://$rp/who" "https://$rp/who" \
        "https://$rp/who") || return 1
    echo "$out"; tail -3 "$tmp/https-rs1.log"
    [[ $(grep -c '^rs1-tls$' <<<"$out") == 3 ]] && grep -q "^$rp .*GET /who" "$tmp/https-rs1.log"
}
check "FeRpSSL: re-encrypted to a verified TLS real server, three requests on one connection" \
    reencrypt

reencrypt_download() {
    local got
    got=$(on c1 sh -c "curl -sk --max-time 120 https://$rp/big | sha256sum" | cut -d' ' -f1)
    echo "want $big_sha, got $got"
    [[ $got == "$big_sha" ]]
}
check "20 MB through termination and re-encryption, SHA-256 intact" reencrypt_download

reencrypt_garbage() {
    local c
    c=$(code "https://$rp/garbage")
    echo "got $c"
    [[ $c == 502 ]]
}
check "FeRpSSL: garbage from the TLS real server before the status line: 502" reencrypt_garbage

vs_stat() { stat "[v for v in r['virtual_services'] if v['label'] == '$1'][0]$2"; }
counted() {
    echo "FePoolWsExt4443 tls $(vs_stat FePoolWsExt4443 "['tls']")"
    echo "FePoolWsExt4443 http $(vs_stat FePoolWsExt4443 "['http']")"
    echo "FeRpSSL tls $(vs_stat FeRpSSL "['tls']")"
    stat "r['drops']"
    [[ $(vs_stat FePoolWsExt4443 "['tls']['handshakes'] >= 10") == True &&
        $(vs_stat FePoolWsExt4443 "['http']['requests'] >= 20") == True &&
        $(vs_stat FePoolWsExt4443 "['http']['err_400'] >= 1") == True &&
        $(vs_stat FePoolWsExt4443 "['http']['err_502'] >= 2") == True &&
        $(vs_stat FePoolWsExt4443 "['http']['err_504'] >= 1") == True &&
        $(vs_stat FePoolWsExt4443 "['http']['responses_1xx'] >= 1") == True &&
        $(vs_stat FeRpSSL "['http']['err_502'] >= 1") == True &&
        $(vs_stat FePoolWsExt4443 "['http']['cookie_hits'] >= 7") == True &&
        $(vs_stat FeRpSSL "['tls']['backend_handshakes'] >= 1") == True &&
        $(vs_stat FeRpSSL "['tls']['backend_verify_failed'] == 0") == True ]] &&
        expect_stat "r['drops'].get('l7_unimplemented', 0) == 0"
}
check "handshakes, requests, cookie hits, the 400, 502s, 504, 100 Continue and re-encryption counted; nothing dropped as l7_unimplemented" \
    counted

sessions_back() {
    sleep 2
    stat "[(w['proxy_sessions'], w['tls_streams_active']) for w in r['workers']]"
    expect_stat "sum(w['proxy_sessions'] + w['tls_streams_active'] for w in r['workers']) == 0"
}
check "every session and TLS stream ends once the clients are gone" sessions_back
check "lbd stops cleanly" "$lab" lbd stop
done_testing
