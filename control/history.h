/*
 * history: the last hour of each virtual service's traffic, for the status page's graphs
 * and the API's `history` command (doc/api.md).
 *
 * A fixed-size ring per service (HISTORY_SAMPLES samples, one every HISTORY_INTERVAL_MS),
 * allocated when the service appears in a config and freed when it leaves, so memory is
 * bounded by the config's service count. A sample keeps the gauge of active connections
 * and the rates (per second, between two samples) of the cumulative counters: new
 * connections, HTTP requests, bytes in and out. A counter that went backwards (a service
 * removed and added again starts from zero) counts from zero for that interval.
 *
 * Services are known by their label, so a live reconfiguration that keeps a service keeps
 * its history, whatever else changed. Control core only; no DPDK in here.
 */
#ifndef LBD_HISTORY_H
#define LBD_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define HISTORY_INTERVAL_MS 10000u
#define HISTORY_SAMPLES 360u        /* one hour at HISTORY_INTERVAL_MS */

/* A service's counters as `stats` reports them, read at one sample. */
struct history_counters {
    uint64_t active_conns;          /* gauge */
    uint64_t total_conns;           /* cumulative, like the others */
    uint64_t requests;              /* HTTP mode only (has_requests) */
    uint64_t bytes_in;
    uint64_t bytes_out;
    bool has_requests;
};

struct history;

/*
 * A history of n_samples per service, sampled every interval_ms (both > 0), for at most
 * max_services services. NULL when out of memory.
 */
struct history *history_create(uint32_t interval_ms, uint32_t n_samples, size_t max_services);
void history_free(struct history *h);

/*
 * Makes the tracked services exactly labels[0..n): a label already tracked keeps its
 * ring, one no longer listed is freed, a new one gets an empty ring. A ring that cannot
 * be allocated (memory, or more than max_services) leaves that service without history,
 * counted in history_untracked(); nothing else fails.
 */
void history_sync(struct history *h, const char *const *labels, size_t n);

/* Services of the last history_sync without a ring. */
size_t history_untracked(const struct history *h);

/*
 * Whether a sample is due at now_ms: the first call is, then one every interval. When it
 * is, the caller records every service's counters with history_record and then calls
 * history_sampled(h, now_ms).
 */
bool history_due(const struct history *h, uint64_t now_ms);
void history_sampled(struct history *h, uint64_t now_ms);

/* One sample of label's counters at now_ms; a label not tracked is ignored. */
void history_record(struct history *h, const char *label, const struct history_counters *c,
                    uint64_t now_ms);

/*
 * The `history` result: {"interval_s", "capacity", "services": [{"label", "samples",
 * "ago_s": [...], "active_conns": [...], "conns_per_s", "requests_per_s",
 * "bytes_in_per_s", "bytes_out_per_s"}]}, oldest sample first, a rate null where it is
 * unknown (the first sample, or requests outside HTTP mode). label NULL: every service.
 * NULL when out of memory.
 */
cJSON *history_json(const struct history *h, const char *label, uint64_t now_ms);

/* Whether label has a ring. */
bool history_has(const struct history *h, const char *label);

#endif
