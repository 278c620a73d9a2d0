/*
 * dp_harness: one worker on two in-memory ports (net_ring, whose tx comes back on
 * its own rx), for packet-in / packet-out tests of the dispatch path and for the
 * benchmark. Port 0 is the server LAN 192.168.112.0/24, port 1 the client LAN
 * 10.200.50.0/24 with a gateway; both have frame_mac_us. The caller inits the EAL
 * with --vdev=net_ring0 --vdev=net_ring1.
 */
#ifndef LBD_TEST_DP_HARNESS_H
#define LBD_TEST_DP_HARNESS_H

#include <stdio.h>
#include <stdlib.h>

#include <criterion/criterion.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "dataplane.h"
#include "frames.h"
#include "l4/l4.h"
#include "net/pkt_parse.h"
#include "snapshot/snapshot.h"
#include "worker.h"

#define H_PORTS 2
#define H_RS 3

struct harness {
    struct dataplane dp;
    struct worker *w;
    struct rte_mempool *pool;
    struct snapshot *s;
    uint64_t gen;
    struct lbd_config cfg;
    struct cfg_interface ifs[2];
    struct cfg_real_server rs_udp[H_RS], rs_tcp[H_RS];
    struct cfg_vs vs[2];
    uint64_t sent_ol_flags;     /* the flags of the last frame h_sent returned */
};

static const struct rte_ether_addr h_mac_rs[H_RS] = {
    {{0x02, 0, 0, 0, 0x51, 1}}, {{0x02, 0, 0, 0, 0x52, 2}}, {{0x02, 0, 0, 0, 0x57, 3}}};
static const struct rte_ether_addr h_mac_client = {{0x02, 0, 0, 0, 0x20, 0x20}};
static const struct rte_ether_addr h_mac_gw = {{0x02, 0, 0, 0, 0x01, 0x01}};

/* The config: UDP 3478 (wrr, persistence) and TCP 443 (port null, maglev) on one VIP. */
static inline void h_config(struct harness *h)
{
    static const char *ips[H_RS] = {"192.168.112.51", "192.168.112.52", "192.168.112.57"};
    struct lbd_config *c = &h->cfg;

    memset(c, 0, sizeof(*c));
    h->ifs[0] = (struct cfg_interface){.port = 0, .ip = ip4("192.168.112.5"), .prefix_len = 24};
    h->ifs[1] = (struct cfg_interface){.port = 1, .ip = ip4("10.200.50.5"), .prefix_len = 24,
                                       .gateway = ip4("10.200.50.1")};
    c->interfaces = h->ifs;
    c->n_interfaces = 2;
    c->routing.forward = true;
    for (int i = 0; i < H_RS; i++) {
        memset(&h->rs_udp[i], 0, sizeof(h->rs_udp[i]));
        snprintf(h->rs_udp[i].label, CFG_LABEL_MAX, "rs%d", i + 1);
        h->rs_udp[i].ip = ip4(ips[i]);
        h->rs_udp[i].port = 3478;
        h->rs_udp[i].weight = 100;
        h->rs_udp[i].id = (uint32_t)(1 + i);
        h->rs_udp[i].slot = (uint16_t)i;
        h->rs_tcp[i] = h->rs_udp[i];
        h->rs_tcp[i].port = 0;
        h->rs_tcp[i].id = (uint32_t)(11 + i);
    }
    memset(h->vs, 0, sizeof(h->vs));
    snprintf(h->vs[0].label, CFG_LABEL_MAX, "AvUDP");
    h->vs[0].ip = ip4("10.200.50.120");
    h->vs[0].ports[0] = 3478;
    h->vs[0].n_ports = 1;
    h->vs[0].protocol = CFG_PROTO_UDP;
    h->vs[0].layer = 4;
    h->vs[0].scheduler = CFG_SCHED_WRR;
    h->vs[0].persistence.type = CFG_PERSIST_SOURCE_IP;
    h->vs[0].persistence.timeout_s = 1200;
    h->vs[0].real_servers = h->rs_udp;
    h->vs[0].n_real_servers = H_RS;
    snprintf(h->vs[1].label, CFG_LABEL_MAX, "AvTCP");
    h->vs[1].slot = 1;
    h->vs[1].ip = ip4("10.200.50.120");
    h->vs[1].ports[0] = 443;
    h->vs[1].ports[1] = 5061;
    h->vs[1].n_ports = 2;
    h->vs[1].protocol = CFG_PROTO_TCP;
    h->vs[1].layer = 4;
    h->vs[1].scheduler = CFG_SCHED_MAGLEV;
    h->vs[1].real_servers = h->rs_tcp;
    h->vs[1].n_real_servers = H_RS;
    c->virtual_services = h->vs;
    c->n_virtual_services = 2;
}

