/*
 * scheduler: the schedulers (hot path, owning worker only).
 */
#include "l4/scheduler.h"

#include <string.h>

#include <rte_jhash.h>

#include "snapshot/maglev.h"

#define SCHED_HASH_SEED 0x5c4ed01e

void sched_init(struct sched_state *st, unsigned n_workers)
{
    memset(st, 0, sizeof(*st));
    st->n_workers = n_workers ? n_workers : 1;
}

static const struct snap_rs *sched_wrr(struct sched_state *st, const uint32_t *active,
                                       const struct snap_vs *vs)
{
    const struct snap_rs *best = NULL;
    int64_t total = 0;

    for (uint32_t i = 0; i < vs->n_rs; i++) {
        const struct snap_rs *rs = &vs->rs[i];
        if (!sched_eligible(st, active, rs))
            continue;
        st->wrr_current[rs->idx] += rs->weight;
        total += rs->weight;
        if (best == NULL || st->wrr_current[rs->idx] > st->wrr_current[best->idx])
            best = rs;
    }
    if (best != NULL)
        st->wrr_current[best->idx] -= total;
    return best;
}

static const struct snap_rs *sched_wlc(struct sched_state *st, const uint32_t *active,
                                       const struct snap_vs *vs)
{
    const struct snap_rs *best = NULL;
    uint32_t start = vs->n_rs ? st->wlc_start % vs->n_rs : 0, at = 0;

    /* The scan starts one past the last pick, so that servers with equal loads (an idle
     * pool, short connections) take turns instead of the first one taking all. */
    for (uint32_t k = 0; k < vs->n_rs; k++) {
        uint32_t i = (start + k) % vs->n_rs;
        const struct snap_rs *rs = &vs->rs[i];
        uint64_t a, b;
        if (!sched_eligible(st, active, rs))
            continue;
        if (best == NULL) {
            best = rs;
            at = i;
            continue;
        }
        /* active/weight < best_active/best_weight, without division */
        a = (uint64_t)active[rs->idx] * best->weight;
        b = (uint64_t)active[best->idx] * rs->weight;
        if (a < b || (a == b && rs->weight > best->weight)) {
            best = rs;
            at = i;
        }
    }
    if (best != NULL)
        st->wlc_start = at + 1;
    return best;
}

static const struct snap_rs *sched_table(struct sched_state *st, const uint32_t *active,
                                         const struct snap_vs *vs, uint32_t hash)
{
    uint32_t slot = hash % MAGLEV_SIZE;

    if (vs->maglev == NULL)
        return NULL;
    for (uint32_t k = 0; k < SCHED_MAGLEV_PROBES; k++) {
        uint16_t idx = vs->maglev[slot];
        const struct snap_rs *rs;
        if (idx == MAGLEV_EMPTY)
            return NULL;
        rs = &vs->rs[idx];
        if (sched_eligible(st, active, rs)) {
            if (k != 0)
                st->fallbacks++;
            return rs;
        }
        if (++slot == MAGLEV_SIZE)
            slot = 0;
    }
    return NULL;
}

const struct snap_rs *sched_pick(struct sched_state *st, const uint32_t *active,
                                 const struct snap_vs *vs, const struct sched_flow *f)
{
    switch (vs->scheduler) {
    case CFG_SCHED_WRR:
        return sched_wrr(st, active, vs);
    case CFG_SCHED_SH:
        return sched_table(st, active, vs, rte_jhash_1word(f->client_ip, SCHED_HASH_SEED));
    case CFG_SCHED_MAGLEV:
        return sched_table(st, active, vs,
                           rte_jhash_3words(f->client_ip, f->vip,
                                            ((uint32_t)f->client_port << 16) | f->vport,
                                            SCHED_HASH_SEED ^ f->proto));
    case CFG_SCHED_WLC:
    default:
        return sched_wlc(st, active, vs);
    }
}
