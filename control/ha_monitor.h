/*
 * ha_monitor: the HA pair's monitored addresses (ha.monitor: the gateways a unit must
 * reach to be of use). Each is pinged every monitor_interval_ms through the dataplane,
 * with health checks' machinery (a CTL_MSG_PROBE_PING to a worker, which sends the
 * echo request from our self IP and passes on only the reply that matches it:
 * dataplane/health/probe.h); a ping not answered by the next one is a miss, and
 * monitor_fall misses in a row make the address failed. While any address is failed
 * the monitor says so and ha.c puts the unit in fault (HA_FAULT_MONITOR): the peer
 * takes over. One answer makes an address good again; when all are, the fault clears.
 *
 * An address starts good: a unit that cannot reach its gateway goes to fault within
 * monitor_fall x monitor_interval_ms of start-up, as it would later.
 *
 * No I/O of its own: the caller gives the function that hands a probe to a worker,
 * so that unit tests can drive it. Control core only.
 */
#ifndef LBD_HA_MONITOR_H
#define LBD_HA_MONITOR_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/ctl_msg.h"
#include "config.h"

#define HA_MONITOR_ECHO_BASE 0x6861     /* echo identifiers near 'ha' (health: 'lb') */

struct ha_monitor_target {
    uint32_t ip;                /* network order */
    bool good;
    uint16_t miss_run;          /* misses in a row */
    bool inflight;
    uint16_t seq;               /* of the ping in flight */
    uint16_t echo_id;
    uint64_t sent_ms;
    uint64_t last_ok_ms;        /* 0: never answered */
    uint32_t last_rtt_ms;
    uint64_t sent, answered, missed, send_failed, changes;
};

struct ha_monitor {
    struct ha_monitor_target t[CFG_MAX_HA_MONITOR];
    unsigned n;
    uint32_t interval_ms;
    uint16_t fall;
    unsigned n_workers;
    uint16_t seq;
    uint64_t next_ms;           /* the next round of pings */
};

/* Hands msg to worker w; 0, or non-zero when the worker's ring is full. */
typedef int (*ha_monitor_send_fn)(void *arg, unsigned w, const struct ctl_msg *msg);

void ha_monitor_init(struct ha_monitor *m, const struct cfg_ha *c, unsigned n_workers,
                     uint64_t now);

/* Timers: a ping unanswered by the next round is a miss; sends the round when due.
 * Returns true when ha_monitor_failed() changed. */
bool ha_monitor_poll(struct ha_monitor *m, ha_monitor_send_fn send, void *arg, uint64_t now);

/* A worker's message: an echo reply to one of our pings counts (anything else is
 * ignored: health's). Returns true when ha_monitor_failed() changed. */
bool ha_monitor_on_msg(struct ha_monitor *m, const struct ctl_msg *msg, uint64_t now);

/* Some monitored address has missed monitor_fall pings in a row (and not answered since). */
bool ha_monitor_failed(const struct ha_monitor *m);

/* ha.status's "monitor": one object per address. */
cJSON *ha_monitor_status(const struct ha_monitor *m, uint64_t now);

#endif
