/*
 * The Prometheus exposition of `stats` (control/metrics.c) on a sample stats object
 * shaped as stats_build() makes it (every field of a worker, its drop reasons, TCP
 * stack and proxy counters by their own names): every number of the object is a
 * sample, each family is whole with its HELP and TYPE, counters end in _total, label
 * values are escaped, and the states are 0/1 gauges.
 */
#include <criterion/criterion.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/drop.h"
#include "metrics.h"
#include "proxy/proxy.h"
#include "tcp/tcp.h"

static double next_value;

/* Every number of the sample differs from every other: a value found in the output
 * says which field it came from. */
static void num(cJSON *o, const char *k)
{
    next_value += 1;
    cJSON_AddNumberToObject(o, k, next_value * 1000 + 7);
}

static cJSON *sample_rs(const char *label, const char *state, const char *health,
                        const char *last)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "label", label);
    cJSON_AddStringToObject(o, "ip", "192.168.112.51");
    cJSON_AddNullToObject(o, "port");
    num(o, "weight");
    cJSON_AddStringToObject(o, "state", state);
    cJSON_AddStringToObject(o, "health", health);
    cJSON_AddStringToObject(o, "last_check", last);
    num(o, "active_conns");
    num(o, "total_conns");
    num(o, "bytes_in");
    num(o, "bytes_out");
    num(o, "packets_in");
    num(o, "packets_out");
    return o;
}

static cJSON *sample_vs(const char *label, cJSON *rs1, cJSON *rs2)
{
    cJSON *o = cJSON_CreateObject(), *arr;

    cJSON_AddStringToObject(o, "label", label);
    num(o, "active_conns");
    num(o, "total_conns");
    num(o, "bytes_in");
    num(o, "bytes_out");
    num(o, "packets_in");
    num(o, "packets_out");
    arr = cJSON_AddArrayToObject(o, "real_servers");
    cJSON_AddItemToArray(arr, rs1);
    if (rs2 != NULL)
        cJSON_AddItemToArray(arr, rs2);
    return o;
}

static cJSON *drops(void)
{
    cJSON *o = cJSON_CreateObject();

    for (int r = 1; r < DROP_MAX; r++)
        num(o, drop_reason_name((enum drop_reason)r));
    return o;
}

static cJSON *sample_worker(int i)
{
    static const char *const fields[] = {
        "rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "handoff_out", "handoff_in",
        "arp_replies", "arp_gratuitous", "arp_learn_sent", "neigh_refresh_sent",
        "neigh_garp_sent", "neigh_learn_held", "neigh_learn_throttled", "icmp_echo_replies",
        "arp_requests", "arp_probes", "probes_sent", "probe_failed", "probes_ok",
        "l4_halt_resets", "echo_replies_in", "probe_results_lost", "mbuf_alloc_failed",
        "ctl_ring_full", "tx_linearized", "csum_completed", "tx_csum_sw", "tx_csum_offloaded",
        "tx_prepare_failed", "forwarded", "icmp_errors_sent",
        "l4_forward_packets", "l4_reverse_packets", "l4_conns_created", "l4_conns_ended",
        "l4_conns_midstream", "l4_conns_halted", "l4_persist_hits", "l4_persist_moved",
        "l4_persist_created", "l4_persist_full", "l4_nh_misses", "l4_conns_active",
        "l4_persist_entries", NULL};
    static const char *const stages[] = {"rx", "dispatch", "l4", "tcp", "forward", "local",
                                         "control", "timers", "tx", NULL};
    cJSON *o = cJSON_CreateObject(), *tcp, *states, *cycles;
    char name[64];

    cJSON_AddNumberToObject(o, "worker", i);
    num(o, "lcore");
    for (const char *const *f = fields; *f != NULL; f++)
        num(o, *f);
#define SAMPLE_PROXY_FIELD(n) num(o, "proxy_" #n);
    PROXY_STATS(SAMPLE_PROXY_FIELD)
#undef SAMPLE_PROXY_FIELD
    num(o, "proxy_sessions");
    num(o, "mbufs_in_use");
    num(o, "mbuf_pool");
    num(o, "timers_pending");
    num(o, "timers_fired");
    num(o, "timer_budget_hits");
    num(o, "cycles_busy");
    num(o, "cycles_idle");
    cycles = cJSON_AddObjectToObject(o, "cycles");
    for (const char *const *st = stages; *st != NULL; st++)
        num(cycles, *st);
    cJSON_AddItemToObject(o, "drops", drops());
    tcp = cJSON_AddObjectToObject(o, "tcp");
    num(tcp, "conns");
    num(tcp, "buf_segs");
    num(tcp, "rcvbuf_bytes");
    num(tcp, "sndbuf_grown_bytes");
    states = cJSON_AddObjectToObject(tcp, "states");
    for (int s = TCP_SYN_SENT; s < TCP_STATE_MAX; s++)
        num(states, tcp_state_name((enum tcp_state)s));
    for (unsigned k = 0; k < TCP_STAT_COUNT; k++) {
        snprintf(name, sizeof(name), "%s", tcp_stat_name(k));
        num(tcp, name);
    }
    return o;
}

