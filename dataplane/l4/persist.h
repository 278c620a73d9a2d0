/*
 * persist: a worker's source-IP persistence table ("sticky" client -> real server).
 *
 * One table per worker: a client IP always lands on the same worker (owner.h), so
 * the table is sharded by client with no cross-core look-up. The key is (client IP,
 * service slot), the value a real server's identity (snapshot.h), so reconfigs keep
 * affinity. Entries come from a pool allocated at set-up.
 *
 * Lifetime: an entry lives while connections use it (a Layer 4 connection with
 * CONN_F_PERSIST, a proxy session with PROXY_SF_PERSIST: each holds a reference,
 * persist_hold, and gives it back by identity, persist_release) and for its
 * service's timeout after the last use (a new connection, or the end of the last
 * one). Expiry is lazy on the worker's timer wheel, as in conn.h.
 *
 * Deleting an entry that connections still hold (a flush) takes it out of the table
 * at once (look-ups, listings and persist_count no longer see it, the client is
 * scheduled afresh) but keeps its pool slot, marked flushed, until the last
 * reference is released: a reference never names a slot that another entry reuses.
 */
#ifndef LBD_PERSIST_H
#define LBD_PERSIST_H

#include <stdbool.h>
#include <stdint.h>

#include "base/slot_stack.h"
#include "base/twheel.h"

struct persist_key {
    uint32_t client_ip;     /* network order */
    uint16_t vs_slot;
    uint16_t pad;
};

struct persist_table;

struct persist_entry {
    struct twheel_timer timer;
    struct persist_table *table;
    uint64_t last_used;     /* ms, worker clock */
    uint32_t timeout_ms;
    uint32_t n_conns;       /* connections holding a reference */
    uint32_t client_ip;
    uint32_t rs_id;
    uint16_t rs_idx;
    uint16_t vs_slot;
    bool flushed;           /* out of the table; the slot waits for its last release */
};

struct persist_table {
    struct rte_hash *hash;  /* persist_key -> entry */
    struct persist_entry *pool;
    struct slot_stack free; /* free pool entries */
    struct twheel *wheel;
    uint64_t expired;
    uint32_t flushed_held;  /* flushed entries whose connections still hold them */
};

/* Set-up: a table for capacity entries; name unique. NULL on allocation failure. */
struct persist_table *persist_table_create(const char *name, uint32_t capacity, int socket,
                                           struct twheel *wheel);
void persist_table_free(struct persist_table *t);

/* Owning worker. The entry of (client, service), or NULL. */
struct persist_entry *persist_lookup(const struct persist_table *t, uint32_t client_ip,
                                     uint16_t vs_slot);

/*
 * Owning worker. A new entry (client, service) -> real server (rs_idx, rs_id), used
 * now, kept timeout_ms after its last use. NULL when the table is full or the key
 * exists.
 */
struct persist_entry *persist_insert(struct persist_table *t, uint32_t client_ip,
                                     uint16_t vs_slot, uint16_t rs_idx, uint32_t rs_id,
                                     uint32_t timeout_ms, uint64_t now);

/* Owning worker: e is used now (a new connection), with the service's current timeout. */
void persist_touch(struct persist_entry *e, uint32_t timeout_ms, uint64_t now);

/*
 * Owning worker: a new connection holds a reference on e (in the table); returns the
 * reference, which the connection keeps and gives back to persist_release.
 */
static inline uint32_t persist_hold(struct persist_entry *e)
{
    e->n_conns++;
    return (uint32_t)(e - e->table->pool);
}

/*
 * Owning worker: the connection holding ref ended now. The entry it held, whether
 * still in the table or flushed meanwhile (then freed with its last reference);
 * never another one.
 */
void persist_release(struct persist_table *t, uint32_t ref, uint64_t now);

/* Owning worker: the entry ref names is e (for a holder checking its reference). */
static inline bool persist_ref_is(const struct persist_table *t, uint32_t ref,
                                  const struct persist_entry *e)
{
    return &t->pool[ref] == e;
}

/* Owning worker: deletes e (in the table) now; held by connections, it is flushed. */
void persist_delete(struct persist_table *t, struct persist_entry *e);

/*
 * Owning worker: deletes every entry of service vs_slot (or of every service when
 * vs_slot is PERSIST_ALL) and of client client_ip (network order; 0 = every client);
 * returns how many. Entries that connections hold are flushed (persist_delete).
 */
#define PERSIST_ALL 0xffffffffu
uint32_t persist_flush_match(struct persist_table *t, uint32_t vs_slot, uint32_t client_ip);

/* Owning worker: persist_flush_match of every client. */
static inline uint32_t persist_flush(struct persist_table *t, uint32_t vs_slot)
{
    return persist_flush_match(t, vs_slot, 0);
}

/* Entries in the table (flushed ones still held are not). */
static inline uint32_t persist_count(const struct persist_table *t)
{
    return slot_stack_used(&t->free) - t->flushed_held;
}

/* Pool slots in use: the entries in the table plus the flushed ones still held. */
static inline uint32_t persist_slots_used(const struct persist_table *t)
{
    return slot_stack_used(&t->free);
}

#endif
