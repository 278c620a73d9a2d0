#!/usr/bin/env bash
# Packet capture with DPDK's dpdk-dumpcap, a secondary process attached to the running
# lbd (pdump framework). Under --no-huge (the lab's usual memory) lbd says capture is
# unavailable and an attempt leaves it running. With hugepages, pings of the VIP are
# captured from port 0 into a pcapng file that tcpdump reads: the requests and lbd's
# replies, in both directions; lbd keeps answering after the capture ends.
#
# Hugepages: the scenario reserves 512 pages of 2 MB for its own run and mounts a
# hugetlbfs in a mount namespace of its own (so other appliances on the host, which look
# for a mount, keep running without hugepages), and gives the pages back at the end.
if [[ -z ${LBD_CAPTURE_NS:-} ]]; then
    LBD_CAPTURE_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"

nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
nr_before=
restore() {
    "$lab" down >/dev/null 2>&1
    mountpoint -q "$tmp/huge" && umount "$tmp/huge"
    [[ -n $nr_before ]] && echo "$nr_before" >"$nr" 2>/dev/null
    lab_cleanup
}
trap restore EXIT

"$lab" up >/dev/null || exit 1
prefix=$LBD_LAB_PREFIX-lb1
vip=192.168.112.110

# --- Without hugepages.
check "lbd starts under --no-huge (no hugetlbfs in this mount namespace yet)" \
    "$lab" lbd start --workers 1
check "... and says capture is unavailable, and why" \
    grep -q 'packet capture (dpdk-dumpcap) unavailable: the EAL runs without hugepages' \
    "$labrun/lb1.log"
no_attach() {
    timeout 20 dpdk-dumpcap --file-prefix="$prefix" -i 0 -w "$tmp/none.pcapng" -a duration:1
    echo "dpdk-dumpcap exit $?"
    "$lab" lbd pid && on c1 ping -c 1 -W 1 $vip
}
check "dpdk-dumpcap cannot attach; lbd goes on answering pings" no_attach
"$lab" lbd stop >/dev/null

# --- With hugepages.
hugepages() {
    nr_before=$(cat "$nr") || return 1
    echo $((nr_before + 512)) >"$nr" || return 1
    local free
    free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
    echo "HugePages_Free $free"
    ((free >= 512)) || return 1
    mkdir -p "$tmp/huge" && mount -t hugetlbfs -o pagesize=2M none "$tmp/huge"
}
check "512 hugepages of 2 MB reserved, hugetlbfs mounted in this mount namespace" hugepages
check "lbd starts on hugepages" "$lab" lbd start --workers 1
check "... and says capture is ready" \
    grep -q "packet capture ready: dpdk-dumpcap --file-prefix=$prefix" "$labrun/lb1.log"
on c1 ping -c 10 -i 0.3 -W 1 $vip >"$tmp/ping.out" 2>&1 &
ping_pid=$!
sleep 0.2
timeout 30 dpdk-dumpcap --file-prefix="$prefix" -i 0 -w "$tmp/cap.pcapng" -a duration:4 \
    >"$tmp/dumpcap.out" 2>&1
echo "dumpcap exit $?" >>"$tmp/dumpcap.out"
wait "$ping_pid"
check "dpdk-dumpcap captured port 0 for 4 s" \
    bash -c "cat '$tmp/dumpcap.out'; grep -q 'dumpcap exit 0' '$tmp/dumpcap.out' && [[ -s '$tmp/cap.pcapng' ]]"
pcap_has_pings() {
    local req rep
    tcpdump -nr "$tmp/cap.pcapng" >"$tmp/cap.txt" 2>&1
    head -5 "$tmp/cap.txt"
    req=$(grep -c "192.168.112.20 > $vip: ICMP echo request" "$tmp/cap.txt")
    rep=$(grep -c "$vip > 192.168.112.20: ICMP echo reply" "$tmp/cap.txt")
    echo "echo requests $req, replies $rep"
    ((req >= 5 && rep >= 5))
}
check "tcpdump -r reads the pings to the VIP and lbd's replies from the capture" pcap_has_pings
check "lbd answers pings after the capture ended" on c1 ping -c 2 -i 0.2 -W 1 $vip
check "lbd is still running" "$lab" lbd pid
done_testing
