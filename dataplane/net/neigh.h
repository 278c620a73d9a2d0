/*
 * neigh: the neighbour (ARP) table: IPv4 address -> MAC and port.
 *
 * One table for the whole appliance: the control core is its only writer, fed by
 * messages that workers send when they see ARP from a neighbour on a connected subnet
 * (neigh_learn.h); workers read it lock-free (rte_hash with RW_CONCURRENCY_LF) to
 * address frames to next hops. The MAC and port are packed in the hash's 64-bit data
 * word, so a reader never sees a torn entry, and readers copy it out: none holds a
 * pointer into the table.
 *
 * Aging (the control clock, milliseconds). An entry learned or confirmed at t is
 * reachable until t + NEIGH_REACHABLE_MS, then stale: the control core asks it again
 * with up to NEIGH_PROBES unicast ARP requests (neigh_age's probe callback), and
 * removes it at t + NEIGH_REACHABLE_MS + NEIGH_GRACE_MS unless it was confirmed
 * meanwhile. A confirmation is any learn of the same MAC and port (a worker saw ARP
 * from it: a request for one of our addresses, a reply to us, a gratuitous ARP).
 * Stale entries keep being used for sending: a next hop that answers never vanishes.
 *
 * Capacity. At most `entries` entries. When the table is full, a new neighbour
 * evicts the least recently confirmed entry if that one has been stale for at least
 * NEIGH_PROBE_INTERVAL_MS (it was asked and did not answer); otherwise the new one is
 * refused and counted (neigh_full). An entry confirmed within NEIGH_REACHABLE_MS +
 * NEIGH_PROBE_INTERVAL_MS is never evicted, so a flood of ARP from many source
 * addresses can neither grow the table nor push out the neighbours that answer.
 *
 * Removal (expiry, eviction) takes the key out of the hash at once; its slot is
 * given back to the hash only after every reader has passed a quiescent state of
 * the RCU variable given at creation (rte_rcu_qsbr; the workers report one every
 * loop iteration), so that a look-up in flight never reads a slot reused for
 * another address.
 */
#ifndef LBD_NEIGH_H
#define LBD_NEIGH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>

#define NEIGH_REACHABLE_MS 300000u  /* confirmed within this: reachable */
#define NEIGH_GRACE_MS 60000u       /* then stale for this long, unless confirmed */
#define NEIGH_PROBES 3u             /* unicast ARP requests to a stale entry */
#define NEIGH_PROBE_INTERVAL_MS (NEIGH_GRACE_MS / NEIGH_PROBES)
#define NEIGH_PROBES_PER_PASS 256u  /* at most this many probes per neigh_age call */
#define NEIGH_REFRESH_MS 60000u     /* workers confirm an entry at most this often */
#define NEIGH_AGE_INTERVAL_MS 1000u /* how often the control core calls neigh_age */

struct neigh_table;
struct rte_rcu_qsbr;

enum neigh_state { NEIGH_REACHABLE = 0, NEIGH_STALE };

struct neigh_entry {
    uint32_t ip;
    struct rte_ether_addr mac;
    uint16_t port;
    uint64_t updated_ms;    /* control clock when last learned or confirmed */
    enum neigh_state state;
    uint8_t probes;         /* unicast ARP requests sent since it became stale */
};

/* Control core counters (read by the API, on the control core). */
struct neigh_stats {
    uint64_t learned;       /* new entries */
    uint64_t changed;       /* an entry's MAC or port changed (a gratuitous ARP too) */
    uint64_t refreshed;     /* confirmed with the same MAC and port */
    uint64_t expired;       /* removed after NEIGH_REACHABLE_MS + NEIGH_GRACE_MS */
    uint64_t evicted;       /* removed to make room for a new neighbour */
    uint64_t full;          /* new neighbours refused: full and nothing evictable */
    uint64_t probes;        /* unicast ARP requests asked of the workers */
    uint64_t garp_unknown;  /* gratuitous ARP for an address not in the table: ignored */
};