static cJSON *sample_port(int p)
{
    static const char *const fields[] = {"rx_packets", "rx_bytes", "tx_packets", "tx_bytes",
                                         "rx_missed", "rx_errors", "tx_errors", "rx_nombuf",
                                         NULL};
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "port", p);
    for (const char *const *f = fields; *f != NULL; f++)
        num(o, *f);
    return o;
}

/* Two services (labels that need escaping in one), two workers, two ports. */
static cJSON *sample_stats(void)
{
    static const char *const top[] = {"arp_replies", "icmp_echo_replies", "neighbours",
                                      "neigh_learned", "neigh_changed", "neigh_refreshed",
                                      "neigh_expired", "neigh_evicted", "neigh_full",
                                      "neigh_probes", "neigh_garp_unknown", "tsc_hz", NULL};
    cJSON *o = cJSON_CreateObject(), *arr;

    next_value = 0;
    arr = cJSON_AddArrayToObject(o, "virtual_services");
    cJSON_AddItemToArray(arr, sample_vs("Web", sample_rs("rs1", "online", "up", "ok"),
                                        sample_rs("rs2", "drain", "down", "timeout")));
    cJSON_AddItemToArray(arr, sample_vs("odd \"q\" back\\slash\nline",
                                        sample_rs("r\"1", "halt", "unknown", "none"), NULL));
    arr = cJSON_AddArrayToObject(o, "workers");
    cJSON_AddItemToArray(arr, sample_worker(0));
    cJSON_AddItemToArray(arr, sample_worker(1));
    arr = cJSON_AddArrayToObject(o, "ports");
    cJSON_AddItemToArray(arr, sample_port(0));
    cJSON_AddItemToArray(arr, sample_port(1));
    cJSON_AddItemToObject(o, "drops", drops());
    for (const char *const *f = top; *f != NULL; f++)
        num(o, *f);
    return o;
}

static char *render(const cJSON *stats)
{
    struct metrics_info info = {"lb1", "0.1.0", 42, 2};
    size_t len = 0;
    char *text = metrics_render(stats, &info, &len);

    cr_assert_not_null(text);
    cr_assert_eq(strlen(text), len);
    return text;
}

/* The line of text that is exactly want, or NULL. */
static const char *find_line(const char *text, const char *want)
{
    size_t n = strlen(want);

    for (const char *p = text; p != NULL && *p != '\0';) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && memcmp(p, want, n) == 0)
            return p;
        p = e ? e + 1 : NULL;
    }
    return NULL;
}

static void has_line(const char *text, const char *want)
{
    cr_expect_not_null(find_line(text, want), "missing line: %s", want);
}

