# lib.sh: what every lab scenario sources (tests/lab/t_*.sh).
#
# A scenario reads like a reg-test: bring up the lab, start lbd with an inline or
# shipped config, run real clients and servers in the namespaces, and check what they
# see. Each `check` prints "ok - ..." or "not ok - ..." (TAP style; tests/lab/run counts
# them). The lab is torn down on exit, whatever happens, and only processes the lab
# started are stopped.
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
lab=$top/tools/lab
# One prefix per checkout, so that two checkouts' test runs never share a namespace.
export LBD_LAB_PREFIX=${LBD_LAB_PREFIX:-lbdt$(echo "$top" | md5sum | cut -c1-4)}
export LBD_BUILD=${LBD_BUILD:-$top/build}
labrun=/run/lbd-lab/$LBD_LAB_PREFIX
tmp=$(mktemp -d /tmp/lbd-lab-XXXXXX)
n_ok=0
n_fail=0

lab_cleanup() {
    "$lab" down >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap lab_cleanup EXIT
trap 'exit 130' INT TERM

# check DESCRIPTION CMD...: runs CMD; its output is shown only when it fails.
check() {
    local desc=$1
    shift
    if "$@" >"$tmp/check.out" 2>&1; then
        echo "ok - $desc"
        n_ok=$((n_ok + 1))
    else
        echo "not ok - $desc"
        sed 's/^/    # /' "$tmp/check.out" | tail -n 25
        n_fail=$((n_fail + 1))
    fi
}

# Ends the scenario: exit status 1 when any check failed.
done_testing() {
    echo "# $(basename "$0"): $n_ok ok, $n_fail failed"
    ((n_fail == 0))
}

on() { local n=$1; shift; "$lab" exec "$n" "$@"; }
lbctl() { "$lab" lbctl "$@"; }

# json EXPR: evaluates a Python expression on the JSON read from stdin, bound to `r`
# (a reply's "result" when it has one). Prints the value; fails when it is False.
json() {
    python3 -c '
import json, sys
d = json.load(sys.stdin)
r = d.get("result", d) if isinstance(d, dict) else d
v = eval(sys.argv[1], {"r": r, "sum": sum, "len": len, "any": any, "all": all})
print(v)
sys.exit(1 if v is False else 0)' "$1"
}

# stat EXPR: evaluates EXPR on `lbctl --json stats` of lb1.
stat() { lbctl --json stats | json "$1"; }

# wsum KEY / tsum KEY: a worker counter (tsum: a TCP counter) summed over the workers.
wsum() { stat "sum(w['$1'] for w in r['workers'])"; }
tsum() { stat "sum(w['tcp']['$1'] for w in r['workers'])"; }
# tcp_sums KEY...: a dict of those TCP counters, each summed over the workers.
tcp_sums() {
    local k keys=""
    for k in "$@"; do keys+="'$k', "; done
    stat "{k: sum(w['tcp'][k] for w in r['workers']) for k in ($keys)}"
}
# logged_run LABEL CMD...: runs CMD (its output on stdout), then appends
# "# LABEL: output" and the lines the caller's run_notes function prints to $tmp/times,
# and shows them; returns CMD's status.
logged_run() {
    local label=$1 out rc notes
    shift
    out=$("$@" 2>&1)
    rc=$?
    echo "$out"
    notes=$(run_notes | sed 's/^/#   /')
    printf '# %s: %s\n%s\n' "$label" "${out//$'\n'/; }" "$notes" | tee -a "$tmp/times"
    return $rc
}

# wire_loss NAME ADDR PCT [PEER]: random loss on the wire. A bridge-family table NAME in
# the switch namespace (sw, which holds the bridges) drops PCT% of the TCP packets that
# the bridges forward from and to ADDR (with PEER: only those between ADDR and PEER),
# each way on its own; its counters count the drops (`nft list table bridge NAME` in
# sw). PCT 0 deletes the table; the lab's teardown removes it anyway, with the sw
# namespace. Not in the endpoints' own hooks: a segment that a Linux sender's output
# hook drops fails to send and the kernel sends it again at once, so a Linux sender
# would see no loss at all (doc/testing.md, "Loss").
wire_loss() {
    local name=$1 addr=$2 pct=$3 peer=${4:-} sw=$LBD_LAB_PREFIX-sw out in
    [[ $pct =~ ^[0-9]+$ ]] && ((pct <= 100)) || { echo "wire_loss: PCT '$pct' is not 0..100" >&2; return 2; }
    ip netns exec "$sw" nft delete table bridge "$name" 2>/dev/null
    ((pct == 0)) && return 0
    if [[ -n $peer ]]; then
        out="ip saddr $addr ip daddr $peer" in="ip saddr $peer ip daddr $addr"
    else
        out="ip saddr $addr" in="ip daddr $addr"
    fi
    ip netns exec "$sw" nft -f - <<NFT
table bridge $name {
    chain lossy {
        type filter hook forward priority 0; policy accept;
        $out ip protocol tcp numgen random mod 100 < $pct counter drop
        $in ip protocol tcp numgen random mod 100 < $pct counter drop
    }
}
NFT
}
# wire_drops NAME [each]: the packets wire_loss's table NAME has dropped so far; with
# "each", two figures: the packets from ADDR, then those to it.
wire_drops() {
    ip netns exec "$LBD_LAB_PREFIX-sw" nft list table bridge "$1" |
        awk -v each="${2:-}" '/counter packets/ {
                for (i = 1; i < NF; i++) if ($i == "packets") { d[++k] = $(i + 1); n += $(i + 1) } }
            END { if (each != "") print d[1] + 0, d[2] + 0; else print n + 0 }'
}

