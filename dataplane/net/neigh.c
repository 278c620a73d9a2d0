#include "net/neigh.h"

#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_rcu_qsbr.h>

#include "base/idx_list.h"
#include "err.h"

#define NEIGH_NONE IDX_NONE

/* What the control core keeps about the entry at a hash position. */
struct neigh_meta {
    uint32_t ip;
    struct idx_link age;        /* the age list, least recently confirmed first */
    uint64_t val;               /* MAC and port, packed as in the hash */
    uint64_t probe_ms;          /* the last probe of this stale period */
    uint8_t probes;             /* probes sent since it became stale */
};

struct neigh_table {
    struct rte_hash *h;
    struct rte_rcu_qsbr *qsbr;  /* the readers; NULL: none concurrent */
    uint32_t cap;               /* entries at most */
    uint32_t slots;             /* the hash's: cap, and room for slots waiting for readers */
    uint32_t n;
    struct idx_list age;        /* the age list */
    struct neigh_meta *meta;    /* by hash position; control core only */
    uint64_t *confirmed_ms;     /* by hash position; control core writes, workers read */
    uint64_t clock_ms;          /* the control clock at the last write; atomic */
    uint32_t *dq_pos;           /* removed, waiting for the readers: a FIFO of slots... */
    uint64_t *dq_token;         /* ...and the RCU token each waits for */
    uint32_t dq_head, dq_n;
    uint32_t generation;        /* changes with every new, changed or removed entry; atomic */
    struct neigh_stats stats;
};

static uint64_t neigh_pack(const struct rte_ether_addr *mac, uint16_t port)
{
    uint64_t v = port;
    for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
        v = (v << 8) | mac->addr_bytes[i];
    return v;
}

static void neigh_unpack(uint64_t v, struct rte_ether_addr *mac, uint16_t *port)
{
    for (int i = RTE_ETHER_ADDR_LEN - 1; i >= 0; i--) {
        mac->addr_bytes[i] = (uint8_t)v;
        v >>= 8;
    }
    *port = (uint16_t)v;
}

