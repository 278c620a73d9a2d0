/*
 * port: set-up of the DPDK ports the config names.
 *
 * Every worker gets its own tx queue on every configured port and, where the port
 * has enough queues, its own rx queue; workers beyond the port's rx queue count
 * only transmit on it and take its traffic through the hand-off rings. The offloads
 * lbd relies on are asked for only where the port reports them (checksum checks on
 * receive, multi-segment transmit, TCP checksums and, with layer7.tso, TCP
 * segmentation on transmit), and each port logs what it found and what is used.
 */
#ifndef LBD_PORT_H
#define LBD_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mempool.h>

#include "config.h"

struct dp_port {
    bool configured;
    uint16_t id;
    uint16_t n_rxq;
    uint16_t n_txq;
    uint16_t tx_max_segs;           /* segments per packet the port sends (1: no
                                       multi-segment tx; UINT16_MAX: no limit) */
    uint16_t mtu;                   /* IP bytes per frame (rte_eth_dev_get_mtu; 1500
                                       when the driver does not say) */
    uint16_t tso_seg_trim;          /* with TSO: bytes TSO segments must stay below the
                                       MSS. DPDK 22.11's net_tap refuses a TSO frame
                                       whose tso_segsz plus l2, l3 and l4 headers exceed
                                       the IP MTU (the Ethernet header counted against
                                       it) and stops the burst there: 14 for net_tap */
    uint64_t rx_offloads;           /* RTE_ETH_RX_OFFLOAD_* enabled (see port.c) */
    uint64_t tx_offloads;           /* RTE_ETH_TX_OFFLOAD_* enabled */
    struct rte_ether_addr mac;
    char driver[32];
    char name[64];
};

/*
 * Configures and starts every port in cfg->interfaces with n_workers tx queues and
 * up to n_workers rx queues; rx queue q takes its mbufs from pools[q]. ports is
 * indexed by port id (size max_ports). Returns 0, or an LBD_E* with err naming the
 * interface and the reason; on failure no port is left started.
 */
int port_init_all(const struct lbd_config *cfg, unsigned n_workers, struct rte_mempool **pools,
                  struct dp_port *ports, unsigned max_ports, char *err, size_t errlen);

/*
 * Before the pools exist (they are sized from it): what port_init_all will set up for
 * each worker w < n_workers, over every port in cfg->interfaces that exists: in
 * rx_desc[w] the descriptors of the rx queues w will own, in tx_desc[w] those of its
 * tx queues, in *n_ports the ports. A port that does not exist is left to
 * port_init_all to report.
 */
void port_desc_need(const struct lbd_config *cfg, unsigned n_workers, uint32_t *rx_desc,
                    uint32_t *tx_desc, unsigned *n_ports);

/* Stops and closes every configured port. */
void port_close_all(struct dp_port *ports, unsigned max_ports);

/* "up" / "down" from the link status; control core. */
const char *port_link_state(uint16_t port_id);

#endif
