#!/usr/bin/env bash
# The Skype for Business guide's whole deployment at once (issue 17), from the shipped
# configs (config/lb1.json, lb1-peer.json, lb2.json, lb2-peer.json, reverse-proxy.json;
# the lab changes only file paths and idle_sleep_us): the LB1 pair (one arm on the
# internal LAN), the LB2 pair (one arm in the DMZ, the Edge servers' default gateway),
# the reverse proxy (LB3), FE1-FE3, DIR1-DIR2, OWA1 and two Edge servers with coturn, on
# the topology of `tools/lab up sfb`. Internal and external clients register over SIP
# (FePool, DirPool, EdgeIntTCP, EdgeExtAccess, and directly), fetch web services (the
# internal ones, OWA, and the external ones through the reverse proxy with MS-WSMAN),
# allocate TURN relays through EdgeIntUDP, EdgeExtAvUDP and EdgeExtAvTCP and exchange
# media with a far party that sends straight to the Edge server's own public address.
# With all of that running: FE2 is drained as the guide's patching does, the LB1 master
# is killed (SIGKILL), then the LB2 master, then both come back (and preempt). Prints a
# table of services, requests, failures, longest gaps and the takeover times.
# Opt-in: `tools/test sfb` (about 2.5 minutes).
source "$(dirname "$0")/../lib.sh"
peer="python3 $top/tests/lab/sfb/sfb_peer.py"
dur=${LBD_SFB_SECONDS:-75}     # how long the clients run

"$lab" up sfb >/dev/null || exit 1

# --- certificates: a private CA signing each server's own certificate (the guide's
# internal certificates), and the reverse proxy's public certificate in a PFX.
pki=$tmp/pki
lab_pki "$pki" || exit 1
for n in fe1 fe2 fe3 dir1 dir2 owa1 edge1 edge2; do
    ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$n.lab" \
        -keyout "$pki/$n.key" -out "$pki/$n.csr" &&
        ossl x509 -req -in "$pki/$n.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
            -CAcreateserial -out "$pki/$n.pem" -days 2 || exit 1
done

# --- the appliances' configs: the shipped files, with the lab's file paths.
key=$tmp/ha.key
head -c 32 /dev/urandom | base64 >"$key"
chmod 600 "$key"
for f in lb1 lb1-peer lb2 lb2-peer reverse-proxy; do
    python3 - "$top/config/$f.json" "$tmp/$f.json" "$key" "$pki" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["appliance"]["idle_sleep_us"] = 200
if "ha" in c:
    c["ha"]["auth_key_file"] = sys.argv[3]
for v in c["virtual_services"]:
    if "tls" in v:
        v["tls"]["cert"] = sys.argv[4] + "/vip.pfx"
        v["tls"]["pfx_password_file"] = sys.argv[4] + "/vip.pass"
json.dump(c, open(sys.argv[2], "w"), indent=1)
PY
done
lab_only_paths() { # the lab's copies differ from the shipped files in those fields only
    python3 - "$top/config" "$tmp" <<'PY'
import json, sys
for f in ("lb1", "lb1-peer", "lb2", "lb2-peer", "reverse-proxy"):
    a = json.load(open("%s/%s.json" % (sys.argv[1], f)))
    b = json.load(open("%s/%s.json" % (sys.argv[2], f)))
    for c in (a, b):
        c["appliance"].pop("idle_sleep_us")
        c.get("ha", {}).pop("auth_key_file", None)
        for v in c["virtual_services"]:
            v.get("tls", {}).pop("cert", None)
            v.get("tls", {}).pop("pfx_password_file", None)
    assert a == b, f
    print(f, "same as shipped but for paths and idle_sleep_us")
PY
}
check "the lab runs the shipped configs (only file paths and idle_sleep_us differ)" lab_only_paths
check_configs() {
    local f
    for f in lb1 lb1-peer lb2 lb2-peer reverse-proxy; do
        "$LBD_BUILD/control/lbd" --check-config "$tmp/$f.json" || return 1
    done
}
check "lbd --check-config passes on all five (certificates, PFX password, HA key read)" check_configs

