/*
 * dp_limits: the dataplane's fixed sizes, in one place for every layer: how many
 * workers and ports, burst and ring sizes, pool and table capacities per worker.
 * Compile-time constants only; the capacities a config sets (layer4 tables) are in
 * config.h.
 */
#ifndef LBD_DP_LIMITS_H
#define LBD_DP_LIMITS_H

#define DP_MAX_WORKERS 16
#define DP_MAX_PORTS 32             /* DPDK port ids a config may name (0..31) */
#define DP_BURST 32
#define DP_TX_BACKLOG 128           /* packets a port's transmit backlog holds per worker
                                       (base/lcore_ctx.h; a power of two) */
#define DP_TX_WAIT_MAX_MS 10        /* the longest TCP connections hold new data back for
                                       a backlog that does not empty (tcp/tcp_txwait.h) */
#define DP_POOL_CACHE 256           /* mbufs per lcore cache of a worker's pool */
#define DP_TCP_BUF_SEGS 4096        /* the TCP stack's segment budget per worker (its
                                       queues and the proxy's held data), in a pool of
                                       the computed size (base/pool_size.h) */
#define DP_TCP_MIN_BUF_SEGS 1024    /* the least budget a configured pool size
                                       (appliance.mbufs_per_worker) may leave it */
#define DP_TCP_CONNS 32768          /* TCP control blocks per worker (both halves of
                                       proxied connections; TIME_WAIT holds none) when
                                       layer7.max_conns_per_worker is 0 */
#define DP_PROXY_SESSIONS 16384     /* Layer 7 proxied connections per worker */
#define DP_TIMER_BUDGET 1024        /* timer expiries (and cascade moves) per loop
                                       iteration; the rest waits for the next ones */
#define DP_HANDOFF_RING_SIZE 4096
#define DP_CTL_RING_SIZE 4096
#define DP_HA_RING_SIZE 256         /* HA datagrams, each way (mbufs) */
#define DP_SYNC_RING_SIZE 16384     /* HA sync records, workers -> control */
#define DP_SYNC_IN_RING_SIZE 4096   /* HA sync records to install, control -> worker */
#define DP_LOG_RING_SIZE 4096      /* traffic log records, worker -> control, each */
#define DP_CTL_POOL_SIZE 1023       /* the control core's own mbufs (HA datagrams) */
#define DP_NEIGH_ENTRIES 4096       /* neighbour table capacity (net/neigh.h) */
#define DP_REASS_ENTRIES 256        /* datagrams being reassembled per worker (net/ip_reass.h) */
#define DP_REASS_FRAGS 16           /* fragments of one datagram */
#define DP_REASS_BYTES 16384        /* payload bytes of one datagram */
#define DP_REASS_MBUFS 1024         /* fragments held per worker, all datagrams together */
#define DP_REASS_TIMEOUT_MS 2000    /* a datagram not complete by then is dropped */

#endif
