/*
 * route: building the snapshot's route table (control core only).
 */
#include "snapshot/route.h"

#include <stdlib.h>

#include <rte_errno.h>
#include <rte_lcore.h>

#include "addr.h"

/* The port whose connected subnet holds ip, or -1. */
static int route_port_for(const struct lbd_config *cfg, uint32_t ip)
{
    for (size_t i = 0; i < cfg->n_interfaces; i++) {
        const struct cfg_interface *ifc = &cfg->interfaces[i];
        if (addr_in_prefix(ip, ifc->ip & addr_mask(ifc->prefix_len), ifc->prefix_len))
            return ifc->port;
    }
    return -1;
}

/* Appends a prefix to the plan e[0..*n) (room for it is the caller's). */
static void plan_add(struct route_entry *e, uint32_t *n, uint32_t prefix, uint8_t len,
                     uint32_t gw, uint16_t port, uint8_t local)
{
    e[*n] = (struct route_entry){.prefix = prefix, .len = len,
                                 .hop = {.gateway = gw, .port = port, .local = local}};
    (*n)++;
}

/* The prefixes of cfg, in the order they go in: 0 or LBD_EINVAL with err filled. */
static int route_plan(const struct lbd_config *cfg, struct route_entry *e, uint32_t *n,
                      char *err, size_t errlen)
{
    bool has_default = false;

    *n = 0;
    /* Routes first, connected subnets last: a connected prefix overrides a route. */
    for (size_t i = 0; i < cfg->routing.n_routes; i++) {
        const struct cfg_route *r = &cfg->routing.routes[i];
        int port = route_port_for(cfg, r->via);
        if (port < 0)
            return lbd_err_set(err, errlen, LBD_EINVAL,
                               "routing.routes[%zu].via: not on a connected interface subnet",
                               i);
        plan_add(e, n, r->prefix & addr_mask(r->len), r->len, r->via, (uint16_t)port, 0);
        has_default |= r->len == 0;
    }
    if (!has_default) {
        for (size_t i = 0; i < cfg->n_interfaces; i++) {
            const struct cfg_interface *ifc = &cfg->interfaces[i];
            int port;
            if (ifc->gateway == 0)
                continue;
            port = route_port_for(cfg, ifc->gateway);
            if (port < 0)
                return lbd_err_set(err, errlen, LBD_EINVAL,
                                   "interfaces[%zu].gateway: not on a connected interface "
                                   "subnet", i);
            plan_add(e, n, 0, 0, ifc->gateway, (uint16_t)port, 0);
            break;
        }
    }
    for (size_t i = 0; i < cfg->n_interfaces; i++) {
        const struct cfg_interface *ifc = &cfg->interfaces[i];
        plan_add(e, n, ifc->ip & addr_mask(ifc->prefix_len), ifc->prefix_len, 0, ifc->port, 0);
    }
    /* Our addresses last: a VIP that is also a self IP is a VIP. */
    for (size_t i = 0; i < cfg->n_interfaces; i++)
        plan_add(e, n, cfg->interfaces[i].ip, 32, 0, cfg->interfaces[i].port,
                 ROUTE_LOCAL_SELF);
    for (size_t i = 0; i < cfg->n_virtual_services; i++)
        plan_add(e, n, cfg->virtual_services[i].ip, 32, 0, 0, ROUTE_LOCAL_VIP);
    for (size_t i = 0; cfg->ha.enabled && i < cfg->ha.n_floating_ips; i++)
        plan_add(e, n, cfg->ha.floating_ips[i], 32, 0, 0, ROUTE_LOCAL_FLOATING);
    return 0;
}

static bool plan_equal(const struct route_table *rt, const struct route_entry *e, uint32_t n)
{
    if (rt == NULL || rt->n_hops != n)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        const struct route_entry *a = &rt->entries[i], *b = &e[i];
        if (a->prefix != b->prefix || a->len != b->len || a->hop.gateway != b->hop.gateway ||
            a->hop.port != b->hop.port || a->hop.local != b->hop.local)
            return false;
    }
    return true;
}

struct route_table *route_build(const struct lbd_config *cfg, struct route_table *prev,
                                const char *name, bool *shared, char *err, size_t errlen)
{
    struct rte_lpm_config lc = {0};
    struct route_table *rt;
    struct route_entry *e;
    uint32_t n;
    size_t cap = cfg->n_interfaces * 3 + cfg->routing.n_routes + cfg->n_virtual_services +
                 cfg->ha.n_floating_ips + 1;

    *shared = false;
    e = calloc(cap, sizeof(*e));
    if (e == NULL) {
        lbd_err_set(err, errlen, LBD_ENOMEM, "route table: out of memory");
        return NULL;
    }
    if (route_plan(cfg, e, &n, err, errlen) != 0) {
        free(e);
        return NULL;
    }
    if (plan_equal(prev, e, n)) {
        free(e);
        prev->refs++;
        *shared = true;
        return prev;
    }
    rt = calloc(1, sizeof(*rt) + n * sizeof(rt->hops[0]));
    if (rt == NULL) {
        free(e);
        lbd_err_set(err, errlen, LBD_ENOMEM, "route table: out of memory");
        return NULL;
    }
    rt->refs = 1;
    rt->entries = e;
    rt->n_hops = n;
    lc.max_rules = (uint32_t)(n < 64 ? 64 : n);
    lc.number_tbl8s = (uint32_t)(n + 256);    /* a /32 may take a tbl8 group of its own */
    rt->lpm = rte_lpm_create(name, (int)rte_socket_id(), &lc);
    if (rt->lpm == NULL) {
        lbd_err_set(err, errlen, LBD_ENOMEM, "route table: %s (an rte_lpm takes 64 MB of "
                    "EAL memory, and a change of addresses holds two for a moment: give "
                    "the EAL more, e.g. a larger -m)", rte_strerror(rte_errno));
        goto err_free;
    }
    for (uint32_t i = 0; i < n; i++) {
        rt->hops[i] = e[i].hop;
        if (e[i].len == 0) {
            rt->has_default = true;
            rt->default_hop = e[i].hop;
        } else if (rte_lpm_add(rt->lpm, rte_be_to_cpu_32(e[i].prefix), e[i].len, i) < 0) {
            lbd_err_set(err, errlen, LBD_ENOMEM, "route table: cannot add a prefix");
            goto err_free;
        }
    }
    return rt;

err_free:
    route_free(rt);
    return NULL;
}

void route_free(struct route_table *rt)
{
    if (rt == NULL || --rt->refs > 0)
        return;
    rte_lpm_free(rt->lpm);
    free(rt->entries);
    free(rt);
}
