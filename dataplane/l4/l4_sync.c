/*
 * l4_sync: HA state sync on a worker (owning worker only).
 */
#include "l4/l4_sync.h"

#include <string.h>

#include <rte_byteorder.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

static inline bool l4_sync_on(const struct l4 *l4)
{
    return l4->lc->sync_out != NULL && l4->lc->snap != NULL && l4->lc->snap->ha_sync;
}

static void l4_sync_put(struct l4 *l4, const struct ha_rec *r)
{
    if (rte_ring_mp_enqueue_elem(l4->lc->sync_out, (void *)r, sizeof(*r)) == 0)
        l4->stats->sync_sent++;
    else
        l4->stats->sync_ring_full++;
}

static void l4_sync_conn_rec(const struct conn *c, uint8_t type, struct ha_rec *r)
{
    *r = (struct ha_rec){
        .type = type,
        .proto = c->proto,
        .state = c->state,
        .client_ip = c->client_ip,
        .vip = c->vip,
        .rs_ip = c->rs_ip,
        .client_port = c->client_port,
        .vport = c->vport,
        .rs_port = c->rs_port,
    };
    if (c->flags & CONN_F_SEQ_REV) {
        r->flags |= HA_REC_F_SEQ_REV;
        r->seq_end_rev = c->seq_end[CONN_DIR_REVERSE];
    }
}

void l4_sync_conn(struct l4 *l4, const struct conn *c)
{
    struct ha_rec r;

    if (!l4_sync_on(l4))
        return;
    l4_sync_conn_rec(c, HA_REC_CONN, &r);
    l4_sync_put(l4, &r);
}

void l4_sync_conn_del(struct l4 *l4, const struct conn *c)
{
    struct ha_rec r;

    if (!l4_sync_on(l4))
        return;
    l4_sync_conn_rec(c, HA_REC_CONN_DEL, &r);
    l4_sync_put(l4, &r);
}

static void l4_sync_persist_rec(const struct snap_vs *vs, const struct persist_entry *pe,
                                const struct snap_rs *rs, uint64_t now, struct ha_rec *r)
{
    uint64_t left = pe->last_used + pe->timeout_ms > now ? pe->last_used + pe->timeout_ms - now
                                                         : 0;

    *r = (struct ha_rec){
        .type = HA_REC_PERSIST,
        .proto = vs->protocol,
        .client_ip = pe->client_ip,
        .vip = vs->ip,
        .rs_ip = rs->ip,
        .vport = rte_cpu_to_be_16(vs->ports[0]),
        .rs_port = rte_cpu_to_be_16(rs->port),
        .timeout_ms = pe->n_conns > 0 ? pe->timeout_ms : (uint32_t)left,
    };
}

void l4_sync_persist(struct l4 *l4, const struct snap_vs *vs, const struct persist_entry *pe,
                     const struct snap_rs *rs)
{
    struct ha_rec r;

    if (!l4_sync_on(l4) || vs->n_ports == 0)
        return;
    l4_sync_persist_rec(vs, pe, rs, l4->lc->now_ms, &r);
    l4_sync_put(l4, &r);
}

/* The real server of vs at (ip, port): a server whose port is null matches any port. */
static const struct snap_rs *l4_sync_find_rs(const struct snap_vs *vs, uint32_t ip,
                                             uint16_t port_be)
{
    for (uint32_t i = 0; i < vs->n_rs; i++) {
        const struct snap_rs *rs = &vs->rs[i];
        if (rs->ip == ip &&
            (rs->port == 0 || port_be == 0 || rte_cpu_to_be_16(rs->port) == port_be))
            return rs;
    }
    return NULL;
}

static void l4_sync_set_state(struct conn_table *t, struct conn *c, uint8_t state)
{
    if (c->state == state)
        return;
    if (c->state == CONN_TCP_HANDSHAKE)
        t->half_open--;
    else if (state == CONN_TCP_HANDSHAKE)
        t->half_open++;
    c->state = state;
}

