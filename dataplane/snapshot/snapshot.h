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

#include "base/dp_limits.h"
#include "base/siphash.h"
#include "config.h"
#include "snapshot/route.h"

#define SNAP_MAX_PORTS DP_MAX_PORTS
/* Real-server counter indexes: service slot * CFG_MAX_RS + real-server slot. */
#define SNAP_RS_IDS (CFG_MAX_VS * CFG_MAX_RS)
_Static_assert(SNAP_RS_IDS <= 65536, "counter indexes are uint16_t");

enum snap_addr_kind {
    SNAP_ADDR_SELF = ROUTE_LOCAL_SELF,
    SNAP_ADDR_VIP = ROUTE_LOCAL_VIP,
    SNAP_ADDR_FLOATING = ROUTE_LOCAL_FLOATING,  /* moves with the HA master */
};

/*
 * Key of the address table: (ip, 0, 0) is an address entry, (ip, proto, port) a service,
 * (ip, SNAP_KEY_L4_RS, 0) the address of a Layer 4 service's real server.
 * 16 bytes, not 8: rte_hash compares 16-byte keys with SSE, shorter ones with memcmp.
 */
#define SNAP_KEY_L4_RS 255      /* IPPROTO_RAW: no service has it */
struct snap_key {
    uint32_t ip;
    uint16_t port;
    uint8_t proto;
    uint8_t pad;
    uint32_t pad2[2];
};

/*
 * A real server. Its identity comes from the control core (control/reconfig.c): id is
 * unique for the daemon's life and idx (from the service's and its own slot) stays
 * the same for as long as its label exists, so connections and persistence entries,
 * which hold both, survive any reconfig; per-worker counters are indexed by idx, and
 * an entry whose idx now names another server (same slot, other id) knows it.
 */
struct snap_rs {
    uint32_t id;
    uint16_t idx;           /* < SNAP_RS_IDS */
    uint16_t vs;            /* index of its service in this snapshot */
    uint32_t ip;            /* network order */
    uint16_t port;          /* host order; 0 = the port the client used */
    uint16_t weight;
    uint8_t state;          /* enum cfg_rs_state */
    uint8_t down;           /* failed its health check (control/health.c) */
    uint32_t max_conns;     /* whole appliance; 0 = no limit */
    struct tls_backend *tls;    /* layer 7: re-encrypt with this (the config's), or NULL */
    uint64_t cookie_id;     /* HTTP cookie persistence: keyed hash of the server's identity
                               (service label, label, address, port) under
                               snapshot.cookie_key; reveals no address */
    char label[CFG_LABEL_MAX];
};

struct snap_vs {
    uint32_t ip;
    uint16_t slot;          /* per-worker service counters; stable by label; persistence key */
    uint8_t layer;
    uint8_t protocol;       /* IPPROTO_TCP / IPPROTO_UDP */
    uint8_t mode;           /* enum cfg_mode */
    uint8_t scheduler;      /* enum cfg_sched */
    uint8_t persist;        /* 1 = source-IP persistence */
    uint8_t log;            /* layer 7: the traffic log (proxy_log.h) */
    uint32_t persist_timeout_ms;
    uint32_t n_rs;
    struct snap_rs *rs;     /* into snapshot.rs */
    uint16_t *maglev;       /* MAGLEV_SIZE entries (sh, maglev), else NULL */
    struct snap_maglev *maglev_tab; /* what maglev points into: shared with the snapshots
                                       whose service has the same servers and weights */
    uint32_t source_address;    /* layer 7: source of backend connections (SNAT) */
    struct tls_svc *tls;        /* layer 7: terminate TLS with this (the config's), or NULL */
    uint16_t n_ports;
    uint16_t ports[CFG_MAX_VS_PORTS];   /* host order, as in the config */
    uint8_t check_http;     /* health check is http: */
    uint16_t http_expect;   /*   the status expected */
    char http_path[CFG_HTTP_PATH_MAX];
    /* Layer 7 HTTP mode (mode == CFG_MODE_HTTP) */
    uint8_t cookie;         /* 1 = http_cookie persistence */
    uint8_t xff;            /* add X-Forwarded-For */
    uint8_t cookie_name_len;
    char cookie_name[CFG_LABEL_MAX];
    uint32_t cookie_max_idle_s; /* 0 = no limit */
    uint32_t cookie_max_life_s; /* 0 = no limit */
    uint32_t max_header_bytes;
    uint32_t http_request_ms;
    char label[CFG_LABEL_MAX];
};

/* Layer 4 connection timeouts (ms) and limits (config "layer4"). */
struct snap_l4 {
    uint32_t tcp_handshake_ms;
    uint32_t tcp_established_ms;
    uint32_t tcp_closing_ms;
    uint32_t udp_ms;
    uint32_t max_conns_per_worker;
    uint32_t max_half_open;         /* per worker: TCP entries in the handshake */
    bool tcp_midstream;             /* a TCP packet without SYN may create an entry */
    uint8_t syn_proxy;              /* enum cfg_syn_proxy (l4/synproxy.h) */
};

