#include "history.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HISTORY_LABEL_MAX 64

enum series { S_ACTIVE, S_CONNS, S_REQUESTS, S_BYTES_IN, S_BYTES_OUT, S_COUNT };

static const char *const series_names[S_COUNT] = {
    "active_conns", "conns_per_s", "requests_per_s", "bytes_in_per_s", "bytes_out_per_s",
};

/* One service's ring: samples at[head - count .. head), modulo the capacity. */
struct ring {
    char label[HISTORY_LABEL_MAX];
    uint32_t head;                  /* where the next sample goes */
    uint32_t count;                 /* samples held, at most the capacity */
    bool have_last;                 /* last/last_ms hold the previous sample's counters */
    bool listed;                    /* named by the history_sync in progress */
    uint64_t last_ms;
    struct history_counters last;
    uint64_t *at_ms;                /* each sample's time */
    float *v[S_COUNT];              /* each series; NAN: unknown */
};

struct history {
    uint32_t interval_ms;
    uint32_t n_samples;
    size_t max_services;
    size_t n_rings;
    size_t untracked;
    bool started;
    uint64_t next_ms;
    struct ring **rings;            /* max_services slots, n_rings used */
};

struct history *history_create(uint32_t interval_ms, uint32_t n_samples, size_t max_services)
{
    struct history *h;

    if (interval_ms == 0 || n_samples == 0 || max_services == 0)
        return NULL;
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->rings = calloc(max_services, sizeof(h->rings[0]));
    if (h->rings == NULL) {
        free(h);
        return NULL;
    }
    h->interval_ms = interval_ms;
    h->n_samples = n_samples;
    h->max_services = max_services;
    return h;
}

void history_free(struct history *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->n_rings; i++)
        free(h->rings[i]);
    free(h->rings);
    free(h);
}

/* One allocation: the ring, its times, then its series. */
static struct ring *ring_new(const struct history *h, const char *label)
{
    size_t n = h->n_samples;
    struct ring *r = calloc(1, sizeof(*r) + n * sizeof(uint64_t) + S_COUNT * n * sizeof(float));
    char *p;

    if (r == NULL)
        return NULL;
    snprintf(r->label, sizeof(r->label), "%s", label);
    p = (char *)(r + 1);
    r->at_ms = (uint64_t *)(void *)p;
    p += n * sizeof(uint64_t);
    for (int s = 0; s < S_COUNT; s++) {
        r->v[s] = (float *)(void *)p;
        p += n * sizeof(float);
    }
    return r;
}

static struct ring *ring_find(const struct history *h, const char *label)
{
    for (size_t i = 0; i < h->n_rings; i++)
        if (strncmp(h->rings[i]->label, label, HISTORY_LABEL_MAX) == 0)
            return h->rings[i];
    return NULL;
}

void history_sync(struct history *h, const char *const *labels, size_t n)
{
    size_t kept = 0;

    if (h == NULL)
        return;
    for (size_t i = 0; i < h->n_rings; i++)
        h->rings[i]->listed = false;
    h->untracked = 0;
    /* Listed rings first, so that a new one never takes a place a kept one needs. */
    for (size_t i = 0; i < n; i++) {
        struct ring *r = ring_find(h, labels[i]);
        if (r != NULL)
            r->listed = true;
    }
    for (size_t i = 0; i < h->n_rings; i++) {
        if (h->rings[i]->listed)
            h->rings[kept++] = h->rings[i];
        else
            free(h->rings[i]);
    }
    h->n_rings = kept;
    for (size_t i = 0; i < n; i++) {
        struct ring *r;
        if (ring_find(h, labels[i]) != NULL)
            continue;
        r = h->n_rings < h->max_services ? ring_new(h, labels[i]) : NULL;
        if (r == NULL) {
            h->untracked++;
            continue;
        }
        r->listed = true;
        h->rings[h->n_rings++] = r;
    }
    /* In the config's order, which the replies follow. */
    for (size_t i = 0, p = 0; i < n; i++) {
        for (size_t j = p; j < h->n_rings; j++) {
            if (strncmp(h->rings[j]->label, labels[i], HISTORY_LABEL_MAX) == 0) {
                struct ring *t = h->rings[p];
                h->rings[p++] = h->rings[j];
                h->rings[j] = t;
                break;
            }
        }
    }
}

size_t history_untracked(const struct history *h)
{
    return h != NULL ? h->untracked : 0;
}

bool history_has(const struct history *h, const char *label)
{
    return h != NULL && ring_find(h, label) != NULL;
}

bool history_due(const struct history *h, uint64_t now_ms)
{
    return h != NULL && (!h->started || now_ms >= h->next_ms);
}

