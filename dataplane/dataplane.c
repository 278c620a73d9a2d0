#include "dataplane.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "base/ctl_msg.h"
#include "err.h"
#include "ha_proto.h"
#include "log.h"
#include "net/owner.h"
#include "proxy/proxy.h"
#include "tcp/tcp.h"
#include "tcp/tcp_testsvc.h"
#include "txlog.h"

/*
 * Worker i's pool size, from what can hold its mbufs at once (base/pool_size.h): the
 * descriptors of its queues, the rings, the ARP wait queue, the caches and the TCP
 * budget; or appliance.mbufs_per_worker, which must leave the TCP stack its minimum.
 */
static int dp_size_pool(struct dataplane *dp, const struct lbd_config *cfg, unsigned i,
                        const uint32_t *rx_desc, const uint32_t *tx_desc, unsigned n_ports,
                        char *err, size_t errlen)
{
    struct pool_size *ps = &dp->pool_size[i];
    struct pool_need need = {
        .n_workers = dp->n_workers, .n_ports = n_ports,
        .rx_desc = rx_desc[i], .tx_desc = tx_desc[i], .tx_backlog = DP_TX_BACKLOG,
        .ring_size = DP_HANDOFF_RING_SIZE, .arp_wait = IP_OUT_PENDING, .burst = DP_BURST,
        .reass = DP_REASS_MBUFS,
        .cache = DP_POOL_CACHE, .tcp_segs = DP_TCP_BUF_SEGS,
        .tcp_min_segs = DP_TCP_MIN_BUF_SEGS, .configured = cfg->appliance.mbufs_per_worker,
    };
    uint64_t mib;

    if (pool_size_plan(&need, ps) != 0)
        return lbd_err_set(err, errlen, LBD_ERANGE, "appliance.mbufs_per_worker: %u is less "
                           "than worker %u needs: %u for its queues, rings and caches and at "
                           "least %u for the TCP stack (null: %u, computed)",
                           need.configured, i, ps->fixed, need.tcp_min_segs, ps->total);
    mib = ((uint64_t)ps->total * (sizeof(struct rte_mbuf) + RTE_MBUF_DEFAULT_BUF_SIZE) +
           (1u << 20) - 1) >> 20;
    LOG_INFO("dataplane", "worker %u: mbuf pool of %u (%s; about %" PRIu64 " MiB): rx "
             "descriptors %u, tx descriptors %u, tx backlogs %u, hand-off rings %u, ARP wait "
             "%u, fragments %u, in flight %u, lcore caches %u, TCP stack and proxy %u", i,
             ps->total, need.configured != 0 ? "appliance.mbufs_per_worker" : "computed", mib,
             ps->rx, ps->tx, ps->tx_backlog, ps->handoff, ps->arp_wait, ps->reass,
             ps->in_flight, ps->cache, ps->tcp);
    return 0;
}

static int dp_create_pools(struct dataplane *dp, const struct lbd_config *cfg, char *err,
                           size_t errlen)
{
    uint32_t rx_desc[DP_MAX_WORKERS], tx_desc[DP_MAX_WORKERS];
    unsigned i = 0, lcore, n_ports;
    int rc;

    port_desc_need(cfg, dp->n_workers, rx_desc, tx_desc, &n_ports);
    RTE_LCORE_FOREACH_WORKER(lcore) {
        char name[RTE_MEMPOOL_NAMESIZE];

        rc = dp_size_pool(dp, cfg, i, rx_desc, tx_desc, n_ports, err, errlen);
        if (rc != 0)
            return rc;
        snprintf(name, sizeof(name), "mbuf_w%u", i);
        dp->pools[i] = rte_pktmbuf_pool_create(name, dp->pool_size[i].total, DP_POOL_CACHE, 0,
                                               RTE_MBUF_DEFAULT_BUF_SIZE,
                                               (int)rte_lcore_to_socket_id(lcore));
        if (dp->pools[i] == NULL)
            return lbd_err_set(err, errlen, LBD_ENOMEM, "mbuf pool of %u for worker %u: %s "
                               "(give the EAL more memory, e.g. -m 1024)",
                               dp->pool_size[i].total, i, rte_strerror(rte_errno));
        i++;
    }
    return 0;
}