/* (Re)builds and installs the snapshot from h->cfg, as the control core would. */
static inline int h_publish(struct harness *h)
{
    char err[256];
    struct snapshot *s = snapshot_build(&h->cfg, ++h->gen, err, sizeof(err));

    if (s == NULL) {
        fprintf(stderr, "snapshot: %s\n", err);
        return -1;
    }
    snapshot_free(h->s);
    h->s = s;
    return 0;
}

static inline int h_port(struct harness *h, uint16_t p)
{
    struct rte_eth_conf conf = {0};

    if (rte_eth_dev_configure(p, 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup(p, 0, 1024, 0, NULL, h->pool) != 0 ||
        rte_eth_tx_queue_setup(p, 0, 1024, 0, NULL) != 0 || rte_eth_dev_start(p) != 0)
        return -1;
    h->dp.ports[p].configured = true;
    h->dp.ports[p].id = p;
    h->dp.ports[p].mac = frame_mac_us;
    return 0;
}

/* The EAL of the dataplane tests: no hugepages, one lcore, two in-memory ports
 * (net_ring0, net_ring1). */
static inline void h_eal_init(void)
{
    char *argv[] = {"test", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
                    "--log-level=error", "-l", "0", "--vdev=net_ring0", "--vdev=net_ring1",
                    NULL};

    cr_assert_geq(rte_eal_init(11, argv), 0);
}

/* The IPv4 header of an Ethernet frame. */
static inline const struct rte_ipv4_hdr *h_ip_of(const uint8_t *frame)
{
    return (const struct rte_ipv4_hdr *)(frame + 14);
}

/* The frame is a valid IPv4 packet (pkt_parse, header checksum) whose TCP/UDP checksum
 * is right; returns what pkt_parse found. */
static inline struct pkt_info h_assert_valid(const uint8_t *frame, uint32_t len)
{
    const struct rte_ipv4_hdr *ip = h_ip_of(frame);
    struct pkt_info pi;
    uint32_t sum;

    cr_assert_eq(pkt_parse(frame, len, true, &pi), DROP_NONE, "IP header valid");
    sum = rte_raw_cksum(frame + pi.l4_off, pi.l4_len);
    sum += (ip->src_addr & 0xffff) + (ip->src_addr >> 16);
    sum += (ip->dst_addr & 0xffff) + (ip->dst_addr >> 16);
    sum += rte_cpu_to_be_16(pi.ip_proto) + rte_cpu_to_be_16(pi.l4_len);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    cr_assert_eq(sum, 0xffff, "L4 checksum valid");
    return pi;
}

static inline int h_init(struct harness *h, uint32_t max_conns)
{
    char err[128];

    memset(h, 0, sizeof(*h));
    if (rte_eth_dev_count_avail() < H_PORTS) {
        fprintf(stderr, "harness: need --vdev=net_ring0 --vdev=net_ring1\n");
        return -1;
    }
    h->pool = rte_pktmbuf_pool_create("h_pool", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    if (h->pool == NULL)
        return -1;
    h->dp.n_workers = 1;
    h->dp.pools[0] = h->pool;
    h->dp.neigh = neigh_create("h_neigh", 1024, NULL, err, sizeof(err));
    if (h->dp.neigh == NULL)
        return -1;
    /* The worker -> control ring (neighbour learning, probe results): h_ctl_drain. */
    h->dp.to_ctl = rte_ring_create_elem("h_to_ctl", sizeof(struct ctl_msg), 1024, 0,
                                        RING_F_SC_DEQ);
    if (h->dp.to_ctl == NULL)
        return -1;
    for (uint16_t p = 0; p < H_PORTS; p++)
        if (h_port(h, p) != 0)
            return -1;
    h->w = rte_zmalloc("worker", sizeof(*h->w), RTE_CACHE_LINE_SIZE);
    if (h->w == NULL)
        return -1;
    h->dp.workers[0] = h->w;
    struct worker_links links = {.id = 0, .n_workers = 1, .pool = h->pool,
                                 .ports = h->dp.ports, .neigh = h->dp.neigh,
                                 .to_ctl = h->dp.to_ctl, .snap = &h->dp.snap,
                                 .quit = &h->dp.quit};
    if (worker_init(h->w, &links, max_conns, 0) != 0)
        return -1;
    for (uint16_t p = 0; p < H_PORTS; p++) {
        h->w->lc.txb[p] = rte_zmalloc("txb", RTE_ETH_TX_BUFFER_SIZE(DP_BURST), 0);
        rte_eth_tx_buffer_init(h->w->lc.txb[p], DP_BURST);
        rte_eth_tx_buffer_set_err_callback(h->w->lc.txb[p], lcore_tx_error, &h->w->lc);
        h->w->tx_ports[h->w->n_tx_ports++] = p;
    }
    h->w->lc.now_ms = 1000;
    twheel_init(&h->w->lc.wheel, h->w->lc.now_ms);
    for (int i = 0; i < H_RS; i++)
        neigh_update(h->dp.neigh, ip4(i == 0 ? "192.168.112.51" : i == 1 ? "192.168.112.52"
                                                                       : "192.168.112.57"),
                     &h_mac_rs[i], 0, 0);
    neigh_update(h->dp.neigh, ip4("10.200.50.20"), &h_mac_client, 1, 0);
    neigh_update(h->dp.neigh, ip4("10.200.50.1"), &h_mac_gw, 1, 0);
    h_config(h);
    if (h_publish(h) != 0)
        return -1;
    l4_snapshot_changed(&h->w->l4, h->s);
    return 0;
}

/* Empties the worker -> control ring; returns how many messages it held. */
static inline unsigned h_ctl_drain(struct harness *h)
{
    struct ctl_msg msgs[64];
    unsigned n, total = 0;

    while ((n = rte_ring_dequeue_burst_elem(h->dp.to_ctl, msgs, sizeof(msgs[0]), 64,
                                            NULL)) > 0)
        total += n;
    return total;
}

/* An mbuf holding frame f[0..len) as received on port. */
static inline struct rte_mbuf *h_mbuf(struct harness *h, const uint8_t *f, uint32_t len,
                                      uint16_t port)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(h->pool);
    uint8_t *d;

    if (m == NULL)
        return NULL;
    d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
    memcpy(d, f, len);
    m->port = port;
    return m;
}

/* Runs one mbuf through the worker and flushes the tx buffers. */
static inline void h_run_mbuf(struct harness *h, struct rte_mbuf *m)
{
    worker_burst(h->w, h->s, &m, 1, false);
    for (uint16_t p = 0; p < H_PORTS; p++)
        rte_eth_tx_buffer_flush(p, 0, h->w->lc.txb[p]);
}

/* Runs one frame through the worker, as received with the port's rx flags ol_flags. */
static inline void h_run_flags(struct harness *h, const uint8_t *f, uint32_t len, uint16_t port,
                               uint64_t ol_flags)
{
    struct rte_mbuf *m = h_mbuf(h, f, len, port);

    m->ol_flags |= ol_flags;
    h_run_mbuf(h, m);
}

/* Moves the worker's clock ms forward and runs its timers as the loop does (with the
 * harness's snapshot current), then flushes the tx buffers. */
static inline void h_advance_ms(struct harness *h, uint64_t ms)
{
    h->w->lc.snap = h->s;
    h->w->lc.now_ms += ms;
    twheel_advance(&h->w->lc.wheel, h->w->lc.now_ms);
    for (uint16_t p = 0; p < H_PORTS; p++)
        rte_eth_tx_buffer_flush(p, 0, h->w->lc.txb[p]);
}

/* Runs one frame through the worker and flushes the tx buffers. */
static inline void h_run(struct harness *h, const uint8_t *f, uint32_t len, uint16_t port)
{
    h_run_flags(h, f, len, port, 0);
}

/* The next frame sent on port, copied into out (returns its length), or 0. */
static inline uint32_t h_sent(struct harness *h, uint16_t port, uint8_t *out, uint32_t max)
{
    struct rte_mbuf *m;
    uint32_t len;

    if (rte_eth_rx_burst(port, 0, &m, 1) != 1)
        return 0;
    h->sent_ol_flags = m->ol_flags;
    len = rte_pktmbuf_pkt_len(m);
    if (len > max)
        len = max;
    const void *data = rte_pktmbuf_read(m, 0, len, out);
    if (data != NULL && data != out)
        memcpy(out, data, len);
    rte_pktmbuf_free(m);
    return len;
}

#endif