# --- the servers.
fe_ports="80 135 444 448 5070 5071 5072 5073 5075 5076 5080 8080"
for n in fe1 fe2 fe3 dir1 dir2; do
    specs=""
    case $n in
    fe*) for p in $fe_ports; do specs+="0.0.0.0:$p "; done
         specs+="0.0.0.0:443:tls 0.0.0.0:4443:tls 0.0.0.0:5061:tls" ;;
    dir*) specs="0.0.0.0:80 0.0.0.0:444 0.0.0.0:8080 0.0.0.0:443:tls 0.0.0.0:4443:tls 0.0.0.0:5061:tls" ;;
    esac
    on $n $peer server "${n^^}" "$pki/$n.pem" "$pki/$n.key" $specs >"$tmp/srv-$n.log" 2>&1 &
done
on owa1 $peer server OWA1 "$pki/owa1.pem" "$pki/owa1.key" 0.0.0.0:443:tls >"$tmp/srv-owa1.log" 2>&1 &
for i in 1 2; do
    on edge$i $peer server "Edge$i" "$pki/edge$i.pem" "$pki/edge$i.key" \
        10.200.50.10$i:443:tls 10.200.50.10$i:5061:tls 10.200.50.10$i:5269 \
        10.200.50.11$i:443:tls \
        172.24.7.$i:443:tls 172.24.7.$i:5061:tls 172.24.7.$i:5062:tls >"$tmp/srv-edge$i.log" 2>&1 &
    # coturn: STUN/TURN on 3478 (UDP and TCP) on the A/V external and the internal
    # address, and on TCP 443 of the A/V external address; relays on the public address.
    on edge$i turnserver -n --no-auth --realm lab --listening-port 3478 \
        --listening-ip 10.200.50.12$i --listening-ip 172.24.7.$i --relay-ip 10.200.50.12$i \
        --min-port 49152 --max-port 54999 --no-tls --no-dtls --no-cli --log-file stdout \
        --simple-log --db "$tmp/turn-a$i.db" --pidfile "$tmp/turn-a$i.pid" >"$tmp/turn-a$i.log" 2>&1 &
    on edge$i turnserver -n --no-auth --realm lab --listening-port 443 \
        --listening-ip 10.200.50.12$i --relay-ip 10.200.50.12$i \
        --min-port 55000 --max-port 60999 --no-tls --no-dtls --no-cli --log-file stdout \
        --simple-log --db "$tmp/turn-b$i.db" --pidfile "$tmp/turn-b$i.pid" >"$tmp/turn-b$i.log" 2>&1 &
done
# Client addresses: every client its own source address (source-IP persistence).
for i in $(seq 21 45); do on c1 ip addr add 192.168.112.$i/24 dev eth0; done
for i in $(seq 21 29) $(seq 31 35); do on x1 ip addr add 10.200.60.$i/24 dev eth0; done   # .30 is x2

# --- the appliances, one worker each.
start() { "$lab" lbd start --name "$1" --ports 1 --config "$tmp/$2.json"; }
check "LB1 master (lb1a) starts from lb1.json" start lb1a lb1
check "LB1 second unit (lb1b) starts from lb1-peer.json" start lb1b lb1-peer
check "LB2 master (lb2a) starts from lb2.json" start lb2a lb2
check "LB2 second unit (lb2b) starts from lb2-peer.json" start lb2b lb2-peer
check "the reverse proxy (LB3) starts from reverse-proxy.json" start rp reverse-proxy

