/*
 * appliance: the control core's state: the running config, the dataplane, and
 * what the API reports about them, plus the clock and the hand-off of worker
 * messages to health. Owned and touched by the control core only.
 *
 * Low in control/ (only health, ha_monitor and api_server are below it): it calls
 * health and ha_monitor and nothing else in control/; the modules above may use it. Publishing a snapshot is
 * reconfig's, above it.
 */
#ifndef LBD_APPLIANCE_H
#define LBD_APPLIANCE_H

#include <limits.h>
#include <stdint.h>

#include "config.h"
#include "dataplane.h"
#include "health.h"
#include "proxy/proxy.h"

struct appliance {
    struct lbd_config *cfg;         /* the running config */
    char config_path[PATH_MAX];
    char api_socket[PATH_MAX];
    struct dataplane *dp;
    struct health *health;          /* health checks and state (control/health.h) */
    struct ha *ha;                  /* the HA pair (control/ha.h); NULL: standalone */
    struct history *history;        /* the last hour per service (control/history.h) */
    struct txlog_sink *txlog;       /* the traffic log (control/txlog_sink.h) */
    struct ha_monitor *ha_mon;      /* its monitored addresses (ha_monitor.h), owned by
                                     * ha; NULL: standalone */
    uint64_t start_ms;              /* monotonic clock at start-up */
    uint64_t generation;            /* snapshots published so far */
    uint64_t maglev_built;          /* Maglev tables computed for them, */
    uint64_t maglev_reused;         /* and taken unchanged from the one before */
    uint64_t routes_built;          /* route tables likewise */
    uint64_t routes_reused;
    uint64_t publish_failures;      /* health publications that failed (no memory) */
    uint64_t publish_streak;        /* failures since the last success */
    uint64_t publish_retry_ms;      /* no new try before this (appliance_now_ms) */
    uint32_t last_rs_id;            /* real-server ids handed out so far */
    bool health_changed;            /* the running config's health is newer than the snapshot */
    const struct api_counters *api; /* the API socket's refusals (api_server.h); NULL:
                                     * no socket (unit tests) */
    /* Counters as they stood when a service's or real server's slot was (re)assigned:
     * a slot that a removed one leaves is reused, and its new owner starts from zero. */
    struct traffic_counters vs_base[CFG_MAX_VS];
    struct traffic_counters rs_base[SNAP_RS_IDS];
    struct proxy_http_vs_counters http_vs_base[CFG_MAX_VS];     /* HTTP mode, likewise */
    struct proxy_http_rs_counters http_rs_base[SNAP_RS_IDS];
};

struct api_counters;
struct ctl_msg;
struct ha;
struct history;
struct txlog_sink;
struct ha_monitor;

/*
 * Control core: a message from a worker (health results, and echo replies to the HA
 * pair's monitor pings). Every loop that drains the
 * workers' ring hands its messages here; a change of health marks the running config
 * for publishing.
 */
void appliance_worker_msg(struct appliance *a, const struct ctl_msg *msg);

struct snapshot;

/* A snapshot about to be published: the generation and the tables it computed or shared
 * go into the appliance's counters (stats: snapshots_published, maglev_tables_*,
 * route_tables_*). */
void appliance_snapshot_counted(struct appliance *a, const struct snapshot *s);

/* Monotonic milliseconds. */
uint64_t appliance_now_ms(void);

#endif
