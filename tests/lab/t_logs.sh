#!/usr/bin/env bash
# The traffic log: a line per Layer 7 TCP-mode connection and per HTTP-mode request,
# read back through the API (lbctl logs) with curl as the client and the HTTP peer as
# the real servers, two workers. K requests give exactly K lines (none lost at this
# rate), each with the status, the real server that answered and the bytes curl counted;
# a TCP-mode connection's line has the bytes both ways; an error lbd answers itself is a
# line too; a service with "log": false writes none; follow mode sees new lines. Layer 4
# services with "log": true (short layer4 timeouts): K STUN transactions over UDP and K
# HTTP transactions over TCP from the external client x1 through the NAT VIP give
# exactly K lines each once their entries end; a layer 4 service without "log" none.
source "$(dirname "$0")/lib.sh"

"$lab" up >/dev/null || exit 1
peer="python3 $top/tests/lab/http_peer.py"

cfg=$tmp/logs.json
make_config "$cfg" '
c["logging"] = {"syslog": True, "facility": "local0", "syslog_socket": "'"$tmp"'/log.sock"}
rs = [{"label": n, "ip": ip, "port": 8080, "weight": 100}
      for n, ip in (("rs1", "192.168.112.51"), ("rs2", "192.168.112.52"))]
c["routing"] = {"forward": True}
c["layer4"] = {"udp_timeout_s": 1, "tcp_closing_timeout_s": 1, "tcp_established_timeout_s": 5}
c["virtual_services"][0]["ports"] = [8080]
c["virtual_services"][0]["health_check"] = {"type": "none"}
c["virtual_services"] += [
  {"label": "Api", "ip": "192.168.112.112", "ports": [8080], "protocol": "tcp", "layer": 7,
   "mode": "http", "scheduler": "wrr", "health_check": {"type": "none"}, "real_servers": rs},
  {"label": "Quiet", "ip": "192.168.112.113", "ports": [8080], "protocol": "tcp", "layer": 7,
   "mode": "http", "health_check": {"type": "none"}, "log": False, "real_servers": rs},
  {"label": "Empty", "ip": "192.168.112.115", "ports": [80], "protocol": "tcp", "layer": 7,
   "mode": "http", "health_check": {"type": "none"},
   "real_servers": [{"label": "rs1", "ip": "192.168.112.51", "port": 8080, "state": "halt"}]},
  {"label": "AvUDP", "ip": "10.200.50.120", "ports": [3478], "protocol": "udp", "layer": 4,
   "scheduler": "wrr", "health_check": {"type": "none"}, "log": True,
   "real_servers": [{"label": n, "ip": ip, "port": 3478}
                    for n, ip in (("rs1", "192.168.112.51"), ("rs2", "192.168.112.52"))]},
  {"label": "AvTCP", "ip": "10.200.50.120", "ports": [8080], "protocol": "tcp", "layer": 4,
   "scheduler": "wrr", "health_check": {"type": "none"}, "log": True, "real_servers": rs},
  {"label": "L4Quiet", "ip": "10.200.50.121", "ports": [8080], "protocol": "tcp", "layer": 4,
   "health_check": {"type": "none"}, "real_servers": rs}]
'
# A syslog daemon of the scenario's own: each datagram on its socket, one a line.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(sys.argv[1])
f = open(sys.argv[2], "a", buffering=1)
while True:
    f.write(s.recv(65536).decode(errors="replace").replace("\n", " ") + "\n")' \
    "$tmp/log.sock" "$tmp/syslog.out" &
syslog_pid=$!
trap 'kill "$syslog_pid" 2>/dev/null; lab_cleanup' EXIT
for rs in rs1 rs2 rs3; do
    mkdir -p "$tmp/www-$rs"
    "$lab" exec $rs $peer server $rs 8080 "$tmp/www-$rs" >"$tmp/http-$rs.log" 2>&1 &
done
# STUN (coturn) on rs1 and rs2 for the layer 4 UDP service.
for rs in rs1 rs2; do
    on $rs turnserver -n --stun-only --listening-port 3478 --no-tls --no-dtls --no-cli \
        --log-file stdout --simple-log --pidfile "$tmp/turn-$rs.pid" >"$tmp/turn-$rs.log" 2>&1 &
done
sleep 1

check "lbd starts with 2 workers, three layer 7 services logging and one not" \
    "$lab" lbd start --workers 2 --config "$cfg"