hastate() { "$lab" lbctl --name "$1" --json ha 2>/dev/null | json "r['state']" 2>/dev/null; }
wait_state() { # NAME STATE SECONDS
    local i
    for i in $(seq 1 $(($3 * 10))); do [[ $(hastate "$1") == "$2" ]] && return 0; sleep 0.1; done
    echo "$1 is $(hastate "$1"), not $2"; return 1
}
pair_is() { wait_state "$1" master 8 && wait_state "$2" backup 3; }
check "lb1a is master, lb1b backup" pair_is lb1a lb1b
check "lb2a is master, lb2b backup" pair_is lb2a lb2b
vs_of() { "$lab" lbctl --name "$1" --json vs list | json "sorted((v['label'], v['ip'], v['ports'], [(s['label'], s['weight'], s['state']) for s in v['real_servers']]) for v in r)"; }
same_vs() {
    local i
    for i in $(seq 1 50); do [[ $(vs_of "$2") == "$(vs_of "$1")" ]] && return 0; sleep 0.2; done
    vs_of "$1"; vs_of "$2"; return 1
}
check "lb1b received LB1's eleven services from lb1a" same_vs lb1a lb1b
check "lb2b received LB2's four services from lb2a" same_vs lb2a lb2b
all_up() { # NAME: every real server of every service up
    local i v
    for i in $(seq 1 100); do
        v=$("$lab" lbctl --name "$1" --json health | json "sorted((h['vs'], h['rs'], h['health']) for h in r if h['health'] != 'up')")
        [[ $v == "[]" ]] && { "$lab" lbctl --name "$1" health; return 0; }
        sleep 0.2
    done
    echo "not up on $1: $v"; "$lab" lbctl --name "$1" health; return 1
}
checks_are() { # NAME WANT: the check of each service (kind:port), as the requirements say
    local v
    v=$("$lab" lbctl --name "$1" --json health | json "sorted({(h['vs'], h['check'] + (':%d' % h['port'] if h.get('port') else '')) for h in r})")
    echo "$v"; echo "want $2"
    [[ $v == "$2" ]]
}
check "LB1: every real server passes its check (connect 5061, connect 443 for OWA, ping for EdgeIntUDP)" all_up lb1a
check "LB2: every real server passes its check (connect, ping for EdgeExtAvUDP)" all_up lb2a
check "LB3: LB1's VIPs pass the reverse proxy's checks" all_up rp
check "LB1's checks: connect 5061 for FE, Director and Edge TCP, connect 443 for OWA, ping for EdgeIntUDP" \
    checks_are lb1a "[('DirPool', 'connect:5061'), ('DirPoolWsExt4443', 'connect:5061'), ('DirPoolWsExt8080', 'connect:5061'), ('DirPoolWsInt', 'connect:5061'), ('EdgeIntTCP', 'connect:5061'), ('EdgeIntUDP', 'ping'), ('FePool', 'connect:5061'), ('FePoolWsExt4443', 'connect:5061'), ('FePoolWsExt8080', 'connect:5061'), ('FePoolWsInt', 'connect:5061'), ('OfficeWebApp', 'connect:443')]"
check "LB2's checks: connect 5061 for EdgeExtAccess, connect 443 for EdgeExtWeb and EdgeExtAvTCP, ping for EdgeExtAvUDP" \
    checks_are lb2a "[('EdgeExtAccess', 'connect:5061'), ('EdgeExtAvTCP', 'connect:443'), ('EdgeExtAvUDP', 'ping'), ('EdgeExtWeb', 'connect:443')]"

