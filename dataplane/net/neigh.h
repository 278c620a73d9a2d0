/*
 * neigh: the neighbour (ARP) table: IPv4 address -> MAC and port.
 *
 * One table for the whole appliance: the control core is its only writer, fed by
 * learn messages that workers send when they see ARP from a neighbour on a connected
 * subnet; workers read it lock-free (rte_hash with RW_CONCURRENCY_LF) to address
 * frames to next hops. The MAC and port are packed in the hash's 64-bit data word,
 * so a reader never sees a torn entry.
 */
#ifndef LBD_NEIGH_H
#define LBD_NEIGH_H

#include <stdint.h>

#include <rte_ether.h>

struct neigh_table;

struct neigh_entry {
    uint32_t ip;
    struct rte_ether_addr mac;
    uint16_t port;
    uint64_t updated_ms;    /* control clock when last learned */
};

/* Control core, at start-up. NULL and err filled on failure. */
struct neigh_table *neigh_create(const char *name, uint32_t entries, char *err, size_t errlen);
void neigh_free(struct neigh_table *t);

/* Any core. Returns 0 with mac and port filled when known, LBD_ENOENT otherwise. */
int neigh_lookup(const struct neigh_table *t, uint32_t ip, struct rte_ether_addr *mac,
                 uint16_t *port);

/*
 * Control core only. Adds or refreshes an entry. Returns 1 when the entry is new or
 * its MAC or port changed, 0 when only refreshed, LBD_ENOMEM when the table is full.
 */
int neigh_update(struct neigh_table *t, uint32_t ip, const struct rte_ether_addr *mac,
                 uint16_t port, uint64_t now_ms);

/* Control core only. Calls fn for every entry; stops early when fn returns non-zero. */
void neigh_walk(const struct neigh_table *t, int (*fn)(const struct neigh_entry *e, void *arg),
                void *arg);

uint32_t neigh_count(const struct neigh_table *t);

/*
 * Any core. A number that changes whenever an entry is added or changes, so that a
 * worker may cache what it looked up (a Layer 4 connection's next hops) and know
 * when to look again.
 */
uint32_t neigh_generation(const struct neigh_table *t);

#endif