/* Layer 7 timeouts, ms (config "layer7"). */
struct snap_l7 {
    uint32_t connect_ms;
    uint32_t client_idle_ms;
    uint32_t server_idle_ms;
    uint8_t cc;                         /* enum tcp_cc of the proxy's connections */
};

struct snap_port {
    bool configured;
    uint32_t self_ip;
    uint32_t net;           /* self_ip & mask */
    uint8_t prefix_len;
    uint32_t gateway;
};

struct snapshot {
    struct rte_hash *table; /* snap_key -> (kind << 32 | vs index) */
    uint32_t n_vs;
    struct snap_vs *vs;
    bool forward;
    uint64_t generation;
    struct snap_port ports[SNAP_MAX_PORTS];
    uint32_t n_rs;
    struct snap_rs *rs;
    const struct snap_rs **rs_by_idx;   /* SNAP_RS_IDS entries; NULL = no such server */
    struct snap_l4 l4;
    struct snap_l7 l7;
    struct siphash_key cookie_key;      /* lbd_config.cookie_key */
    struct route_table *routes;         /* rte_lpm: connected, routing.routes, gateway */
    /* The HA pair (config "ha"; control/ha.c). ha_standby and ha_sync are set by the
     * dataplane as it publishes (dp_publish), from the control core's election. */
    bool ha_enabled;
    bool ha_standby;                    /* not master: VIPs and floating addresses are
                                           the peer's; their traffic is dropped */
    bool ha_sync;                       /* master with a peer: Layer 4 changes are
                                           streamed (l4/l4_sync.h) */
    uint32_t ha_peer;                   /* the peer's self IP (network order) */
    /* How this snapshot came by its Maglev tables (sh and maglev services). */
    uint32_t maglev_built;              /* computed for this snapshot */
    uint32_t maglev_reused;             /* taken from the previous snapshot unchanged */
    bool routes_reused;                 /* routes: the previous snapshot's table, shared */
};

/*
 * Builds a snapshot from a validated config whose identities (slots, ids) are
 * assigned (reconfig_assign_ids). Control core only. Returns NULL and fills err on
 * failure (allocation, a config naming a port beyond SNAP_MAX_PORTS, a next hop off
 * every connected subnet).
 */
struct snapshot *snapshot_build(const struct lbd_config *cfg, uint64_t generation,
                                char *err, size_t errlen);

/*
 * The same, taking from prev (the published snapshot, or NULL) its route table when
 * no address or route changed (route.h), and every Maglev table whose inputs have not
 * changed: the same servers, in the same order, with the same
 * effective weights (online and healthy, else 0). A health flap or a reconfig then
 * computes the tables of the services it touched only, not all of them (a table is
 * 65,537 entries, 1-2 ms of the control core each: 256 sh/maglev services took about
 * half a second per flap). The table is
 * shared, not copied, and freed with the last snapshot that holds it; prev is not
 * otherwise touched and may be freed before or after the result. Control core only.
 */
struct snapshot *snapshot_rebuild(const struct lbd_config *cfg, const struct snapshot *prev,
                                  uint64_t generation, char *err, size_t errlen);

void snapshot_free(struct snapshot *s);

/*
 * Kind of address (SNAP_ADDR_*) or 0 when ip is not ours. Any core. Our addresses
 * are /32s of the route table's rte_lpm, not keys of the hash: every packet asks,
 * most answers are "no", and an LPM look-up costs a fraction of a hash look-up.
 */
static inline int snapshot_addr_kind(const struct snapshot *s, uint32_t ip)
{
    return route_local(s->routes, ip);
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

/* Whether ip (network order) is a real server's of a Layer 4 service. Any core. */
static inline bool snapshot_is_l4_rs(const struct snapshot *s, uint32_t ip)
{
    struct snap_key k = {.ip = ip, .proto = SNAP_KEY_L4_RS};

    return rte_hash_lookup(s->table, &k) >= 0;
}

/*
 * Any core. Next hop and output port towards dst (network order): 0, or LBD_ENOENT
 * when no route covers it. next_hop = dst for a connected subnet.
 */
static inline int snapshot_route(const struct snapshot *s, uint32_t dst, uint32_t *next_hop,
                                 uint16_t *port)
{
    return route_lookup(s->routes, dst, next_hop, port);
}

/* The real server (idx, id), or NULL when it is no longer in the config. Any core. */
static inline const struct snap_rs *snapshot_rs(const struct snapshot *s, uint16_t idx,
                                                uint32_t id)
{
    const struct snap_rs *rs = s->rs_by_idx[idx];

    return rs != NULL && rs->id == id ? rs : NULL;
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

#endif
