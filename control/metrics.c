#include "metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

#define METRIC_NAME_MAX 160
#define LABEL_VALUE_MAX 256     /* escaped: labels are at most 63 characters */
#define MAX_LABELS 4

/* ------------------------------------------------------------------------ */
/* Output                                                                   */
/* ------------------------------------------------------------------------ */

struct out {
    char *p;
    size_t len, cap;
    bool failed;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->failed)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->failed = true;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap * 2 + (size_t)n;
        char *p = realloc(o->p, cap);
        if (p == NULL) {
            o->failed = true;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
}

char *metrics_escape_label(const char *s, char *out, size_t outlen)
{
    size_t j = 0;

    if (outlen == 0)
        return out;
    for (; *s != '\0'; s++) {
        const char *rep = NULL;
        char one[2] = {*s, '\0'};
        size_t n;

        if (*s == '\\')
            rep = "\\\\";
        else if (*s == '"')
            rep = "\\\"";
        else if (*s == '\n')
            rep = "\\n";
        else
            rep = one;
        n = strlen(rep);
        if (j + n >= outlen)
            break;
        memcpy(out + j, rep, n);
        j += n;
    }
    out[j] = '\0';
    return out;
}

/* Metric names: [a-zA-Z0-9_], anything else (never in the stats keys) made '_'. */
static void metric_name(char *buf, const char *prefix, const char *name, const char *suffix)
{
    size_t j = 0;

    snprintf(buf, METRIC_NAME_MAX, "%s%s%s", prefix, name, suffix);
    for (; buf[j] != '\0'; j++) {
        char ch = buf[j];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '_'))
            buf[j] = '_';
    }
}

static void put_value(struct out *o, double v)
{
    if (isnan(v))
        put(o, " NaN\n");
    else if (isinf(v))
        put(o, v > 0 ? " +Inf\n" : " -Inf\n");
    else if (v == floor(v) && fabs(v) < 1e18)
        put(o, " %.0f\n", v);
    else
        put(o, " %.17g\n", v);
}

struct label {
    const char *k;
    const char *v;
};

/* One sample: name{labels (and one more, extra, when given)} value. */
static void put_sample(struct out *o, const char *name, const struct label *l, unsigned n,
                       const struct label *extra, double v)
{
    char esc[LABEL_VALUE_MAX];
    bool any = false;

    put(o, "%s", name);
    for (unsigned i = 0; i < n + (extra != NULL); i++) {
        const struct label *x = i < n ? &l[i] : extra;
        put(o, "%s%s=\"%s\"", any ? "," : "{", x->k, metrics_escape_label(x->v, esc, sizeof(esc)));
        any = true;
    }
    if (any)
        put(o, "}");
    put_value(o, v);
}

static void put_header(struct out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s ", name);
    /* HELP text: backslash and newline escaped. */
    for (const char *s = help; *s != '\0'; s++) {
        if (*s == '\\')
            put(o, "\\\\");
        else if (*s == '\n')
            put(o, "\\n");
        else
            put(o, "%c", *s);
    }
    put(o, "\n# TYPE %s %s\n", name, type);
}

/* ------------------------------------------------------------------------ */
/* What each field of `stats` becomes                                       */
/* ------------------------------------------------------------------------ */

enum kind {
    K_COUNTER,      /* a number: <prefix><name>_total */
    K_GAUGE,        /* a number: <prefix><name> */
    K_SKIP,         /* a label, or a part rendered on its own */
    K_ONEHOT,       /* a string: one 0/1 gauge per value, labelled <label> */
    K_BY_LABEL,     /* an object of numbers: one family, each key as <label> */
    K_NESTED,       /* an object: its fields under <prefix><name>_ */
};

struct spec {
    const char *key;
    enum kind kind;
    const char *name;           /* NULL: the key */
    const char *help;           /* NULL: says which stats field it is */
    const char *label;          /* K_ONEHOT, K_BY_LABEL */
    const char *const *values;  /* K_ONEHOT: every value, NULL-terminated */
    bool gauge;                 /* K_BY_LABEL: gauges, not counters */
    const struct spec *sub;     /* K_NESTED */
};

static const char *const rs_states[] = {"online", "drain", "halt", NULL};
static const char *const health_states[] = {"up", "down", "unknown", NULL};
static const char *const check_results[] = {"none", "ok", "timeout", "refused", "bad_status",
                                            "error", NULL};