void history_sampled(struct history *h, uint64_t now_ms)
{
    if (h == NULL)
        return;
    /* On the interval's grid, unless the loop fell a whole interval behind. */
    h->next_ms = h->started ? h->next_ms + h->interval_ms : now_ms + h->interval_ms;
    if (h->next_ms <= now_ms)
        h->next_ms = now_ms + h->interval_ms;
    h->started = true;
}

/* Per second over dt_s; a counter that went backwards started again from zero. */
static float rate(uint64_t cur, uint64_t prev, double dt_s)
{
    return (float)((double)(cur >= prev ? cur - prev : cur) / dt_s);
}

void history_record(struct history *h, const char *label, const struct history_counters *c,
                    uint64_t now_ms)
{
    struct ring *r = h != NULL ? ring_find(h, label) : NULL;
    uint32_t i;
    double dt;

    if (r == NULL)
        return;
    i = r->head;
    dt = r->have_last && now_ms > r->last_ms ? (double)(now_ms - r->last_ms) / 1000.0 : 0;
    r->at_ms[i] = now_ms;
    r->v[S_ACTIVE][i] = (float)c->active_conns;
    if (dt > 0) {
        r->v[S_CONNS][i] = rate(c->total_conns, r->last.total_conns, dt);
        r->v[S_REQUESTS][i] = c->has_requests && r->last.has_requests
                                  ? rate(c->requests, r->last.requests, dt)
                                  : NAN;
        r->v[S_BYTES_IN][i] = rate(c->bytes_in, r->last.bytes_in, dt);
        r->v[S_BYTES_OUT][i] = rate(c->bytes_out, r->last.bytes_out, dt);
    } else {
        r->v[S_CONNS][i] = r->v[S_REQUESTS][i] = NAN;
        r->v[S_BYTES_IN][i] = r->v[S_BYTES_OUT][i] = NAN;
    }
    r->last = *c;
    r->last_ms = now_ms;
    r->have_last = true;
    r->head = (i + 1) % h->n_samples;
    if (r->count < h->n_samples)
        r->count++;
}

/* v rounded to thousandths, or null: short numbers in the reply. */
static cJSON *json_value(float v)
{
    if (isnan(v))
        return cJSON_CreateNull();
    return cJSON_CreateNumber(round((double)v * 1000.0) / 1000.0);
}

static cJSON *ring_json(const struct history *h, const struct ring *r, uint64_t now_ms)
{
    cJSON *o = cJSON_CreateObject(), *ago, *arr[S_COUNT];
    bool ok = o != NULL;

    ok = ok && cJSON_AddStringToObject(o, "label", r->label) != NULL;
    ok = ok && cJSON_AddNumberToObject(o, "samples", r->count) != NULL;
    ok = ok && (ago = cJSON_AddArrayToObject(o, "ago_s")) != NULL;
    for (int s = 0; ok && s < S_COUNT; s++)
        ok = (arr[s] = cJSON_AddArrayToObject(o, series_names[s])) != NULL;
    for (uint32_t k = 0; ok && k < r->count; k++) {
        uint32_t i = (r->head + h->n_samples - r->count + k) % h->n_samples;
        uint64_t age = now_ms > r->at_ms[i] ? now_ms - r->at_ms[i] : 0;
        cJSON *a = cJSON_CreateNumber((double)((age + 500) / 1000));
        ok = a != NULL && cJSON_AddItemToArray(ago, a);
        for (int s = 0; ok && s < S_COUNT; s++) {
            cJSON *v = json_value(r->v[s][i]);
            ok = v != NULL && cJSON_AddItemToArray(arr[s], v);
        }
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *history_json(const struct history *h, const char *label, uint64_t now_ms)
{
    cJSON *o = cJSON_CreateObject(), *list;
    bool ok = o != NULL && h != NULL;

    ok = ok && cJSON_AddNumberToObject(o, "interval_s", h->interval_ms / 1000.0) != NULL;
    ok = ok && cJSON_AddNumberToObject(o, "capacity", h->n_samples) != NULL;
    ok = ok && cJSON_AddNumberToObject(o, "untracked", (double)h->untracked) != NULL;
    ok = ok && (list = cJSON_AddArrayToObject(o, "services")) != NULL;
    for (size_t i = 0; ok && i < h->n_rings; i++) {
        cJSON *r;
        if (label != NULL && strncmp(h->rings[i]->label, label, HISTORY_LABEL_MAX) != 0)
            continue;
        r = ring_json(h, h->rings[i], now_ms);
        ok = r != NULL && cJSON_AddItemToArray(list, r);
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