struct neigh_table *neigh_create(const char *name, uint32_t entries, struct rte_rcu_qsbr *qsbr,
                                 char *err, size_t errlen)
{
    struct rte_hash_parameters hp = {
        .name = name,
        .key_len = sizeof(uint32_t),
        .hash_func = rte_hash_crc,
        .socket_id = (int)rte_socket_id(),
        .extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
    };
    struct neigh_table *t;

    if (entries == 0 || entries > UINT32_MAX / 4) {
        lbd_err_set(err, errlen, LBD_EINVAL, "neighbour table: bad size %u", entries);
        return NULL;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        goto err_nomem;
    t->qsbr = qsbr;
    t->cap = entries;
    /* Half full at most: cuckoo inserts do not fail, and as many removed slots as there
     * are entries may wait for the readers. */
    t->slots = RTE_MAX(2 * entries, 16u);
    idx_list_init(&t->age);
    t->meta = calloc(t->slots + 1, sizeof(*t->meta));
    t->confirmed_ms = calloc(t->slots + 1, sizeof(*t->confirmed_ms));
    t->dq_pos = calloc(t->slots, sizeof(*t->dq_pos));
    t->dq_token = calloc(t->slots, sizeof(*t->dq_token));
    if (t->meta == NULL || t->confirmed_ms == NULL || t->dq_pos == NULL || t->dq_token == NULL)
        goto err_nomem;
    hp.entries = t->slots;
    t->h = rte_hash_create(&hp);
    if (t->h == NULL) {
        lbd_err_set(err, errlen, LBD_ENOMEM, "neighbour table: %s", rte_strerror(rte_errno));
        goto err_free;
    }
    return t;

err_nomem:
    lbd_err_set(err, errlen, LBD_ENOMEM, "neighbour table: out of memory");
err_free:
    neigh_free(t);
    return NULL;
}

void neigh_free(struct neigh_table *t)
{
    if (t == NULL)
        return;
    rte_hash_free(t->h);
    free(t->meta);
    free(t->confirmed_ms);
    free(t->dq_pos);
    free(t->dq_token);
    free(t);
}

int neigh_lookup(const struct neigh_table *t, uint32_t ip, struct rte_ether_addr *mac,
                 uint16_t *port)
{
    void *data;

    if (rte_hash_lookup_data(t->h, &ip, &data) < 0)
        return LBD_ENOENT;
    neigh_unpack((uint64_t)(uintptr_t)data, mac, port);
    return 0;
}

int neigh_lookup_age(const struct neigh_table *t, uint32_t ip, struct rte_ether_addr *mac,
                     uint16_t *port, uint64_t *age_ms)
{
    void *data;
    int32_t pos = rte_hash_lookup_data(t->h, &ip, &data);
    uint64_t confirmed, clock;

    if (pos < 0 || (uint32_t)pos > t->slots)
        return LBD_ENOENT;
    neigh_unpack((uint64_t)(uintptr_t)data, mac, port);
    /* The slot is not reused before we pass a quiescent state (see neigh_remove). */
    confirmed = __atomic_load_n(&t->confirmed_ms[pos], __ATOMIC_RELAXED);
    clock = __atomic_load_n(&t->clock_ms, __ATOMIC_RELAXED);
    *age_ms = clock > confirmed ? clock - confirmed : 0;
    return 0;
}

static void neigh_set_clock(struct neigh_table *t, uint64_t now_ms)
{
    if (now_ms > t->clock_ms)
        __atomic_store_n(&t->clock_ms, now_ms, __ATOMIC_RELAXED);
}

static void neigh_changed(struct neigh_table *t)
{
    __atomic_add_fetch(&t->generation, 1, __ATOMIC_RELEASE);
}

/* The entry at pos was learned or confirmed now: to the end of the age list. */
static void neigh_confirm(struct neigh_table *t, uint32_t pos, uint64_t now_ms)
{
    __atomic_store_n(&t->confirmed_ms[pos], now_ms, __ATOMIC_RELAXED);
    t->meta[pos].probes = 0;
    if (t->age.tail != pos) {
        idx_list_unlink(&t->age, t->meta, age, pos);
        idx_list_append(&t->age, t->meta, age, pos);
    }
}

/* Gives back to the hash the removed slots that no reader can still be looking at. */
static void neigh_reclaim(struct neigh_table *t)
{
    while (t->dq_n > 0 && rte_rcu_qsbr_check(t->qsbr, t->dq_token[t->dq_head], false) == 1) {
        rte_hash_free_key_with_position(t->h, (int32_t)t->dq_pos[t->dq_head]);
        t->dq_head = (t->dq_head + 1) % t->slots;
        t->dq_n--;
    }
}

static void neigh_remove(struct neigh_table *t, uint32_t pos)
{
    int32_t p = rte_hash_del_key(t->h, &t->meta[pos].ip);

    idx_list_unlink(&t->age, t->meta, age, pos);
    t->n--;
    neigh_changed(t);
    if (p < 0)
        return;
    /* RW_CONCURRENCY_LF: the slot stays allocated until we free it, after the readers. */
    if (t->qsbr == NULL) {
        rte_hash_free_key_with_position(t->h, p);
        return;
    }
    t->dq_pos[(t->dq_head + t->dq_n) % t->slots] = (uint32_t)p;
    t->dq_token[(t->dq_head + t->dq_n) % t->slots] = rte_rcu_qsbr_start(t->qsbr);
    t->dq_n++;
}

static uint64_t neigh_age_of(const struct neigh_table *t, uint32_t pos, uint64_t now_ms)
{
    uint64_t c = t->confirmed_ms[pos];

    return now_ms > c ? now_ms - c : 0;
}

static int32_t neigh_find(const struct neigh_table *t, uint32_t ip)
{
    int32_t pos = rte_hash_lookup(t->h, &ip);

    return pos >= 0 && (uint32_t)pos <= t->slots ? pos : -1;
}

/* An existing entry at pos seen with (val): changed or confirmed. */
static int neigh_refresh(struct neigh_table *t, uint32_t pos, uint64_t val, uint64_t now_ms)
{
    struct neigh_meta *e = &t->meta[pos];
    int changed = 0;

    if (e->val != val) {
        /* Replaces the data word atomically for the readers. */
        if (rte_hash_add_key_data(t->h, &e->ip, (void *)(uintptr_t)val) < 0)
            return LBD_ENOMEM;
        e->val = val;
        t->stats.changed++;
        neigh_changed(t);
        changed = 1;
    } else {
        t->stats.refreshed++;
    }
    neigh_confirm(t, pos, now_ms);
    return changed;
}

int neigh_update(struct neigh_table *t, uint32_t ip, const struct rte_ether_addr *mac,
                 uint16_t port, uint64_t now_ms)
{
    uint64_t val = neigh_pack(mac, port);
    int32_t pos = neigh_find(t, ip);

    neigh_set_clock(t, now_ms);
    if (pos >= 0)
        return neigh_refresh(t, (uint32_t)pos, val, now_ms);

    if (t->n >= t->cap) {
        /* Only an entry that has been stale for a probe interval: asked, and silent. */
        if (t->age.head == NEIGH_NONE ||
            neigh_age_of(t, t->age.head, now_ms) < NEIGH_REACHABLE_MS + NEIGH_PROBE_INTERVAL_MS) {
            t->stats.full++;
            return LBD_ENOMEM;
        }
        neigh_remove(t, t->age.head);
        t->stats.evicted++;
    }
    if (rte_hash_add_key_data(t->h, &ip, (void *)(uintptr_t)val) < 0) {
        neigh_reclaim(t);
        if (rte_hash_add_key_data(t->h, &ip, (void *)(uintptr_t)val) < 0) {
            t->stats.full++;
            return LBD_ENOMEM;
        }
    }
    pos = neigh_find(t, ip);
    if (pos < 0) {
        /* Cannot happen: we are the only writer. */
        rte_hash_del_key(t->h, &ip);
        t->stats.full++;
        return LBD_ENOMEM;
    }
    t->meta[pos] = (struct neigh_meta){.ip = ip, .val = val, .age = {NEIGH_NONE, NEIGH_NONE}};
    __atomic_store_n(&t->confirmed_ms[pos], now_ms, __ATOMIC_RELAXED);
    idx_list_append(&t->age, t->meta, age, (uint32_t)pos);
    t->n++;
    t->stats.learned++;
    neigh_changed(t);
    return 1;
}

int neigh_garp(struct neigh_table *t, uint32_t ip, const struct rte_ether_addr *mac,
               uint16_t port, uint64_t now_ms)
{
    int32_t pos = neigh_find(t, ip);

    neigh_set_clock(t, now_ms);
    if (pos < 0) {
        t->stats.garp_unknown++;
        return LBD_ENOENT;
    }
    return neigh_refresh(t, (uint32_t)pos, neigh_pack(mac, port), now_ms);
}

unsigned neigh_age(struct neigh_table *t, uint64_t now_ms, neigh_probe_fn probe, void *arg)
{
    unsigned removed = 0, asked = 0;
    uint32_t pos, next;

    neigh_set_clock(t, now_ms);
    neigh_reclaim(t);
    for (pos = t->age.head; pos != NEIGH_NONE; pos = next) {
        struct neigh_meta *e = &t->meta[pos];
        uint64_t age = neigh_age_of(t, pos, now_ms);

        next = e->age.next;
        if (age < NEIGH_REACHABLE_MS)
            break;  /* the list is in confirmation order: the rest are younger */
        if (age >= NEIGH_REACHABLE_MS + NEIGH_GRACE_MS) {
            neigh_remove(t, pos);
            t->stats.expired++;
            removed++;
            continue;
        }
        if (probe != NULL && asked < NEIGH_PROBES_PER_PASS && e->probes < NEIGH_PROBES &&
            (e->probes == 0 || now_ms - e->probe_ms >= NEIGH_PROBE_INTERVAL_MS)) {
            struct rte_ether_addr mac;
            uint16_t port;

            asked++;
            neigh_unpack(e->val, &mac, &port);
            if (probe(arg, e->ip, &mac, port)) {
                e->probes++;
                e->probe_ms = now_ms;
                t->stats.probes++;
            }
        }
    }
    return removed;
}

uint32_t neigh_generation(const struct neigh_table *t)
{
    return __atomic_load_n(&t->generation, __ATOMIC_ACQUIRE);
}

const uint32_t *neigh_generation_ptr(const struct neigh_table *t)
{
    return &t->generation;
}

void neigh_walk(const struct neigh_table *t, uint64_t now_ms,
                int (*fn)(const struct neigh_entry *e, void *arg), void *arg)
{
    for (uint32_t pos = t->age.head; pos != NEIGH_NONE; pos = t->meta[pos].age.next) {
        const struct neigh_meta *m = &t->meta[pos];
        struct neigh_entry e = {.ip = m->ip, .updated_ms = t->confirmed_ms[pos],
                                .probes = m->probes};

        neigh_unpack(m->val, &e.mac, &e.port);
        e.state = neigh_age_of(t, pos, now_ms) >= NEIGH_REACHABLE_MS ? NEIGH_STALE
                                                                      : NEIGH_REACHABLE;
        if (fn(&e, arg) != 0)
            break;
    }
}

uint32_t neigh_count(const struct neigh_table *t)
{
    return t->n;
}

uint32_t neigh_capacity(const struct neigh_table *t)
{
    return t->cap;
}

uint32_t neigh_deferred(const struct neigh_table *t)
{
    return t->dq_n;
}

const struct neigh_stats *neigh_stats(const struct neigh_table *t)
{
    return &t->stats;
}