static const struct spec top_specs[] = {
    {"virtual_services", K_SKIP},
    {"workers", K_SKIP},
    {"ports", K_SKIP},
    {"drops", K_BY_LABEL, "drops", "Packets dropped, by reason, summed over the workers.",
     "reason"},
    {"neighbours", K_GAUGE, NULL, "Entries in the neighbour (ARP) table."},
    {"tsc_hz", K_GAUGE, NULL, "Frequency of the TSC the workers' cycles are counted in."},
    {"arp_replies", K_COUNTER, NULL, "ARP replies sent, summed over the workers."},
    {"icmp_echo_replies", K_COUNTER, NULL, "ICMP echo replies sent, summed over the workers."},
    {NULL},
};

static const struct spec service_specs[] = {
    {"label", K_SKIP},
    {"real_servers", K_SKIP},
    {"active_conns", K_GAUGE, "current_connections",
     "Connections open now: Layer 4 connection entries, or Layer 7 backend connections "
     "(the sum over its real servers)."},
    {"total_conns", K_COUNTER, "connections",
     "Connections since the service was added: Layer 4 entries created, Layer 7 client "
     "connections accepted."},
    {"bytes_in", K_COUNTER, NULL,
     "Bytes from clients to the service (Layer 4: IP bytes, Layer 7: payload)."},
    {"bytes_out", K_COUNTER, NULL,
     "Bytes from the service to its clients (Layer 4: IP bytes, Layer 7: payload)."},
    {"packets_in", K_COUNTER, NULL, "Packets from clients to the service."},
    {"packets_out", K_COUNTER, NULL, "Packets from the service to its clients."},
    {NULL},
};

static const struct spec server_specs[] = {
    {"label", K_SKIP},
    {"ip", K_SKIP},
    {"port", K_SKIP},
    {"weight", K_GAUGE, NULL, "Scheduling weight (0..65535)."},
    {"state", K_ONEHOT, "state",
     "Operator state: 1 for the server's state (online, drain, halt), 0 for the others.",
     "state", rs_states},
    {"health", K_ONEHOT, "health",
     "Health: 1 for the server's health (up, down, unknown: no check, or none done yet), "
     "0 for the others.",
     "state", health_states},
    {"last_check", K_ONEHOT, "check_result",
     "Result of the last health check: 1 for it, 0 for the others.", "result",
     check_results},
    {"active_conns", K_GAUGE, "current_connections",
     "Connections open now: Layer 4 connection entries, Layer 7 backend connections "
     "(connecting included)."},
    {"total_conns", K_COUNTER, "connections",
     "Connections sent to the server: Layer 4 entries, Layer 7 connection attempts."},
    {"bytes_in", K_COUNTER, NULL,
     "Bytes sent to the server (Layer 4: IP bytes, Layer 7: payload)."},
    {"bytes_out", K_COUNTER, NULL,
     "Bytes that came back from the server (Layer 4: IP bytes, Layer 7: payload)."},
    {"packets_in", K_COUNTER, NULL, "Packets sent to the server (Layer 4)."},
    {"packets_out", K_COUNTER, NULL, "Packets that came back from the server (Layer 4)."},
    {NULL},
};

static const struct spec tcp_specs[] = {
    {"conns", K_GAUGE, "connections", "Control blocks of the worker's TCP stack."},
    {"buf_segs", K_GAUGE, "buffered_segments",
     "Segments held in the worker's TCP stack's send and receive queues."},
    {"rcvbuf_bytes", K_GAUGE, "receive_buffer_bytes",
     "Receive buffers of the worker's established TCP connections, together (auto-tuned "
     "within the worker's budget)."},
    {"sndbuf_grown_bytes", K_GAUGE, "send_buffer_grown_bytes",
     "What the send buffers of the worker's TCP connections grew beyond layer7.sndbuf_init, "
     "together (auto-tuned within the same budget as the receive buffers)."},
    {"states", K_BY_LABEL, "connections_by_state",
     "Control blocks of the worker's TCP stack, by state.", "state", NULL, true},
    {NULL},
};

