/*
 * appliance: the control core's state: the running config, the dataplane, and
 * what the API reports about them. Owned and touched by the control core only.
 */
#ifndef LBD_APPLIANCE_H
#define LBD_APPLIANCE_H

#include <limits.h>
#include <stdint.h>

#include "config.h"
#include "dataplane.h"
#include "health.h"

/* Traffic counters of a service or a real server, summed over the workers. */
struct stats_sums {
    uint64_t packets_in, bytes_in, packets_out, bytes_out, conns;
};

struct appliance {
    struct lbd_config *cfg;         /* the running config */
    char config_path[PATH_MAX];
    char api_socket[PATH_MAX];
    struct dataplane *dp;
    struct health *health;          /* health checks and state (control/health.h) */
    uint64_t start_ms;              /* monotonic clock at start-up */
    uint64_t generation;            /* snapshots published so far */
    uint32_t last_rs_id;            /* real-server ids handed out so far */
    /* Counters as they stood when a service's or real server's slot was (re)assigned:
     * a slot that a removed one leaves is reused, and its new owner starts from zero. */
    struct stats_sums vs_base[CFG_MAX_VS];
    struct stats_sums rs_base[SNAP_RS_IDS];
};

struct ctl_msg;

/*
 * Control core: a message from a worker (health results), published as needed.
 * Every loop that drains the workers' ring hands its messages here.
 */
void appliance_worker_msg(struct appliance *a, const struct ctl_msg *msg);

/* Monotonic milliseconds. */
uint64_t appliance_now_ms(void);

#endif
