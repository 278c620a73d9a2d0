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
    CTL_MSG_NEIGH_LEARN = 1,    /* neigh: an ARP sender on a connected subnet (new,
                                 * moved, or confirmed) */
    CTL_MSG_ECHO_REPLY,         /* echo: the reply to a ping in flight (probe.h) */
    CTL_MSG_PROBE_RESULT,       /* probe: the outcome of a TCP connect / HTTP check */
    CTL_MSG_PERSIST_ENTRY,      /* persist_ctl: one persistence entry of a listing */
    CTL_MSG_PERSIST_DONE,       /* persist_ctl: a listing or flush is complete */
    CTL_MSG_NEIGH_GARP,         /* neigh: a gratuitous ARP about a known neighbour
                                 * (changes an entry, never creates one) */
    /* control -> worker */
    CTL_MSG_PROBE_PING = 16,    /* probe: send an ICMP echo request */
    CTL_MSG_PROBE_CONNECT,      /* probe: TCP handshake (and HTTP request) to ip:port */
    CTL_MSG_PERSIST_LIST,       /* persist_ctl: list entries (port: service slot, ip: client) */
    CTL_MSG_PERSIST_FLUSH,      /* persist_ctl: delete entries (same filters) */
    CTL_MSG_NEIGH_PROBE,        /* ip_out: unicast ARP request to a stale neighbour */
    CTL_MSG_HA_GARP,            /* ip_out: gratuitous ARP for ip on port (new master) */
    CTL_MSG_HA_BULK,            /* l4_sync: stream every entry (a bulk resync) */
};

struct ctl_msg {
    uint16_t type;
    uint16_t port;              /* neigh: the port; probe: the target's TCP port;
                                 * persist: the service slot (CTL_PERSIST_ANY: every one) */
    uint32_t ip;                /* neigh: the neighbour; echo: the peer; probe: the target;
                                 * persist: the client (0 in a request: every one) */
    union {
        uint8_t mac[6];         /* CTL_MSG_NEIGH_LEARN, _GARP, _PROBE */
        struct {                /* CTL_MSG_ECHO_REPLY, CTL_MSG_PROBE_PING */
            uint16_t id;        /* echo identifier: id % n_workers is the worker */
            uint16_t seq;
            uint16_t timeout_cs;  /* ping: no reply is taken after this (centiseconds) */
        } echo;
        struct {                /* CTL_MSG_PROBE_CONNECT, CTL_MSG_PROBE_RESULT */
            uint32_t id;        /* the control core's probe number */
            union {
                uint16_t timeout_cs;  /* connect: give up after this (centiseconds) */
                int16_t result;       /* result: 0 ok, else an LBD_E* code */
            };
            uint16_t detail;    /* connect: the service slot; result: HTTP status seen */
        } probe;
        struct {                /* CTL_MSG_PERSIST_ENTRY */
            uint32_t rs_id;
            uint32_t expires_s : 20;  /* seconds left once no connection uses it */
            uint32_t conns : 8;       /* connections using it (capped at 255) */
            uint32_t tag : 4;         /* the request's number, mod 16 */
        } persist;
        struct {                /* CTL_MSG_PERSIST_LIST/FLUSH (request), _DONE (reply) */
            uint32_t req;       /* the control core's request number */
            uint32_t count;     /* DONE: entries listed or flushed */
        } preq;
    };
};

#define CTL_PERSIST_ANY 0xffff

_Static_assert(sizeof(struct ctl_msg) == 16, "ctl_msg is a ring element");

#endif
