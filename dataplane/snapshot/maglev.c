/*
 * maglev: table population (control core only).
 */
#include "snapshot/maglev.h"

#include <stdlib.h>

#include <rte_jhash.h>

#include "err.h"

#define MAGLEV_SEED_OFFSET 0x6d61676cu
#define MAGLEV_SEED_SKIP 0x65762121u

struct maglev_perm {
    uint32_t offset;
    uint32_t skip;
    uint32_t next;      /* position in the permutation */
    uint64_t credit;
    uint32_t index;     /* into the caller's backend array */
    uint64_t key;       /* sort key: ip, port */
};

static int maglev_cmp(const void *a, const void *b)
{
    const struct maglev_perm *x = a, *y = b;

    return x->key < y->key ? -1 : x->key > y->key;
}

int maglev_build(uint16_t *table, const struct maglev_backend *b, uint32_t n)
{
    struct maglev_perm *p;
    uint32_t m = 0, filled = 0, max_w = 0;

    for (uint32_t i = 0; i < MAGLEV_SIZE; i++)
        table[i] = MAGLEV_EMPTY;
    p = calloc(n ? n : 1, sizeof(*p));
    if (p == NULL)
        return LBD_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t words[2] = {b[i].ip, b[i].port};
        if (b[i].weight == 0)
            continue;
        p[m].index = i;
        p[m].key = ((uint64_t)rte_be_to_cpu_32(b[i].ip) << 16) | b[i].port;
        p[m].offset = rte_jhash_32b(words, 2, MAGLEV_SEED_OFFSET) % MAGLEV_SIZE;
        p[m].skip = rte_jhash_32b(words, 2, MAGLEV_SEED_SKIP) % (MAGLEV_SIZE - 1) + 1;
        if (b[i].weight > max_w)
            max_w = b[i].weight;
        m++;
    }
    /* Independent of config order, so that every appliance builds the same table. */
    qsort(p, m, sizeof(*p), maglev_cmp);

    while (m > 0 && filled < MAGLEV_SIZE) {
        for (uint32_t i = 0; i < m && filled < MAGLEV_SIZE; i++) {
            struct maglev_perm *q = &p[i];
            q->credit += b[q->index].weight;
            while (q->credit >= max_w && filled < MAGLEV_SIZE) {
                uint32_t c;
                q->credit -= max_w;
                /* Next slot of this backend's permutation that nobody has yet. */
                do {
                    c = (uint32_t)((q->offset + (uint64_t)q->next * q->skip) % MAGLEV_SIZE);
                    q->next++;
                } while (table[c] != MAGLEV_EMPTY);
                table[c] = (uint16_t)q->index;
                filled++;
            }
        }
    }
    free(p);
    return 0;
}
