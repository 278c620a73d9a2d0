/*
 * health: health checks and the real servers' health state (control core).
 *
 * The control core schedules each real server's check (interval, timeout from its
 * service's health_check), hands the probe to a worker (round robin) through its
 * control ring, and matches what comes back: ICMP echo replies for `ping` (which the
 * worker has already matched against the ping it sent, token included, and passes on
 * only once: dataplane/health/probe.h), probe results from the TCP stack for
 * `connect` and `http`; a probe with no answer by its deadline failed, whether the
 * answer never came, was dropped by the worker, or was lost on a full ring. `fall`
 * failures in a row take a server down, `rise` successes in a row bring it back; a
 * change is logged, counted, written into the running config
 * (cfg_real_server.health) and published in a new snapshot, so the schedulers skip a
 * server that is down within fall x interval + timeout of its failure.
 *
 * A server starts up (traffic flows from the first moment, as on a restart of the
 * appliance) and is taken down by `fall` failed checks; `none` checks keep it up.
 * Health is separate from the operator's state (online / drain / halt): a drained
 * server is still checked, so it is known to be healthy before it is put back.
 * Servers are tracked by their stable id, so a reconfiguration keeps their health.
 */
#ifndef LBD_HEALTH_H
#define LBD_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"

struct health;
struct dataplane;
struct ctl_msg;

/* A server's rise/fall bookkeeping, apart so that it can be tested alone. */
struct health_sm {
    bool up;
    uint16_t ok_run;        /* successes in a row */
    uint16_t fail_run;      /* failures in a row */
};

/* Records one check result; returns true when sm->up changed. */
bool health_sm_result(struct health_sm *sm, bool ok, uint16_t rise, uint16_t fall);

struct health *health_create(void);
void health_free(struct health *h);

/*
 * Makes the tracked servers those of cfg (called for every config about to run):
 * kept servers (same id) keep their state, which is written into cfg's
 * real_servers[].health; new ones start up and are first checked within one interval
 * (spread, so that a large pool is not checked all at once); removed ones are
 * forgotten, and a probe in flight for them is ignored when it answers. Returns 0 or
 * LBD_ENOMEM (the tracked set is then unchanged).
 */
int health_sync(struct health *h, struct lbd_config *cfg, uint64_t now_ms);

/*
 * Sends the checks that are due (through dp, to its workers) and fails the probes
 * past their deadline. Returns true when a server's health changed: cfg (the
 * running config, the one last synced) has been updated and the caller must publish
 * a new snapshot.
 */
bool health_poll(struct health *h, struct lbd_config *cfg, struct dataplane *dp,
                 uint64_t now_ms);

/* A worker's message (echo reply, probe result). Returns true as health_poll does. */
bool health_on_msg(struct health *h, struct lbd_config *cfg, const struct ctl_msg *msg,
                   uint64_t now_ms);

/* Control core: "up", "down", or "unknown" (not checked yet, or no check). */
const char *health_state_name(const struct health *h, uint32_t rs_id);

/* Control core: the last check's result ("ok", "timeout", ..., "none" before one). */
const char *health_last_result(const struct health *h, uint32_t rs_id);

/* The health.list result: one object per real server, of one service if vs given. */
cJSON *health_list(const struct health *h, const char *vs, uint64_t now_ms);

#endif
