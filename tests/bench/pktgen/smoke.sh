#!/usr/bin/env bash
# pktgen-dpdk against lbd over two net_memif pairs (no kernel, no namespaces): the smoke
# run of the benchmark (tools/bench pktgen smoke, tests/bench/pktgen/run). A few
# thousand packets: 4,000 UDP packets to a Layer 4 VIP whose real server is pktgen's
# second port come back there, lbd counts them forwarded and makes the 1,024
# connections; 1,000 routed packets come back too, and lbd answers 1,000 ICMP echo
# requests and 1,000 ARP requests. It checks the plumbing, not speed.
# The run reserves its hugepages (1,536 of 2 MB) in a mount namespace of its own and
# gives them back, and stops pktgen and lbd, also when it fails; pktgen is built from
# the vendored source by tools/test beforehand (or PKTGEN names an installed one).
source "$(dirname "$0")/../../lab/lib.sh"

LBD_PKTGEN_HUGEPAGES=${LBD_PKTGEN_HUGEPAGES:-1536} "$top/tests/bench/pktgen/run" smoke \
    >"$tmp/smoke.out" 2>&1
rc=$?
grep -v '^\(ok\|not ok\) - ' "$tmp/smoke.out" | sed 's/^#* \{0,1\}/# /'
while read -r line; do
    case $line in
    "ok - "*) echo "$line"; n_ok=$((n_ok + 1)) ;;
    "not ok - "*) echo "$line"; n_fail=$((n_fail + 1)) ;;
    esac
done <"$tmp/smoke.out"
check "the smoke run exited 0 (rc $rc) with its seven checks" test "$rc" = 0 -a "$n_ok" = 7
check "no hugetlbfs mount of the run left" bash -c '! grep -q "lbd-pktgen-" /proc/mounts'
check "no pktgen process of the run left" bash -c '! pgrep -f "file-prefix lbdpg[0-9]*-pg" >/dev/null'
done_testing