static int dp_create_rings(struct dataplane *dp, char *err, size_t errlen)
{
    for (unsigned from = 0; from < dp->n_workers; from++) {
        for (unsigned to = 0; to < dp->n_workers; to++) {
            char name[RTE_RING_NAMESIZE];
            if (from == to)
                continue;
            snprintf(name, sizeof(name), "handoff_%u_%u", from % DP_MAX_WORKERS, to % DP_MAX_WORKERS);
            dp->handoff[from][to] = rte_ring_create(name, DP_HANDOFF_RING_SIZE, SOCKET_ID_ANY,
                                                    RING_F_SP_ENQ | RING_F_SC_DEQ);
            if (dp->handoff[from][to] == NULL)
                return lbd_err_set(err, errlen, LBD_ENOMEM, "hand-off ring %s: %s", name,
                                   rte_strerror(rte_errno));
        }
    }
    for (unsigned i = 0; i < dp->n_workers; i++) {
        char name[RTE_RING_NAMESIZE];
        snprintf(name, sizeof(name), "to_worker_%u", i);
        dp->to_worker[i] = rte_ring_create_elem(name, sizeof(struct ctl_msg), DP_CTL_RING_SIZE,
                                                SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (dp->to_worker[i] == NULL)
            return lbd_err_set(err, errlen, LBD_ENOMEM, "ring %s: %s", name,
                               rte_strerror(rte_errno));
    }
    dp->to_ctl = rte_ring_create_elem("to_ctl", sizeof(struct ctl_msg), DP_CTL_RING_SIZE,
                                      SOCKET_ID_ANY, RING_F_SC_DEQ);
    if (dp->to_ctl == NULL)
        return lbd_err_set(err, errlen, LBD_ENOMEM, "control ring: %s",
                           rte_strerror(rte_errno));
    for (unsigned i = 0; i < dp->n_workers; i++) {
        char name[RTE_RING_NAMESIZE];
        snprintf(name, sizeof(name), "ha_tx_%u", i);
        dp->ha_tx[i] = rte_ring_create(name, DP_HA_RING_SIZE, SOCKET_ID_ANY,
                                       RING_F_SP_ENQ | RING_F_SC_DEQ);
        snprintf(name, sizeof(name), "sync_in_%u", i);
        dp->sync_in[i] = rte_ring_create_elem(name, sizeof(struct ha_rec), DP_SYNC_IN_RING_SIZE,
                                              SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (dp->ha_tx[i] == NULL || dp->sync_in[i] == NULL)
            return lbd_err_set(err, errlen, LBD_ENOMEM, "HA rings of worker %u: %s", i,
                               rte_strerror(rte_errno));
        snprintf(name, sizeof(name), "log_%u", i);
        dp->log_ring[i] = rte_ring_create_elem(name, sizeof(struct txlog_rec),
                                               DP_LOG_RING_SIZE, SOCKET_ID_ANY,
                                               RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (dp->log_ring[i] == NULL)
            return lbd_err_set(err, errlen, LBD_ENOMEM, "log ring of worker %u: %s", i,
                               rte_strerror(rte_errno));
    }
    dp->ha_rx = rte_ring_create("ha_rx", DP_HA_RING_SIZE, SOCKET_ID_ANY, RING_F_SC_DEQ);
    dp->sync_out = rte_ring_create_elem("sync_out", sizeof(struct ha_rec), DP_SYNC_RING_SIZE,
                                        SOCKET_ID_ANY, RING_F_SC_DEQ);
    dp->ctl_pool = rte_pktmbuf_pool_create("mbuf_ctl", DP_CTL_POOL_SIZE, 0, 0,
                                           RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (dp->ha_rx == NULL || dp->sync_out == NULL || dp->ctl_pool == NULL)
        return lbd_err_set(err, errlen, LBD_ENOMEM, "HA rings and pool: %s",
                           rte_strerror(rte_errno));
    return 0;
}

static int dp_create_rcu(struct dataplane *dp, char *err, size_t errlen)
{
    size_t sz = rte_rcu_qsbr_get_memsize(dp->n_workers);

    dp->qsbr = rte_zmalloc("qsbr", sz, RTE_CACHE_LINE_SIZE);
    if (dp->qsbr == NULL || rte_rcu_qsbr_init(dp->qsbr, dp->n_workers) != 0)
        return lbd_err_set(err, errlen, LBD_ENOMEM, "rcu: cannot initialise");
    return 0;
}

/* The stack's port filter: a TCP service port of the address (a Layer 4 one above all:
 * its packets go to Layer 4 NAT, never to the stack) is no local port for a backend. */
static bool dp_port_taken(void *arg, uint32_t laddr, uint16_t lport)
{
    const struct worker *w = arg;

    return w->lc.snap != NULL && snapshot_service(w->lc.snap, laddr, IPPROTO_TCP, lport) != NULL;
}

/* Worker w's TCP endpoint, and the test services when LBD_TCP_TEST asks for them. */
static int dp_create_tcp(struct dataplane *dp, struct worker *w, const struct lbd_config *cfg,
                         char *err, size_t errlen)
{
    struct tcp_stack_conf tc;
    struct proxy_conf pc;
    const char *spec = getenv("LBD_TCP_TEST");
    char name[32];

    tcp_stack_conf_default(&tc);
    struct tcp_stack *tcp;
    struct proxy *px;

    snprintf(name, sizeof(name), "w%u", w->lc.id);
    tc.name = name;
    tc.socket_id = (int)rte_lcore_to_socket_id(w->links.lcore);
    tc.worker_id = w->lc.id;
    tc.n_workers = dp->n_workers;
    tc.wheel = &w->lc.wheel;
    tc.pool = dp->pools[w->lc.id];
    tc.tx = worker_tcp_tx;
    tc.tx_arg = w;
    tc.tx_backlog = &w->lc.tx_backlog;  /* new data waits while it is not 0 */
    /* Our MSS from the smallest port MTU (a VM's or a tunnel's may be under 1500), never
     * above 1460: segments stay within one mbuf and the SYN cookies' MSS table. */
    tc.mss = (uint16_t)RTE_MIN(lcore_mtu_min(&w->lc) - 40u, 1460u);
    tc.max_conns = cfg->layer7.max_conns_per_worker != 0 ? cfg->layer7.max_conns_per_worker
                                                         : DP_TCP_CONNS;
    tc.max_time_wait = cfg->layer7.max_time_wait_per_worker;   /* 0: 4 x max_conns */
    tc.max_buf_segs = dp->pool_size[w->lc.id].tcp;
    tc.mbuf_alloc_failed = &w->stats.lcore.mbuf_alloc_failed;
    /* Receive buffers (tcp_rcvbuf.h); 0, a config built by hand: the stack's defaults. */
    if (cfg->layer7.rcvbuf_max != 0)
        tc.rcvbuf = cfg->layer7.rcvbuf_max;
    if (cfg->layer7.rcvbuf_init != 0)
        tc.rcvbuf_init = cfg->layer7.rcvbuf_init;
    /* Send buffers (tcp_sndbuf.h), the same way. */
    if (cfg->layer7.sndbuf_init != 0)
        tc.sndbuf = cfg->layer7.sndbuf_init;
    if (cfg->layer7.sndbuf_max != 0)
        tc.sndbuf_max = cfg->layer7.sndbuf_max;
    tc.connect_timeout_ms = cfg->layer7.connect_timeout_ms;
    tc.idle_ms = cfg->layer7.client_timeout_s * 1000u;
    tc.tx_csum_defer = true;            /* lcore_tx: the port or software */
    /* TSO frames where every port segments them (layer7.tso; port.c asked for it),
     * within the least segment limit of the ports; lcore_tx cuts in software what
     * a port does not take after all. */
    tc.tso_max = w->n_tx_ports != 0 ? TCP_TSO_MAX : 0;
    for (unsigned i = 0; i < w->n_tx_ports; i++) {
        const struct dp_port *p = &dp->ports[w->tx_ports[i]];
        if (!(p->tx_offloads & RTE_ETH_TX_OFFLOAD_TCP_TSO))
            tc.tso_max = 0;
        if (p->tx_max_segs != UINT16_MAX &&
            (tc.tso_max_segs == 0 || p->tx_max_segs < tc.tso_max_segs))
            tc.tso_max_segs = p->tx_max_segs;
        if (p->tso_seg_trim > tc.tso_seg_trim)
            tc.tso_seg_trim = p->tso_seg_trim;
    }
    tc.cc = cfg->layer7.congestion_control == CFG_CC_NEWRENO ? TCP_CC_NEWRENO : TCP_CC_CUBIC;
    tcp = tcp_stack_create(&tc, err, errlen);
    if (tcp == NULL)
        return LBD_ENOMEM;
    tcp_stack_set_port_filter(tcp, dp_port_taken, w);
    worker_set_tcp(w, tcp, NULL);
    pc = (struct proxy_conf){
        .tcp = tcp, .wheel = &w->lc.wheel, .persist = w->l4.persist, .l4 = &w->l4,
        .sched = w->l4.sched, .stats = &w->stats.proxy, .traffic = &w->stats.traffic,
        .http = &w->stats.http, .pool = dp->pools[w->lc.id],
        .max_sessions = DP_PROXY_SESSIONS, .socket_id = tc.socket_id,
        .tls_stats = &w->stats.tls, .log_ring = dp->log_ring[w->lc.id],
        .worker_id = (uint8_t)w->lc.id,
    };
    px = proxy_create(&pc, err, errlen);
    if (px == NULL)
        return LBD_ENOMEM;
    worker_set_tcp(w, tcp, px);
    if (spec != NULL && *spec != '\0') {
        int rc = tcp_testsvc_setup(tcp, spec, err, errlen);
        if (rc != 0)
            return rc;
        if (w->lc.id == 0)
            LOG_INFO("dataplane", "TCP test services on every address: %s", spec);
    }
    return 0;
}

static int dp_create_workers(struct dataplane *dp, const struct lbd_config *cfg, char *err,
                             size_t errlen)
{
    unsigned i = 0, lcore;
    int rc;

    RTE_LCORE_FOREACH_WORKER(lcore) {
        int socket = (int)rte_lcore_to_socket_id(lcore);
        struct worker *w = rte_zmalloc_socket("worker", sizeof(*w), RTE_CACHE_LINE_SIZE,
                                              socket);
        struct worker_links links = {
            .id = i, .n_workers = dp->n_workers, .lcore = lcore,
            .idle_sleep_us = cfg->appliance.idle_sleep_us, .pool = dp->pools[i],
            .ports = dp->ports, .neigh = dp->neigh, .to_ctl = dp->to_ctl,
            .from_ctl = dp->to_worker[i], .qsbr = dp->qsbr, .snap = &dp->snap,
            .ha_rx = dp->ha_rx, .ha_tx = dp->ha_tx[i], .sync_out = dp->sync_out,
            .sync_in = dp->sync_in[i], .log_ring = dp->log_ring[i],
            .quit = &dp->quit,
        };

        if (w == NULL)
            return lbd_err_set(err, errlen, LBD_ENOMEM, "worker %u: out of memory", i);
        dp->workers[i] = w;
        rc = worker_init(w, &links, cfg->layer4.max_conns_per_worker != 0
                                        ? cfg->layer4.max_conns_per_worker
                                        : CFG_L4_MAX_CONNS_PER_WORKER,
                         socket);
        if (rc == LBD_EIO)
            return lbd_err_set(err, errlen, LBD_EIO, "worker %u: no random key from the "
                               "kernel (getrandom)", i);
        if (rc != 0)
            return lbd_err_set(err, errlen, LBD_ENOMEM, "worker %u: no memory for %u Layer 4 "
                               "connections (layer4.max_conns_per_worker; give the EAL more "
                               "memory with -m)", i, cfg->layer4.max_conns_per_worker != 0
                                  ? cfg->layer4.max_conns_per_worker
                                  : CFG_L4_MAX_CONNS_PER_WORKER);
        for (unsigned j = 0; j < dp->n_workers; j++) {
            w->ring_in[j] = dp->handoff[j][i];
            w->ring_out[j] = dp->handoff[i][j];
        }
        for (uint16_t p = 0; p < SNAP_MAX_PORTS; p++) {
            if (!dp->ports[p].configured)
                continue;
            w->lc.txb[p] = rte_zmalloc_socket("txbuf", RTE_ETH_TX_BUFFER_SIZE(DP_BURST), 0,
                                              socket);
            w->lc.txq[p] = rte_zmalloc_socket("txq", sizeof(struct lcore_txq), 0, socket);
            if (w->lc.txb[p] == NULL || w->lc.txq[p] == NULL)
                return lbd_err_set(err, errlen, LBD_ENOMEM, "worker %u: tx buffer", i);
            rte_eth_tx_buffer_init(w->lc.txb[p], DP_BURST);
            rte_eth_tx_buffer_set_err_callback(w->lc.txb[p], lcore_tx_error, &w->lc);
            w->lc.tx_max_segs[p] = dp->ports[p].tx_max_segs;
            w->lc.tx_csum[p] = (dp->ports[p].tx_offloads & RTE_ETH_TX_OFFLOAD_TCP_CKSUM)
                                   ? LCORE_TX_CSUM_TCP : 0;
            if (dp->ports[p].tx_offloads & RTE_ETH_TX_OFFLOAD_TCP_TSO)
                w->lc.tx_csum[p] |= LCORE_TX_TSO;
            if (dp->ports[p].tx_offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM)
                w->lc.tx_csum[p] |= LCORE_TX_TSO_IP;
            w->lc.tx_mtu[p] = dp->ports[p].mtu;
            if (w->lc.mtu_min == 0 || dp->ports[p].mtu < w->lc.mtu_min)
                w->lc.mtu_min = dp->ports[p].mtu;
            w->tx_ports[w->n_tx_ports++] = p;
            for (unsigned q = i; q < dp->ports[p].n_rxq; q += dp->n_workers)
                w->rx_ports[w->n_rx_ports++] = (struct worker_rxq){p, (uint16_t)q};
        }
        rc = dp_create_tcp(dp, w, cfg, err, errlen);
        if (rc != 0)
            return rc;
        i++;
    }
    return 0;
}

int dp_init(struct dataplane **out, const struct lbd_config *cfg, char *err, size_t errlen)
{
    struct dataplane *dp;
    unsigned n = rte_lcore_count() - 1;
    int rc;

    if (n == 0)
        return lbd_err_set(err, errlen, LBD_EINVAL,
                           "no worker lcore: give the EAL at least two (e.g. -l 0-1); the "
                           "first is the control core");
    if (n > DP_MAX_WORKERS)
        return lbd_err_set(err, errlen, LBD_EINVAL, "%u worker lcores: at most %d", n,
                           DP_MAX_WORKERS);
    dp = calloc(1, sizeof(*dp));
    if (dp == NULL)
        return lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
    dp->n_workers = n;
    dp->idle_sleep_us = cfg->appliance.idle_sleep_us;

    rc = dp_create_pools(dp, cfg, err, errlen);
    if (rc != 0)
        goto err_free;
    rc = dp_create_rings(dp, err, errlen);
    if (rc != 0)
        goto err_free;
    rc = dp_create_rcu(dp, err, errlen);
    if (rc != 0)
        goto err_free;
    dp->neigh = neigh_create("neigh", DP_NEIGH_ENTRIES, dp->qsbr, err, errlen);
    if (dp->neigh == NULL) {
        rc = LBD_ENOMEM;
        goto err_free;
    }
    rc = port_init_all(cfg, n, dp->pools, dp->ports, SNAP_MAX_PORTS, err, errlen);
    if (rc != 0)
        goto err_free;
    rc = dp_create_workers(dp, cfg, err, errlen);
    if (rc != 0)
        goto err_free;
    *out = dp;
    return 0;

err_free:
    dp_free(dp);
    return rc;
}

int dp_start(struct dataplane *dp)
{
    for (unsigned i = 0; i < dp->n_workers; i++) {
        int rc = rte_eal_remote_launch(worker_main, dp->workers[i],
                                       dp->workers[i]->links.lcore);
        if (rc != 0) {
            LOG_ERR("dataplane", "cannot launch worker %u on lcore %u: %s", i,
                    dp->workers[i]->links.lcore, rte_strerror(-rc));
            dp_stop(dp);
            return LBD_EBUSY;
        }
    }
    return 0;
}

void dp_publish(struct dataplane *dp, struct snapshot *snap)
{
    struct snapshot *old;

    snap->ha_standby = snap->ha_enabled && dp->ha_standby;
    snap->ha_sync = snap->ha_enabled && dp->ha_sync;
    old = __atomic_exchange_n(&dp->snap, snap, __ATOMIC_ACQ_REL);

    if (old != NULL) {
        rte_rcu_qsbr_synchronize(dp->qsbr, RTE_QSBR_THRID_INVALID);
        snapshot_free(old);
    }
}

const struct snapshot *dp_snapshot(const struct dataplane *dp)
{
    return __atomic_load_n(&dp->snap, __ATOMIC_ACQUIRE);
}

static void dp_neigh_full_warn(struct dataplane *dp, uint64_t refused)
{
    LOG_WARN("neigh", "neighbour table full (%u entries, none stale long enough to evict): "
             "%" PRIu64 " new neighbour(s) refused since the last warning (counted as "
             "neigh_full)", neigh_capacity(dp->neigh), refused);
}

static void dp_neigh_msg(struct dataplane *dp, const struct ctl_msg *msg, uint64_t now_ms)
{
    struct rte_ether_addr mac;
    uint64_t refused;
    char ip[16];
    int rc;

    memcpy(mac.addr_bytes, msg->mac, RTE_ETHER_ADDR_LEN);
    if (msg->type == CTL_MSG_NEIGH_GARP)
        rc = neigh_garp(dp->neigh, msg->ip, &mac, msg->port, now_ms);
    else
        rc = neigh_update(dp->neigh, msg->ip, &mac, msg->port, now_ms);
    if (rc == 1)
        LOG_DEBUG("neigh", "learned %s at " RTE_ETHER_ADDR_PRT_FMT " port %u",
                  inet_ntop(AF_INET, &msg->ip, ip, sizeof(ip)), RTE_ETHER_ADDR_BYTES(&mac),
                  msg->port);
    else if (rc == LBD_ENOMEM &&
             log_limit_hit(&dp->neigh_full_log, now_ms, DP_NEIGH_WARN_MS, &refused))
        dp_neigh_full_warn(dp, refused);
}

/* neigh_age's probe: a worker sends the unicast ARP request. */
static bool dp_neigh_probe(void *arg, uint32_t ip, const struct rte_ether_addr *mac,
                           uint16_t port)
{
    struct dataplane *dp = arg;
    struct ctl_msg msg = {.type = CTL_MSG_NEIGH_PROBE, .port = port, .ip = ip};

    if (dp->n_workers == 0)
        return false;
    memcpy(msg.mac, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
    return dp_send_to_worker(dp, owner_hash_ip(ip) % dp->n_workers, &msg) == 0;
}

unsigned dp_poll_ctl(struct dataplane *dp, uint64_t now_ms, unsigned max,
                     void (*handler)(void *ctx, const struct ctl_msg *msg), void *ctx)
{
    struct ctl_msg msgs[64];
    unsigned done = 0;
    uint64_t refused;

    while (done < max) {
        unsigned n = rte_ring_sc_dequeue_burst_elem(dp->to_ctl, msgs, sizeof(msgs[0]),
                                                    RTE_MIN(64u, max - done), NULL);
        if (n == 0)
            break;
        for (unsigned i = 0; i < n; i++) {
            if (msgs[i].type == CTL_MSG_NEIGH_LEARN || msgs[i].type == CTL_MSG_NEIGH_GARP)
                dp_neigh_msg(dp, &msgs[i], now_ms);
            else if (handler != NULL)
                handler(ctx, &msgs[i]);
        }
        done += n;
    }
    if (now_ms >= dp->neigh_age_ms) {
        dp->neigh_age_ms = now_ms + NEIGH_AGE_INTERVAL_MS;
        neigh_age(dp->neigh, now_ms, dp_neigh_probe, dp);
        /* What a flood refused since the last line, even when it has stopped. */
        if (log_limit_due(&dp->neigh_full_log, now_ms, DP_NEIGH_WARN_MS, &refused))
            dp_neigh_full_warn(dp, refused);
    }
    return done;
}

int dp_ha_send(struct dataplane *dp, struct rte_mbuf *m)
{
    if (rte_ring_sp_enqueue(dp->ha_tx[0], m) == 0)
        return 0;
    rte_pktmbuf_free(m);
    return LBD_EBUSY;
}

unsigned dp_ha_recv(struct dataplane *dp, struct rte_mbuf **out, unsigned max)
{
    return rte_ring_sc_dequeue_burst(dp->ha_rx, (void **)out, max, NULL);
}

unsigned dp_sync_recv(struct dataplane *dp, struct ha_rec *out, unsigned max)
{
    return rte_ring_sc_dequeue_burst_elem(dp->sync_out, out, sizeof(*out), max, NULL);
}

unsigned dp_log_recv(struct dataplane *dp, unsigned i, struct txlog_rec *out, unsigned max)
{
    if (i >= dp->n_workers || dp->log_ring[i] == NULL)
        return 0;
    return rte_ring_sc_dequeue_burst_elem(dp->log_ring[i], out, sizeof(*out), max, NULL);
}

int dp_sync_install(struct dataplane *dp, const struct ha_rec *r)
{
    unsigned w = owner_hash_ip(r->client_ip) % dp->n_workers;

    return rte_ring_sp_enqueue_elem(dp->sync_in[w], (void *)r, sizeof(*r)) == 0 ? 0
                                                                              : LBD_EBUSY;
}

int dp_send_to_worker(struct dataplane *dp, unsigned worker, const struct ctl_msg *msg)
{
    struct ctl_msg copy = *msg;

    if (worker >= dp->n_workers)
        return LBD_EINVAL;
    return rte_ring_sp_enqueue_elem(dp->to_worker[worker], &copy, sizeof(copy)) == 0 ? 0
                                                                                : LBD_EBUSY;
}

const struct worker_stats *dp_worker_stats(const struct dataplane *dp, unsigned i)
{
    return &dp->workers[i]->stats;
}

uint32_t dp_worker_proxy_sessions(const struct dataplane *dp, unsigned i)
{
    const struct proxy *px = dp->workers[i]->proxy;

    return px != NULL ? __atomic_load_n(&px->n_active, __ATOMIC_RELAXED) : 0;
}

const struct twheel *dp_worker_wheel(const struct dataplane *dp, unsigned i)
{
    return &dp->workers[i]->lc.wheel;
}

uint32_t dp_worker_mbufs_in_use(const struct dataplane *dp, unsigned i)
{
    return dp->pools[i] != NULL ? rte_mempool_in_use_count(dp->pools[i]) : 0;
}

uint32_t dp_worker_l4_conns(const struct dataplane *dp, unsigned i)
{
    const struct conn_table *t = dp->workers[i]->l4.conns;

    return t != NULL ? slot_stack_used(&t->free) : 0;
}

uint32_t dp_worker_l4_persist(const struct dataplane *dp, unsigned i)
{
    const struct persist_table *t = dp->workers[i]->l4.persist;

    return t != NULL ? slot_stack_used(&t->free) : 0;
}

const struct tcp_stack *dp_worker_tcp(const struct dataplane *dp, unsigned i)
{
    return dp->workers[i]->tcp;
}

unsigned dp_worker_lcore(const struct dataplane *dp, unsigned i)
{
    return dp->workers[i]->links.lcore;
}

void dp_stop(struct dataplane *dp)
{
    __atomic_store_n(&dp->quit, 1, __ATOMIC_RELEASE);
    rte_eal_mp_wait_lcore();
}

void dp_free(struct dataplane *dp)
{
    if (dp == NULL)
        return;
    port_close_all(dp->ports, SNAP_MAX_PORTS);
    for (unsigned i = 0; i < DP_MAX_WORKERS; i++) {
        if (dp->workers[i] != NULL) {
            lcore_tx_backlog_free(&dp->workers[i]->lc);
            for (unsigned p = 0; p < SNAP_MAX_PORTS; p++) {
                rte_free(dp->workers[i]->lc.txb[p]);
                rte_free(dp->workers[i]->lc.txq[p]);
            }
            proxy_free(dp->workers[i]->proxy);
            worker_free(dp->workers[i]);
            tcp_stack_free(dp->workers[i]->tcp);
            rte_free(dp->workers[i]);
        }
        for (unsigned j = 0; j < DP_MAX_WORKERS; j++) {
            /* Packets still in flight between workers go back to their pools. */
            struct rte_mbuf *m;
            if (dp->handoff[i][j] == NULL)
                continue;
            while (rte_ring_dequeue(dp->handoff[i][j], (void **)&m) == 0)
                rte_pktmbuf_free(m);
            rte_ring_free(dp->handoff[i][j]);
        }
    }
    rte_ring_free(dp->to_ctl);
    for (unsigned i = 0; i < DP_MAX_WORKERS; i++) {
        struct rte_mbuf *m;
        rte_ring_free(dp->to_worker[i]);
        while (dp->ha_tx[i] != NULL && rte_ring_dequeue(dp->ha_tx[i], (void **)&m) == 0)
            rte_pktmbuf_free(m);
        rte_ring_free(dp->ha_tx[i]);
        rte_ring_free(dp->sync_in[i]);
        rte_ring_free(dp->log_ring[i]);
    }
    {
        struct rte_mbuf *m;
        while (dp->ha_rx != NULL && rte_ring_dequeue(dp->ha_rx, (void **)&m) == 0)
            rte_pktmbuf_free(m);
    }
    rte_ring_free(dp->ha_rx);
    rte_ring_free(dp->sync_out);
    neigh_free(dp->neigh);
    snapshot_free(dp->snap);
    rte_free(dp->qsbr);
    for (unsigned i = 0; i < DP_MAX_WORKERS; i++)
        rte_mempool_free(dp->pools[i]);
    rte_mempool_free(dp->ctl_pool);
    free(dp);
}
