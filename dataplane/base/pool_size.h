/*
 * pool_size: how many mbufs a worker's pool needs, from what can hold them at once.
 *
 * A worker's mbufs are held by: the rx descriptors of the rx queues it owns (the
 * NIC fills them from its pool), its tx descriptors (one tx queue per port), the
 * hand-off rings out of it (a packet waiting in a ring is an mbuf of the worker that
 * received it; by symmetry as many as wait in the rings into it), the ARP wait queue,
 * the fragments waiting in the reassembly table,
 * what is in flight within a loop iteration (an rx burst, the staging towards every
 * other worker, a tx buffer per port), the mempool caches of every lcore that frees
 * its mbufs (each up to 1.5 times the cache size before it flushes), and the TCP
 * stack's segment budget, which covers the stack's queues and the data the proxy
 * holds (proxy.h). The pool is the sum; a pool the operator sized instead
 * (appliance.mbufs_per_worker) keeps the fixed terms and gives the rest to the TCP
 * budget, which must keep at least tcp_min_segs. An undersized pool never corrupts
 * anything (every failed allocation is counted: mbuf_alloc_failed, rx_nombuf), but it
 * drops and retransmits under load that a sized one carries.
 *
 * Pure arithmetic (start-up, control core), so that unit tests can check it.
 */
#ifndef LBD_POOL_SIZE_H
#define LBD_POOL_SIZE_H

#include <stdint.h>

/* What a worker's pool must hold, as dataplane.c finds it at start-up. */
struct pool_need {
    unsigned n_workers;
    unsigned n_ports;           /* ports the worker transmits on (one tx buffer each) */
    uint32_t rx_desc;           /* descriptors of every rx queue the worker owns */
    uint32_t tx_desc;           /* descriptors of its tx queues */
    uint32_t tx_backlog;        /* packets each port's transmit backlog holds */
    uint32_t ring_size;         /* of each hand-off ring (it holds ring_size - 1) */
    uint32_t arp_wait;          /* packets the ARP wait queue holds */
    uint32_t reass;             /* fragments the reassembly table holds (ip_reass.h) */
    uint32_t burst;             /* packets per rx burst, staging area and tx buffer */
    uint32_t cache;             /* per-lcore cache size of the pool */
    uint32_t tcp_segs;          /* the TCP budget of a computed pool */
    uint32_t tcp_min_segs;      /* the least TCP budget a configured pool may leave */
    uint32_t configured;        /* appliance.mbufs_per_worker; 0 = computed */
};

/* The pool, term by term. */
struct pool_size {
    uint32_t rx;
    uint32_t tx;
    uint32_t tx_backlog;
    uint32_t handoff;
    uint32_t arp_wait;
    uint32_t reass;
    uint32_t in_flight;
    uint32_t cache;
    uint32_t fixed;             /* the sum of the terms above */
    uint32_t tcp;               /* the TCP stack's segment budget */
    uint32_t total;             /* the pool's size: fixed + tcp */
};

/*
 * Fills out for need. Returns 0, or LBD_ERANGE when need->configured is below
 * fixed + tcp_min_segs (out then holds the computed pool, what was needed).
 */
int pool_size_plan(const struct pool_need *need, struct pool_size *out);

#endif
