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
#include "frames.h"
#include "net/port.h"

static void setup(void)
{
    char *argv[] = {"test", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
                    "--log-level=error", "-l", "0", "--vdev=net_ring0", NULL};

    cr_assert_geq(rte_eal_init(10, argv), 0);
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
