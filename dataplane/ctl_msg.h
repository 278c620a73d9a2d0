/*
 * ctl_msg: messages from workers to the control core (one multi-producer ring).
 *
 * Fixed 16-byte records so they travel by value through rte_ring's element API:
 * no allocation on the worker side.
 */
#ifndef LBD_CTL_MSG_H
#define LBD_CTL_MSG_H

#include <stdint.h>

enum ctl_msg_type { CTL_MSG_NEIGH_LEARN = 1 };

struct ctl_msg {
    uint16_t type;
    uint16_t port;
    uint32_t ip;
    uint8_t mac[6];
    uint8_t pad[2];
};

_Static_assert(sizeof(struct ctl_msg) == 16, "ctl_msg is a ring element");

#endif