static void l4_sync_install_conn(struct l4 *l4, const struct snapshot *s, const struct ha_rec *r)
{
    const struct snap_vs *vs = snapshot_service(s, r->vip, r->proto,
                                                rte_be_to_cpu_16(r->vport));
    const struct snap_rs *rs = vs != NULL && vs->layer == 4
                                   ? l4_sync_find_rs(vs, r->rs_ip, r->rs_port) : NULL;
    struct conn_key k = {
        .src_ip = r->client_ip, .dst_ip = r->vip,
        .src_port = r->client_port, .dst_port = r->vport, .proto = r->proto,
    };
    uint64_t now = l4->lc->now_ms;
    uint8_t state = r->state;
    enum conn_dir dir;
    enum conn_err why;
    struct conn *c;

    if (rs == NULL || state >= CONN_STATE_MAX ||
        (r->proto == IPPROTO_UDP) != (state == CONN_UDP)) {
        l4->stats->sync_no_service++;
        return;
    }
    c = conn_lookup(l4->conns, &k, &dir);
    if (c != NULL && (dir != CONN_DIR_FORWARD || c->rs_ip != r->rs_ip ||
                      c->rs_port != r->rs_port)) {
        conn_delete(l4->conns, c, now, CONN_END_SYNC);
        c = NULL;
    }
    if (c == NULL) {
        struct persist_entry *pe;

        c = conn_create(l4->conns, &k, r->rs_ip, r->rs_port, rs->idx, rs->id, vs->slot,
                        (enum conn_state)state, now, &why);
        if (c == NULL) {
            l4->stats->sync_failed++;
            return;
        }
        /* Logged if it carries traffic here (a takeover); it counts from now. */
        c->log = vs->log;
        if (vs->persist) {
            pe = persist_lookup(l4->persist, r->client_ip, vs->slot);
            if (pe == NULL)
                pe = persist_insert(l4->persist, r->client_ip, vs->slot, rs->idx, rs->id,
                                    vs->persist_timeout_ms, now);
            if (pe != NULL) {
                c->persist_ref = persist_hold(pe);
                c->flags |= CONN_F_PERSIST;
            }
        }
    } else {
        l4_sync_set_state(l4->conns, c, state);
    }
    if (state != CONN_TCP_HANDSHAKE && r->proto == IPPROTO_TCP)
        c->flags |= CONN_F_REPLIED;
    /* Where the server had got to: kept as a floor (the later of two records wins, in
     * serial arithmetic), for a halt after a takeover (l4.c). */
    if (r->proto == IPPROTO_TCP && (r->flags & HA_REC_F_SEQ_REV) &&
        (!(c->flags & CONN_F_SEQ_REV) ||
         ((c->flags & CONN_F_SEQ_SYNC) &&
          (int32_t)(r->seq_end_rev - c->seq_end[CONN_DIR_REVERSE]) > 0))) {
        c->seq_end[CONN_DIR_REVERSE] = r->seq_end_rev;
        c->flags |= CONN_F_SEQ_REV | CONN_F_SEQ_SYNC;
    }
    /* Half a timeout more than the master's, which refreshes a busy entry every one. */
    c->last_seen = now + l4->conns->timeout_ms[state] / 2;
    l4->stats->sync_installed++;
}

static void l4_sync_install_persist(struct l4 *l4, const struct snapshot *s,
                                    const struct ha_rec *r)
{
    const struct snap_vs *vs = snapshot_service(s, r->vip, r->proto,
                                                rte_be_to_cpu_16(r->vport));
    const struct snap_rs *rs = vs != NULL && vs->persist
                                   ? l4_sync_find_rs(vs, r->rs_ip, r->rs_port) : NULL;
    uint32_t timeout;
    struct persist_entry *pe;
    uint64_t now = l4->lc->now_ms;

    if (rs == NULL) {
        l4->stats->sync_no_service++;
        return;
    }
    timeout = r->timeout_ms < vs->persist_timeout_ms ? r->timeout_ms : vs->persist_timeout_ms;
    pe = persist_lookup(l4->persist, r->client_ip, vs->slot);
    if (pe != NULL) {
        pe->rs_idx = rs->idx;
        pe->rs_id = rs->id;
        persist_touch(pe, vs->persist_timeout_ms, now);
        if (pe->n_conns == 0)
            pe->last_used = now + timeout - vs->persist_timeout_ms;
    } else {
        pe = persist_insert(l4->persist, r->client_ip, vs->slot, rs->idx, rs->id,
                            timeout > 0 ? timeout : 1, now);
        if (pe == NULL) {
            l4->stats->sync_failed++;
            return;
        }
        pe->timeout_ms = vs->persist_timeout_ms;
        pe->last_used = now + (timeout > 0 ? timeout : 1) - vs->persist_timeout_ms;
    }
    l4->stats->sync_installed++;
}

