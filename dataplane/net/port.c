#include "net/port.h"

#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>

#include "err.h"
#include "log.h"

#define PORT_RX_DESC 1024
#define PORT_TX_DESC 1024

/*
 * The offloads lbd asks for when the port offers them; nothing depends on one a port
 * lacks. Rx checksums: the worker, tcp_input and the ICMP code take the port's
 * verdict from the mbuf flags and verify in software what it did not check
 * (net/rx_csum.h); on virtio-net, asking for the TCP/UDP ones lets the host hand over
 * partial checksums (RX_L4_CKSUM_NONE), which lbd completes before sending a packet
 * on. Tx: the TCP checksums of the stack's segments (the costly ones: a sum over the
 * payload) are left to the port where it offers TCP_CKSUM (after rte_eth_tx_prepare),
 * computed in software by lcore_tx where it does not; IPv4 header checksums (20
 * bytes) and the incremental updates of forwarded packets stay in software, and
 * UDP/IPv4 checksum offloads are not asked for (asking costs some drivers their
 * fastest transmit path). Multi-segment packets (the TCP stack's header + payload)
 * go out as they are where the port takes them, and are copied into one segment where
 * it does not (lcore_tx). TSO (layer7.tso, default on): where the port offers TCP
 * segmentation together with the TCP checksum and multi-segment transmit, the three
 * are asked for, and the IPv4 header checksum with them where the port offers it too;
 * the stack then sends frames of several MSS where every port has it (dataplane.c,
 * tcp_output.c). Otherwise MSS-sized segments, as before. A device that segments
 * writes every segment's IPv4 header (its length and id differ from the frame's), and
 * so its checksum: virtio-net offers TSO without an IPv4 checksum offload (the host
 * segments, as the kernel's GSO does, header checksums included), and lcore_tx_csum
 * then gives the frame's own header a software checksum instead of the flag.
 */
#define PORT_RX_OFFLOADS                                                                   \
    (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM)
#define PORT_TX_OFFLOADS (RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_TCP_CKSUM)
#define PORT_TX_TSO                                                                        \
    (RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_MULTI_SEGS)

/* "NAME,NAME" for the offload bits in mask ("none" for none), rx or tx names. */
static const char *port_offload_names(char *buf, size_t len, uint64_t mask, bool rx)
{
    size_t n = 0;

    buf[0] = '\0';
    for (unsigned b = 0; b < 64 && n < len; b++) {
        uint64_t bit = UINT64_C(1) << b;
        if (!(mask & bit))
            continue;
        n += (size_t)snprintf(buf + n, len - n, "%s%s", n != 0 ? "," : "",
                              rx ? rte_eth_dev_rx_offload_name(bit)
                                 : rte_eth_dev_tx_offload_name(bit));
    }
    if (n == 0)
        snprintf(buf, len, "none");
    return buf;
}

/* "ip,tcp,udp" for the RSS hash functions lbd uses, "off" without RSS. */
static const char *port_rss_names(char *buf, size_t len, uint64_t hf)
{
    snprintf(buf, len, "%s%s%s", (hf & RTE_ETH_RSS_IP) ? "ip," : "",
             (hf & RTE_ETH_RSS_TCP) ? "tcp," : "", (hf & RTE_ETH_RSS_UDP) ? "udp," : "");
    if (buf[0] == '\0')
        snprintf(buf, len, "off");
    else
        buf[strlen(buf) - 1] = '\0';
    return buf;
}

/* What the port reported and what lbd uses of it, once at start-up. */
static void port_log(const struct dp_port *p, const struct rte_eth_dev_info *info,
                     uint64_t rss_hf)
{
    char found[1024], used[256], rss[32];
    uint16_t mtu = 0;
    const char *l4;

    if (rte_eth_dev_get_mtu(p->id, &mtu) != 0)
        mtu = 0;
    LOG_INFO("port", "port %u (%s, %s): %u rx / %u tx queues (the device has %u / %u), "
             "rss %s, mtu %u, mac " RTE_ETHER_ADDR_PRT_FMT,
             p->id, p->name, p->driver, p->n_rxq, p->n_txq, info->max_rx_queues,
             info->max_tx_queues, port_rss_names(rss, sizeof(rss), rss_hf), mtu,
             RTE_ETHER_ADDR_BYTES(&p->mac));
    LOG_INFO("port", "port %u rx offloads: the device has %s; lbd uses %s", p->id,
             port_offload_names(found, sizeof(found), info->rx_offload_capa, true),
             port_offload_names(used, sizeof(used), p->rx_offloads, true));
    LOG_INFO("port", "port %u tx offloads: the device has %s; lbd uses %s", p->id,
             port_offload_names(found, sizeof(found), info->tx_offload_capa, false),
             port_offload_names(used, sizeof(used), p->tx_offloads, false));
    if ((p->rx_offloads & (RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM)) == 0)
        l4 = "in software";
    else
        l4 = "by the device where it flags them (partial ones completed before a packet is "
             "sent on), else in software";
    if (p->tx_max_segs == 1)
        snprintf(used, sizeof(used), "copied into one segment (no multi-segment tx)");
    else if (p->tx_max_segs == UINT16_MAX)
        snprintf(used, sizeof(used), "sent as they are");
    else
        snprintf(used, sizeof(used), "sent as they are up to %u segments, else copied "
                 "into one", p->tx_max_segs);
    LOG_INFO("port", "port %u: received checksums checked: IPv4 header %s, TCP/UDP %s; "
             "TCP checksums of the stack's segments computed %s, the others in software; "
             "multi-segment packets %s; TSO %s",
             p->id, (p->rx_offloads & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM)
                        ? "by the device where it flags it, else in software"
                        : "in software",
             l4, (p->tx_offloads & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) ? "by the device"
                                                                 : "in software",
             used, (p->tx_offloads & RTE_ETH_TX_OFFLOAD_TCP_TSO)
                       ? (p->tso_seg_trim != 0 ? "on (segments 14 bytes below the MSS: the "
                                                 "driver counts the Ethernet header in its "
                                                 "MTU)" : "on")
                   : (info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO) ? "off (layer7.tso)"
                                                                          : "not offered");
}