# --- every row of the requirements, port by port, through its VIP: HTTP and HTTPS with
# curl, SIP over TLS with the peer, SIP over TCP with sipp (sip-tester), STUN with stun
# (stun-client); each answer names the real server.
# row LABEL NODE SRC VIP ITEM...: ITEM is http:PORT, https:PORT, sip:PORT (TLS), sipp:PORT
row() {
    local label=$1 node=$2 src=$3 vip=$4 it kind port got all=""
    shift 4
    for it in "$@"; do
        kind=${it%%:*} port=${it#*:} got=""
        case $kind in
        http | https)
            got=$(on "$node" curl -sk --max-time 5 --interface "$src" "$kind://$vip:$port/") ;;
        sip)
            on "$node" $peer sip "sweep" "$src" "$vip" "$port" tls 0.1 1 "$tmp/sweep.json" 2>/dev/null
            got=$(json "r['events'][0][1] or ''" <"$tmp/sweep.json") ;;
        sipp)
            (cd "$tmp" && timeout 15 "$lab" exec "$node" sipp -sf "$top/tests/lab/sfb/register.xml" \
                -t t1 -m 1 -i "$src" -timeout 10s "$vip:$port" </dev/null >"$tmp/sipp.out" 2>&1) &&
                got=sipp-200 ;;
        esac
        all+="$port=${got:-FAILED} "
    done
    echo "$label $vip: $all"
    [[ $all != *FAILED* ]]
}
stun_row() { # NODE SRC VIP: a STUN binding through the VIP sees the client's own address
    local o
    o=$(timeout 10 "$lab" exec "$1" stun "$3" -v -i "$2" 2>&1)
    grep -m1 "MappedAddress" <<<"$o"
    grep -q "MappedAddress = $2:" <<<"$o"
}
c=192.168.112.43 x=10.200.60.34
check "FePool 192.168.112.110: all 13 ports (80, 443 web; 5061 SIP/TLS; 135 444 448 5070-5073 5075 5076 5080 SIP/TCP by sipp)" \
    row FePool c1 $c 192.168.112.110 http:80 https:443 sip:5061 sipp:135 sipp:444 sipp:448 \
    sipp:5070 sipp:5071 sipp:5072 sipp:5073 sipp:5075 sipp:5076 sipp:5080
check "FePoolWsInt 192.168.112.111: 80, 443" row FePoolWsInt c1 $c 192.168.112.111 http:80 https:443
check "FePoolWsExt8080 / FePoolWsExt4443 192.168.112.112: 8080, 4443" row FePoolWsExt c1 $c 192.168.112.112 http:8080 https:4443
check "DirPool 192.168.112.120: 443, 444 (sipp), 5061" row DirPool c1 $c 192.168.112.120 https:443 sipp:444 sip:5061
check "DirPoolWsInt 192.168.112.121: 80, 443" row DirPoolWsInt c1 $c 192.168.112.121 http:80 https:443
check "DirPoolWsExt8080 / DirPoolWsExt4443 192.168.112.122: 8080, 4443" row DirPoolWsExt c1 $c 192.168.112.122 http:8080 https:4443
check "OfficeWebApp 192.168.112.125: 443" row OfficeWebApp c1 $c 192.168.112.125 https:443
check "EdgeIntTCP 192.168.112.140: 443, 5061, 5062 (to the Edge servers' internal side, via the router)" \
    row EdgeIntTCP c1 $c 192.168.112.140 https:443 sip:5061 sip:5062
check "EdgeIntUDP 192.168.112.140:3478: a STUN binding (coturn) sees the internal client's own address" \
    stun_row c1 $c 192.168.112.140
check "EdgeExtAccess 10.200.50.100: 443, 5061, 5269 (sipp) from the internet" \
    row EdgeExtAccess x1 $x 10.200.50.100 https:443 sip:5061 sipp:5269
check "EdgeExtWeb 10.200.50.110: 443" row EdgeExtWeb x1 $x 10.200.50.110 https:443
check "EdgeExtAvUDP 10.200.50.120:3478: a STUN binding sees the external client's own address" \
    stun_row x1 $x 10.200.50.120
check "ReverseProxyFE-HTTP / FeRpSSL 10.200.50.160: 80, 443 (TLS terminated, re-encrypted to LB1's 4443)" \
    row ReverseProxyFE x1 $x 10.200.50.160 http:80 https:443