static const struct spec worker_specs[] = {
    {"worker", K_SKIP},
    {"lcore", K_GAUGE, NULL, "The DPDK lcore the worker runs on."},
    {"l4_conns_active", K_GAUGE, NULL, "Layer 4 connection entries of the worker."},
    {"l4_persist_entries", K_GAUGE, NULL, "Persistence entries of the worker."},
    {"proxy_sessions", K_GAUGE, NULL, "Layer 7 proxy sessions open now."},
    {"mbufs_in_use", K_GAUGE, NULL, "Mbufs of the worker's pool in use (approximate)."},
    {"mbuf_pool", K_GAUGE, NULL, "Size of the worker's mbuf pool."},
    {"timers_pending", K_GAUGE, NULL, "Timers armed on the worker's timer wheel."},
    {"drops", K_BY_LABEL, "drops", "Packets the worker dropped, by reason.", "reason"},
    {"cycles_busy", K_COUNTER, NULL,
     "TSC cycles of the worker's loop iterations that found work."},
    {"cycles_idle", K_COUNTER, NULL,
     "TSC cycles of the worker's loop iterations that found none (idle sleep included)."},
    {"cycles", K_BY_LABEL, "cycles", "The worker's busy TSC cycles, by stage of its loop.",
     "stage"},
    {"tcp", K_NESTED, "tcp", NULL, NULL, NULL, false, tcp_specs},
    {NULL},
};

static const struct spec port_specs[] = {
    {"port", K_SKIP},
    {NULL},
};

/* ------------------------------------------------------------------------ */
/* Rendering                                                                */
/* ------------------------------------------------------------------------ */

/* One object of a group (a service, a server, a worker, a port) and its labels. */
struct item {
    struct label l[MAX_LABELS];
    unsigned n;
    const cJSON *obj;
};

static const struct spec *find_spec(const struct spec *specs, const char *key)
{
    for (; specs != NULL && specs->key != NULL; specs++)
        if (strcmp(specs->key, key) == 0)
            return specs;
    return NULL;
}

static void render_items(struct out *o, const char *prefix, const struct item *items, size_t n,
                         const struct spec *specs, const char *scope);

/* The keys of the items' objects, each once, in the order they first appear. */
static size_t collect_keys(const struct item *items, size_t n, const char ***out)
{
    size_t cap = 0, nk = 0;
    const char **keys;

    for (size_t i = 0; i < n; i++)
        cap += (size_t)cJSON_GetArraySize(items[i].obj);
    keys = calloc(cap + 1, sizeof(*keys));
    if (keys == NULL)
        return (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        const cJSON *c;
        cJSON_ArrayForEach(c, items[i].obj) {
            size_t k;
            if (c->string == NULL)
                continue;
            for (k = 0; k < nk && strcmp(keys[k], c->string) != 0; k++)
                ;
            if (k == nk)
                keys[nk++] = c->string;
        }
    }
    *out = keys;
    return nk;
}

static void render_number(struct out *o, const char *prefix, const struct item *items, size_t n,
                          const char *key, const struct spec *sp, bool gauge, const char *scope)
{
    char name[METRIC_NAME_MAX], help[256];

    metric_name(name, prefix, sp && sp->name ? sp->name : key, gauge ? "" : "_total");
    if (sp == NULL || sp->help == NULL)
        snprintf(help, sizeof(help), "The stats API's %s field %s%s.", scope, key,
                 gauge ? "" : " (a counter)");
    put_header(o, name, gauge ? "gauge" : "counter", sp && sp->help ? sp->help : help);
    for (size_t i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(items[i].obj, key);
        if (cJSON_IsNumber(v))
            put_sample(o, name, items[i].l, items[i].n, NULL, v->valuedouble);
    }
}

static void render_onehot(struct out *o, const char *prefix, const struct item *items, size_t n,
                          const char *key, const struct spec *sp)
{
    char name[METRIC_NAME_MAX];

    metric_name(name, prefix, sp->name ? sp->name : key, "");
    put_header(o, name, "gauge", sp->help);
    for (size_t i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(items[i].obj, key);
        bool known = false;
        if (!cJSON_IsString(v))
            continue;
        for (const char *const *s = sp->values; *s != NULL; s++) {
            struct label x = {sp->label, *s};
            bool on = strcmp(*s, v->valuestring) == 0;
            known |= on;
            put_sample(o, name, items[i].l, items[i].n, &x, on ? 1 : 0);
        }
        if (!known) {
            struct label x = {sp->label, v->valuestring};
            put_sample(o, name, items[i].l, items[i].n, &x, 1);
        }
    }
}

