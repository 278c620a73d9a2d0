#!/usr/bin/env bash
# TLS termination and re-encryption on Layer 7 TCP-mode services, with real peers, two
# workers: curl and openssl s_client to a TLS VIP whose certificate comes from a
# password-protected PFX exported with legacy encryption (as Windows does), plain
# python3 http.server real servers behind it; protocol, cipher, certificate, SNI, ALPN,
# TLS 1.0 refused, 50 MB through TLS with SHA-256 checked, session-id and ticket
# resumption, garbage instead of a ClientHello closed and counted; re-encryption to a
# TLS real server that sees the connection, and verification that skips a real server
# whose certificate fails it. Then the refusals of bad files: a password file that is
# not 0600, a wrong PFX password, a key that does not match its certificate.
source "$(dirname "$0")/lib.sh"

"$lab" up >/dev/null || exit 1
vip=192.168.112.110
pki=$tmp/pki

# The lab's certificates (lib.sh: the VIP's in a password-protected legacy PFX, a
# private CA and the TLS real server's fe1.lab); a second VIP certificate (RSA) chosen
# by SNI; a self-signed one for fe1.lab that fails verification.
lab_pki "$pki" || exit 1
ossl req -x509 -newkey rsa:2048 -nodes -subj /CN=other.lab -addext subjectAltName=DNS:other.lab \
    -keyout "$pki/other.key" -out "$pki/other.pem" -days 2
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=fe1.lab \
    -keyout "$pki/rogue.key" -out "$pki/rogue.pem" -days 2

cfg=$tmp/tls.json
make_config "$cfg" "
c['appliance']['idle_sleep_us'] = 100
tls = {'pfx': '$pki/vip.pfx', 'pfx_password_file': '$pki/vip.pass',
       'sni_certs': [{'cert': '$pki/other.pem', 'key': '$pki/other.key'}]}
plain = [{'label': n, 'ip': ip, 'port': 80, 'weight': 100}
         for n, ip in (('rs1', '192.168.112.51'), ('rs2', '192.168.112.52'), ('rs3', '192.168.112.57'))]
c['virtual_services'] = [
  {'label': 'Tls', 'ip': '$vip', 'ports': [443], 'layer': 7, 'mode': 'tcp',
   'scheduler': 'wrr', 'health_check': {'type': 'none'}, 'tls': tls, 'real_servers': plain},
  {'label': 'Reencrypt', 'ip': '$vip', 'ports': [8443], 'layer': 7, 'mode': 'tcp',
   'health_check': {'type': 'none'}, 'tls': tls,
   'real_servers': [{'label': 'rs1', 'ip': '192.168.112.51', 'port': 4443, 'tls': True}]},
  {'label': 'Verify', 'ip': '$vip', 'ports': [9443], 'layer': 7, 'mode': 'tcp',
   'scheduler': 'wrr', 'health_check': {'type': 'none'}, 'tls': tls,
   'real_servers': [
     {'label': 'rogue', 'ip': '192.168.112.52', 'port': 4443, 'weight': 1000,
      'tls': {'verify': True, 'ca': '$pki/ca.pem', 'sni': 'fe1.lab'}},
     {'label': 'rs1', 'ip': '192.168.112.51', 'port': 4443, 'weight': 1,
      'tls': {'verify': True, 'ca': '$pki/ca.pem', 'sni': 'fe1.lab'}}]}]
"

# Real servers: plain HTTP on 80 (each names itself, and a 50 MB file); a TLS HTTP
# server on 4443: rs1 with the CA-signed certificate, rs2 with the rogue one.
head -c 50000000 /dev/urandom >"$tmp/big"
big_sha=$(sha256sum "$tmp/big" | cut -d' ' -f1)
for rs in rs1 rs2 rs3; do
    mkdir -p "$tmp/www-$rs" && echo $rs >"$tmp/www-$rs/who" && ln "$tmp/big" "$tmp/www-$rs/big"
    (cd "$tmp/www-$rs" && exec "$lab" exec $rs python3 -m http.server 80 >"$tmp/http-$rs.log" 2>&1) &
