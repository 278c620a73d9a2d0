/*
 * ctl_msg: messages between the control core and the workers.
 *
 * Fixed 16-byte records so they travel by value through rte_ring's element API:
 * no allocation on either side. Workers -> control: one multi-producer ring
 * (dp->to_ctl). Control -> worker i: one single-producer/single-consumer ring each
 * (dp->to_worker[i]).
 */
#ifndef LBD_CTL_MSG_H
#define LBD_CTL_MSG_H

#include <stdint.h>

enum ctl_msg_type {
    /* worker -> control */
    CTL_MSG_NEIGH_LEARN = 1,    /* neigh: an ARP sender on a connected subnet */
    CTL_MSG_ECHO_REPLY,         /* echo: an ICMP echo reply to one of our addresses */
    CTL_MSG_PROBE_RESULT,       /* probe: the outcome of a TCP connect / HTTP check */
    /* control -> worker */
    CTL_MSG_PROBE_PING = 16,    /* probe: send an ICMP echo request */
    CTL_MSG_PROBE_CONNECT,      /* probe: TCP handshake (and HTTP request) to ip:port */
};

struct ctl_msg {
    uint16_t type;
    uint16_t port;              /* neigh: the port; probe: the target's TCP port */
    uint32_t ip;                /* neigh: the neighbour; echo: the peer; probe: the target */
    union {
        uint8_t mac[6];         /* CTL_MSG_NEIGH_LEARN */
        struct {                /* CTL_MSG_ECHO_REPLY, CTL_MSG_PROBE_PING */
            uint16_t id;        /* echo identifier: id % n_workers is the worker */
            uint16_t seq;
        } echo;
        struct {                /* CTL_MSG_PROBE_CONNECT, CTL_MSG_PROBE_RESULT */
            uint32_t id;        /* the control core's probe number */
            union {
                uint16_t timeout_cs;  /* connect: give up after this (centiseconds) */
                int16_t result;       /* result: 0 ok, else an LBD_E* code */
            };
            uint16_t detail;    /* connect: the service slot; result: HTTP status seen */
        } probe;
    };
};

_Static_assert(sizeof(struct ctl_msg) == 16, "ctl_msg is a ring element");

#endif
