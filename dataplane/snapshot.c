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
#include "maglev.h"

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

static uint32_t ms_or_default(uint32_t s, uint32_t def_s)
{
    return (s != 0 ? s : def_s) * 1000u;
}

/*
 * A new id in [0, max): not used in this build (used) nor live in the previous
 * snapshot (prev_live), searched round-robin from *cursor so that a retired id comes
 * back only after every other one. Returns the id, or -1 when all are taken.
 */
static int id_alloc(uint8_t *used, const uint8_t *prev_live, uint32_t max, uint16_t *cursor)
{
    for (uint32_t k = 0; k < max; k++) {
        uint32_t id = (*cursor + k) % max;
        if (used[id] || prev_live[id])
            continue;
        used[id] = 1;
        *cursor = (uint16_t)((id + 1) % max);
        return (int)id;
    }
    return -1;
}

static const struct snap_vs *prev_vs(const struct snapshot *prev, const char *label)
{
    if (prev == NULL)
        return NULL;
    for (uint32_t i = 0; i < prev->n_vs; i++)
        if (strcmp(prev->vs[i].label, label) == 0)
            return &prev->vs[i];
    return NULL;
}

static const struct snap_rs *prev_rs(const struct snap_vs *pv, const char *label)
{
    if (pv == NULL)
        return NULL;
    for (uint32_t i = 0; i < pv->n_rs; i++)
        if (strcmp(pv->rs[i].label, label) == 0)
            return &pv->rs[i];
    return NULL;
}

/*
 * Stable ids for every service and real server: the previous snapshot's where the
 * labels match, fresh ones otherwise (two passes, so that a kept id is never handed
 * to a newcomer).
 */
static int snapshot_assign_ids(struct snapshot *s, const struct snapshot *prev, char *err,
                               size_t errlen)
{
    static uint8_t vs_used[SNAP_VS_IDS], vs_live[SNAP_VS_IDS];
    static uint8_t rs_used[SNAP_RS_IDS], rs_live[SNAP_RS_IDS];
    uint16_t vs_cursor = prev ? prev->next_vs_id : 0, rs_cursor = prev ? prev->next_rs_id : 0;

    memset(vs_used, 0, sizeof(vs_used));
    memset(vs_live, 0, sizeof(vs_live));
    memset(rs_used, 0, sizeof(rs_used));
    memset(rs_live, 0, sizeof(rs_live));
    if (prev != NULL) {
        for (uint32_t i = 0; i < prev->n_vs; i++)
            vs_live[prev->vs[i].id] = 1;
        for (uint32_t i = 0; i < prev->n_rs; i++)
            rs_live[prev->rs[i].id] = 1;
    }
    for (uint32_t pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < s->n_vs; i++) {
            struct snap_vs *v = &s->vs[i];
            const struct snap_vs *pv = prev_vs(prev, v->label);
            int id;
            if (pass == 0 && pv != NULL) {
                v->id = pv->id;
                vs_used[v->id] = 1;
            } else if (pass == 1 && pv == NULL) {
                id = id_alloc(vs_used, vs_live, SNAP_VS_IDS, &vs_cursor);
                if (id < 0)
                    return lbd_err_set(err, errlen, LBD_ENOMEM, "virtual_services: more than "
                                       "%d service ids in use", SNAP_VS_IDS);
                v->id = (uint16_t)id;
            }
            for (uint32_t j = 0; j < v->n_rs; j++) {
                struct snap_rs *r = &v->rs[j];
                const struct snap_rs *pr = prev_rs(pv, r->label);
                if (pass == 0 && pr != NULL) {
                    r->id = pr->id;
                    rs_used[r->id] = 1;
                } else if (pass == 1 && pr == NULL) {
                    id = id_alloc(rs_used, rs_live, SNAP_RS_IDS, &rs_cursor);
                    if (id < 0)
                        return lbd_err_set(err, errlen, LBD_ENOMEM, "real_servers: more "
                                           "than %d real-server ids in use", SNAP_RS_IDS);
                    r->id = (uint16_t)id;
                }
            }
        }
    }
    s->next_vs_id = vs_cursor;
    s->next_rs_id = rs_cursor;
    return 0;
}