static void render_by_label(struct out *o, const char *prefix, const struct item *items, size_t n,
                            const char *key, const struct spec *sp)
{
    char name[METRIC_NAME_MAX];

    metric_name(name, prefix, sp->name ? sp->name : key, sp->gauge ? "" : "_total");
    put_header(o, name, sp->gauge ? "gauge" : "counter", sp->help);
    for (size_t i = 0; i < n; i++) {
        const cJSON *obj = cJSON_GetObjectItemCaseSensitive(items[i].obj, key), *c;
        cJSON_ArrayForEach(c, obj) {
            struct label x = {sp->label, c->string};
            if (c->string != NULL && cJSON_IsNumber(c))
                put_sample(o, name, items[i].l, items[i].n, &x, c->valuedouble);
        }
    }
}

static void render_nested(struct out *o, const char *prefix, const struct item *items, size_t n,
                          const char *key, const struct spec *sp, const char *scope)
{
    char sub_prefix[METRIC_NAME_MAX], sub_scope[96];
    struct item *sub = calloc(n + 1, sizeof(*sub));
    size_t m = 0;

    if (sub == NULL) {
        o->failed = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const cJSON *obj = cJSON_GetObjectItemCaseSensitive(items[i].obj, key);
        if (!cJSON_IsObject(obj))
            continue;
        sub[m] = items[i];
        sub[m++].obj = obj;
    }
    metric_name(sub_prefix, prefix, sp && sp->name ? sp->name : key, "_");
    snprintf(sub_scope, sizeof(sub_scope), "%s.%s", scope, key);
    render_items(o, sub_prefix, sub, m, sp ? sp->sub : NULL, sub_scope);
    free(sub);
}

/* Every field of the items' objects as families under prefix; scope names the objects
 * in the generated HELP texts ("workers[]"). */
static void render_items(struct out *o, const char *prefix, const struct item *items, size_t n,
                         const struct spec *specs, const char *scope)
{
    const char **keys;
    size_t nk;

    if (n == 0)
        return;
    nk = collect_keys(items, n, &keys);
    if (nk == (size_t)-1) {
        o->failed = true;
        return;
    }
    for (size_t k = 0; k < nk; k++) {
        const struct spec *sp = find_spec(specs, keys[k]);
        const cJSON *first = NULL;
        enum kind kind;

        for (size_t i = 0; i < n && first == NULL; i++)
            first = cJSON_GetObjectItemCaseSensitive(items[i].obj, keys[k]);
        if (sp != NULL)
            kind = sp->kind;
        else if (cJSON_IsNumber(first))
            kind = K_COUNTER;
        else if (cJSON_IsObject(first))
            kind = K_NESTED;
        else
            kind = K_SKIP;
        switch (kind) {
        case K_COUNTER:
        case K_GAUGE:
            render_number(o, prefix, items, n, keys[k], sp, kind == K_GAUGE, scope);
            break;
        case K_ONEHOT:
            render_onehot(o, prefix, items, n, keys[k], sp);
            break;
        case K_BY_LABEL:
            render_by_label(o, prefix, items, n, keys[k], sp);
            break;
        case K_NESTED:
            render_nested(o, prefix, items, n, keys[k], sp, scope);
            break;
        case K_SKIP:
            break;
        }
    }
    free(keys);
}

/* The objects of stats[key] (an array) as items, labelled by label_key's value. */
static size_t array_items(const cJSON *stats, const char *key, const char *label,
                          const char *label_key, char (*nums)[24], struct item **out)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(stats, key), *c;
    size_t n = 0;
    struct item *items = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*items));

    *out = items;
    if (items == NULL)
        return 0;
    cJSON_ArrayForEach(c, arr) {
        const cJSON *lv = cJSON_GetObjectItemCaseSensitive(c, label_key);
        if (!cJSON_IsObject(c))
            continue;
        if (cJSON_IsString(lv)) {
            items[n].l[0] = (struct label){label, lv->valuestring};
        } else if (cJSON_IsNumber(lv)) {
            snprintf(nums[n], sizeof(nums[n]), "%.0f", lv->valuedouble);
            items[n].l[0] = (struct label){label, nums[n]};
        } else {
            continue;
        }
        items[n].n = 1;
        items[n++].obj = c;
    }
    return n;
}