/*
 * Control core, at start-up: a table of at most `entries` neighbours whose readers
 * report quiescent states to qsbr (NULL: no reader runs concurrently with the
 * writer, slots are reused at once). NULL and err filled on failure.
 */
struct neigh_table *neigh_create(const char *name, uint32_t entries, struct rte_rcu_qsbr *qsbr,
                                 char *err, size_t errlen);
void neigh_free(struct neigh_table *t);

/* Any core. Returns 0 with mac and port filled when known, LBD_ENOENT otherwise. */
int neigh_lookup(const struct neigh_table *t, uint32_t ip, struct rte_ether_addr *mac,
                 uint16_t *port);

/*
 * Any core. As neigh_lookup, and *age_ms: how long ago (by the control clock as the
 * control core last published it) the entry was learned or confirmed; a worker uses
 * it to confirm entries at most every NEIGH_REFRESH_MS.
 */
int neigh_lookup_age(const struct neigh_table *t, uint32_t ip, struct rte_ether_addr *mac,
                     uint16_t *port, uint64_t *age_ms);

/*
 * Control core only. Adds, changes or confirms an entry. Returns 1 when the entry is
 * new or its MAC or port changed, 0 when only confirmed, LBD_ENOMEM when the table
 * is full and no entry may be evicted (counted as neigh_full).
 */
int neigh_update(struct neigh_table *t, uint32_t ip, const struct rte_ether_addr *mac,
                 uint16_t port, uint64_t now_ms);

/*
 * Control core only. A gratuitous ARP: changes (or confirms) the entry of ip when
 * there is one, as neigh_update; never creates one (LBD_ENOENT, counted).
 */
int neigh_garp(struct neigh_table *t, uint32_t ip, const struct rte_ether_addr *mac,
               uint16_t port, uint64_t now_ms);

/*
 * Control core only, every NEIGH_AGE_INTERVAL_MS or so: gives back to the hash the
 * slots no reader can still see, removes the entries whose grace period ran out,
 * and asks probe() to send a unicast ARP request to each stale entry that is due one
 * (at most NEIGH_PROBES per stale period, NEIGH_PROBE_INTERVAL_MS apart, and
 * NEIGH_PROBES_PER_PASS per call). probe returns false when it could not (a full
 * ring): the entry is asked again at the next call. Returns the entries removed.
 */
typedef bool (*neigh_probe_fn)(void *arg, uint32_t ip, const struct rte_ether_addr *mac,
                               uint16_t port);
unsigned neigh_age(struct neigh_table *t, uint64_t now_ms, neigh_probe_fn probe, void *arg);

/*
 * Control core only. Calls fn for every entry, least recently confirmed first; stops
 * early when fn returns non-zero. now_ms sets each entry's state.
 */
void neigh_walk(const struct neigh_table *t, uint64_t now_ms,
                int (*fn)(const struct neigh_entry *e, void *arg), void *arg);

/* Entries in the table; its capacity. */
uint32_t neigh_count(const struct neigh_table *t);
uint32_t neigh_capacity(const struct neigh_table *t);

/* Control core: removed entries whose slot still waits for the readers. */
uint32_t neigh_deferred(const struct neigh_table *t);

/* Control core: the counters. */
const struct neigh_stats *neigh_stats(const struct neigh_table *t);

/*
 * Any core. A number that changes whenever an entry is added, changes or is removed
 * (not when it is only confirmed), so that a worker may cache what it looked up (a
 * Layer 4 connection's next hops) and know when to look again.
 */
uint32_t neigh_generation(const struct neigh_table *t);

/* Any core: the word neigh_generation reads (atomically, acquire), for a reader that
 * reads it per packet without a call (ip_out_neigh_gen). */
const uint32_t *neigh_generation_ptr(const struct neigh_table *t);

#endif