check "ReverseProxyDIR-HTTP / DirRpSSL 10.200.50.161: 80, 443" row ReverseProxyDIR x1 $x 10.200.50.161 http:80 https:443
public_cert() { # the reverse proxy presents the public certificate (from the PFX), not a Front End's
    local o
    o=$(on x1 openssl s_client -connect 10.200.50.160:443 -servername vip.lab </dev/null 2>/dev/null | openssl x509 -noout -subject)
    echo "$o"; [[ $o == *vip.lab* ]]
}
check "FeRpSSL presents the public certificate from the PFX" public_cert
private_cert() { # LB1's FePoolWsExt4443 (TCP mode) passes the Front End's own certificate through
    local o
    o=$(on c1 openssl s_client -connect 192.168.112.112:4443 </dev/null 2>/dev/null | openssl x509 -noout -subject -issuer)
    echo "$o"; [[ $o == *fe[123].lab* && $o == *lab-ca* ]]
}
check "FePoolWsExt4443 carries the Front End's private certificate (signed by the lab CA)" private_cert
source_is_vip() { # Layer 7 SNAT: the Front Ends see LB1's VIP as the client of FePool's SIP
    local n
    : >"$tmp/ss"
    for n in fe1 fe2 fe3; do on $n ss -Htn state established >>"$tmp/ss"; done
    grep ':5061 ' "$tmp/ss"
    grep -qE ':5061 +192\.168\.112\.110:' "$tmp/ss" &&
        ! grep -qE ':5061 +192\.168\.112\.(2[1-9]|3[0-9]|4[0-9]):' "$tmp/ss"
}

# --- the clients, all at once, for $dur seconds; events on a timeline.
out=$tmp/out
mkdir -p "$out"
t0=$(python3 -c 'import time; print(time.monotonic())')
echo "{\"t0\": $t0}" >"$out/t0.json"
sip() { # NAME NODE SRC VIP PORT tls|tcp [SECONDS]
    on "$2" $peer sip "$1" "$3" "$4" "$5" "$6" "${7:-$dur}" 1 "$out/sip-$1.json" 2>"$out/sip-$1.err" &
    clients+=($!)
}
web() { # NAME NODE SRC URL [--cookie]
    on "$2" $peer web "$1" "$3" "$4" "$dur" 0.5 "$out/web-$1.json" ${5:-} 2>"$out/web-$1.err" &
    clients+=($!)
}
turn() { # NAME NODE SRC VIP PORT udp|tcp: the client; its far party on x2
    on "$2" $peer turn "$1" "$3" "$4" "$5" "$6" 10.200.60.30 "$dur" "$out/turn-$1.json" \
        "$out/relay-$1" 2>"$out/turn-$1.err" &
    clients+=($!)
    on x2 $peer media "m-$1" 10.200.60.30 "$out/relay-$1" "$((dur - 3))" "$out/media-$1.json" \
        2>"$out/media-$1.err" &
    clients+=($!)
}
clients=()
# SIP registrations: internal users through FePool (TLS 5061 and TCP 5080), DirPool and
# EdgeIntTCP; external users through EdgeExtAccess (5061 and 443); and directly.
for i in 21 22 23 24 25 26; do sip fe-$i c1 192.168.112.$i 192.168.112.110 5061 tls; done
for i in 27 28; do sip fe-$i c1 192.168.112.$i 192.168.112.110 5080 tcp; done
for i in 29 30; do sip dir-$i c1 192.168.112.$i 192.168.112.120 5061 tls; done
sip edgeint-31 c1 192.168.112.31 192.168.112.140 5061 tls
sip direct-fe1 c1 192.168.112.20 192.168.112.51 5061 tls
for i in 21 22; do sip ext-$i x1 10.200.60.$i 10.200.50.100 5061 tls; done
sip ext-23 x1 10.200.60.23 10.200.50.100 443 tls
sip direct-edge1 x1 10.200.60.20 10.200.50.101 5061 tls
# Web services: internal, OWA, the external ones directly on LB1 and through the reverse
# proxy (MS-WSMAN cookie clients each with their own jar), the Edge's web conferencing.
web wsint c1 192.168.112.32 https://192.168.112.111/
web dirwsint c1 192.168.112.33 http://192.168.112.121/
web owa c1 192.168.112.34 https://192.168.112.125/
web wsext8080 c1 192.168.112.35 http://192.168.112.112:8080/ --cookie
web direct-fe2 c1 192.168.112.20 https://192.168.112.52/
for i in 24 25 26; do web rp-http-$i x1 10.200.60.$i http://10.200.50.160/ --cookie; done
web rp-https x1 10.200.60.27 https://10.200.50.160/
web rp-dir-http x1 10.200.60.28 http://10.200.50.161/ --cookie
web rp-dir-https x1 10.200.60.29 https://10.200.50.161/
web edgeweb x1 10.200.60.33 https://10.200.50.110/
# STUN/TURN and media: an internal user through EdgeIntUDP, external users through
# EdgeExtAvUDP and EdgeExtAvTCP; the far party x2 sends to the relayed address.
turn int-udp c1 192.168.112.36 192.168.112.140 3478 udp
turn ext-udp x1 10.200.60.31 10.200.50.120 3478 udp
turn ext-tcp x1 10.200.60.32 10.200.50.120 443 tcp