/* Counts the sample lines whose value is v. */
static unsigned samples_with_value(const char *text, double v)
{
    char want[64];
    unsigned n = 0;
    size_t wl;

    snprintf(want, sizeof(want), " %.0f\n", v);
    wl = strlen(want);
    for (const char *p = text; (p = strstr(p, want)) != NULL; p += wl)
        n++;
    return n;
}

/* Every number of o (recursively) is the value of exactly one sample. */
static void every_number_is_a_sample(const char *text, const cJSON *o, const char *where)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, o) {
        char path[256];
        snprintf(path, sizeof(path), "%s.%s", where, c->string ? c->string : "[]");
        if (cJSON_IsNumber(c)) {
            /* Labels ("worker": 0, "port": 1) are not samples. */
            if (c->valuedouble < 1000)
                continue;
            cr_expect_eq(samples_with_value(text, c->valuedouble), 1,
                         "%s = %.0f: %u samples", path, c->valuedouble,
                         samples_with_value(text, c->valuedouble));
        } else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
            every_number_is_a_sample(text, c, path);
        }
    }
}

Test(metrics, every_number_of_stats_is_a_sample)
{
    cJSON *stats = sample_stats();
    char *text = render(stats);

    every_number_is_a_sample(text, stats, "stats");
    free(text);
    cJSON_Delete(stats);
}

Test(metrics, names_labels_and_types)
{
    cJSON *stats = sample_stats();
    const cJSON *vs0 = cJSON_GetArrayItem(cJSON_GetObjectItem(stats, "virtual_services"), 0);
    const cJSON *rs1 = cJSON_GetArrayItem(cJSON_GetObjectItem(vs0, "real_servers"), 0);
    const cJSON *w1 = cJSON_GetArrayItem(cJSON_GetObjectItem(stats, "workers"), 1);
    char *text = render(stats), line[256];

    has_line(text, "# TYPE lbd_info gauge");
    has_line(text, "lbd_info{name=\"lb1\",version=\"0.1.0\"} 1");
    has_line(text, "lbd_uptime_seconds 42");
    has_line(text, "lbd_workers 2");
    has_line(text, "# TYPE lbd_service_connections_total counter");
    snprintf(line, sizeof(line), "lbd_service_connections_total{service=\"Web\"} %.0f",
             cJSON_GetObjectItem(vs0, "total_conns")->valuedouble);
    has_line(text, line);
    has_line(text, "# TYPE lbd_service_current_connections gauge");
    snprintf(line, sizeof(line),
             "lbd_server_bytes_in_total{service=\"Web\",server=\"rs1\"} %.0f",
             cJSON_GetObjectItem(rs1, "bytes_in")->valuedouble);
    has_line(text, line);
    has_line(text, "# TYPE lbd_server_weight gauge");
    snprintf(line, sizeof(line), "lbd_worker_rx_packets_total{worker=\"1\"} %.0f",
             cJSON_GetObjectItem(w1, "rx_packets")->valuedouble);
    has_line(text, line);
    snprintf(line, sizeof(line),
             "lbd_worker_drops_total{worker=\"1\",reason=\"malformed_ip\"} %.0f",
             cJSON_GetObjectItem(cJSON_GetObjectItem(w1, "drops"), "malformed_ip")->valuedouble);
    has_line(text, line);
    snprintf(line, sizeof(line), "lbd_worker_tcp_segs_in_total{worker=\"1\"} %.0f",
             cJSON_GetObjectItem(cJSON_GetObjectItem(w1, "tcp"), "segs_in")->valuedouble);
    has_line(text, line);
    has_line(text, "# TYPE lbd_worker_tcp_connections gauge");
    has_line(text, "# TYPE lbd_worker_tcp_receive_buffer_bytes gauge");
    has_line(text, "# TYPE lbd_worker_tcp_send_buffer_grown_bytes gauge");
    has_line(text, "# TYPE lbd_worker_tcp_connections_by_state gauge");
    has_line(text, "# TYPE lbd_worker_proxy_accepted_total counter");
    has_line(text, "# TYPE lbd_worker_proxy_sessions gauge");
    has_line(text, "# TYPE lbd_worker_l4_conns_active gauge");
    has_line(text, "# TYPE lbd_worker_mbufs_in_use gauge");
    has_line(text, "# TYPE lbd_worker_timers_pending gauge");
    has_line(text, "# TYPE lbd_worker_timers_fired_total counter");
    has_line(text, "# TYPE lbd_port_rx_missed_total counter");
    has_line(text, "# TYPE lbd_drops_total counter");
    has_line(text, "# TYPE lbd_neighbours gauge");
    has_line(text, "# TYPE lbd_neigh_learned_total counter");
    has_line(text, "# TYPE lbd_tsc_hz gauge");
    has_line(text, "# TYPE lbd_worker_cycles_busy_total counter");
    has_line(text, "# TYPE lbd_worker_cycles_idle_total counter");
    has_line(text, "# TYPE lbd_worker_cycles_total counter");
    snprintf(line, sizeof(line), "lbd_worker_cycles_total{worker=\"1\",stage=\"l4\"} %.0f",
             cJSON_GetObjectItem(cJSON_GetObjectItem(w1, "cycles"), "l4")->valuedouble);
    has_line(text, line);
    cr_expect_null(strstr(text, "lbd_worker_worker"), "the worker index is a label");
    cr_expect_null(strstr(text, "lbd_server_port"), "the server's port is not a metric");
    cr_expect_null(strstr(text, "lbd_port_port"), "the port id is a label");
    free(text);
    cJSON_Delete(stats);
}

