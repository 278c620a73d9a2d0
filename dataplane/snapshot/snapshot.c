#include "snapshot/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "addr.h"
#include "err.h"
#include "snapshot/maglev.h"
#include "tcp/tcp_types.h"

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

/* The cookie id of real server r of v: SipHash-2-4 of (service label, label, address,
 * port) under the config's cookie key, so that it is stable across reconfigs (and
 * across restarts given the same key) and names no address. */
static uint64_t rs_cookie_id(const struct siphash_key *key, const struct cfg_vs *v,
                             const struct cfg_real_server *r)
{
    uint8_t buf[2 * CFG_LABEL_MAX + 8];
    size_t n = 0, l;

    l = strnlen(v->label, CFG_LABEL_MAX - 1);
    memcpy(buf + n, v->label, l);
    n += l;
    buf[n++] = 0;
    l = strnlen(r->label, CFG_LABEL_MAX - 1);
    memcpy(buf + n, r->label, l);
    n += l;
    buf[n++] = 0;
    memcpy(buf + n, &r->ip, 4);
    n += 4;
    buf[n++] = (uint8_t)(r->port >> 8);
    buf[n++] = (uint8_t)r->port;
    return siphash24(key, buf, n);
}

/* A Maglev table and the inputs it was built from (maglev_build is a function of
 * them alone), shared by snapshots; references are counted on the control core. */
struct snap_maglev {
    uint32_t refs;
    uint32_t n;
    struct maglev_backend *b;   /* n entries */
    uint16_t table[MAGLEV_SIZE];
};

static void maglev_put(struct snap_maglev *t)
{
    if (t != NULL && --t->refs == 0) {
        free(t->b);
        free(t);
    }
}

/* A table of prev built from exactly b[0..n), or NULL. */
static struct snap_maglev *maglev_find(const struct snapshot *prev,
                                       const struct maglev_backend *b, uint32_t n)
{
    for (uint32_t i = 0; prev != NULL && i < prev->n_vs; i++) {
        struct snap_maglev *t = prev->vs[i].maglev_tab;
        if (t != NULL && t->n == n && (n == 0 || memcmp(t->b, b, n * sizeof(*b)) == 0))
            return t;
    }
    return NULL;
}

/* The lookup table of sv (sh or maglev): prev's when its inputs are the same, else new. */
static int snapshot_maglev(struct snapshot *s, const struct snapshot *prev, struct snap_vs *sv)
{
    struct maglev_backend *mb = calloc(sv->n_rs ? sv->n_rs : 1, sizeof(*mb));
    struct snap_maglev *t;

    if (mb == NULL)
        return LBD_ENOMEM;
    /* Only online, healthy servers take entries: drain, halt and down get no new flow. */
    for (uint32_t j = 0; j < sv->n_rs; j++) {
        mb[j].ip = sv->rs[j].ip;
        mb[j].port = sv->rs[j].port;
        mb[j].weight = sv->rs[j].state == CFG_RS_ONLINE && !sv->rs[j].down ? sv->rs[j].weight : 0;
    }
    t = maglev_find(prev, mb, sv->n_rs);
    if (t != NULL) {
        free(mb);
        t->refs++;
        s->maglev_reused++;
    } else {
        t = malloc(sizeof(*t));
        if (t == NULL || maglev_build(t->table, mb, sv->n_rs) != 0) {
            free(t);
            free(mb);
            return LBD_ENOMEM;
        }
        t->refs = 1;
        t->n = sv->n_rs;
        t->b = mb;
        s->maglev_built++;
    }
    sv->maglev_tab = t;
    sv->maglev = t->table;
    return 0;
}

