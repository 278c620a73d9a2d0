/*
 * conn: the connection table (hot path, owning worker only; create/free at set-up).
 */
#include "l4/conn.h"

#include <string.h>

#include <rte_common.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_tcp.h>

#include "config.h"
#include "snapshot/snapshot.h"

#define CONN_HASH_INIT 0u

static void conn_expire(struct twheel_timer *tm, uint64_t now);

struct conn_table *conn_table_create(const char *name, uint32_t capacity, int socket,
                                     struct twheel *wheel, uint32_t *active)
{
    struct rte_hash_parameters hp = {0};
    struct conn_table *t;
    uint32_t defaults[CONN_STATE_MAX] = {
        [CONN_TCP_HANDSHAKE] = CFG_L4_TCP_HANDSHAKE_TIMEOUT_S * 1000,
        [CONN_TCP_ESTABLISHED] = CFG_L4_TCP_ESTABLISHED_TIMEOUT_S * 1000,
        [CONN_TCP_CLOSING] = CFG_L4_TCP_CLOSING_TIMEOUT_S * 1000,
        [CONN_UDP] = CFG_L4_UDP_TIMEOUT_S * 1000,
    };

    if (capacity == 0)
        return NULL;
    t = rte_zmalloc_socket("conn_table", sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
    if (t == NULL)
        return NULL;
    t->wheel = wheel;
    t->active = active;
    memcpy(t->timeout_ms, defaults, sizeof(defaults));
    t->pool = rte_zmalloc_socket("conn_pool", (size_t)capacity * sizeof(*t->pool),
                                 RTE_CACHE_LINE_SIZE, socket);
    if (t->pool == NULL || slot_stack_init(&t->free, "conn_free", capacity, socket) != 0)
        goto err_free;

    hp.name = name;
    hp.entries = capacity * 2;          /* two keys per connection */
    hp.key_len = sizeof(struct conn_key);
    hp.hash_func = rte_hash_crc;
    hp.hash_func_init_val = CONN_HASH_INIT;     /* conn_lookup_bulk hashes as the table */
    hp.socket_id = socket;
    /* The extendable table guarantees that every one of `entries` keys fits. */
    hp.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
    t->hash = rte_hash_create(&hp);
    if (t->hash == NULL)
        goto err_free;
    return t;

err_free:
    rte_free(t->pool);
    slot_stack_fini(&t->free);
    rte_free(t);
    return NULL;
}

void conn_table_free(struct conn_table *t)
{
    if (t == NULL)
        return;
    for (uint32_t i = 0; i < t->free.capacity; i++)
        if (t->pool[i].table != NULL)
            twheel_cancel(t->wheel, &t->pool[i].timer);
    rte_hash_free(t->hash);
    rte_free(t->pool);
    slot_stack_fini(&t->free);
    rte_free(t);
}

void conn_table_set_timeouts(struct conn_table *t, const uint32_t ms[CONN_STATE_MAX])
{
    memcpy(t->timeout_ms, ms, sizeof(t->timeout_ms));
}

void conn_table_on_delete(struct conn_table *t, conn_delete_fn fn, void *arg)
{
    t->on_delete = fn;
    t->on_delete_arg = arg;
}

void conn_table_on_halted(struct conn_table *t, conn_halted_fn fn, void *arg)
{
    t->on_halted = fn;
    t->on_halted_arg = arg;
}

void conn_arm(struct conn *c, uint64_t at)
{
    twheel_arm(c->table->wheel, &c->timer, at);
}

void conn_table_on_refresh(struct conn_table *t, conn_refresh_fn fn, void *arg)
{
    t->on_refresh = fn;
    t->on_refresh_arg = arg;
}

struct conn *conn_lookup(const struct conn_table *t, const struct conn_key *k,
                         enum conn_dir *dir)
{
    void *data;