# logs FILE: every line of the tail (500 a reply, after a cursor, until none is left).
logs() {
    local after=0 out
    : >"$1"
    while :; do
        out=$(lbctl raw "{\"cmd\": \"logs\", \"after\": $after}") || return 1
        python3 -c '
import json, sys
r = json.loads(sys.argv[1])["result"]
for l in r["lines"]:
    print(l)' "$out" >>"$1"
        after=$(json 'r["next"]' <<<"$out")
        [[ $(json 'len(r["lines"])' <<<"$out") == 500 ]] || break
    done
}
# wait_lines N GREP [S]: until the tail has N lines matching GREP (S s at most, 5 unless
# given).
wait_lines() {
    local end=$(($(date +%s) + ${3:-5})) n
    while :; do
        logs "$tmp/all.log"
        n=$(grep -c -- "$2" "$tmp/all.log")
        ((n >= $1)) && break
        (($(date +%s) >= end)) && break
        sleep 0.2
    done
    sleep 0.3   # and no more than N after a moment
    logs "$tmp/all.log"
    n=$(grep -c -- "$2" "$tmp/all.log")
    echo "$n lines match '$2', wanted $1"
    ((n == $1))
}
# field LINE KEY: the value of key=value in a log line.
field() { grep -o " $2=[^ ]*" <<<" $1" | head -1 | cut -d= -f2-; }

# --- Layer 7 TCP mode: one connection, one line, bytes both ways as curl counted them.
on c1 curl -s --max-time 5 -o "$tmp/tcp.body" \
    -w '%{size_request} %{size_header} %{size_download}\n' \
    http://192.168.112.110:8080/who >"$tmp/tcp.sizes"
check "a TCP-mode connection through Web gives exactly one line" wait_lines 1 ' vs=Web '
tcp_line_right() {
    local l req hdr dl who
    l=$(grep ' vs=Web ' "$tmp/all.log")
    read -r req hdr dl <"$tmp/tcp.sizes"
    who=$(cat "$tmp/tcp.body")
    echo "$l"; echo "curl: request $req, header $hdr, body $dl, server $who"
    [[ $(field "$l" client) == 192.168.112.20:* ]] &&
        [[ $(field "$l" vip) == 192.168.112.110:8080 ]] &&
        [[ $(field "$l" mode) == tcp ]] && [[ $(field "$l" status) == - ]] &&
        [[ $(field "$l" rs) == "$who" ]] &&
        [[ $(field "$l" server) == 192.168.112.5[12]:8080 ]] &&
        [[ $(field "$l" bytes_in) == "$req" ]] &&
        [[ $(field "$l" bytes_out) == $((hdr + dl)) ]] &&
        [[ $(field "$l" end) == client_close ]] &&
        [[ $(field "$l" connect_ms) =~ ^[0-9]+$ ]] && [[ $(field "$l" first_byte_ms) =~ ^[0-9]+$ ]]
}
check "... with the client, the VIP, the server that answered, bytes each way, client_close" \
    tcp_line_right

# --- HTTP mode: K requests, K lines. 100 on one kept-alive connection, then 50 from
# separate connections, 10 at a time.
url=http://192.168.112.112:8080/who
urls=()
for i in $(seq 100); do urls+=("$url"); done
on c1 curl -s --max-time 20 -w ' %{size_header} %{size_download}\n' "${urls[@]}" \
    >"$tmp/ka.out"
for b in 1 2 3 4 5; do
    pids=()
    for i in $(seq 10); do
        on c1 curl -s --max-time 5 -w ' %{size_header} %{size_download}\n' "$url" \
            >"$tmp/one-$b-$i.out" &
        pids+=($!)
    done
    wait "${pids[@]}"
done
cat "$tmp/ka.out" "$tmp"/one-*.out >"$tmp/http.out"
# answers: "SERVER HEADER_BYTES BODY_BYTES" for each answer curl got (its body is the name).
python3 -c '
import re, sys
for m in re.finditer(r"(rs[0-9])\n (\d+) (\d+)\n", open(sys.argv[1]).read()):
    print(*m.groups())' "$tmp/http.out" >"$tmp/answers"
