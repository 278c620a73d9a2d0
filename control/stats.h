/*
 * stats: aggregation of worker and port counters into the API's stats object.
 * Control core only; reads counters the workers write, without stopping them.
 */
#ifndef LBD_STATS_H
#define LBD_STATS_H

#include <cjson/cJSON.h>

#include "appliance.h"
#include "history.h"

/*
 * The `stats` result (docs/api.md). vs_label limits virtual_services to one
 * service; an unknown label returns NULL with LBD_ENOENT in *rc and err filled.
 */
cJSON *stats_build(const struct appliance *a, const char *vs_label, int *rc, char *err,
                   size_t errlen);

/* Control core: the counters of service slot start from zero again (a new service). */
void stats_reset_vs_slot(struct appliance *a, uint16_t slot);

/* Control core: the counters of real-server counter index idx start from zero again. */
void stats_reset_rs_slot(struct appliance *a, uint32_t idx);

/* Control core: v's counters as `stats` reports them (active_conns, total_conns, bytes,
 * HTTP requests), for the history. */
void stats_vs_counters(const struct appliance *a, const struct cfg_vs *v,
                       struct history_counters *out);

/*
 * Control core, every loop: when a history sample is due, records every service of the
 * running config (one pass over them: bounded by the config). No-op without a history.
 */
void stats_history_poll(struct appliance *a, uint64_t now_ms);

/* Control core: the history tracks exactly cfg's services (history_sync). */
void stats_history_sync(struct appliance *a, const struct lbd_config *cfg);

#endif
