/*
 * neigh_learn: learn, confirm and gratuitous-ARP messages to the control core, held
 * and throttled.
 */
#include "net/neigh_learn.h"

#include <string.h>

#include <rte_hash_crc.h>

#include "net/neigh.h"

void neigh_learn_init(struct neigh_learn *nl, struct lcore_ctx *lc,
                      const struct neigh_table *neigh, struct neigh_learn_stats *stats)
{
    memset(nl, 0, sizeof(*nl));
    nl->lc = lc;
    nl->neigh = neigh;
    nl->stats = stats;
}

/* Sends (type, port, ip, mac) unless the same went recently or the budget is spent. */
static bool neigh_learn_send(struct neigh_learn *nl, uint16_t type, uint16_t port, uint32_t ip,
                             const struct rte_ether_addr *mac)
{
    struct neigh_learn_memo *mm =
        &nl->memo[rte_hash_crc_4byte(ip, 0) & (NEIGH_LEARN_MEMO - 1)];
    uint64_t now = nl->lc->now_ms;
    struct ctl_msg msg = {.type = type, .port = port, .ip = ip};

    if (mm->type == type && mm->ip == ip && mm->port == port &&
        memcmp(mm->mac, mac->addr_bytes, RTE_ETHER_ADDR_LEN) == 0 &&
        now - mm->sent_ms < NEIGH_LEARN_HOLD_MS) {
        nl->stats->held++;
        return false;
    }
    if (now - nl->window_ms >= NEIGH_LEARN_WINDOW_MS) {
        nl->window_ms = now;
        nl->window_n = 0;
    }
    if (nl->window_n >= NEIGH_LEARN_BUDGET) {
        nl->stats->throttled++;
        return false;
    }
    memcpy(msg.mac, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
    if (!lcore_to_ctl(nl->lc, &msg))
        return false;   /* counted as ctl_ring_full; the next ARP tries again */
    nl->window_n++;
    mm->type = type;
    mm->ip = ip;
    mm->port = port;
    memcpy(mm->mac, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
    mm->sent_ms = now;
    return true;
}

void neigh_learn_seen(struct neigh_learn *nl, uint16_t port, uint32_t ip,
                      const struct rte_ether_addr *mac)
{
    struct rte_ether_addr known;
    uint16_t known_port;
    uint64_t age;

    if (neigh_lookup_age(nl->neigh, ip, &known, &known_port, &age) == 0 &&
        known_port == port && rte_is_same_ether_addr(&known, mac)) {
        if (age >= NEIGH_REFRESH_MS &&
            neigh_learn_send(nl, CTL_MSG_NEIGH_LEARN, port, ip, mac))
            nl->stats->refresh_sent++;
        return;
    }
    if (neigh_learn_send(nl, CTL_MSG_NEIGH_LEARN, port, ip, mac))
        nl->stats->learn_sent++;
}

void neigh_learn_garp(struct neigh_learn *nl, uint16_t port, uint32_t ip,
                      const struct rte_ether_addr *mac)
{
    struct rte_ether_addr known;
    uint16_t known_port;
    uint64_t age;

    if (neigh_lookup_age(nl->neigh, ip, &known, &known_port, &age) != 0)
        return;     /* not a neighbour we have: a gratuitous ARP creates nothing */
    if (known_port == port && rte_is_same_ether_addr(&known, mac)) {
        if (age >= NEIGH_REFRESH_MS && neigh_learn_send(nl, CTL_MSG_NEIGH_GARP, port, ip, mac))
            nl->stats->refresh_sent++;
        return;
    }
    if (neigh_learn_send(nl, CTL_MSG_NEIGH_GARP, port, ip, mac))
        nl->stats->garp_sent++;
}
