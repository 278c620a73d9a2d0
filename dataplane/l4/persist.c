/*
 * persist: the persistence table (hot path, owning worker only; create/free at set-up).
 */
#include "l4/persist.h"

#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

static void persist_expire(struct twheel_timer *tm, uint64_t now);

struct persist_table *persist_table_create(const char *name, uint32_t capacity, int socket,
                                           struct twheel *wheel)
{
    struct rte_hash_parameters hp = {0};
    struct persist_table *t;

    if (capacity == 0)
        return NULL;
    t = rte_zmalloc_socket("persist_table", sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
    if (t == NULL)
        return NULL;
    t->wheel = wheel;
    t->pool = rte_zmalloc_socket("persist_pool", (size_t)capacity * sizeof(*t->pool),
                                 RTE_CACHE_LINE_SIZE, socket);
    if (t->pool == NULL || slot_stack_init(&t->free, "persist_free", capacity, socket) != 0)
        goto err_free;

    hp.name = name;
    hp.entries = capacity;
    hp.key_len = sizeof(struct persist_key);
    hp.hash_func = rte_hash_crc;
    hp.socket_id = socket;
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

void persist_table_free(struct persist_table *t)
{
    if (t == NULL)
        return;
    for (uint32_t i = 0; i < t->free.capacity; i++)
        if (t->pool[i].table != NULL && !t->pool[i].flushed)
            twheel_cancel(t->wheel, &t->pool[i].timer);
    rte_hash_free(t->hash);
    rte_free(t->pool);
    slot_stack_fini(&t->free);
    rte_free(t);
}

struct persist_entry *persist_lookup(const struct persist_table *t, uint32_t client_ip,
                                     uint16_t vs_slot)
{
    struct persist_key k = {.client_ip = client_ip, .vs_slot = vs_slot};
    void *data;

    if (rte_hash_lookup_data(t->hash, &k, &data) < 0)
        return NULL;
    return data;
}

struct persist_entry *persist_insert(struct persist_table *t, uint32_t client_ip,
                                     uint16_t vs_slot, uint16_t rs_idx, uint32_t rs_id,
                                     uint32_t timeout_ms, uint64_t now)
{
    struct persist_key k = {.client_ip = client_ip, .vs_slot = vs_slot};
    struct persist_entry *e;

    if (slot_stack_empty(&t->free))
        return NULL;
    e = &t->pool[slot_stack_top(&t->free)];
    if (rte_hash_lookup(t->hash, &k) >= 0 || rte_hash_add_key_data(t->hash, &k, e) < 0)
        return NULL;
    slot_stack_pop(&t->free);
    e->table = t;
    e->client_ip = client_ip;
    e->vs_slot = vs_slot;
    e->rs_id = rs_id;
    e->rs_idx = rs_idx;
    e->timeout_ms = timeout_ms;
    e->last_used = now;
    e->n_conns = 0;
    e->flushed = false;
    twheel_timer_init(&e->timer, persist_expire);
    twheel_arm(t->wheel, &e->timer, now + timeout_ms);
    return e;
}

void persist_touch(struct persist_entry *e, uint32_t timeout_ms, uint64_t now)
{
    e->last_used = now;
    /* A shorter timeout (reconfig) takes effect at once; a longer one lazily. */
    if (timeout_ms < e->timeout_ms && now + timeout_ms < e->timer.expires)
        twheel_arm(e->table->wheel, &e->timer, now + timeout_ms);
    e->timeout_ms = timeout_ms;
}

/* Returns e's slot to the pool. */
static void persist_free_slot(struct persist_table *t, struct persist_entry *e)
{
    e->table = NULL;
    e->flushed = false;
    slot_stack_push(&t->free, (uint32_t)(e - t->pool));
}

void persist_release(struct persist_table *t, uint32_t ref, uint64_t now)
{
    struct persist_entry *e;

    if (unlikely(ref >= t->free.capacity))
        return;
    e = &t->pool[ref];
    if (unlikely(e->table == NULL || e->n_conns == 0))
        return; /* not a held reference: nothing to give back */
    e->n_conns--;
    if (unlikely(e->flushed)) {
        if (e->n_conns == 0) {
            t->flushed_held--;
            persist_free_slot(t, e);
        }
        return;
    }
    e->last_used = now;
}

void persist_delete(struct persist_table *t, struct persist_entry *e)
{
    struct persist_key k = {.client_ip = e->client_ip, .vs_slot = e->vs_slot};

    twheel_cancel(t->wheel, &e->timer);
    rte_hash_del_key(t->hash, &k);
    if (e->n_conns > 0) {
        /* Held: out of the table now, the slot freed by the last persist_release. */
        e->flushed = true;
        t->flushed_held++;
        return;
    }
    persist_free_slot(t, e);
}

uint32_t persist_flush_match(struct persist_table *t, uint32_t vs_slot, uint32_t client_ip)
{
    uint32_t n = 0;

    for (uint32_t i = 0; i < t->free.capacity; i++) {
        struct persist_entry *e = &t->pool[i];
        if (e->table == NULL || e->flushed ||
            (vs_slot != PERSIST_ALL && e->vs_slot != vs_slot) ||
            (client_ip != 0 && e->client_ip != client_ip))
            continue;
        persist_delete(t, e);
        n++;
    }
    return n;
}

static void persist_expire(struct twheel_timer *tm, uint64_t now)
{
    struct persist_entry *e = container_of(tm, struct persist_entry, timer);
    struct persist_table *t = e->table;
    uint64_t deadline = e->last_used + e->timeout_ms;

    /* In use: check again one timeout from now. */
    if (e->n_conns > 0)
        deadline = now + e->timeout_ms;
    if (deadline > now) {
        twheel_arm(t->wheel, tm, deadline);
        return;
    }
    t->expired++;
    persist_delete(t, e);
}
