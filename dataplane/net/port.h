/*
 * port: set-up of the DPDK ports the config names.
 *
 * Every worker gets its own tx queue on every configured port and, where the port
 * has enough queues, its own rx queue; workers beyond the port's rx queue count
 * only transmit on it and take its traffic through the hand-off rings.
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

/* Stops and closes every configured port. */
void port_close_all(struct dp_port *ports, unsigned max_ports);

/* "up" / "down" from the link status; control core. */
const char *port_link_state(uint16_t port_id);

#endif