/* Layer 4 fields of service i: real servers and, for sh and maglev, the lookup table. */
static int snapshot_build_l4(struct snapshot *s, const struct snapshot *prev,
                             const struct cfg_vs *v, uint32_t i, uint32_t *rs_next,
                             char *err, size_t errlen)
{
    struct snap_vs *sv = &s->vs[i];

    sv->scheduler = (uint8_t)v->scheduler;
    sv->persist = v->persistence.type == CFG_PERSIST_SOURCE_IP;
    sv->persist_timeout_ms = ms_or_default(v->persistence.timeout_s, 1200);
    sv->check_http = v->health_check.type == CFG_CHECK_HTTP;
    sv->http_expect = v->health_check.http_expect;
    snprintf(sv->http_path, sizeof(sv->http_path), "%s", v->health_check.http_path);
    sv->n_rs = (uint32_t)v->n_real_servers;
    sv->rs = &s->rs[*rs_next];
    *rs_next += sv->n_rs;
    for (uint32_t j = 0; j < sv->n_rs; j++) {
        const struct cfg_real_server *r = &v->real_servers[j];
        struct snap_rs *sr = &sv->rs[j];
        sr->id = r->id;
        sr->idx = (uint16_t)(v->slot * CFG_MAX_RS + r->slot);
        sr->vs = (uint16_t)i;
        sr->ip = r->ip;
        sr->port = r->port;
        sr->weight = (uint16_t)(r->weight > 65535 ? 65535 : r->weight);
        sr->state = (uint8_t)r->state;
        sr->down = r->health_down;
        sr->max_conns = r->max_conns;
        sr->tls = r->tls ? r->tls_ctx : NULL;
        snprintf(sr->label, sizeof(sr->label), "%s", r->label);
        sr->cookie_id = rs_cookie_id(&s->cookie_key, v, r);
    }
    if (v->scheduler != CFG_SCHED_SH && v->scheduler != CFG_SCHED_MAGLEV)
        return 0;
    if (snapshot_maglev(s, prev, sv) != 0)
        return lbd_err_set(err, errlen, LBD_ENOMEM, "virtual_services[%u]: out of memory "
                           "for the lookup table", i);
    return 0;
}

struct snapshot *snapshot_build(const struct lbd_config *cfg, uint64_t generation,
                                char *err, size_t errlen)
{
    return snapshot_rebuild(cfg, NULL, generation, err, errlen);
}

