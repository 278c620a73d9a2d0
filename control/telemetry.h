/*
 * telemetry: lbd's counters in DPDK telemetry (rte_telemetry), so that the EAL's
 * telemetry socket (/var/run/dpdk/<file prefix>/dpdk_telemetry.v2, read with
 * dpdk-telemetry.py) answers with them beside DPDK's own (/ethdev/stats, ...):
 *
 *   /lbd/stats             the appliance's counters (the stats reply's top level), its
 *                          drops by reason, and every worker counter summed
 *   /lbd/workers           the worker indexes;  /lbd/worker,N  worker N's counters
 *   /lbd/services          per service label, its counters
 *   /lbd/service,LABEL     one service's counters and its real servers' ("RS/field")
 *
 * Names are the stats reply's, with what DPDK refuses in a name (anything but letters,
 * digits, '_' and '/') turned into '_' (a label "Fe-Pool" is "Fe_Pool").
 *
 * The callbacks run on DPDK's telemetry thread, never on the control core: they read
 * nothing of the workers or of the appliance, only the copy of the stats reply that the
 * control core publishes every TELEMETRY_PUBLISH_MS (telemetry_tick), under a mutex of
 * this module.
 */
#ifndef LBD_TELEMETRY_H
#define LBD_TELEMETRY_H

#include <stddef.h>
#include <stdint.h>

#include "appliance.h"

#define TELEMETRY_PUBLISH_MS 250

/* Start-up, after rte_eal_init: registers the commands. 0, or an LBD_E* with err. */
int telemetry_init(struct appliance *a, char *err, size_t errlen);

/* Shutdown: the commands answer with an error from now on (DPDK cannot unregister). */
void telemetry_term(struct appliance *a);

/* Control loop: publishes a fresh copy of the stats every TELEMETRY_PUBLISH_MS. */
void telemetry_tick(struct appliance *a, uint64_t now_ms);

/*
 * What the commands answer, from a stats reply (the JSON text published). Exposed for
 * tests: cmd and params as the telemetry socket gives them; fills d; 0, or -1 (unknown
 * service or worker, or nothing published: the socket answers null).
 */
struct rte_tel_data;
int telemetry_answer(const char *stats_json, const char *cmd, const char *params,
                     struct rte_tel_data *d);

#endif
