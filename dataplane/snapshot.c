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

    for (size_t i = 0; i < cfg->n_virtual_services; i++) {
        const struct cfg_vs *v = &cfg->virtual_services[i];
        struct snap_vs *sv = &s->vs[i];
        sv->ip = v->ip;
        sv->slot = (uint16_t)i;
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
    free(s->vs);
    free(s);
}
