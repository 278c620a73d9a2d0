/*
 * metrics: the `stats` result in the Prometheus text exposition format (version 0.0.4),
 * for the management server's GET /metrics (doc/metrics.md names every metric).
 *
 * The rendering walks the JSON object stats_build() returns, so that every counter the
 * API's `stats` has is a metric, a counter added there included, without a second list
 * to keep in step: a number becomes a sample of a family named after its place in the
 * object (lbd_service_*, lbd_server_*, lbd_worker_*, lbd_port_*, lbd_*), a counter
 * ending in _total unless it is one of the known gauges; a real server's health,
 * operator state and last check result become 0/1 gauges with a state label, as
 * HAProxy's exporter does. Families are written whole, each with its HELP and TYPE.
 *
 * Control core only (it reads the counters the way `stats` does).
 */
#ifndef LBD_METRICS_H
#define LBD_METRICS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "appliance.h"

/* The Content-Type of the exposition. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* What the exposition says about the appliance besides `stats`. */
struct metrics_info {
    const char *name;       /* appliance.name */
    const char *version;
    double uptime_s;
    unsigned workers;
};

/*
 * The exposition of stats (a `stats` result, not changed) and info: a malloc'd,
 * NUL-terminated text whose length is *len; NULL when out of memory. Needs no
 * dataplane: unit tests give it a sample object.
 */
char *metrics_render(const cJSON *stats, const struct metrics_info *info, size_t *len);

/* Control core: the exposition of the running appliance (stats_build of every service). */
char *metrics_build(const struct appliance *a, size_t *len);

/*
 * Writes s into out (outlen bytes) as a Prometheus label value: backslash, double quote
 * and newline escaped (\\, \", \n). Returns out; a value too long is cut, never
 * mid-escape.
 */
char *metrics_escape_label(const char *s, char *out, size_t outlen);

#endif