check "curl got 150 answers" bash -c "[[ \$(wc -l <'$tmp/answers') == 150 ]]"
check "150 HTTP requests to Api give exactly 150 lines" wait_lines 150 ' vs=Api '
http_lines_right() {
    python3 - "$tmp/answers" "$tmp/all.log" <<'PY'
import collections, re, sys
want = collections.Counter()
for l in open(sys.argv[1]):
    who, hdr, body = l.split()
    want[(who, int(hdr) + int(body))] += 1
got = collections.Counter()
bad = 0
for l in open(sys.argv[2]):
    if " vs=Api " not in l:
        continue
    f = dict(kv.split("=", 1) for kv in l.split(" req=")[0].split())
    ok = (f["mode"] == "http" and f["status"] == "200" and f["end"] == "done"
          and f["vip"] == "192.168.112.112:8080" and ' req="GET /who HTTP/1.1"' in l
          and f["server"] == {"rs1": "192.168.112.51:8080", "rs2": "192.168.112.52:8080"}[f["rs"]]
          and int(f["bytes_in"]) > 0)
    if not ok:
        bad += 1
        print("bad line:", l.strip())
    got[(f["rs"], int(f["bytes_out"]))] += 1
print("curl saw", dict(want))
print("log says", dict(got))
sys.exit(0 if bad == 0 and got == want else 1)
PY
}
check "... each status 200, end done, the request line, and per server the bytes curl got" \
    http_lines_right
check "no record lost, every one counted (workers' proxy_log_records, proxy_log_lost)" \
    expect_stat 'sum(w["proxy_log_lost"] for w in r["workers"]) == 0 and sum(w["proxy_log_records"] for w in r["workers"]) == 151'

# --- wrk, 8 connections for 2 s: every request lbd read is a line (those wrk cut short
# when it stopped too), at least as many as wrk saw answered, still none lost.
api_requests() {
    lbctl --json stats | json '[v for v in r["virtual_services"] if v["label"] == "Api"][0]["http"]["requests"]'
}
logs "$tmp/all.log"
lines0=$(grep -c ' vs=Api ' "$tmp/all.log")
req0=$(api_requests)
on c1 wrk -t1 -c8 -d2s "$url" >"$tmp/wrk.out" 2>&1
wrk_n=$(awk '/requests in/ {print $1}' "$tmp/wrk.out")
req1=$(api_requests)
check "wrk got answers ($wrk_n) and lbd read $((req1 - req0)) requests" \
    bash -c "cat '$tmp/wrk.out'; (( ${wrk_n:-0} > 100 && $req1 - $req0 >= ${wrk_n:-0} ))"
check "... as many new Api lines as requests lbd read" \
    wait_lines $((lines0 + req1 - req0)) ' vs=Api '
wrk_done() {
    local done
    done=$(grep ' vs=Api ' "$tmp/all.log" | tail -n $((req1 - req0)) | grep -c ' status=200 .* end=done ')
    echo "end=done lines $done, wrk answers $wrk_n"
    ((done >= wrk_n))
}
check "... at least wrk's answers of them status 200, end done" wrk_done
check "... and none lost" expect_stat 'sum(w["proxy_log_lost"] for w in r["workers"]) == 0'

# --- An answer of lbd's own: 503, no server (every one halted).
on c1 curl -s --max-time 5 -o /dev/null http://192.168.112.115/who
check "a 503 lbd answers itself is a line: status 503, no server, end no_server" \
    wait_lines 1 ' vs=Empty rs=- server=- mode=http status=503 .* end=no_server '

# --- "log": false: nothing.
for i in 1 2 3 4 5; do on c1 curl -s --max-time 5 http://192.168.112.113:8080/who; done >"$tmp/quiet.out"
check "5 requests to Quiet (log false) are answered" \
    bash -c "[[ \$(grep -c '^rs[12]\$' '$tmp/quiet.out') == 5 ]]"
check "... and give no line" wait_lines 0 ' vs=Quiet '

# --- lbctl logs: the last N; -f follows.
check "lbctl logs 5 prints the last 5 lines" bash -c "[[ \$('$lab' lbctl logs 5 | wc -l) == 5 ]]"
"$lab" lbctl logs -f 0 >"$tmp/follow.out" 2>&1 &
follow_pid=$!
sleep 0.5
for i in 1 2 3; do on c1 curl -s --max-time 5 -o /dev/null "$url?follow=$i"; done
sleep 1
kill "$follow_pid" 2>/dev/null
wait "$follow_pid" 2>/dev/null
check "lbctl logs -f prints the 3 new requests as they come, and nothing older" \
    bash -c "cat '$tmp/follow.out'; [[ \$(grep -c 'req=\"GET /who?follow=' '$tmp/follow.out') == 3 && \$(wc -l <'$tmp/follow.out') == 3 ]]"

