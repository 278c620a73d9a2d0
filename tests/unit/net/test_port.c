/*
 * test_port: port set-up on an in-memory port (net_ring, which offers no checksum
 * offload and multi-segment tx only): lbd asks for what it uses among what the port
 * offers and nothing else, and records (and logs) it per port.
 */
#define ALLOW_EXPERIMENTAL_API 1
#include <criterion/criterion.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "base/dp_limits.h"
#include "config.h"
#include "err.h"
#include "frames.h"
#include "net/port.h"

static void setup(void)
{
    char *argv[] = {"test", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
                    "--log-level=error", "-l", "0", "--vdev=net_ring0", "--vdev=net_null0",
                    "--vdev=net_null1", NULL};

    cr_assert_geq(rte_eal_init(12, argv), 0);
}

TestSuite(port, .init = setup);

Test(port, only_offered_offloads_are_asked_for)
{
    struct cfg_interface ifc = {.port = 0, .ip = ip4("192.168.112.5"), .prefix_len = 24};
    struct lbd_config cfg = {.interfaces = &ifc, .n_interfaces = 1};
    struct rte_mempool *pools[1];
    struct rte_eth_dev_info info;
    struct dp_port ports[DP_MAX_PORTS];
    struct rte_eth_conf conf;
    char err[256] = "";

    pools[0] = rte_pktmbuf_pool_create("t_pool", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    cr_assert_not_null(pools[0]);
    cr_assert_eq(rte_eth_dev_info_get(0, &info), 0);
    cr_assert_eq(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_CHECKSUM, 0,
                 "net_ring offers no checksum offload");
    cr_assert_eq(port_init_all(&cfg, 1, pools, ports, DP_MAX_PORTS, err, sizeof(err)), 0,
                 "%s", err);
    cr_assert(ports[0].configured);
    cr_assert_eq(ports[0].n_rxq, 1);
    cr_assert_eq(ports[0].n_txq, 1);
    cr_assert_eq(ports[0].rx_offloads, 0, "no rx offload offered that lbd uses");
    cr_assert_eq(ports[0].tx_offloads, info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
    cr_assert_eq(ports[0].tx_max_segs,
                 (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) ? UINT16_MAX : 1,
                 "chained packets as they are where the port takes them, else one segment");
    cr_assert_eq(rte_eth_dev_conf_get(0, &conf), 0);
    cr_assert_eq(conf.rxmode.offloads, ports[0].rx_offloads, "what the port was asked for");
    cr_assert_eq(conf.txmode.offloads, ports[0].tx_offloads);
    cr_assert_eq(conf.txmode.offloads & ~info.tx_offload_capa, 0);
    port_close_all(ports, DP_MAX_PORTS);
    cr_assert(!ports[0].configured);
}

/* interfaces[].queues: a port with more queue pairs than workers (net_null, which has
 * many): every rx queue set up, from the pool of the worker that polls it (q mod
 * workers), as many tx queues, and the descriptors counted for that worker; fewer queues
 * than workers refused with the field's path. */
Test(port, more_queues_than_workers)
{
    struct cfg_interface ifc = {.port = 1, .ip = ip4("10.0.0.5"), .prefix_len = 24,
                                .queues = 3};
    struct lbd_config cfg = {.interfaces = &ifc, .n_interfaces = 1};
    struct rte_mempool *pools[2];
    struct dp_port ports[DP_MAX_PORTS];
    uint32_t rxd[2], txd[2];
    unsigned n_ports;
    char err[256] = "";

    pools[0] = rte_pktmbuf_pool_create("q_pool0", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    pools[1] = rte_pktmbuf_pool_create("q_pool1", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    cr_assert(pools[0] != NULL && pools[1] != NULL);
    port_desc_need(&cfg, 2, rxd, txd, &n_ports);
    cr_assert_eq(n_ports, 1);
    cr_assert_eq(rxd[0], 2 * rxd[1], "worker 0 polls rx queues 0 and 2, worker 1 queue 1");
    cr_assert_eq(txd[0], txd[1], "one tx queue a worker in use");
    cr_assert_eq(port_init_all(&cfg, 2, pools, ports, DP_MAX_PORTS, err, sizeof(err)), 0,
                 "%s", err);
    cr_assert_eq(ports[1].n_rxq, 3);
    cr_assert_eq(ports[1].n_txq, 3);
    for (uint16_t q = 0; q < 3; q++) {
        /* net_null receives packets made from its queue's pool */
        struct rte_mbuf *m[4];
        uint16_t n = rte_eth_rx_burst(1, q, m, 4);
        cr_assert_gt(n, 0, "rx queue %u set up and started", q);
        for (uint16_t k = 0; k < n; k++) {
            cr_assert_eq(m[k]->pool, pools[q % 2], "rx queue %u from worker %u's pool", q,
                         q % 2);
            rte_pktmbuf_free(m[k]);
        }
    }
    port_close_all(ports, DP_MAX_PORTS);

    ifc.port = 2; /* a closed port does not come back */
    ifc.queues = 1;
    cr_assert_eq(port_init_all(&cfg, 2, pools, ports, DP_MAX_PORTS, err, sizeof(err)),
                 LBD_EINVAL);
    cr_assert(strstr(err, "interfaces[0].queues") != NULL, "%s", err);
    cr_assert(!ports[2].configured);
}
