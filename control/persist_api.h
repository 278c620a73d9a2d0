/*
 * persist_api: persist.list and persist.flush on the control core.
 *
 * Persistence tables belong to the workers (sharded by client). The control core asks
 * every worker through its control ring (dataplane/l4/persist_ctl.h) and waits, at
 * most PERSIST_API_WAIT_MS, for every worker to finish. Meanwhile it does what the
 * control loop does but serve the API: it hands the other worker messages (health
 * results) on, runs the health checks (health_poll) and publishes a change of health
 * (reconfig_publish_health); other API clients wait. A listing is taken on the fly:
 * entries created or expiring while it runs may or may not appear.
 *
 * Above appliance, health and reconfig (it calls them); used by api_cmd.
 */
#ifndef LBD_PERSIST_API_H
#define LBD_PERSIST_API_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "appliance.h"

#define PERSIST_API_WAIT_MS 2000
#define PERSIST_API_MAX_ENTRIES 100000  /* listed in one reply; the rest only counted */

/*
 * Lists the entries of service vs (label; NULL = all) and client (dotted quad; NULL =
 * all): {entries: [{vs, client, rs, expires_in_s, conns}], total, truncated}.
 * Returns 0, LBD_ENOENT (no such service), LBD_EINVAL (bad client), LBD_EBUSY (a
 * worker did not answer in time), with err filled.
 */
int persist_api_list(struct appliance *a, const char *vs, const char *client, cJSON **out,
                     char *err, size_t errlen);

/* Deletes the matching entries; *out = {flushed: count}. Errors as persist_api_list. */
int persist_api_flush(struct appliance *a, const char *vs, const char *client, cJSON **out,
                      char *err, size_t errlen);

#endif