# --- Layer 4, "log": true: K STUN transactions over UDP, each from a socket of its own
# (a flow each), and K HTTP requests over TCP, a connection each, from the external
# client x1 through the NAT VIP; exactly K lines each once the entries end (layer4
# timeouts of 1 s idle for UDP and after a FIN).
K=10
stun_k() {
    on x1 python3 - "$K" <<'PY'
import os, socket, struct, sys
ok = 0
for i in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    tid = os.urandom(12)
    s.sendto(struct.pack("!HHI", 1, 0, 0x2112A442) + tid, ("10.200.50.120", 3478))
    try:
        d = s.recv(2048)
        ok += d[:2] == b"\x01\x01" and d[8:20] == tid     # binding success, our id
    except socket.timeout:
        pass
    s.close()
print(ok, "STUN answers")
sys.exit(0 if ok == int(sys.argv[1]) else 1)
PY
}
check "$K STUN binding requests through the layer 4 UDP VIP are answered" stun_k
for i in $(seq $K); do
    on x1 curl -s --max-time 5 http://10.200.50.120:8080/who
done >"$tmp/l4tcp.out"
check "$K HTTP requests through the layer 4 TCP VIP are answered" \
    bash -c "cat '$tmp/l4tcp.out'; [[ \$(grep -c '^rs[12]\$' '$tmp/l4tcp.out') == $K ]]"
check "a request through the layer 4 VIP of L4Quiet (no \"log\") is answered" \
    bash -c "on() { '$lab' exec \"\$@\"; }; on x1 curl -s --max-time 5 http://10.200.50.121:8080/who | grep -qx 'rs[12]'"
check "the $K UDP flows give exactly $K lines once they idle out" \
    wait_lines $K ' vs=AvUDP ' 10
check "the $K TCP connections give exactly $K lines once they close" \
    wait_lines $K ' vs=AvTCP ' 10
l4_lines_right() {
    python3 - "$tmp/all.log" "$K" <<'PY'
import sys
k = int(sys.argv[2])
servers = {"rs1": "192.168.112.51", "rs2": "192.168.112.52"}
bad, clients = 0, {"AvUDP": set(), "AvTCP": set()}
for l in open(sys.argv[1]):
    if " vs=AvUDP " not in l and " vs=AvTCP " not in l:
        continue
    f = dict(kv.split("=", 1) for kv in l.split())
    udp = f["vs"] == "AvUDP"
    port = "3478" if udp else "8080"
    ok = (f["mode"] == "l4" and f["proto"] == ("udp" if udp else "tcp")
          and f["client"].startswith("10.200.50.20:") and f["vip"] == "10.200.50.120:" + port
          and f["server"] == servers.get(f["rs"], "?") + ":" + port
          and int(f["total_ms"]) < 5000
          and "bytes_in" not in f and "status" not in f
          and (f["end"] == "idle_timeout" and f["packets_in"] == "1" and f["packets_out"] == "1"
               if udp else
               f["end"] in ("client_close", "server_close")
               and int(f["packets_in"]) >= 4 and int(f["packets_out"]) >= 4))
    if not ok:
        bad += 1
        print("bad line:", l.strip())
    clients[f["vs"]].add(f["client"])
print({v: len(c) for v, c in clients.items()}, "different client ports;", bad, "bad lines")
sys.exit(0 if bad == 0 and all(len(c) == k for c in clients.values()) else 1)
PY
}
check "... each with the client, the VIP, the server, the protocol, packets both ways and how it ended" \
    l4_lines_right
check "a layer 4 service without \"log\" (the default) gives no line" wait_lines 0 ' vs=L4Quiet '
check "the workers counted the layer 4 records (l4_log_records), none lost" \
    expect_stat "sum(w['l4_log_records'] for w in r['workers']) == 2 * $K and sum(w['l4_log_lost'] for w in r['workers']) == 0"

# --- syslog: the same lines, as datagrams on logging.syslog_socket.
syslog_same() {
    local n_tail n_sys
    logs "$tmp/all.log"
    n_tail=$(wc -l <"$tmp/all.log")
    n_sys=$(grep -c '^<134>[A-Z][a-z][a-z] [ 0-9][0-9] [0-9:]\{8\} lbd\[[0-9]*\]: client=' "$tmp/syslog.out")
    echo "tail $n_tail lines, syslog $n_sys (local0.info, lbd[PID])"
    head -2 "$tmp/syslog.out"
    ((n_tail == n_sys)) &&
        diff <(sed 's/^.*\]: //' "$tmp/syslog.out") "$tmp/all.log" >/dev/null
}
check "every line went to the syslog socket too, as local0.info from lbd[PID], the same text" \
    syslog_same
check "... none dropped" \
    bash -c "[[ \$('$lab' lbctl raw '{\"cmd\": \"logs\", \"n\": 0}' | python3 -c 'import json,sys; r=json.load(sys.stdin)[\"result\"]; print(r[\"syslog_dropped\"], r[\"syslog_sent\"] > 150)') == '0 True' ]]"

check "lbd is still running" "$lab" lbd pid
done_testing
