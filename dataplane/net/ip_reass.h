/*
 * ip_reass: reassembly of IPv4 fragments addressed to a Layer 4 VIP, in a bounded
 * per-worker table.
 *
 * Every fragment of a datagram comes from one source, so all of them land on one
 * worker (owner.h: hash of the source for fragments to us, the same as for the
 * client's whole packets to a service) and the table is the worker's own: no locks.
 * Bounds (base/dp_limits.h): DP_REASS_ENTRIES datagrams at once, DP_REASS_FRAGS
 * fragments and DP_REASS_BYTES payload bytes per datagram, DP_REASS_MBUFS fragments
 * held in all, DP_REASS_TIMEOUT_MS from a datagram's first fragment to its last.
 *
 * The rule when full (an attacker's flood of first fragments that never complete):
 * the oldest datagram is evicted to make room (reass_evicted), never the new one
 * refused. All datagrams age alike, so the oldest is the one nearest its timeout and
 * least likely to complete; a flood can only hold each entry for as long as it takes
 * the flood itself to send DP_REASS_ENTRIES (or DP_REASS_MBUFS fragments') worth of
 * new datagrams, while a real datagram, whose fragments travel back to back, completes
 * in far less. Refusing instead would let a flood that fills the table once shut real
 * traffic out for the whole timeout. The buckets are indexed by SipHash-2-4 of the
 * datagram's key (source, destination, identification, protocol) under a key drawn at
 * set-up, so a spoofed flood cannot aim at one bucket either.
 *
 * Refused, the whole datagram dropped (RFC 5722's rule, here for IPv4): a fragment
 * that overlaps another of its datagram (reass_overlap; an exact duplicate is dropped
 * alone, reass_duplicate, as RFC 5722 allows); over the fragment or byte cap, or
 * beyond 65535 bytes (reass_too_big); a last fragment that disagrees with the length
 * known, a non-last one not a multiple of 8 bytes, a first fragment that does not hold
 * the whole TCP or UDP header (RFC 1858's tiny fragments) (reass_invalid).
 *
 * Why not DPDK's rte_ip_frag: its table is allocated up front (good) but keyed with an
 * unkeyed hash (a flood can aim at a bucket), ages entries by TSC cycles instead of
 * the worker's timer wheel (tests could not drive it; expiry is only checked when the
 * bucket is touched, so a stale datagram's mbufs are held until then), has a
 * compile-time fragment limit (RTE_LIBRTE_IP_FRAG_MAX_FRAG) and no byte cap, and does
 * not refuse overlapping fragments. What it does with mbufs (chaining the fragments'
 * data segments) is what is done here too; the chained datagram never goes to a port
 * as it is: it is either fragmented again on the way out (ip_frag.h, each fragment one
 * segment) or, when it fits the MTU, linearized by lcore_tx for a port without
 * multi-segment transmit (rx_csum.h, port.c).
 *
 * Worker only; no allocation after set-up (the table is allocated once; the fragments
 * are the received mbufs, held), no logging: every outcome is a counter.
 */
#ifndef LBD_IP_REASS_H
#define LBD_IP_REASS_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "base/dp_limits.h"
#include "base/lcore_ctx.h"
#include "base/siphash.h"
#include "base/twheel.h"
#include "net/pkt_parse.h"

#define IP_REASS_BUCKETS 512        /* power of two, twice the entries */

/* Counted by the reassembly table (the API names them with a "reass_" prefix); the
 * fragments it drops are drop reasons (reass_*). */
struct ip_reass_stats {
    uint64_t fragments;             /* fragments taken in */
    uint64_t datagrams;             /* datagrams reassembled */
    uint64_t evicted;               /* datagrams evicted for room (table or mbuf cap) */
    uint64_t timeouts;              /* datagrams not complete in time */
    uint64_t refused;               /* datagrams dropped for an invalid, overlapping or
                                       oversized fragment */
};

struct ip_reass_frag {
    struct rte_mbuf *m;
    uint16_t off;                   /* payload offset in the datagram, bytes */
    uint16_t len;                   /* payload bytes */
};

struct ip_reass_entry {
    struct twheel_timer timer;
    struct ip_reass *r;
    struct ip_reass_entry *hnext;   /* bucket chain */
    struct ip_reass_entry **hpprev;
    struct ip_reass_entry *older;   /* age list (oldest first) */
    struct ip_reass_entry *newer;
    uint32_t src_ip;
    uint32_t dst_ip;
    uint16_t id;
    uint8_t proto;
    uint8_t n;                      /* fragments held, sorted by offset */
    uint32_t total;                 /* payload length, once the last fragment came; 0 */
    uint32_t bytes;                 /* payload bytes held */
    struct ip_reass_frag f[DP_REASS_FRAGS];
};

struct ip_reass {
    struct lcore_ctx *lc;
    struct ip_reass_stats *stats;
    struct siphash_key key;
    uint32_t n_entries;
    uint32_t n_mbufs;               /* fragments held */
    struct ip_reass_entry *oldest;
    struct ip_reass_entry *newest;
    struct ip_reass_entry *free;    /* through hnext */
    struct ip_reass_entry *entries; /* DP_REASS_ENTRIES */
    struct ip_reass_entry *buckets[IP_REASS_BUCKETS];
};

/*
 * Set-up: the table (on NUMA socket `socket`) on lc's wheel, counting into stats,
 * its hash key from the kernel. Returns 0, LBD_ENOMEM or LBD_EIO (no random key).
 */
int ip_reass_init(struct ip_reass *r, struct lcore_ctx *lc, struct ip_reass_stats *stats,
                  int socket);

/* Frees every held fragment and the table (timers cancelled). */
void ip_reass_free(struct ip_reass *r);

/*
 * m: a received fragment (one segment) parsed into *pi (is_fragment), addressed to a
 * VIP; takes ownership. Returns NULL when m was held (or dropped and counted), or the
 * datagram m completed: its fragments chained behind the first one's headers (data at
 * the frame, Ethernet header included), its IPv4 header rewritten whole (no MF, offset
 * 0, total length, checksum), *pi filled for it as pkt_parse would (the L4 header is
 * in the first segment).
 */
struct rte_mbuf *ip_reass_input(struct ip_reass *r, struct rte_mbuf *m, struct pkt_info *pi);

#endif
