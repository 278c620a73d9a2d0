/*
 * neigh_learn: the worker side of the neighbour table: what a worker tells the
 * control core (the table's only writer, neigh.h) about the ARP it sees, without
 * flooding the shared worker -> control ring.
 *
 * - A neighbour that is not in the table, or whose MAC or port differs, is sent as
 *   CTL_MSG_NEIGH_LEARN (the control core adds or changes the entry).
 * - A neighbour in the table with the same MAC and port is sent as the same message
 *   (a confirmation) only when its entry was last confirmed NEIGH_REFRESH_MS ago or
 *   more: a chatty neighbour costs one message per NEIGH_REFRESH_MS.
 * - A gratuitous ARP (sender IP == target IP, request or reply) about an address in
 *   the table is sent as CTL_MSG_NEIGH_GARP when it moves the address to another MAC
 *   (at once: the HA pair moves floating addresses so), or as a confirmation when due;
 *   one about an address not in the table is ignored (it never creates an entry).
 * - The same message about the same neighbour is sent at most once per
 *   NEIGH_LEARN_HOLD_MS (a direct-mapped memory of NEIGH_LEARN_MEMO recent messages;
 *   counted as held), and a worker sends at most NEIGH_LEARN_BUDGET neighbour
 *   messages per NEIGH_LEARN_WINDOW_MS (more is counted as throttled): an ARP flood
 *   from many source addresses costs the ring a bounded rate, and the health-check
 *   results that share it keep their room.
 *
 * Deciding that the sender is a neighbour (on a connected subnet, not one of our
 * addresses) is the caller's (worker.c). Worker only; no allocation.
 */
#ifndef LBD_NEIGH_LEARN_H
#define LBD_NEIGH_LEARN_H

#include <stdint.h>

#include <rte_ether.h>

#include "base/lcore_ctx.h"

#define NEIGH_LEARN_MEMO 256        /* recent messages remembered per worker (power of 2) */
#define NEIGH_LEARN_HOLD_MS 1000    /* the same message is not repeated within this */
#define NEIGH_LEARN_BUDGET 64       /* neighbour messages per worker per window */
#define NEIGH_LEARN_WINDOW_MS 10

struct neigh_table;

/* Counted by neigh_learn. */
struct neigh_learn_stats {
    uint64_t learn_sent;        /* new or moved neighbours sent to the control core */
    uint64_t refresh_sent;      /* confirmations of known neighbours sent */
    uint64_t garp_sent;         /* gratuitous ARP moving a known neighbour, sent */
    uint64_t held;              /* not sent: the same message went within the hold time */
    uint64_t throttled;         /* not sent: over the worker's budget (an ARP flood) */
};

struct neigh_learn_memo {
    uint32_t ip;
    uint16_t port;
    uint16_t type;              /* the ctl_msg type sent; 0: slot unused */
    uint8_t mac[RTE_ETHER_ADDR_LEN];
    uint64_t sent_ms;
};

struct neigh_learn {
    struct lcore_ctx *lc;
    const struct neigh_table *neigh;    /* shared, read only here */
    struct neigh_learn_stats *stats;
    uint64_t window_ms;                 /* start of the current budget window */
    uint32_t window_n;                  /* messages sent in it */
    struct neigh_learn_memo memo[NEIGH_LEARN_MEMO];
};

/* Set-up: nl reads neigh, sends through lc, counts into stats. */
void neigh_learn_init(struct neigh_learn *nl, struct lcore_ctx *lc,
                      const struct neigh_table *neigh, struct neigh_learn_stats *stats);

/* ARP from neighbour (ip, mac) on port: a request for one of our addresses or a
 * reply to us. */
void neigh_learn_seen(struct neigh_learn *nl, uint16_t port, uint32_t ip,
                      const struct rte_ether_addr *mac);

/* A gratuitous ARP from neighbour (ip, mac) on port. */
void neigh_learn_garp(struct neigh_learn *nl, uint16_t port, uint32_t ip,
                      const struct rte_ether_addr *mac);

#endif