struct snapshot *snapshot_rebuild(const struct lbd_config *cfg, const struct snapshot *prev,
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
    entries += cfg->n_interfaces + n_rs;

    s = calloc(1, sizeof(*s));
    if (s == NULL)
        goto err_nomem;
    s->generation = generation;
    s->forward = cfg->routing.forward;
    s->ha_enabled = cfg->ha.enabled;
    s->ha_peer = cfg->ha.enabled ? cfg->ha.peer : 0;
    s->n_vs = (uint32_t)cfg->n_virtual_services;
    s->vs = calloc(s->n_vs ? s->n_vs : 1, sizeof(*s->vs));
    if (s->vs == NULL)
        goto err_nomem;
    s->n_rs = (uint32_t)n_rs;
    s->rs = calloc(n_rs ? n_rs : 1, sizeof(*s->rs));
    s->rs_by_idx = calloc(SNAP_RS_IDS, sizeof(*s->rs_by_idx));
    if (s->rs == NULL || s->rs_by_idx == NULL)
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
    s->l4.max_half_open = cfg->layer4.max_half_open_per_worker != 0
                              ? cfg->layer4.max_half_open_per_worker
                              : s->l4.max_conns_per_worker / 4;
    s->l4.tcp_midstream = cfg->layer4.tcp_midstream;
    s->l4.syn_proxy = (uint8_t)cfg->layer4.syn_proxy;
    s->l7.connect_ms = cfg->layer7.connect_timeout_ms ? cfg->layer7.connect_timeout_ms : 4000;
    s->l7.client_idle_ms = ms_or_default(cfg->layer7.client_timeout_s, 1200);
    s->l7.server_idle_ms = ms_or_default(cfg->layer7.server_timeout_s, 1200);
    s->l7.cc = cfg->layer7.congestion_control == CFG_CC_NEWRENO ? TCP_CC_NEWRENO : TCP_CC_CUBIC;
    s->cookie_key = siphash_key_from_bytes(cfg->cookie_key);

    snprintf(name, sizeof(name), "snap%llu", (unsigned long long)generation);
    hp.name = name;
    hp.entries = (uint32_t)(entries * 2 < 64 ? 64 : entries * 2);
    hp.key_len = sizeof(struct snap_key);
    hp.hash_func = rte_hash_crc;
    hp.socket_id = (int)rte_socket_id();
    s->table = rte_hash_create(&hp);
    if (s->table == NULL) {
        /* rte_hash_create's rte_errno is not always ENOMEM when the heap is full. */
        lbd_err_set(err, errlen, LBD_ENOMEM,
                    "no EAL memory for the address table (%u entries; rte_errno: %s)",
                    hp.entries, rte_strerror(rte_errno));
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
        sv->slot = v->slot;
        sv->layer = v->layer;
        sv->protocol = v->protocol == CFG_PROTO_UDP ? IPPROTO_UDP : IPPROTO_TCP;
        sv->mode = (uint8_t)v->mode;
        sv->source_address = v->source_address ? v->source_address : v->ip;
        sv->cookie = v->layer == 7 && v->mode == CFG_MODE_HTTP &&
                     v->persistence.type == CFG_PERSIST_HTTP_COOKIE;
        sv->xff = v->x_forwarded_for;
        sv->log = v->log;
        sv->tls = v->tls.enabled ? v->tls_ctx : NULL;
        snprintf(sv->cookie_name, sizeof(sv->cookie_name), "%s", v->persistence.cookie);
        sv->cookie_name_len = (uint8_t)strlen(sv->cookie_name);
        sv->cookie_max_idle_s = v->persistence.max_idle_s;
        sv->cookie_max_life_s = v->persistence.max_life_s;
        sv->max_header_bytes = v->max_header_bytes ? v->max_header_bytes
                                                   : CFG_HTTP_HEADER_BYTES_DEFAULT;
        sv->http_request_ms = v->http_request_timeout_ms ? v->http_request_timeout_ms
                                                         : CFG_HTTP_REQUEST_TIMEOUT_MS_DEFAULT;
        sv->n_ports = (uint16_t)v->n_ports;
        for (size_t p = 0; p < v->n_ports && p < CFG_MAX_VS_PORTS; p++)
            sv->ports[p] = v->ports[p];
        snprintf(sv->label, sizeof(sv->label), "%s", v->label);
        if (snapshot_build_l4(s, prev, v, (uint32_t)i, &rs_next, err, errlen) != 0)
            goto err_free;
        /* Several services may share a VIP: the address entry is added once. */
        if (table_add(s->table, v->ip, 0, 0, entry(SNAP_ADDR_VIP, 0)) < 0)
            goto err_table;
        for (size_t p = 0; p < v->n_ports; p++)
            if (table_add(s->table, v->ip, sv->protocol, v->ports[p],
                          entry(SNAP_ADDR_VIP, (uint32_t)i)) < 0)
                goto err_table;
    }
    for (uint32_t i = 0; i < s->n_rs; i++) {
        s->rs_by_idx[s->rs[i].idx] = &s->rs[i];
        /* Layer 4 real servers' addresses (several services may share one). */
        if (s->vs[s->rs[i].vs].layer == 4 &&
            table_add(s->table, s->rs[i].ip, SNAP_KEY_L4_RS, 0, 0) < 0)
            goto err_table;
    }

    snprintf(name, sizeof(name), "rt%llu", (unsigned long long)generation);
    s->routes = route_build(cfg, prev != NULL ? prev->routes : NULL, name, &s->routes_reused,
                            err, errlen);
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
        maglev_put(s->vs[i].maglev_tab);
    free(s->rs_by_idx);
    free(s->rs);
    free(s->vs);
    free(s);
}
