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

static int route_add(struct route_table *rt, uint32_t prefix, uint8_t len, uint32_t gw,
                     uint16_t port, uint8_t local)
{
    uint32_t idx = rt->n_hops++;

    rt->hops[idx].gateway = gw;
    rt->hops[idx].port = port;
    rt->hops[idx].local = local;
    if (len == 0) {
        rt->has_default = true;
        rt->default_hop = rt->hops[idx];
        return 0;
    }
    return rte_lpm_add(rt->lpm, rte_be_to_cpu_32(prefix), len, idx);
}

struct route_table *route_build(const struct lbd_config *cfg, const char *name, char *err,
                                size_t errlen)
{
    struct rte_lpm_config lc = {0};
    struct route_table *rt;
    size_t n = cfg->n_interfaces * 3 + cfg->routing.n_routes + cfg->n_virtual_services +
               cfg->ha.n_floating_ips + 1;

    rt = calloc(1, sizeof(*rt) + n * sizeof(rt->hops[0]));
    if (rt == NULL) {
        lbd_err_set(err, errlen, LBD_ENOMEM, "route table: out of memory");
        return NULL;
    }
    lc.max_rules = (uint32_t)(n < 64 ? 64 : n);
    lc.number_tbl8s = (uint32_t)(n + 256);    /* a /32 may take a tbl8 group of its own */
    rt->lpm = rte_lpm_create(name, (int)rte_socket_id(), &lc);
    if (rt->lpm == NULL) {
        lbd_err_set(err, errlen, LBD_ENOMEM, "route table: %s", rte_strerror(rte_errno));
        goto err_free;
    }

    /* Routes first, connected subnets last: a connected prefix overrides a route. */
    for (size_t i = 0; i < cfg->routing.n_routes; i++) {
        const struct cfg_route *r = &cfg->routing.routes[i];
        int port = route_port_for(cfg, r->via);
        if (port < 0) {
            lbd_err_set(err, errlen, LBD_EINVAL,
                        "routing.routes[%zu].via: not on a connected interface subnet", i);
            goto err_free;
        }
        if (route_add(rt, r->prefix & addr_mask(r->len), r->len, r->via, (uint16_t)port,
                      0) < 0)
            goto err_lpm;
    }
    if (!rt->has_default) {
        for (size_t i = 0; i < cfg->n_interfaces; i++) {
            const struct cfg_interface *ifc = &cfg->interfaces[i];
            int port;
            if (ifc->gateway == 0)
                continue;
            port = route_port_for(cfg, ifc->gateway);
            if (port < 0) {
                lbd_err_set(err, errlen, LBD_EINVAL,
                            "interfaces[%zu].gateway: not on a connected interface subnet", i);
                goto err_free;
            }
            route_add(rt, 0, 0, ifc->gateway, (uint16_t)port, 0);
            break;
        }
    }
    for (size_t i = 0; i < cfg->n_interfaces; i++) {
        const struct cfg_interface *ifc = &cfg->interfaces[i];
        if (route_add(rt, ifc->ip & addr_mask(ifc->prefix_len), ifc->prefix_len, 0,
                      ifc->port, 0) < 0)
            goto err_lpm;
    }
    /* Our addresses last: a VIP that is also a self IP is a VIP. */
    for (size_t i = 0; i < cfg->n_interfaces; i++)
        if (route_add(rt, cfg->interfaces[i].ip, 32, 0, cfg->interfaces[i].port,
                      ROUTE_LOCAL_SELF) < 0)
            goto err_lpm;
    for (size_t i = 0; i < cfg->n_virtual_services; i++)
        if (route_add(rt, cfg->virtual_services[i].ip, 32, 0, 0, ROUTE_LOCAL_VIP) < 0)
            goto err_lpm;
    for (size_t i = 0; cfg->ha.enabled && i < cfg->ha.n_floating_ips; i++)
        if (route_add(rt, cfg->ha.floating_ips[i], 32, 0, 0, ROUTE_LOCAL_FLOATING) < 0)
            goto err_lpm;
    return rt;

err_lpm:
    lbd_err_set(err, errlen, LBD_ENOMEM, "route table: cannot add a prefix");
err_free:
    route_free(rt);
    return NULL;
}

void route_free(struct route_table *rt)
{
    if (rt == NULL)
        return;
    rte_lpm_free(rt->lpm);
    free(rt);
}