    if (rte_hash_lookup_data(t->hash, k, &data) < 0)
        return NULL;
    *dir = (enum conn_dir)((uintptr_t)data & 1);
    return (struct conn *)((uintptr_t)data & ~(uintptr_t)1);
}

void conn_lookup_bulk(const struct conn_table *t, const struct conn_key *const *keys,
                      unsigned n, struct conn **out, uint8_t *dir)
{
    void *data[CONN_LOOKUP_BULK_MAX];
    hash_sig_t sig[CONN_LOOKUP_BULK_MAX];
    uint64_t hits = 0;

    if (n != 0 && n <= CONN_LOOKUP_BULK_MAX) {
        /* The table's hash, inlined (two crc32 instructions), not called per key. */
        for (unsigned i = 0; i < n; i++)
            sig[i] = rte_hash_crc(keys[i], sizeof(*keys[i]), CONN_HASH_INIT);
        if (rte_hash_lookup_with_hash_bulk_data(t->hash, (const void **)(uintptr_t)keys, sig,
                                                n, &hits, data) < 0)
            hits = 0;
    }
    for (unsigned i = 0; i < n; i++) {
        if (!(hits & (1ull << i))) {
            out[i] = NULL;
            dir[i] = CONN_DIR_FORWARD;
            continue;
        }
        out[i] = (struct conn *)((uintptr_t)data[i] & ~(uintptr_t)1);
        dir[i] = (uint8_t)((uintptr_t)data[i] & 1);
        rte_prefetch0(out[i]);
        rte_prefetch0((const uint8_t *)out[i] + RTE_CACHE_LINE_SIZE);
    }
}

static void conn_reverse_key(const struct conn *c, struct conn_key *k)
{
    memset(k, 0, sizeof(*k));
    k->src_ip = c->rs_ip;
    k->dst_ip = c->client_ip;
    k->src_port = c->rs_port;
    k->dst_port = c->client_port;
    k->proto = c->proto;
}

static void conn_forward_key(const struct conn *c, struct conn_key *k)
{
    memset(k, 0, sizeof(*k));
    k->src_ip = c->client_ip;
    k->dst_ip = c->vip;
    k->src_port = c->client_port;
    k->dst_port = c->vport;
    k->proto = c->proto;
}

struct conn *conn_create(struct conn_table *t, const struct conn_key *fwd, uint32_t rs_ip,
                         uint16_t rs_port, uint16_t rs_idx, uint32_t rs_id, uint16_t vs_slot,
                         enum conn_state state, uint64_t now, enum conn_err *why)
{
    struct conn_key rev;
    struct conn *c;

    if (slot_stack_empty(&t->free)) {
        *why = CONN_FULL;
        return NULL;
    }
    c = &t->pool[slot_stack_top(&t->free)];
    c->client_ip = fwd->src_ip;
    c->vip = fwd->dst_ip;
    c->client_port = fwd->src_port;
    c->vport = fwd->dst_port;
    c->proto = fwd->proto;
    c->rs_ip = rs_ip;
    c->rs_port = rs_port;
    c->rs_id = rs_id;
    c->rs_idx = rs_idx;
    c->vs_slot = vs_slot;
    c->state = (uint8_t)state;
    c->flags = 0;
    c->halt_tries = 0;
    c->log = 0;
    c->synproxy = 0;
    conn_restart(c, now);
    c->last_seen = now;
    c->nh_neigh_gen = 0;
    c->nh_snap_gen = 0;

