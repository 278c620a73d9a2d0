#include "net/port.h"

#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>

#include "err.h"
#include "log.h"

#define PORT_RX_DESC 1024
#define PORT_TX_DESC 1024

static int port_setup(uint16_t id, size_t ifc_index, unsigned n_workers,
                      struct rte_mempool **pools, struct dp_port *p, char *err, size_t errlen)
{
    struct rte_eth_dev_info info;
    struct rte_eth_conf conf = {0};
    uint16_t nrx, ntx, rxd = PORT_RX_DESC, txd = PORT_TX_DESC;
    int rc;

    rc = rte_eth_dev_info_get(id, &info);
    if (rc != 0)
        return lbd_err_set(err, errlen, LBD_EIO, "interfaces[%zu].port: port %u: %s",
                           ifc_index, id, rte_strerror(-rc));
    if (info.max_tx_queues < n_workers)
        return lbd_err_set(err, errlen, LBD_EINVAL,
                           "interfaces[%zu].port: port %u (%s) has %u tx queues but there "
                           "are %u workers; give it more queues (af_packet: qpairs=%u)",
                           ifc_index, id, info.driver_name, info.max_tx_queues, n_workers,
                           n_workers);
    nrx = (uint16_t)RTE_MIN(n_workers, info.max_rx_queues);
    ntx = (uint16_t)n_workers;
    if (nrx > 1 && info.flow_type_rss_offloads != 0) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf =
            (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
    }
    if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM)
        conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;

    rc = rte_eth_dev_configure(id, nrx, ntx, &conf);
    if (rc == 0)
        rc = rte_eth_dev_adjust_nb_rx_tx_desc(id, &rxd, &txd);
    for (uint16_t q = 0; rc == 0 && q < nrx; q++)
        rc = rte_eth_rx_queue_setup(id, q, rxd, rte_eth_dev_socket_id(id), NULL, pools[q]);
    for (uint16_t q = 0; rc == 0 && q < ntx; q++)
        rc = rte_eth_tx_queue_setup(id, q, txd, rte_eth_dev_socket_id(id), NULL);
    if (rc == 0)
        rc = rte_eth_dev_start(id);
    if (rc != 0)
        return lbd_err_set(err, errlen, LBD_EIO, "interfaces[%zu].port: port %u (%s): %s",
                           ifc_index, id, info.driver_name, rte_strerror(rc < 0 ? -rc : rc));

    p->configured = true;
    p->id = id;
    p->n_rxq = nrx;
    p->n_txq = ntx;
    rte_eth_macaddr_get(id, &p->mac);
    snprintf(p->driver, sizeof(p->driver), "%s", info.driver_name);
    if (rte_eth_dev_get_name_by_port(id, p->name) != 0)
        snprintf(p->name, sizeof(p->name), "port%u", id);
    LOG_INFO("port", "port %u (%s, %s): %u rx / %u tx queues, mac " RTE_ETHER_ADDR_PRT_FMT,
             id, p->name, p->driver, nrx, ntx, RTE_ETHER_ADDR_BYTES(&p->mac));
    return 0;
}

int port_init_all(const struct lbd_config *cfg, unsigned n_workers, struct rte_mempool **pools,
                  struct dp_port *ports, unsigned max_ports, char *err, size_t errlen)
{
    uint16_t avail = rte_eth_dev_count_avail();

    memset(ports, 0, sizeof(*ports) * max_ports);
    for (size_t i = 0; i < cfg->n_interfaces; i++) {
        uint16_t id = cfg->interfaces[i].port;
        int rc;
        if (id >= max_ports || !rte_eth_dev_is_valid_port(id)) {
            lbd_err_set(err, errlen, LBD_ENOENT,
                        "interfaces[%zu].port: port %u does not exist (%u port%s found; "
                        "give the EAL a device, e.g. --vdev net_af_packet0,iface=eth0)",
                        i, id, avail, avail == 1 ? "" : "s");
            port_close_all(ports, max_ports);
            return LBD_ENOENT;
        }
        rc = port_setup(id, i, n_workers, pools, &ports[id], err, errlen);
        if (rc != 0) {
            port_close_all(ports, max_ports);
            return rc;
        }
    }
    return 0;
}

void port_close_all(struct dp_port *ports, unsigned max_ports)
{
    for (unsigned i = 0; i < max_ports; i++) {
        if (!ports[i].configured)
            continue;
        rte_eth_dev_stop(ports[i].id);
        rte_eth_dev_close(ports[i].id);
        ports[i].configured = false;
    }
}

const char *port_link_state(uint16_t port_id)
{
    struct rte_eth_link link;

    if (rte_eth_link_get_nowait(port_id, &link) != 0)
        return "unknown";
    return link.link_status ? "up" : "down";
}