/* Layer 4 fields of service i: real servers and, for sh and maglev, the lookup table. */
static int snapshot_build_l4(struct snapshot *s, const struct cfg_vs *v, uint32_t i,
                             uint32_t *rs_next, char *err, size_t errlen)
{
    struct snap_vs *sv = &s->vs[i];
    struct maglev_backend *mb;

    sv->scheduler = (uint8_t)v->scheduler;
    sv->persist = v->persistence.type == CFG_PERSIST_SOURCE_IP;
    sv->persist_timeout_ms = ms_or_default(v->persistence.timeout_s, 1200);
    sv->n_rs = (uint32_t)v->n_real_servers;
    sv->rs = &s->rs[*rs_next];
    *rs_next += sv->n_rs;
    for (uint32_t j = 0; j < sv->n_rs; j++) {
        const struct cfg_real_server *r = &v->real_servers[j];
        struct snap_rs *sr = &sv->rs[j];
        sr->vs = (uint16_t)i;
        sr->ip = r->ip;
        sr->port = r->port;
        sr->weight = (uint16_t)(r->weight > 65535 ? 65535 : r->weight);
        sr->state = (uint8_t)r->state;
        sr->max_conns = r->max_conns;
        snprintf(sr->label, sizeof(sr->label), "%s", r->label);
    }
    if (v->scheduler != CFG_SCHED_SH && v->scheduler != CFG_SCHED_MAGLEV)
        return 0;
    sv->maglev = malloc(MAGLEV_SIZE * sizeof(*sv->maglev));
    mb = calloc(sv->n_rs ? sv->n_rs : 1, sizeof(*mb));
    if (sv->maglev == NULL || mb == NULL) {
        free(mb);
        return lbd_err_set(err, errlen, LBD_ENOMEM, "virtual_services[%u]: out of memory "
                           "for the lookup table", i);
    }
    /* Only online servers take entries: drain and halt get no new flow. */
    for (uint32_t j = 0; j < sv->n_rs; j++) {
        mb[j].ip = sv->rs[j].ip;
        mb[j].port = sv->rs[j].port;
        mb[j].weight = sv->rs[j].state == CFG_RS_ONLINE ? sv->rs[j].weight : 0;
    }
    if (maglev_build(sv->maglev, mb, sv->n_rs) != 0) {
        free(mb);
        return lbd_err_set(err, errlen, LBD_ENOMEM, "virtual_services[%u]: out of memory "
                           "for the lookup table", i);
    }
    free(mb);
    return 0;
}

struct snapshot *snapshot_build(const struct lbd_config *cfg, const struct snapshot *prev,
                                uint64_t generation, char *err, size_t errlen)
{
    struct snapshot *s;
    struct rte_hash_parameters hp = {0};
    char name[RTE_HASH_NAMESIZE];
    size_t entries = 16, n_rs = 0;
    uint32_t rs_next = 0;

    for (size_t i = 0; i < cfg->n_virtual_services; i++) {
        entries += cfg->virtual_services[i].n_ports + 1;
        n_rs += cfg->virtual_services[i].n_real_servers;
    }
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
    s->n_rs = (uint32_t)n_rs;
    s->rs = calloc(n_rs ? n_rs : 1, sizeof(*s->rs));
    s->rs_by_id = calloc(SNAP_RS_IDS, sizeof(*s->rs_by_id));
    if (s->rs == NULL || s->rs_by_id == NULL)
        goto err_nomem;
    s->l4.tcp_handshake_ms = ms_or_default(cfg->layer4.tcp_handshake_timeout_s,
                                           CFG_L4_TCP_HANDSHAKE_TIMEOUT_S);
    s->l4.tcp_established_ms = ms_or_default(cfg->layer4.tcp_established_timeout_s,
                                             CFG_L4_TCP_ESTABLISHED_TIMEOUT_S);
    s->l4.tcp_closing_ms = ms_or_default(cfg->layer4.tcp_closing_timeout_s,
                                         CFG_L4_TCP_CLOSING_TIMEOUT_S);
    s->l4.udp_ms = ms_or_default(cfg->layer4.udp_timeout_s, CFG_L4_UDP_TIMEOUT_S);
    s->l4.max_conns_per_worker = cfg->layer4.max_conns_per_worker != 0
                                     ? cfg->layer4.max_conns_per_worker
                                     : CFG_L4_MAX_CONNS_PER_WORKER;

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
        if (snapshot_build_l4(s, v, (uint32_t)i, &rs_next, err, errlen) != 0)
            goto err_free;
        /* Several services may share a VIP: the address entry is added once. */
        if (table_add(s->table, v->ip, 0, 0, entry(SNAP_ADDR_VIP, 0)) < 0)
            goto err_table;
        for (size_t p = 0; p < v->n_ports; p++)
            if (table_add(s->table, v->ip, sv->protocol, v->ports[p],
                          entry(SNAP_ADDR_VIP, (uint32_t)i)) < 0)
                goto err_table;
    }
    if (snapshot_assign_ids(s, prev, err, errlen) != 0)
        goto err_free;
    for (uint32_t i = 0; i < s->n_rs; i++)
        s->rs_by_id[s->rs[i].id] = &s->rs[i];

    snprintf(name, sizeof(name), "rt%llu", (unsigned long long)generation);
    s->routes = route_build(cfg, name, err, errlen);
    if (s->routes == NULL)
        goto err_free;
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
    route_free(s->routes);
    for (uint32_t i = 0; s->vs != NULL && i < s->n_vs; i++)
        free(s->vs[i].maglev);
    free(s->rs_by_id);
    free(s->rs);
    free(s->vs);
    free(s);
}