# expect_true EXPR: fails unless the stats expression holds (for use with check).
expect_stat() { [[ $(stat "$1") == True ]]; }

# Writes a config derived from config/lab.json with Python edits applied to `c`; the
# edits may call lab_servers(port) for the lab's three real servers rs1, rs2 and rs3.
# pmtu_net NAME:ADDR...: a Linux router r1 (192.168.112.254 on br-int, 10.99.0.254) and
# behind it, on a segment of MTU 1200 (bridge br-pm), one host per NAME (namespace
# NAME, address 10.99.0.ADDR). The hosts advertise an MSS of 1460 all the same (advmss
# on their routes), as a host on a 1500-byte LAN behind a narrower link would: what
# lbd sends them at that size is refused by r1 with ICMP fragmentation needed (MTU
# 1200). lbd reaches them through routing.routes 10.99.0.0/24 via 192.168.112.254.
pmtu_net() {
    local p=$LBD_LAB_PREFIX h name addr
    ip netns add "$p-r1" || return 1
    ip netns exec "$p-r1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv4.ip_forward=1 \
        net.ipv4.conf.all.send_redirects=0
    ip -n "$p-r1" link set lo up
    ip -n "$p-sw" link add br-pm type bridge forward_delay 0 stp_state 0
    ip -n "$p-sw" link set br-pm up
    ip -n "$p-sw" link add r1lan type veth peer name eth0 netns "$p-r1"
    ip -n "$p-sw" link set r1lan master br-int up
    ip -n "$p-sw" link add r1pm mtu 1200 type veth peer name eth1 netns "$p-r1"
    ip -n "$p-sw" link set r1pm master br-pm up
    ip netns exec "$p-sw" ethtool -K r1lan tx off rx off tso off gso off gro off >/dev/null 2>&1
    ip netns exec "$p-sw" ethtool -K r1pm tx off rx off tso off gso off gro off >/dev/null 2>&1
    ip netns exec "$p-r1" ethtool -K eth0 tx off rx off tso off gso off gro off >/dev/null 2>&1
    ip netns exec "$p-r1" ethtool -K eth1 tx off rx off tso off gso off gro off >/dev/null 2>&1
    ip -n "$p-r1" addr add 192.168.112.254/24 dev eth0
    ip -n "$p-r1" addr add 10.99.0.254/24 dev eth1
    ip -n "$p-r1" link set eth0 up
    ip -n "$p-r1" link set eth1 mtu 1200 up
    for h in "$@"; do
        name=${h%%:*} addr=10.99.0.${h#*:}
        ip netns add "$p-$name" || return 1
        ip netns exec "$p-$name" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
        ip -n "$p-$name" link set lo up
        ip -n "$p-sw" link add "pm$name" mtu 1200 type veth peer name eth0 netns "$p-$name"
        ip -n "$p-sw" link set "pm$name" master br-pm up
        ip netns exec "$p-sw" ethtool -K "pm$name" tx off rx off tso off gso off gro off \
            >/dev/null 2>&1
        ip netns exec "$p-$name" ethtool -K eth0 tx off rx off tso off gso off gro off \
            >/dev/null 2>&1
        ip -n "$p-$name" link set eth0 mtu 1200 up
        ip -n "$p-$name" addr add "$addr/24" dev eth0
        ip -n "$p-$name" route replace 10.99.0.0/24 dev eth0 proto kernel scope link \
            src "$addr" advmss 1460
        ip -n "$p-$name" route add default via 10.99.0.254 advmss 1460
    done
}

# usage: make_config OUT 'c["appliance"]["idle_sleep_us"] = 50'
make_config() {
    python3 - "$top/config/lab.json" "$1" "$2" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
def lab_servers(port=None, weight=100):
    return [{"label": n, "ip": ip, "port": port, "weight": weight}
            for n, ip in (("rs1", "192.168.112.51"), ("rs2", "192.168.112.52"),
                          ("rs3", "192.168.112.57"))]
exec(sys.argv[3])
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
}

# lab_pki DIR: the lab's certificates, made afresh in DIR. The VIP's, ECDSA P-256 for
# vip.lab (vip.pem, vip.key), also in vip.pfx with legacy encryption (RC2/3DES and a
# SHA-1 MAC, as Windows exports it) under the password in vip.pass (0600); a private CA
# (ca.pem, ca.key) and the certificate it signs for a TLS real server, fe1.lab (fe1.pem,
# fe1.key), as the guide's Front Ends have.
ossl() { openssl "$@" >/dev/null 2>&1; }
lab_pki() {
    local d=$1
    mkdir -p "$d"
    ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=vip.lab \
        -addext subjectAltName=DNS:vip.lab -keyout "$d/vip.key" -out "$d/vip.pem" -days 2 &&
        echo 'correct horse' >"$d/vip.pass" && chmod 600 "$d/vip.pass" &&
        ossl pkcs12 -export -legacy -in "$d/vip.pem" -inkey "$d/vip.key" -out "$d/vip.pfx" \
            -passout file:"$d/vip.pass" &&
        ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=lab-ca \
            -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 &&
        ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=fe1.lab \
            -keyout "$d/fe1.key" -out "$d/fe1.csr" &&
        printf 'subjectAltName=DNS:fe1.lab\n' >"$d/fe1.ext" &&
        ossl x509 -req -in "$d/fe1.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
            -extfile "$d/fe1.ext" -out "$d/fe1.pem" -days 2
}

# https_server NODE DIR LOG: Python's HTTPS server on 443 in namespace NODE serving DIR,
# with the certificate $tmp/cert.pem and key $tmp/key.pem, in the background.
https_server() {
    (cd "$2" && exec "$lab" exec "$1" python3 -c "
import http.server, ssl
s = http.server.HTTPServer(('0.0.0.0', 443), http.server.SimpleHTTPRequestHandler)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
c.load_cert_chain('$tmp/cert.pem', '$tmp/key.pem')
s.socket = c.wrap_socket(s.socket, server_side=True)
s.serve_forever()" >"$3" 2>&1) &
}
