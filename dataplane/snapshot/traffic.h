/*
 * traffic: the traffic counters of one worker by service and by real server, indexed
 * as the snapshot numbers them (service slot, real-server counter index), so that a
 * packet touches one object's counters in one place. Counted by the worker loop
 * (packets in to a service), the Layer 4 path and the Layer 7 proxy; read by the
 * control core, which keeps a baseline per slot so that a slot taken by a new
 * service or server starts from zero (control/stats.c).
 */
#ifndef LBD_TRAFFIC_H
#define LBD_TRAFFIC_H

#include <stdint.h>

#include "config.h"
#include "snapshot/snapshot.h"

/*
 * Traffic of one service or real server on one worker. "in" is from the clients
 * towards the real servers, "out" the answers: IP packets and bytes for Layer 4,
 * payload bytes (no packets) for Layer 7. conns: connections made (Layer 4),
 * accepted (a Layer 7 service) or opened (a Layer 7 real server).
 */
struct traffic_counters {
    uint64_t packets_in, bytes_in, packets_out, bytes_out, conns;
};

struct traffic_stats {
    struct traffic_counters vs[CFG_MAX_VS];     /* by service slot */
    struct traffic_counters rs[SNAP_RS_IDS];    /* by real-server counter index */
    uint32_t rs_active_conns[SNAP_RS_IDS];      /* this worker's, by counter index */
};

#endif