Test(metrics, states_are_one_hot_gauges)
{
    cJSON *stats = sample_stats();
    char *text = render(stats);

    has_line(text, "# TYPE lbd_server_health gauge");
    has_line(text, "lbd_server_health{service=\"Web\",server=\"rs1\",state=\"up\"} 1");
    has_line(text, "lbd_server_health{service=\"Web\",server=\"rs1\",state=\"down\"} 0");
    has_line(text, "lbd_server_health{service=\"Web\",server=\"rs1\",state=\"unknown\"} 0");
    has_line(text, "lbd_server_health{service=\"Web\",server=\"rs2\",state=\"down\"} 1");
    has_line(text, "lbd_server_state{service=\"Web\",server=\"rs1\",state=\"online\"} 1");
    has_line(text, "lbd_server_state{service=\"Web\",server=\"rs2\",state=\"drain\"} 1");
    has_line(text, "lbd_server_state{service=\"Web\",server=\"rs2\",state=\"online\"} 0");
    has_line(text, "lbd_server_state{service=\"Web\",server=\"rs2\",state=\"halt\"} 0");
    has_line(text, "lbd_server_check_result{service=\"Web\",server=\"rs2\",result=\"timeout\"} 1");
    has_line(text, "lbd_server_check_result{service=\"Web\",server=\"rs2\",result=\"ok\"} 0");
    free(text);
    cJSON_Delete(stats);
}

Test(metrics, a_state_not_known_yet_still_shows)
{
    cJSON *stats = sample_stats();
    cJSON *vs0 = cJSON_GetArrayItem(cJSON_GetObjectItem(stats, "virtual_services"), 0);
    cJSON *rs1 = cJSON_GetArrayItem(cJSON_GetObjectItem(vs0, "real_servers"), 0);
    char *text;

    cJSON_ReplaceItemInObject(rs1, "state", cJSON_CreateString("maint"));
    text = render(stats);
    has_line(text, "lbd_server_state{service=\"Web\",server=\"rs1\",state=\"maint\"} 1");
    has_line(text, "lbd_server_state{service=\"Web\",server=\"rs1\",state=\"online\"} 0");
    free(text);
    cJSON_Delete(stats);
}