now_t() { python3 -c "import time; print(round(time.monotonic() - $t0, 2))"; }
ev() { echo "$(now_t) $*" >>"$out/events"; }
# takeover NAME STATE EVENT: seconds from now until NAME is in STATE (polled every 50 ms),
# logged as EVENT at the time it happened.
takeover() {
    python3 "$top/tests/lab/sfb/verdict.py" --takeover "$1" "$2" "$lab" "$t0" "$3" "$out/events"
}
fwd() { # NAME: packets the appliance routed (not load balanced)
    "$lab" lbctl --name "$1" --json stats | json "sum(w['forwarded'] for w in r['workers'])"
}

sleep 8    # some 30 Python clients take a few seconds to start on two busy cores
f0=$(fwd lb2a)
sleep 4
f1=$(fwd lb2a)
routed_media() { echo "lb2a routed $((f1 - f0)) packets in 4 s"; ((f1 - f0 >= 400)); }
check "LB2 routes the Edge servers' media to the far party (over 100 packets a second)" routed_media
check "Layer 7 SNAT: the Front Ends see FePool's VIP as the source of the SIP connections, not the clients" source_is_vip
# Patching FE2 as the guide's section 18: drain it on the appliance (every service it
# is in); its sessions carry on, new connections go elsewhere. New users arrive after.
drain_fe2() {
    local vs
    for vs in FePool FePoolWsInt FePoolWsExt8080 FePoolWsExt4443; do
        "$lab" lbctl --name lb1a rs drain $vs FE2 || return 1
    done
}
ev drain
check "drain FE2 on the LB1 master (FePool, FePoolWsInt, FePoolWsExt8080, FePoolWsExt4443)" drain_fe2
drained_on() {
    local i
    for i in $(seq 50); do
        [[ $("$lab" lbctl --name "$1" --json vs list | json "sorted(v['label'] for v in r for s in v['real_servers'] if s['label'] == 'FE2' and s['state'] == 'drain')") == \
            "['FePool', 'FePoolWsExt4443', 'FePoolWsExt8080', 'FePoolWsInt']" ]] && return 0
        sleep 0.1
    done
    "$lab" lbctl --name "$1" vs list; return 1
}
check "the drain reaches lb1b (config replication)" drained_on lb1b
sleep 1
for i in 37 38 39 40 41 42; do sip new-$i c1 192.168.112.$i 192.168.112.110 5061 tls $((dur - 12)); done
sleep 7

ev kill-lb1
kill -KILL "$("$lab" lbd pid --name lb1a)"
tk_lb1=$(takeover lb1b master lb1b-master)
check "LB1: lb1b takes over from the killed master (${tk_lb1} s)" [ "$tk_lb1" != none ]
sleep 9

