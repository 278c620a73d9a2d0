#include "l4/persist_ctl.h"

#include <rte_hash.h>
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

static uint32_t persist_ctl_flush(struct persist_ctl *pc, uint16_t vs_slot, uint32_t client)
{
    struct persist_table *t = pc->persist;
    struct persist_entry *batch[PERSIST_CTL_BATCH];
    uint32_t total = 0, n;

    if (client == 0)
        return persist_flush(t, vs_slot == CTL_PERSIST_ANY ? PERSIST_ALL : vs_slot);
    /* Collect, then delete: the hash must not change under its iterator. */
    do {
        const void *key;
        void *data;
        uint32_t iter = 0;
        n = 0;
        while (n < PERSIST_CTL_BATCH && rte_hash_iterate(t->hash, &key, &data, &iter) >= 0) {
            struct persist_entry *e = data;
            if (persist_ctl_match(e, vs_slot, client))
                batch[n++] = e;
        }
        for (uint32_t i = 0; i < n; i++)
            persist_delete(t, batch[i]);
        total += n;
    } while (n == PERSIST_CTL_BATCH);
    return total;
}

void persist_ctl_handle(struct persist_ctl *pc, const struct ctl_msg *msg)
{
    struct persist_ctl_dump *d = &pc->dump;

    if (msg->type == CTL_MSG_PERSIST_FLUSH) {
        struct ctl_msg done = {.type = CTL_MSG_PERSIST_DONE};
        done.preq.req = msg->preq.req;
        done.preq.count = pc->persist ? persist_ctl_flush(pc, msg->port, msg->ip) : 0;
        lcore_to_ctl(pc->lc, &done);
        return;
    }
    /* A new listing replaces one in progress (its requester has given up). */
    d->active = true;
    d->req = msg->preq.req;
    d->iter = 0;
    d->client = msg->ip;
    d->vs_slot = msg->port;
    d->count = 0;
    persist_ctl_poll(pc);
}

void persist_ctl_poll(struct persist_ctl *pc)
{
    struct persist_ctl_dump *d = &pc->dump;
    struct ctl_msg m;
    unsigned room, sent = 0;

    if (likely(!d->active))
        return;
    /* Leave room in the shared ring for the other workers and for health results. */
    room = rte_ring_free_count(pc->lc->to_ctl);
    room = room > 256 ? room - 256 : 0;
    while (pc->persist != NULL && sent < room && sent < PERSIST_CTL_BATCH) {
        const void *key;
        void *data;
        const struct persist_entry *e;
        uint32_t at = d->iter;
        uint64_t left;

        if (rte_hash_iterate(pc->persist->hash, &key, &data, &d->iter) < 0)
            goto done;
        e = data;
        if (!persist_ctl_match(e, d->vs_slot, d->client))
            continue;
        left = e->last_used + e->timeout_ms > pc->lc->now_ms
                   ? (e->last_used + e->timeout_ms - pc->lc->now_ms + 999) / 1000
                   : 0;
        m = (struct ctl_msg){.type = CTL_MSG_PERSIST_ENTRY, .port = e->vs_slot,
                             .ip = e->client_ip};
        m.persist.rs_id = e->rs_id;
        m.persist.expires_s = left > 0xfffff ? 0xfffff : (uint32_t)left;
        m.persist.conns = e->n_conns > 0xff ? 0xff : e->n_conns;
        m.persist.tag = d->req & 0xf;
        if (!lcore_to_ctl(pc->lc, &m)) {
            d->iter = at; /* this entry again, next time */
            return;
        }
        sent++;
        d->count++;
    }
    if (pc->persist != NULL)
        return; /* more next iteration */
done:
    m = (struct ctl_msg){.type = CTL_MSG_PERSIST_DONE};
    m.preq.req = d->req;
    m.preq.count = d->count;
    if (lcore_to_ctl(pc->lc, &m))
        d->active = false;
}