Test(metrics, label_values_are_escaped)
{
    cJSON *stats = sample_stats();
    char *text = render(stats), esc[64];

    has_line(text, "lbd_server_state{service=\"odd \\\"q\\\" back\\\\slash\\nline\","
                   "server=\"r\\\"1\",state=\"halt\"} 1");
    cr_expect_str_eq(metrics_escape_label("a\\b\"c\nd", esc, sizeof(esc)), "a\\\\b\\\"c\\nd");
    cr_expect_str_eq(metrics_escape_label("plain", esc, sizeof(esc)), "plain");
    /* Cut, never in the middle of an escape. */
    cr_expect_str_eq(metrics_escape_label("ab\"", esc, 4), "ab");
    cr_expect_str_eq(metrics_escape_label("abc", esc, 1), "");
    free(text);
    cJSON_Delete(stats);
}

/*
 * The exposition format: every line is a HELP, a TYPE, or a sample of the family
 * last declared; a family is declared once (its samples together); counters end in
 * _total; a TYPE follows its HELP.
 */
Test(metrics, the_text_is_valid_exposition)
{
    cJSON *stats = sample_stats();
    char *text = render(stats), *save = NULL, family[160] = "", help_of[160] = "";
    regex_t sample_re, help_re, type_re;
    regmatch_t m[3];
    unsigned families = 0, samples = 0;
    char *seen = calloc(1, 1);
    size_t seen_len = 1;

    cr_assert_eq(regcomp(&sample_re,
                         "^([a-zA-Z_:][a-zA-Z0-9_:]*)"
                         "(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\""
                         "(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\")*\\})? "
                         "(-?[0-9]+(\\.[0-9]+)?(e[+-]?[0-9]+)?|NaN|[+-]Inf)$",
                         REG_EXTENDED), 0);
    cr_assert_eq(regcomp(&help_re, "^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$", REG_EXTENDED), 0);
    cr_assert_eq(regcomp(&type_re, "^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$",
                         REG_EXTENDED), 0);
    cr_assert_eq(text[strlen(text) - 1], '\n', "ends with a newline");
    for (char *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char name[160];
        if (regexec(&help_re, line, 2, m, 0) == 0) {
            snprintf(help_of, sizeof(help_of), "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
                     line + m[1].rm_so);
            continue;
        }
        if (regexec(&type_re, line, 3, m, 0) == 0) {
            char key[170];
            snprintf(family, sizeof(family), "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
                     line + m[1].rm_so);
            cr_expect_str_eq(family, help_of, "TYPE %s follows the HELP of %s", family, help_of);
            if (strncmp(line + m[2].rm_so, "counter", 7) == 0) {
                size_t n = strlen(family);
                cr_expect(n > 6 && strcmp(family + n - 6, "_total") == 0,
                          "counter %s ends in _total", family);
            }
            snprintf(key, sizeof(key), "|%s|", family);
            cr_expect_null(strstr(seen, key), "family %s declared twice", family);
            seen = realloc(seen, seen_len + strlen(key));
            cr_assert_not_null(seen);
            memcpy(seen + seen_len - 1, key, strlen(key) + 1);
            seen_len += strlen(key);
            families++;
            continue;
        }
        cr_expect_eq(regexec(&sample_re, line, 2, m, 0), 0, "not a sample line: %s", line);
        snprintf(name, sizeof(name), "%.*s", (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
        cr_expect_str_eq(name, family, "sample of %s outside its family (%s)", name, family);
        samples++;
    }
    cr_expect_gt(families, 100, "%u families", families);
    cr_expect_gt(samples, 300, "%u samples", samples);
    regfree(&sample_re);
    regfree(&help_re);
    regfree(&type_re);
    free(seen);
    free(text);
    cJSON_Delete(stats);
}

Test(metrics, empty_stats_and_no_info)
{
    cJSON *stats = cJSON_Parse("{\"virtual_services\": [], \"workers\": [], \"ports\": [],"
                               " \"drops\": {}}");
    size_t len = 99;
    char *text = metrics_render(stats, NULL, &len);

    cr_assert_not_null(text);
    cr_expect_eq(len, strlen(text));
    cr_expect_null(strstr(text, "lbd_service_"));
    free(text);
    cJSON_Delete(stats);
}
