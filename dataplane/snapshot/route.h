/*
 * route: the IPv4 route table of a snapshot (DPDK rte_lpm).
 *
 * Built by the control core from the config: the connected subnet of every interface,
 * routing.routes, and a default route through the first interface gateway (unless the
 * routes give 0.0.0.0/0 themselves). Connected subnets win over a route to the same
 * prefix. Immutable once built; workers look it up lock-free through the snapshot.
 * rte_lpm cannot hold a /0, so the default route sits beside it.
 *
 * Our own addresses (self IPs, VIPs) are /32 entries of the same LPM marked local,
 * so that one cheap look-up tells "ours?" (route_local) for every packet. Nothing is
 * routed to them.
 */
#ifndef LBD_ROUTE_H
#define LBD_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_lpm.h>

#include "config.h"
#include "err.h"

/* Kinds of local address; the same values as snapshot.h's SNAP_ADDR_*. */
#define ROUTE_LOCAL_SELF 1
#define ROUTE_LOCAL_VIP 2
#define ROUTE_LOCAL_FLOATING 3    /* ha.floating_ips: answered like self IPs by the master */

struct route_hop {
    uint32_t gateway;       /* network order; 0 = connected: the destination itself */
    uint16_t port;
    uint8_t local;          /* non-zero: one of our addresses, of this kind (SNAP_ADDR_*) */
};

/* One prefix as the config gives it (what a table is built from). */
struct route_entry {
    uint32_t prefix;        /* network order, masked */
    uint8_t len;            /* 0: the default route */
    struct route_hop hop;
};

struct route_table {
    struct rte_lpm *lpm;    /* host-order prefixes -> index into hops */
    bool has_default;
    struct route_hop default_hop;
    uint32_t refs;          /* snapshots holding it (control core only) */
    uint32_t n_hops;
    struct route_entry *entries;    /* n_hops: what it was built from, in order */
    struct route_hop hops[];
};

/*
 * Control core. The table for cfg; name must be unique among live tables (the
 * snapshot generation goes into it). When prev (a live table, or NULL) was built from
 * the same prefixes in the same order, prev itself is returned with one more
 * reference (*shared set): an rte_lpm is 64 MB of EAL memory and takes milliseconds to
 * fill, and a health change or most edits change no address. Returns NULL with err
 * filled when a next hop is not on a connected subnet or on allocation failure.
 */
struct route_table *route_build(const struct lbd_config *cfg, struct route_table *prev,
                                const char *name, bool *shared, char *err, size_t errlen);

/* Drops one reference; the last frees the table. */
void route_free(struct route_table *rt);

/* Any core. The kind of local address ip is (route_hop.local), or 0. */
static inline int route_local(const struct route_table *rt, uint32_t ip)
{
    uint32_t idx;

    if (rte_lpm_lookup(rt->lpm, rte_be_to_cpu_32(ip), &idx) != 0)
        return 0;
    return rt->hops[idx].local;
}

/*
 * Any core. Next hop and output port for dst (network order): 0, or LBD_ENOENT when no
 * route covers dst (or dst is one of our addresses). For a connected destination
 * *next_hop is dst.
 */
static inline int route_lookup(const struct route_table *rt, uint32_t dst, uint32_t *next_hop,
                               uint16_t *port)
{
    const struct route_hop *h;
    uint32_t idx;

    if (rte_lpm_lookup(rt->lpm, rte_be_to_cpu_32(dst), &idx) == 0) {
        h = &rt->hops[idx];
        if (unlikely(h->local))
            return LBD_ENOENT;
    } else if (rt->has_default)
        h = &rt->default_hop;
    else
        return LBD_ENOENT;
    *next_hop = h->gateway != 0 ? h->gateway : dst;
    *port = h->port;
    return 0;
}

#endif