ev kill-lb2
kill -KILL "$("$lab" lbd pid --name lb2a)"
tk_lb2=$(takeover lb2b master lb2b-master)
check "LB2: lb2b takes over from the killed master (${tk_lb2} s)" [ "$tk_lb2" != none ]
sleep 9

ev restart
check "lb1a comes back" start lb1a lb1
check "lb2a comes back" start lb2a lb2
takeover lb1a master lb1a-master >"$tmp/tk1" &
tkp1=$!
takeover lb2a master lb2a-master >"$tmp/tk2" &
tkp2=$!
wait $tkp1 $tkp2
tk_back1=$(cat "$tmp/tk1") tk_back2=$(cat "$tmp/tk2")
check "lb1a takes the state and preempts (master ${tk_back1} s after its API answered)" [ "$tk_back1" != none ]
check "lb2a takes the state and preempts (master ${tk_back2} s after its API answered)" [ "$tk_back2" != none ]
backups() { wait_state lb1b backup 3 && wait_state lb2b backup 3; }
check "lb1b and lb2b are backup again" backups
check "lb1a has LB1's services as lb1b had them, FE2 drained" drained_on lb1a
# The status page, its JSON and /metrics of every appliance (management on 127.0.0.1:9100
# in each appliance's namespace, as in the shipped files).
status_pages() {
    local n m p
    for n in lb1a lb1b lb2a lb2b rp; do
        m=$(on $n curl -s --max-time 3 http://127.0.0.1:9100/metrics | grep -c '^lbd_')
        p=$(on $n curl -s --max-time 3 http://127.0.0.1:9100/ | grep -ci '<html')
        echo "$n: $m metric lines, status page: $p"
        ((m > 10 && p >= 1)) || return 1
    done
}
check "every appliance serves its status page and /metrics (management 127.0.0.1:9100)" status_pages
page_says_drained() {
    local v
    v=$(on lb1a curl -s --max-time 3 http://127.0.0.1:9100/api/stats | json "sorted((v['label'], s['state'], s['health']) for v in r['virtual_services'] for s in v['real_servers'] if s['label'] == 'FE2')")
    echo "$v"
    [[ $v == "[('FePool', 'drain', 'up'), ('FePoolWsExt4443', 'drain', 'up'), ('FePoolWsExt8080', 'drain', 'up'), ('FePoolWsInt', 'drain', 'up')]" ]]
}
check "LB1's status JSON (/api/stats) shows FE2 drained in its four services, still checked up" page_says_drained
echo "# waiting for the clients ($dur s in all)"
wait "${clients[@]}"
ev end

# --- the verdicts, and the table.
python3 "$top/tests/lab/sfb/verdict.py" "$out" >"$tmp/verdict.txt" 2>&1
rm -rf "$LBD_BUILD/sfb-last" && cp -r "$out" "$LBD_BUILD/sfb-last" && cp "$tmp/verdict.txt" "$LBD_BUILD/sfb-last/"
sed -n '/^#/p' "$tmp/verdict.txt"
verdict_is() { echo "$2"; [[ $1 == ok ]]; }
while IFS='|' read -r res desc detail; do
    check "$desc" verdict_is "$res" "$detail"
done < <(grep -E '^(ok|fail)\|' "$tmp/verdict.txt")
check "the verdicts were computed (every client wrote its results)" \
    bash -c "grep -q '^# takeovers' '$tmp/verdict.txt' || { cat '$tmp/verdict.txt'; exit 1; }"
stats_ok() {
    "$lab" lbctl --name lb1a stats | head -40
    "$lab" lbctl --name lb2a stats | head -30
}
check "the appliances' stats after the run" stats_ok
for n in rp lb1a lb1b lb2a lb2b; do "$lab" lbd stop --name $n; done
done_testing
