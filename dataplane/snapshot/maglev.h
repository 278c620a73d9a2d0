/*
 * maglev: Maglev consistent-hashing lookup tables (Eisenbud et al., NSDI 2016, 3.4),
 * with weights.
 *
 * Built on the control core for each service that schedules by "maglev" or "sh";
 * workers read it through the snapshot: table[hash % MAGLEV_SIZE] is the index of a
 * real server in the service's list. Each backend fills the table following its own
 * permutation (offset and skip from two hashes of its address and port), so that
 * appliances with the same real servers build the same table whatever the order of
 * their config, and removing a backend moves few entries of the others. Weights:
 * in every round a backend earns its weight in credit and takes one turn per
 * max-weight of credit, so its share of the table follows its weight.
 */
#ifndef LBD_MAGLEV_H
#define LBD_MAGLEV_H

#include <stdint.h>

#define MAGLEV_SIZE 65537u          /* prime, > 100 x CFG_MAX_RS */
#define MAGLEV_EMPTY 0xffffu

struct maglev_backend {
    uint32_t ip;                    /* network order */
    uint16_t port;                  /* host order (0 = client's port) */
    uint16_t weight;                /* 0 = takes no entry */
};

/*
 * Fills table[MAGLEV_SIZE] with indexes into b[0..n) (n < MAGLEV_EMPTY). With no
 * backend of non-zero weight every entry is MAGLEV_EMPTY. Returns 0 or LBD_ENOMEM.
 * Control core (allocates a scratch array).
 */
int maglev_build(uint16_t *table, const struct maglev_backend *b, uint32_t n);

#endif
