# peers.sh: what the lab's peers run and how their links are counted, sourced by the lab
# tests (tests/lab/t_*.sh) and tools/bench, so that a test's figure and the benchmark's
# come from the same server and the same count.

# answer_server_cfg NAME PORT [TIMEOUT_S] [MAXCONN]: an HAProxy configuration (on stdout)
# that answers every HTTP request on PORT itself, 200 and "NAME ok" in one segment, with
# no backend: a real server fast enough that the proxy in front of it is what is
# measured. TIMEOUT_S (30) is the client, server and keep-alive timeout; MAXCONN, when
# given, HAProxy's global maxconn.
answer_server_cfg() {
    local name=$1 port=$2 tmo=${3:-30} maxconn=${4:-}
    printf '%s\n' global '    nbthread 1'
    if [[ -n $maxconn ]]; then printf '    maxconn %s\n' "$maxconn"; fi
    printf '%s\n' defaults '    mode http' "    timeout client ${tmo}s" \
        "    timeout server ${tmo}s" '    timeout connect 5s' \
        "    timeout http-keep-alive ${tmo}s" frontend\ www "    bind :$port" \
        "    http-request return status 200 content-type text/plain string \"$name ok\""
}

# dev_packets: reads /proc/net/dev (of a namespace) on stdin, prints the packets its
# interfaces other than lo received and sent together.
dev_packets() {
    awk -F'[: ]+' 'NR > 2 && $2 != "lo" { t += $4 + $12 } END { print t + 0 }'
}
