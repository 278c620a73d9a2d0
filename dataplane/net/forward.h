/*
 * forward: IPv4 routing of the packets that are neither for us nor Layer 4 NAT
 * answers (DESIGN.md section 2): real servers whose default gateway is the
 * appliance reach clients and the world through it. TTL decrement with an
 * incremental checksum update, ICMP time exceeded to the sender when the TTL runs
 * out, output by the snapshot's routes (ip_out). Fragments are forwarded as they
 * are: routing needs no L4 header. A packet whose port left its L4 checksum partial
 * (virtio-net, rx_csum.h) leaves with the full checksum, or is dropped as
 * partial_checksum when that cannot be computed (a fragment).
 *
 * Worker only, hot path: no allocation but the mbuf of an ICMP error.
 */
#ifndef LBD_FORWARD_H
#define LBD_FORWARD_H

#include <rte_mbuf.h>

#include "base/lcore_ctx.h"
#include "net/ip_out.h"
#include "net/pkt_parse.h"
#include "snapshot/snapshot.h"

#define FORWARD_ICMP_TTL 64
#define FORWARD_ICMP_TIME_EXCEEDED 11

/* Counted by forward. */
struct forward_stats {
    uint64_t forwarded;             /* routed (not for us, not a Layer 4 answer) */
    uint64_t icmp_errors_sent;      /* time exceeded */
};

struct forward {
    struct lcore_ctx *lc;
    struct ip_out *io;              /* where routed packets and ICMP errors leave */
    struct forward_stats *stats;
};

/* Set-up. */
void forward_init(struct forward *fw, struct lcore_ctx *lc, struct ip_out *io,
                  struct forward_stats *stats);

/*
 * Routes m (an IPv4 packet parsed into *pi, not addressed to us). Takes ownership:
 * sent, answered with ICMP time exceeded, or dropped and counted (not_ours when
 * routing is off or the packet is broadcast or multicast).
 */
void forward_packet(struct forward *fw, const struct snapshot *s, struct rte_mbuf *m,
                    const struct pkt_info *pi);

/*
 * m arrived on m->port with a TTL that ran out: sends ICMP time exceeded (type 11,
 * code 0) from that port's self IP to m's source, quoting m's IP header and the first
 * 8 bytes after it, unless m is itself an ICMP error or a non-first fragment (RFC
 * 1812 4.3.2.7). Frees m, counted as ttl_exceeded.
 */
void forward_time_exceeded(struct forward *fw, const struct snapshot *s, struct rte_mbuf *m,
                           const struct pkt_info *pi);

#endif