void l4_sync_install(struct l4 *l4, const struct snapshot *s, const struct ha_rec *r)
{
    struct conn_key k;
    enum conn_dir dir;
    struct conn *c;

    if (s == NULL)
        return;
    switch (r->type) {
    case HA_REC_CONN:
        l4_sync_install_conn(l4, s, r);
        return;
    case HA_REC_CONN_DEL:
        k = (struct conn_key){
            .src_ip = r->client_ip, .dst_ip = r->vip,
            .src_port = r->client_port, .dst_port = r->vport, .proto = r->proto,
        };
        c = conn_lookup(l4->conns, &k, &dir);
        if (c != NULL && dir == CONN_DIR_FORWARD) {
            conn_delete(l4->conns, c, l4->lc->now_ms, CONN_END_SYNC);
            l4->stats->sync_removed++;
        }
        return;
    case HA_REC_PERSIST:
        l4_sync_install_persist(l4, s, r);
        return;
    default:
        l4->stats->sync_no_service++;
        return;
    }
}

void l4_sync_bulk_start(struct l4 *l4)
{
    l4->bulk_phase = 1;
    l4->bulk_pos = 0;
}

bool l4_sync_bulk_step(struct l4 *l4, const struct snapshot *s)
{
    struct rte_ring *ring = l4->lc->sync_out;
    uint32_t looked = 0;

    if (l4->bulk_phase == 0)
        return false;
    if (ring == NULL || s == NULL) {
        l4->bulk_phase = 0;
        return false;
    }
    if (l4->bulk_phase == 1) {
        struct conn_table *t = l4->conns;
        while (l4->bulk_pos < t->free.capacity && looked < L4_SYNC_BULK_STEP &&
               rte_ring_free_count(ring) > L4_SYNC_RING_RESERVE) {
            const struct conn *c = &t->pool[l4->bulk_pos++];
            struct ha_rec r;
            looked++;
            if (c->table == NULL)
                continue;
            l4_sync_conn_rec(c, HA_REC_CONN, &r);
            l4_sync_put(l4, &r);
        }
        if (l4->bulk_pos < t->free.capacity)
            return true;
        l4->bulk_phase = 2;
        l4->bulk_pos = 0;
    }
    if (l4->bulk_phase == 2) {
        struct persist_table *t = l4->persist;
        while (l4->bulk_pos < t->free.capacity && looked < L4_SYNC_BULK_STEP &&
               rte_ring_free_count(ring) > L4_SYNC_RING_RESERVE) {
            const struct persist_entry *pe = &t->pool[l4->bulk_pos++];
            const struct snap_rs *rs;
            struct ha_rec r;
            looked++;
            if (pe->table == NULL || pe->flushed)
                continue;
            rs = snapshot_rs(s, pe->rs_idx, pe->rs_id);
            if (rs == NULL || s->vs[rs->vs].slot != pe->vs_slot || s->vs[rs->vs].n_ports == 0)
                continue;
            l4_sync_persist_rec(&s->vs[rs->vs], pe, rs, l4->lc->now_ms, &r);
            l4_sync_put(l4, &r);
        }
        if (l4->bulk_pos < t->free.capacity)
            return true;
        l4->bulk_phase = 3;
    }
    if (rte_ring_free_count(ring) == 0)
        return true;
    {
        struct ha_rec end = {.type = HA_REC_BULK_END};
        l4_sync_put(l4, &end);
    }
    l4->bulk_phase = 0;
    return false;
}