/* Real servers of every service: labelled service= and server=. */
static size_t server_items(const cJSON *stats, struct item **out)
{
    const cJSON *vss = cJSON_GetObjectItemCaseSensitive(stats, "virtual_services"), *v, *r;
    size_t n = 0, cap = 1;
    struct item *items;

    cJSON_ArrayForEach(v, vss)
        cap += (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(v, "real_servers"));
    items = calloc(cap, sizeof(*items));
    *out = items;
    if (items == NULL)
        return 0;
    cJSON_ArrayForEach(v, vss) {
        const cJSON *vl = cJSON_GetObjectItemCaseSensitive(v, "label");
        if (!cJSON_IsString(vl))
            continue;
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(v, "real_servers")) {
            const cJSON *rl = cJSON_GetObjectItemCaseSensitive(r, "label");
            if (!cJSON_IsString(rl))
                continue;
            items[n].l[0] = (struct label){"service", vl->valuestring};
            items[n].l[1] = (struct label){"server", rl->valuestring};
            items[n].n = 2;
            items[n++].obj = r;
        }
    }
    return n;
}

char *metrics_render(const cJSON *stats, const struct metrics_info *info, size_t *len)
{
    struct out o = {.cap = 65536};
    struct item top = {.obj = stats}, *items = NULL;
    char (*nums)[24] = NULL;
    size_t n;

    o.p = malloc(o.cap);
    if (o.p == NULL)
        return NULL;
    o.p[0] = '\0';
    if (info != NULL) {
        struct label l[2] = {{"name", info->name ? info->name : ""},
                             {"version", info->version ? info->version : ""}};
        put_header(&o, "lbd_info", "gauge", "The appliance: its name and lbd's version.");
        put_sample(&o, "lbd_info", l, 2, NULL, 1);
        put_header(&o, "lbd_uptime_seconds", "gauge", "Seconds since lbd started.");
        put_sample(&o, "lbd_uptime_seconds", NULL, 0, NULL, info->uptime_s);
        put_header(&o, "lbd_workers", "gauge", "Worker lcores.");
        put_sample(&o, "lbd_workers", NULL, 0, NULL, info->workers);
    }
    if (cJSON_IsObject(stats)) {
        size_t most = (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(stats, "virtual_services"));
        size_t w = (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(stats, "workers"));
        size_t p = (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(stats, "ports"));

        most = most > w ? most : w;
        most = most > p ? most : p;
        nums = calloc(most + 1, sizeof(*nums));
        if (nums == NULL)
            o.failed = true;
        render_items(&o, "lbd_", &top, 1, top_specs, "stats");
        if (nums != NULL && !o.failed) {
            n = array_items(stats, "virtual_services", "service", "label", nums, &items);
            o.failed |= items == NULL;
            render_items(&o, "lbd_service_", items, n, service_specs, "virtual_services[]");
            free(items);
            n = server_items(stats, &items);
            o.failed |= items == NULL;
            render_items(&o, "lbd_server_", items, n, server_specs,
                         "virtual_services[].real_servers[]");
            free(items);
            n = array_items(stats, "workers", "worker", "worker", nums, &items);
            o.failed |= items == NULL;
            render_items(&o, "lbd_worker_", items, n, worker_specs, "workers[]");
            free(items);
            n = array_items(stats, "ports", "port", "port", nums, &items);
            o.failed |= items == NULL;
            render_items(&o, "lbd_port_", items, n, port_specs, "ports[]");
            free(items);
        }
        free(nums);
    }
    if (o.failed) {
        free(o.p);
        return NULL;
    }
    *len = o.len;
    return o.p;
}

char *metrics_build(const struct appliance *a, size_t *len)
{
    struct metrics_info info = {
        .name = a->cfg->appliance.name,
        .version = LBD_VERSION,
        .uptime_s = (double)((appliance_now_ms() - a->start_ms) / 1000),
        .workers = a->dp != NULL ? a->dp->n_workers : 0,
    };
    char err[256];
    int rc;
    cJSON *stats = stats_build(a, NULL, &rc, err, sizeof(err));
    char *text;

    if (stats == NULL)
        return NULL;
    text = metrics_render(stats, &info, len);
    cJSON_Delete(stats);
    return text;
}