/* The queue pairs a port gets: interfaces[].queues, or one per worker. Rx queue q is
 * polled by worker q mod n_workers (from its pool); worker w transmits on tx queue w, so
 * a port has at least one tx queue a worker and the extra ones stay idle (a device such
 * as a memif peer may need as many queues each way as it sends on). */
static unsigned port_queues(const struct cfg_interface *ifc, unsigned n_workers)
{
    return ifc->queues != 0 ? ifc->queues : n_workers;
}

static int port_setup(uint16_t id, size_t ifc_index, unsigned n_workers, unsigned nq, bool tso,
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
    if (nq < n_workers)
        return lbd_err_set(err, errlen, LBD_EINVAL,
                           "interfaces[%zu].queues: %u is fewer than the %u workers (each "
                           "worker transmits on a queue of its own)",
                           ifc_index, nq, n_workers);
    if (info.max_tx_queues < nq)
        return lbd_err_set(err, errlen, LBD_EINVAL,
                           "interfaces[%zu].port: port %u (%s) has %u tx queues but %u are "
                           "wanted (one a worker, or interfaces[].queues); give it more "
                           "queues (af_packet: qpairs=%u)",
                           ifc_index, id, info.driver_name, info.max_tx_queues, nq, nq);
    nrx = (uint16_t)RTE_MIN(nq, info.max_rx_queues);
    ntx = (uint16_t)nq;
    if (nrx > 1 && info.flow_type_rss_offloads != 0) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf =
            (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
    }
    conf.rxmode.offloads = info.rx_offload_capa & PORT_RX_OFFLOADS;
    conf.txmode.offloads = info.tx_offload_capa & PORT_TX_OFFLOADS;
    if (tso && (info.tx_offload_capa & PORT_TX_TSO) == PORT_TX_TSO)
        conf.txmode.offloads |= PORT_TX_TSO |
                                (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM);

    rc = rte_eth_dev_configure(id, nrx, ntx, &conf);
    if (rc == 0)
        rc = rte_eth_dev_adjust_nb_rx_tx_desc(id, &rxd, &txd);
    for (uint16_t q = 0; rc == 0 && q < nrx; q++)
        rc = rte_eth_rx_queue_setup(id, q, rxd, rte_eth_dev_socket_id(id), NULL,
                                    pools[q % n_workers]);
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
    p->rx_offloads = conf.rxmode.offloads;
    p->tx_offloads = conf.txmode.offloads;
    p->tx_max_segs = 1;
    if (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) {
        /* 0 from a driver that leaves the limits unset: no limit. */
        uint16_t a = info.tx_desc_lim.nb_seg_max, b = info.tx_desc_lim.nb_mtu_seg_max;
        a = a == 0 ? UINT16_MAX : a;
        b = b == 0 ? UINT16_MAX : b;
        p->tx_max_segs = RTE_MAX(RTE_MIN(a, b), 1);
    }
    if (rte_eth_dev_get_mtu(id, &p->mtu) != 0 || p->mtu == 0)
        p->mtu = RTE_ETHER_MTU;
    rte_eth_macaddr_get(id, &p->mac);
    snprintf(p->driver, sizeof(p->driver), "%s", info.driver_name);
    p->tso_seg_trim = 0;
    if ((p->tx_offloads & RTE_ETH_TX_OFFLOAD_TCP_TSO) && strcmp(p->driver, "net_tap") == 0)
        p->tso_seg_trim = RTE_ETHER_HDR_LEN;    /* its MTU check (port.h) */
    if (rte_eth_dev_get_name_by_port(id, p->name) != 0)
        snprintf(p->name, sizeof(p->name), "port%u", id);
    port_log(p, &info, conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS
                           ? conf.rx_adv_conf.rss_conf.rss_hf : 0);
    return 0;
}

void port_desc_need(const struct lbd_config *cfg, unsigned n_workers, uint32_t *rx_desc,
                    uint32_t *tx_desc, unsigned *n_ports)
{
    *n_ports = 0;
    for (unsigned w = 0; w < n_workers; w++)
        rx_desc[w] = tx_desc[w] = 0;
    for (size_t i = 0; i < cfg->n_interfaces; i++) {
        uint16_t id = cfg->interfaces[i].port, rxd = PORT_RX_DESC, txd = PORT_TX_DESC;
        struct rte_eth_dev_info info;
        unsigned nrx;

        if (!rte_eth_dev_is_valid_port(id) || rte_eth_dev_info_get(id, &info) != 0 ||
            rte_eth_dev_adjust_nb_rx_tx_desc(id, &rxd, &txd) != 0)
            continue;
        /* As port_setup: rx queue q belongs to worker q mod n_workers, tx queue w to
         * worker w (the extra tx queues stay idle and hold no mbuf). */
        nrx = RTE_MIN(port_queues(&cfg->interfaces[i], n_workers), info.max_rx_queues);
        for (unsigned q = 0; q < nrx; q++)
            rx_desc[q % n_workers] += rxd;
        for (unsigned w = 0; w < n_workers; w++)
            tx_desc[w] += txd;
        (*n_ports)++;
    }
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
        rc = port_setup(id, i, n_workers, port_queues(&cfg->interfaces[i], n_workers),
                        cfg->layer7.tso, pools, &ports[id], err, errlen);
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
