/*
 * snapshot: the immutable view of the config that workers read.
 *
 * Built by the control core from an lbd_config, published with an atomic pointer
 * swap (dataplane.h) and freed after an RCU grace period. Workers never write it.
 * The address table answers, per packet, "is this one of our addresses, and is this
 * (address, protocol, port) a virtual service?" with one rte_hash look-up each.
 */
#ifndef LBD_SNAPSHOT_H
#define LBD_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_hash.h>

#include "config.h"

#define SNAP_MAX_PORTS 32

enum snap_addr_kind { SNAP_ADDR_SELF = 1, SNAP_ADDR_VIP = 2 };

/* Key of the address table: (ip, 0, 0) is an address entry, (ip, proto, port) a service. */
struct snap_key {
    uint32_t ip;
    uint16_t port;
    uint8_t proto;
    uint8_t pad;
};

struct snap_vs {
    uint32_t ip;
    uint16_t slot;          /* index into per-worker service counters */
    uint8_t layer;
    uint8_t protocol;       /* IPPROTO_TCP / IPPROTO_UDP */
    uint8_t mode;           /* enum cfg_mode */
    char label[CFG_LABEL_MAX];
};

struct snap_port {
    bool configured;
    uint32_t self_ip;
    uint32_t net;           /* self_ip & mask */
    uint8_t prefix_len;
    uint32_t gateway;
};

/* A static route (routing.routes), or the default route of a port's gateway. */
struct snap_route {
    uint32_t net;           /* network order, host bits zero */
    uint32_t mask;
    uint32_t via;
    uint16_t port;          /* the port whose subnet holds via */
};

struct snapshot {
    struct rte_hash *table; /* snap_key -> (kind << 32 | vs index) */
    uint32_t n_routes;
    struct snap_route *routes;  /* longest prefix first; the defaults last */
    uint32_t n_vs;
    struct snap_vs *vs;
    bool forward;
    uint64_t generation;
    struct snap_port ports[SNAP_MAX_PORTS];
};

/*
 * Builds a snapshot from a validated config. Control core only. Returns NULL and fills
 * err on failure (allocation, or a config naming a port beyond SNAP_MAX_PORTS).
 */
struct snapshot *snapshot_build(const struct lbd_config *cfg, uint64_t generation,
                                char *err, size_t errlen);

void snapshot_free(struct snapshot *s);

/* Kind of address (SNAP_ADDR_*) or 0 when ip is not ours. Any core. */
static inline int snapshot_addr_kind(const struct snapshot *s, uint32_t ip)
{
    struct snap_key k = {.ip = ip};
    void *data;

    if (rte_hash_lookup_data(s->table, &k, &data) < 0)
        return 0;
    return (int)((uintptr_t)data >> 32);
}

/* The virtual service at (ip, proto, port), or NULL. Any core. */
static inline const struct snap_vs *snapshot_service(const struct snapshot *s, uint32_t ip,
                                                     uint8_t proto, uint16_t port)
{
    struct snap_key k = {.ip = ip, .port = port, .proto = proto};
    void *data;

    if (rte_hash_lookup_data(s->table, &k, &data) < 0)
        return NULL;
    return &s->vs[(uint32_t)(uintptr_t)data];
}

/* True when ip is on the connected subnet of port. */
static inline bool snapshot_on_link(const struct snapshot *s, uint16_t port, uint32_t ip)
{
    const struct snap_port *p;
    uint32_t mask;

    if (port >= SNAP_MAX_PORTS || !s->ports[port].configured)
        return false;
    p = &s->ports[port];
    mask = p->prefix_len ? rte_cpu_to_be_32(~0u << (32 - p->prefix_len)) : 0;
    return (ip & mask) == p->net;
}

/*
 * The next hop and port for dst: dst itself on a connected subnet, else the first
 * (longest) matching route. Returns 0, or LBD_ENOENT when nothing matches. Any core.
 */
int snapshot_route(const struct snapshot *s, uint32_t dst, uint32_t *next_hop, uint16_t *port);

#endif
