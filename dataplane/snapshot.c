#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "addr.h"
#include "err.h"

static int table_add(struct rte_hash *h, uint32_t ip, uint8_t proto, uint16_t port,
                     uint64_t value)
{
    struct snap_key k = {.ip = ip, .port = port, .proto = proto};
    return rte_hash_add_key_data(h, &k, (void *)(uintptr_t)value);
}

static uint64_t entry(int kind, uint32_t index)
{
    return ((uint64_t)kind << 32) | index;
}

/* The port whose connected subnet holds ip, or -1. */
static int snap_port_for(const struct snapshot *s, uint32_t ip)
{
    for (uint16_t p = 0; p < SNAP_MAX_PORTS; p++)
        if (snapshot_on_link(s, p, ip))
            return p;
    return -1;
}

static int route_cmp(const void *a, const void *b)
{
    uint32_t ma = rte_be_to_cpu_32(((const struct snap_route *)a)->mask);
    uint32_t mb = rte_be_to_cpu_32(((const struct snap_route *)b)->mask);
    return ma < mb ? 1 : ma > mb ? -1 : 0;
}

/* Routes from routing.routes and the interfaces' gateways, longest prefix first. */
static int snap_build_routes(struct snapshot *s, const struct lbd_config *cfg, char *err,
                             size_t errlen)
{
    size_t n = 0;

    s->routes = calloc(cfg->routing.n_routes + cfg->n_interfaces + 1, sizeof(*s->routes));
    if (s->routes == NULL)
        return lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory building routes");
    for (size_t i = 0; i < cfg->routing.n_routes; i++) {
        const struct cfg_route *r = &cfg->routing.routes[i];
        int port = snap_port_for(s, r->via);
        if (port < 0)
            return lbd_err_set(err, errlen, LBD_EINVAL,
                               "routing.routes[%zu].via: not on a connected subnet", i);
        s->routes[n++] = (struct snap_route){.net = r->prefix, .mask = addr_mask(r->len),
                                             .via = r->via, .port = (uint16_t)port};
    }
    for (size_t i = 0; i < cfg->n_interfaces; i++) {
        const struct cfg_interface *ifc = &cfg->interfaces[i];
        if (ifc->gateway == 0)
            continue;
        s->routes[n++] = (struct snap_route){.via = ifc->gateway, .port = ifc->port};
    }
    qsort(s->routes, n, sizeof(*s->routes), route_cmp);
    s->n_routes = (uint32_t)n;
    return 0;
}

int snapshot_route(const struct snapshot *s, uint32_t dst, uint32_t *next_hop, uint16_t *port)
{
    int p = snap_port_for(s, dst);

    if (p >= 0) {
        *next_hop = dst;
        *port = (uint16_t)p;
        return 0;
    }
    for (uint32_t i = 0; i < s->n_routes; i++) {
        if ((dst & s->routes[i].mask) == s->routes[i].net) {
            *next_hop = s->routes[i].via;
            *port = s->routes[i].port;
            return 0;
        }
    }
    return LBD_ENOENT;
}

struct snapshot *snapshot_build(const struct lbd_config *cfg, uint64_t generation,
                                char *err, size_t errlen)
{
    struct snapshot *s;
    struct rte_hash_parameters hp = {0};
    char name[RTE_HASH_NAMESIZE];
    size_t entries = 16;

    for (size_t i = 0; i < cfg->n_virtual_services; i++)
        entries += cfg->virtual_services[i].n_ports + 1;
    entries += cfg->n_interfaces;

    s = calloc(1, sizeof(*s));
    if (s == NULL)
        goto err_nomem;
    s->generation = generation;
    s->forward = cfg->routing.forward;
    s->n_vs = (uint32_t)cfg->n_virtual_services;
    s->vs = calloc(s->n_vs ? s->n_vs : 1, sizeof(*s->vs));
    if (s->vs == NULL)
        goto err_nomem;

    snprintf(name, sizeof(name), "snap%llu", (unsigned long long)generation);
    hp.name = name;
    hp.entries = (uint32_t)(entries * 2 < 64 ? 64 : entries * 2);
    hp.key_len = sizeof(struct snap_key);
    hp.hash_func = rte_hash_crc;
    hp.socket_id = (int)rte_socket_id();
    s->table = rte_hash_create(&hp);
    if (s->table == NULL) {
        lbd_err_set(err, errlen, LBD_ENOMEM, "address table: %s", rte_strerror(rte_errno));
        goto err_free;
    }

    for (size_t i = 0; i < cfg->n_interfaces; i++) {
        const struct cfg_interface *ifc = &cfg->interfaces[i];
        struct snap_port *p;
        if (ifc->port >= SNAP_MAX_PORTS) {
            lbd_err_set(err, errlen, LBD_ERANGE, "interfaces[%zu].port: at most %d ports",
                        i, SNAP_MAX_PORTS);
            goto err_free;
        }
        p = &s->ports[ifc->port];
        p->configured = true;
        p->self_ip = ifc->ip;
        p->prefix_len = ifc->prefix_len;
        p->net = ifc->ip & addr_mask(ifc->prefix_len);
        p->gateway = ifc->gateway;
        if (table_add(s->table, ifc->ip, 0, 0, entry(SNAP_ADDR_SELF, 0)) < 0)
            goto err_table;
    }

    if (snap_build_routes(s, cfg, err, errlen) != 0)
        goto err_free;

    for (size_t i = 0; i < cfg->n_virtual_services; i++) {
        const struct cfg_vs *v = &cfg->virtual_services[i];
        struct snap_vs *sv = &s->vs[i];
        sv->ip = v->ip;
        sv->slot = v->slot;
        sv->layer = v->layer;
        sv->protocol = v->protocol == CFG_PROTO_UDP ? IPPROTO_UDP : IPPROTO_TCP;
        sv->mode = (uint8_t)v->mode;
        snprintf(sv->label, sizeof(sv->label), "%s", v->label);
        /* Several services may share a VIP: the address entry is added once. */
        if (table_add(s->table, v->ip, 0, 0, entry(SNAP_ADDR_VIP, 0)) < 0)
            goto err_table;
        for (size_t p = 0; p < v->n_ports; p++)
            if (table_add(s->table, v->ip, sv->protocol, v->ports[p],
                          entry(SNAP_ADDR_VIP, (uint32_t)i)) < 0)
                goto err_table;
    }
    return s;

err_table:
    lbd_err_set(err, errlen, LBD_ENOMEM, "address table full");
    goto err_free;
err_nomem:
    lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory building the snapshot");
err_free:
    snapshot_free(s);
    return NULL;
}

void snapshot_free(struct snapshot *s)
{
    if (s == NULL)
        return;
    rte_hash_free(s->table);
    free(s->routes);
    free(s->vs);
    free(s);
}
