/*
 * ha_elect: the master election (control core only; no I/O).
 */
#include "ha_elect.h"

#include <string.h>

#include <arpa/inet.h>

uint8_t ha_elect_priority(const struct ha_elect *e)
{
    if (e->fault || e->override == HA_OVERRIDE_DEMOTED)
        return 0;
    if (e->override == HA_OVERRIDE_PROMOTED)
        return 255;
    return e->cfg.priority;
}

uint32_t ha_elect_master_down_ms(const struct ha_elect *e)
{
    uint32_t iv = e->peer_seen && e->peer_interval_ms != 0 ? e->peer_interval_ms
                                                            : e->cfg.interval_ms;
    uint32_t prio = ha_elect_priority(e);

    return 3 * iv + (256 - (prio > 255 ? 255 : prio)) * iv / 256;
}

bool ha_elect_peer_alive(const struct ha_elect *e, uint64_t now)
{
    return e->peer_seen && now - e->peer_last_ms <= ha_elect_master_down_ms(e);
}

/* We win against the peer's last advert: higher priority, or equal and higher address. */
static bool ha_elect_wins(const struct ha_elect *e)
{
    uint8_t mine = ha_elect_priority(e);

    if (mine != e->peer_priority)
        return mine > e->peer_priority;
    return ntohl(e->cfg.self_ip) > ntohl(e->cfg.peer_ip);
}

static void ha_elect_set(struct ha_elect *e, enum ha_state st, uint64_t now, const char *why)
{
    if (e->state == st)
        return;
    e->state = st;
    e->transitions++;
    e->since_ms = now;
    e->reason = why;
    e->lower_master_since = 0;
    e->next_advert_at = now;            /* the peer hears of it at once */
    if (st == HA_STATE_BACKUP) {
        e->master_down_at = now + ha_elect_master_down_ms(e);
        e->sync_ready = false;
    }
}

void ha_elect_init(struct ha_elect *e, const struct ha_elect_cfg *cfg, uint64_t now)
{
    memset(e, 0, sizeof(*e));
    e->cfg = *cfg;
    e->state = HA_STATE_INIT;
    ha_elect_set(e, HA_STATE_BACKUP, now, "start-up");
    e->transitions = 0;
}

void ha_elect_advert(struct ha_elect *e, const struct ha_advert *a, uint64_t now)
{
    e->peer_seen = true;
    e->peer_state = a->state;
    e->peer_priority = a->priority;
    e->peer_interval_ms = a->interval_ms;
    e->peer_last_ms = now;

    switch (e->state) {
    case HA_STATE_BACKUP:
        if (a->state == HA_STATE_MASTER) {
            e->master_down_at = now + ha_elect_master_down_ms(e);
            if (ha_elect_wins(e) &&
                (e->cfg.preempt || e->override == HA_OVERRIDE_PROMOTED)) {
                if (e->lower_master_since == 0)
                    e->lower_master_since = now ? now : 1;
            } else {
                e->lower_master_since = 0;
            }
        } else if (ha_elect_wins(e) && e->override != HA_OVERRIDE_DEMOTED) {
            /* Nobody is master and we are the one to be. */
            ha_elect_set(e, HA_STATE_MASTER,
                         now, a->state == HA_STATE_FAULT ? "peer in fault"
                              : a->priority == 0         ? "peer demoted"
                                                         : "peer is backup, we win");
        }
        break;
    case HA_STATE_MASTER:
        if (a->state == HA_STATE_MASTER) {
            if (ha_elect_wins(e))
                e->next_advert_at = now;        /* the peer steps down on it */
            else
                ha_elect_set(e, HA_STATE_BACKUP, now, "peer master with precedence");
        }
        break;
    default:
        break;
    }
}

void ha_elect_tick(struct ha_elect *e, uint64_t now)
{
    if (e->fault) {
        ha_elect_set(e, HA_STATE_FAULT, now,
                     (e->faults & HA_FAULT_LINK) ? "data port down"
                                                 : "monitored address not answering");
        return;
    }
    if (e->state == HA_STATE_FAULT)
        ha_elect_set(e, HA_STATE_BACKUP, now, "fault cleared");
    if (e->state != HA_STATE_BACKUP)
        return;
    if (now >= e->master_down_at) {
        ha_elect_set(e, HA_STATE_MASTER, now, "master down");
        return;
    }
    if (e->lower_master_since != 0 && ha_elect_peer_alive(e, now) &&
        e->peer_state == HA_STATE_MASTER && ha_elect_wins(e)) {
        uint64_t held = now - e->lower_master_since;
        if (held >= e->cfg.preempt_delay_ms &&
            (e->sync_ready || held >= (uint64_t)e->cfg.preempt_delay_ms + HA_ELECT_SYNC_WAIT_MS))
            ha_elect_set(e, HA_STATE_MASTER, now, "preempt");
    }
}

void ha_elect_set_fault(struct ha_elect *e, enum ha_fault cause, bool on, uint64_t now)
{
    if (on)
        e->faults |= (unsigned)cause;
    else
        e->faults &= ~(unsigned)cause;
    e->fault = e->faults != 0;
    ha_elect_tick(e, now);
}

bool ha_elect_promote(struct ha_elect *e, uint64_t now)
{
    if (e->fault)
        return false;
    e->override = HA_OVERRIDE_PROMOTED;
    ha_elect_set(e, HA_STATE_MASTER, now, "ha.promote");
    e->next_advert_at = now;
    return true;
}

void ha_elect_demote(struct ha_elect *e, uint64_t now)
{
    e->override = HA_OVERRIDE_DEMOTED;
    if (e->state == HA_STATE_MASTER)
        ha_elect_set(e, HA_STATE_BACKUP, now, "ha.demote");
    e->lower_master_since = 0;
    e->next_advert_at = now;
}

bool ha_elect_advert_due(struct ha_elect *e, uint64_t now)
{
    if (now < e->next_advert_at)
        return false;
    e->next_advert_at = now + e->cfg.interval_ms;
    return true;
}