done
tls_server() {  # RS CERT KEY
    mkdir -p "$tmp/tls-$1" && echo "$1-tls" >"$tmp/tls-$1/who"
    (cd "$tmp/tls-$1" && exec "$lab" exec $1 python3 -c "
import http.server, ssl
s = http.server.HTTPServer(('0.0.0.0', 4443), http.server.SimpleHTTPRequestHandler)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
c.load_cert_chain('$2', '$3')
s.socket = c.wrap_socket(s.socket, server_side=True)
s.serve_forever()" >"$tmp/https-$1.log" 2>&1) &
}
tls_server rs1 "$pki/fe1.pem" "$pki/fe1.key"
tls_server rs2 "$pki/rogue.pem" "$pki/rogue.key"
sleep 1

tls_stat() { stat "[v for v in r['virtual_services'] if v['label'] == '$1'][0]['tls']['$2']"; }
sclient() { on c1 timeout 10 openssl s_client -connect $vip:443 "$@" </dev/null 2>&1; }

protocol_and_cipher() {
    local o
    o=$(sclient -servername vip.lab)
    grep -E '^(New|    Protocol|    Cipher)' <<<"$o"
    grep -q 'New, TLSv1.3, Cipher is TLS_AES' <<<"$o" || return 1
    o=$(sclient -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256)
    grep -E '^(New|    Protocol|    Cipher)' <<<"$o"
    grep -q 'New, TLSv1.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256' <<<"$o"
}
cert_from_pfx() {
    local want got
    want=$(openssl x509 -in "$pki/vip.pem" -noout -fingerprint -sha256)
    got=$(sclient -servername vip.lab | openssl x509 -noout -fingerprint -sha256)
    echo "want $want, got $got"
    [[ -n $got && $got == "$want" ]]
}
sni_picks_other() {
    local want got
    want=$(openssl x509 -in "$pki/other.pem" -noout -fingerprint -sha256)
    got=$(sclient -servername other.lab | openssl x509 -noout -fingerprint -sha256)
    echo "want $want, got $got"
    [[ -n $got && $got == "$want" ]]
}
alpn() { sclient -alpn h2,http/1.1 | grep 'ALPN protocol: http/1.1'; }
# The client is allowed TLS 1.0 (security level 0), lbd is not: the handshake fails.
tls10_refused() {
    local o
    o=$(sclient -tls1 -cipher 'DEFAULT@SECLEVEL=0')
    grep -E 'alert|error|Protocol|Cipher is' <<<"$o" | head -5
    ! grep -q 'Cipher is [A-Z]' <<<"$o" || grep -q 'Cipher is (NONE)' <<<"$o"
}
curl_who() { on c1 curl -sk --max-time 5 --resolve vip.lab:443:$vip "https://vip.lab/who"; }
curl_answers() { local w; w=$(curl_who); echo "$w"; [[ $w == rs[123] ]]; }
big_download() {
    local got t0=$(date +%s)
    got=$(on c1 sh -c "curl -sk --max-time 120 https://$vip/big | sha256sum" | cut -d' ' -f1)
    echo "want $big_sha, got $got, $(($(date +%s) - t0)) s"
    [[ $got == "$big_sha" ]]
}
resumption() {  # ARGS for s_client: first a new session, then the same again
    local f=$tmp/sess.$RANDOM o
    # TLS 1.3 tickets come after the handshake: the client stays a second to read one.
    (sleep 1) | on c1 timeout 10 openssl s_client -connect $vip:443 "$@" -sess_out "$f" 2>&1 |
        grep -E '^(New|Reused)'
    # The second stays a second too: one that closes (and resets, a ticket unread) at once
    # can have the VIP see the reset before its Finished, and lbd count no handshake.
    o=$( (sleep 1) | on c1 timeout 10 openssl s_client -connect $vip:443 "$@" -sess_in "$f" 2>&1)
    grep -E '^(New|Reused)' <<<"$o"
    grep -q '^Reused' <<<"$o"
}
garbage() {
    local before o
    before=$(tls_stat Tls failed_not_tls)
    o=$(on c1 timeout 5 python3 -c "
import socket
s = socket.create_connection(('$vip', 443), timeout=4)
s.sendall(b'GET / HTTP/1.0\r\n\r\n')
d = s.recv(100)
print('closed' if len(d) < 100 else 'open', repr(d[:16]))")
    echo "$o; failed_not_tls before $before, after $(tls_stat Tls failed_not_tls)"
    [[ $o == closed* && $(tls_stat Tls failed_not_tls) -gt $before ]]
}
reencrypt() {
    local w
    w=$(on c1 curl -sk --max-time 5 "https://$vip:8443/who")
    echo "answer '$w'"; tail -2 "$tmp/https-rs1.log"
    [[ $w == rs1-tls ]] && grep -q "^$vip .*GET /who" "$tmp/https-rs1.log"
}
verify_skips_rogue() {
    local w
    w=$(on c1 curl -sk --max-time 10 "https://$vip:9443/who")
    echo "answer '$w', backend_verify_failed $(tls_stat Verify backend_verify_failed)"
    [[ $w == rs1-tls && $(tls_stat Verify backend_verify_failed) -ge 1 ]]
}
# Memory of idle TLS connections: lbd's resident size with 400 of them held open.
idle_memory() {
    local pid rss0 rss1 n=400
    pid=$("$lab" lbd pid | grep -o '[0-9]*$')
    rss0=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
    rm -f "$tmp/held" "$tmp/release"
    on c1 python3 -c "
import socket, ssl, time, os
c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE
ss = []
for i in range($n):
    s = c.wrap_socket(socket.create_connection(('$vip', 443), timeout=5))
    ss.append(s)
open('$tmp/held', 'w').write(str(len(ss)))
while not os.path.exists('$tmp/release'): time.sleep(0.2)
" &
    local p=$! i
    for i in $(seq 1 100); do [[ -e $tmp/held ]] && break; sleep 0.3; done
    sleep 1
    rss1=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
    echo "streams $(stat "sum(w['tls_streams_active'] for w in r['workers'])"), RSS $rss0 kB -> $rss1 kB: $(((rss1 - rss0) * 1024 / n)) bytes per idle TLS connection" | tee "$tmp/mem.txt"
    touch "$tmp/release"; wait $p
    [[ $(cat "$tmp/held" 2>/dev/null) == "$n" ]]
}

check "lbd starts with 2 workers, the PFX (legacy encryption, password file) imported" \
    "$lab" lbd start --workers 2 --config "$cfg"
check "curl through the TLS VIP to a plain real server" curl_answers
check "s_client: TLS 1.3 by default, TLS 1.2 with the cipher asked for" protocol_and_cipher
check "the certificate served is the one in the password-protected PFX" cert_from_pfx
check "SNI other.lab picks the second certificate" sni_picks_other
check "ALPN: http/1.1 selected" alpn
check "TLS 1.0 refused (openssl s_client -tls1 fails)" tls10_refused
check "refused protocol counted" expect_stat "[v for v in r['virtual_services'] if v['label'] == 'Tls'][0]['tls']['failed_protocol'] >= 1"
check "50 MB down through TLS, SHA-256 equal" big_download
check "TLS 1.2 session-id resumption (no ticket): Reused" resumption -tls1_2 -no_ticket
check "TLS 1.2 ticket resumption: Reused" resumption -tls1_2
check "TLS 1.3 ticket resumption: Reused" resumption -tls1_3
check "resumed handshakes counted" expect_stat "[v for v in r['virtual_services'] if v['label'] == 'Tls'][0]['tls']['resumed'] >= 3"
check "garbage instead of a ClientHello: closed and counted" garbage
check "re-encrypted to a TLS real server, which sees the VIP's connection" reencrypt
check "verification: a real server failing it is counted and the next one used" verify_skips_rogue
check "400 idle TLS connections held (memory per connection measured)" idle_memory
echo "# $(cat "$tmp/mem.txt" 2>/dev/null)"
stat "[(w['tls_hs_step_max_us'], w['tls_hs_steps'], w['tls_hs_deferred'], w['tls_streams_refused']) for w in r['workers']]" | sed 's/^/# max step us, steps, deferred, refused: /'
check "no stream refused, none left active" \
    expect_stat "sum(w['tls_streams_refused'] for w in r['workers']) == 0 and sum(w['tls_streams_active'] for w in r['workers']) == 0"

# Refusals: lbd --check reads the files a config names.
check_refused() {  # EDIT WANT: the config with EDIT applied is refused with WANT in the message
    local o
    make_config "$tmp/bad.json" "
import json
c.clear(); c.update(json.load(open('$cfg')))
$1"
    o=$("$LBD_BUILD/control/lbd" -- --config "$tmp/bad.json" --check 2>&1)
    echo "$o"
    [[ $o == *"$2"* ]]
}
cp "$pki/vip.pass" "$pki/open.pass" && chmod 644 "$pki/open.pass"
echo wrong >"$pki/wrong.pass" && chmod 600 "$pki/wrong.pass"
check "a password file readable by others is refused" check_refused \
    "c['virtual_services'][0]['tls']['pfx_password_file'] = '$pki/open.pass'" \
    "virtual_services[0].tls.pfx_password_file: $pki/open.pass is mode 0644; it must be 0600"
check "a wrong PFX password is refused, naming the field" check_refused \
    "c['virtual_services'][0]['tls']['pfx_password_file'] = '$pki/wrong.pass'" \
    "virtual_services[0].tls.pfx_password_file: wrong password"
check "a key that does not match its certificate is refused" check_refused \
    "c['virtual_services'][0]['tls']['sni_certs'] = [{'cert': '$pki/other.pem', 'key': '$pki/vip.key'}]" \
    "virtual_services[0].tls.sni_certs[0].key: the private key does not match"
check "the good config passes --check" "$LBD_BUILD/control/lbd" -- --config "$cfg" --check
check "lbd stops cleanly" "$lab" lbd stop
done_testing