    conn_reverse_key(c, &rev);
    /* The reply key must be free: another client's connection may already use it. */
    if (rte_hash_lookup(t->hash, &rev) >= 0) {
        *why = CONN_COLLISION;
        return NULL;
    }
    if (rte_hash_add_key_data(t->hash, fwd, c) < 0) {
        *why = CONN_FULL;
        return NULL;
    }
    if (rte_hash_add_key_data(t->hash, &rev, (void *)((uintptr_t)c | CONN_DIR_REVERSE)) < 0) {
        rte_hash_del_key(t->hash, fwd);
        *why = CONN_FULL;
        return NULL;
    }
    slot_stack_pop(&t->free);
    t->gen++;
    c->table = t;
    twheel_timer_init(&c->timer, conn_expire);
    twheel_arm(t->wheel, &c->timer, now + t->timeout_ms[state]);
    t->active[rs_idx]++;
    t->rev_src[conn_rev_src_slot(rs_ip, rs_port)]++;
    if (state == CONN_TCP_HANDSHAKE)
        t->half_open++;
    *why = CONN_OK;
    return c;
}

/* conn_update of a TCP connection, its time stored. */
void conn_update_tcp(struct conn *c, enum conn_dir dir, uint8_t tcp_flags, uint64_t now)
{
    struct conn_table *t = c->table;
    uint8_t old = c->state;
    if (tcp_flags & (RTE_TCP_RST_FLAG | RTE_TCP_FIN_FLAG)) {
        if (c->closed_by == CONN_CLOSE_NONE) {
            bool rst = tcp_flags & RTE_TCP_RST_FLAG;
            c->closed_by = (uint8_t)(dir == CONN_DIR_FORWARD
                                         ? (rst ? CONN_CLOSE_CLIENT_RST : CONN_CLOSE_CLIENT_FIN)
                                         : (rst ? CONN_CLOSE_SERVER_RST : CONN_CLOSE_SERVER_FIN));
        }
        c->state = CONN_TCP_CLOSING;
    } else if (dir == CONN_DIR_REVERSE) {
        c->flags |= CONN_F_REPLIED;
        /* Data or a bare ACK from the server: the handshake is over. */
        if (c->state == CONN_TCP_HANDSHAKE && !(tcp_flags & RTE_TCP_SYN_FLAG))
            c->state = CONN_TCP_ESTABLISHED;
    } else if (tcp_flags & RTE_TCP_SYN_FLAG) {
        /* The client reuses the ports of a closed connection. */
        if (c->state == CONN_TCP_CLOSING) {
            c->state = CONN_TCP_HANDSHAKE;
            c->flags &= (uint8_t)~(CONN_F_REPLIED | CONN_F_SEQ_FWD | CONN_F_SEQ_REV |
                                    CONN_F_SEQ_SYNC);
        }
    } else if (c->state == CONN_TCP_HANDSHAKE && (c->flags & CONN_F_REPLIED)) {
        c->state = CONN_TCP_ESTABLISHED;
    }
    if (c->state != old) {
        uint64_t deadline = now + t->timeout_ms[c->state];
        if (old == CONN_TCP_HANDSHAKE)
            t->half_open--;
        else if (c->state == CONN_TCP_HANDSHAKE)
            t->half_open++;
        if (deadline < c->timer.expires)
            twheel_arm(t->wheel, &c->timer, deadline);
    }
}

void conn_delete(struct conn_table *t, struct conn *c, uint64_t now, enum conn_end why)
{
    struct conn_key k;

    if (t->on_delete != NULL)
        t->on_delete(c, now, why, t->on_delete_arg);
    twheel_cancel(t->wheel, &c->timer);
    conn_forward_key(c, &k);
    rte_hash_del_key(t->hash, &k);
    conn_reverse_key(c, &k);
    rte_hash_del_key(t->hash, &k);
    t->gen++;
    if (t->active[c->rs_idx] > 0)
        t->active[c->rs_idx]--;
    t->rev_src[conn_rev_src_slot(c->rs_ip, c->rs_port)]--;
    if (c->state == CONN_TCP_HANDSHAKE)
        t->half_open--;
    c->table = NULL;
    slot_stack_push(&t->free, (uint32_t)(c - t->pool));
}

static void conn_expire(struct twheel_timer *tm, uint64_t now)
{
    struct conn *c = container_of(tm, struct conn, timer);
    struct conn_table *t = c->table;
    uint64_t deadline = c->last_seen + t->timeout_ms[c->state];

    if ((c->flags & CONN_F_HALTED) && t->on_halted != NULL) {
        uint32_t again = t->on_halted(c, now, t->on_halted_arg);
        if (again != 0) {
            twheel_arm(t->wheel, tm, now + again);
            return;
        }
        conn_delete(t, c, now, CONN_END_HALTED);
        return;
    }
    if (deadline > now) {
        twheel_arm(t->wheel, tm, deadline);
        if (t->on_refresh != NULL)
            t->on_refresh(c, t->on_refresh_arg);
        return;
    }
    t->expired++;
    conn_delete(t, c, now, CONN_END_EXPIRED);
}
