#include "l4/persist_ctl.h"

#include <rte_branch_prediction.h>
#include <rte_ring.h>

#include "base/ctl_msg.h"
#include "base/lcore_ctx.h"
#include "l4/persist.h"

void persist_ctl_init(struct persist_ctl *pc, struct lcore_ctx *lc,
                      struct persist_table *persist)
{
    *pc = (struct persist_ctl){.lc = lc, .persist = persist};
}

static bool persist_ctl_match(const struct persist_entry *e, uint16_t vs_slot, uint32_t client)
{
    return (vs_slot == CTL_PERSIST_ANY || e->vs_slot == vs_slot) &&
           (client == 0 || e->client_ip == client);
}

void persist_ctl_handle(struct persist_ctl *pc, const struct ctl_msg *msg)
{
    struct persist_ctl_dump *d = &pc->dump;

    if (msg->type == CTL_MSG_PERSIST_FLUSH) {
        struct ctl_msg done = {.type = CTL_MSG_PERSIST_DONE};
        done.preq.req = msg->preq.req;
        done.preq.count = pc->persist == NULL ? 0
                          : persist_flush_match(pc->persist,
                                                msg->port == CTL_PERSIST_ANY ? PERSIST_ALL
                                                                             : msg->port,
                                                msg->ip);
        lcore_to_ctl(pc->lc, &done);
        return;
    }
    /* A new listing replaces one in progress (its requester has given up). */
    *d = (struct persist_ctl_dump){
        .active = true, .req = msg->preq.req, .client = msg->ip, .vs_slot = msg->port};
    persist_ctl_poll(pc);
}

unsigned persist_ctl_poll(struct persist_ctl *pc)
{
    struct persist_ctl_dump *d = &pc->dump;
    const struct persist_table *t = pc->persist;
    struct ctl_msg m;
    unsigned room, sent = 0;
    uint32_t start = d->pos, end;

    if (likely(!d->active))
        return 0;
    if (t == NULL)
        goto done;
    /* Leave room in the shared ring for the other workers and for health results. */
    room = rte_ring_free_count(pc->lc->to_ctl);
    room = room > 256 ? room - 256 : 0;
    end = t->free.capacity - d->pos > PERSIST_CTL_VISIT ? d->pos + PERSIST_CTL_VISIT
                                                        : t->free.capacity;
    while (d->pos < end && sent < room && sent < PERSIST_CTL_BATCH) {
        const struct persist_entry *e = &t->pool[d->pos];
        uint64_t left;

        if (e->table == NULL || e->flushed || !persist_ctl_match(e, d->vs_slot, d->client)) {
            d->pos++;
            continue;
        }
        left = e->last_used + e->timeout_ms > pc->lc->now_ms
                   ? (e->last_used + e->timeout_ms - pc->lc->now_ms + 999) / 1000
                   : 0;
        m = (struct ctl_msg){.type = CTL_MSG_PERSIST_ENTRY, .port = e->vs_slot,
                             .ip = e->client_ip};
        m.persist.rs_id = e->rs_id;
        m.persist.expires_s = left > 0xfffff ? 0xfffff : (uint32_t)left;
        m.persist.conns = e->n_conns > 0xff ? 0xff : e->n_conns;
        m.persist.tag = d->req & 0xf;
        if (!lcore_to_ctl(pc->lc, &m))
            break; /* this entry again, next time */
        d->pos++;
        sent++;
        d->count++;
    }
    d->visited += d->pos - start;
    if (d->pos < t->free.capacity)
        return d->pos - start; /* more next iteration */
done:
    m = (struct ctl_msg){.type = CTL_MSG_PERSIST_DONE};
    m.preq.req = d->req;
    m.preq.count = d->count;
    if (lcore_to_ctl(pc->lc, &m))
        d->active = false;
    return d->pos - start;
}
