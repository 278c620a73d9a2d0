#include "stats.h"

#include <stddef.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "addr.h"
#include "api_server.h"
#include "err.h"
#include "tcp/tcp.h"

static void add_u64(cJSON *o, const char *k, uint64_t v)
{
    cJSON_AddNumberToObject(o, k, (double)v);
}

static cJSON *drops_object(const uint64_t *drops)
{
    cJSON *o = cJSON_CreateObject();

    for (int r = 1; r < DROP_MAX; r++)
        add_u64(o, drop_reason_name((enum drop_reason)r), drops[r]);
    return o;
}

/* A worker's TCP stack: connections per state, buffer use and every counter. */
static cJSON *tcp_object(const struct tcp_stack *st)
{
    const uint64_t *c = (const uint64_t *)tcp_stack_stats(st);
    cJSON *o = cJSON_CreateObject(), *states = cJSON_CreateObject();

    add_u64(o, "conns", st->n_conns);
    add_u64(o, "buf_segs", st->buf_segs);
    add_u64(o, "rcvbuf_bytes", st->rcvbuf_bytes);
    add_u64(o, "sndbuf_grown_bytes", st->sndbuf_grown_bytes);
    for (int s = TCP_SYN_SENT; s < TCP_STATE_MAX; s++)
        add_u64(states, tcp_state_name((enum tcp_state)s), st->n_state[s]);
    cJSON_AddItemToObject(o, "states", states);
    for (unsigned i = 0; i < TCP_STAT_COUNT; i++)
        add_u64(o, tcp_stat_name(i), c[i]);
    return o;
}

/* HTTP mode: a service's counters (slot) summed over the workers. */
static struct proxy_http_vs_counters sum_http_vs(const struct dataplane *dp, uint16_t slot)
{
    struct proxy_http_vs_counters t;

    memset(&t, 0, sizeof(t));
    for (unsigned w = 0; dp != NULL && w < dp->n_workers; w++) {
        const struct proxy_http_vs_counters *c = &dp_worker_stats(dp, w)->http.vs[slot];
#define HTTP_SUM(n) t.n += c->n;
        PROXY_HTTP_VS_STATS(HTTP_SUM)
#undef HTTP_SUM
    }
    return t;
}

/* HTTP mode: a real server's counters (counter index idx) summed over the workers. */
static struct proxy_http_rs_counters sum_http_rs(const struct dataplane *dp, uint32_t idx)
{
    struct proxy_http_rs_counters t;

    memset(&t, 0, sizeof(t));
    for (unsigned w = 0; dp != NULL && w < dp->n_workers; w++) {
        const struct proxy_http_rs_counters *c = &dp_worker_stats(dp, w)->http.rs[idx];
        t.requests += c->requests;
        for (int k = 0; k < 5; k++)
            t.responses[k] += c->responses[k];
    }
    return t;
}

/* A service's HTTP counters since its slot was assigned, as an object. */
static cJSON *http_vs_object(const struct appliance *a, uint16_t slot)
{
    struct proxy_http_vs_counters t = sum_http_vs(a->dp, slot);
    const struct proxy_http_vs_counters *b = &a->http_vs_base[slot];
    cJSON *o = cJSON_CreateObject();

#define HTTP_ADD(n) add_u64(o, #n, t.n - b->n);
    PROXY_HTTP_VS_STATS(HTTP_ADD)
#undef HTTP_ADD
    return o;
}

/* A real server's HTTP requests and responses by class since its slot was assigned. */
static cJSON *http_rs_object(const struct appliance *a, uint32_t idx)
{
    static const char *const names[5] = {"responses_1xx", "responses_2xx", "responses_3xx",
                                         "responses_4xx", "responses_5xx"};
    struct proxy_http_rs_counters t = sum_http_rs(a->dp, idx);
    const struct proxy_http_rs_counters *b = &a->http_rs_base[idx];
    cJSON *o = cJSON_CreateObject();

    add_u64(o, "requests", t.requests - b->requests);
    for (int k = 0; k < 5; k++)
        add_u64(o, names[k], t.responses[k] - b->responses[k]);
    return o;
}

/* The counters of a service (rs false: slot i) or real server (index i), summed over
 * the workers. */
static struct traffic_counters sum_traffic(const struct dataplane *dp, bool rs, uint32_t i)
{
    struct traffic_counters t = {0};

    for (unsigned w = 0; dp != NULL && w < dp->n_workers; w++) {
        const struct worker_stats *ws = dp_worker_stats(dp, w);
        const struct traffic_counters *c = rs ? &ws->traffic.rs[i] : &ws->traffic.vs[i];
        t.packets_in += c->packets_in;
        t.bytes_in += c->bytes_in;
        t.packets_out += c->packets_out;
        t.bytes_out += c->bytes_out;
        t.conns += c->conns;
    }
    return t;
}

static struct traffic_counters since(struct traffic_counters t, const struct traffic_counters *b)
{
    t.packets_in -= b->packets_in;
    t.bytes_in -= b->bytes_in;
    t.packets_out -= b->packets_out;
    t.bytes_out -= b->bytes_out;
    t.conns -= b->conns;
    return t;
}

static cJSON *stats_real_servers(const struct appliance *a, const struct cfg_vs *v,
                                 uint64_t *vs_active)
{
    cJSON *arr = cJSON_CreateArray();

    for (size_t i = 0; i < v->n_real_servers; i++) {
        const struct cfg_real_server *rs = &v->real_servers[i];
        uint32_t idx = (uint32_t)v->slot * CFG_MAX_RS + rs->slot;
        uint64_t active = 0;
        struct traffic_counters t = since(sum_traffic(a->dp, true, idx), &a->rs_base[idx]);
        cJSON *o = cJSON_CreateObject();
        char ip[ADDR_STR_MAX];

        /* Layer 4 connections and Layer 7 backend connections (with their payload),
         * by the real server's counter index (snapshot.h). */
        for (unsigned w = 0; a->dp != NULL && w < a->dp->n_workers; w++)
            active += dp_worker_stats(a->dp, w)->traffic.rs_active_conns[idx];
        *vs_active += active;
        cJSON_AddStringToObject(o, "label", rs->label);
        cJSON_AddStringToObject(o, "ip", addr_format_ipv4(rs->ip, ip));
        if (rs->port != 0)
            cJSON_AddNumberToObject(o, "port", rs->port);
        else
            cJSON_AddNullToObject(o, "port");
        cJSON_AddNumberToObject(o, "weight", rs->weight);
        cJSON_AddStringToObject(o, "state", cfg_rs_state_name(rs->state));
        cJSON_AddStringToObject(o, "health", a->health ? health_state_name(a->health, rs->id)
                                                       : "unknown");
        cJSON_AddStringToObject(o, "last_check", a->health ? health_last_result(a->health, rs->id)
                                                           : "none");
        add_u64(o, "active_conns", active);
        add_u64(o, "total_conns", t.conns);
        add_u64(o, "bytes_in", t.bytes_in);
        add_u64(o, "bytes_out", t.bytes_out);
        add_u64(o, "packets_in", t.packets_in);
        add_u64(o, "packets_out", t.packets_out);
        if (v->layer == 7 && v->mode == CFG_MODE_HTTP)
            cJSON_AddItemToObject(o, "http", http_rs_object(a, idx));
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

void stats_reset_vs_slot(struct appliance *a, uint16_t slot)
{
    a->vs_base[slot] = sum_traffic(a->dp, false, slot);
    a->http_vs_base[slot] = sum_http_vs(a->dp, slot);
}

void stats_reset_rs_slot(struct appliance *a, uint32_t idx)
{
    a->rs_base[idx] = sum_traffic(a->dp, true, idx);
    a->http_rs_base[idx] = sum_http_rs(a->dp, idx);
}

/* A TLS service's counters, summed over the workers (proxy/tls_stream.h). */
static bool config_vs_reencrypts(const struct cfg_vs *v)
{
    for (size_t i = 0; i < v->n_real_servers; i++)
        if (v->real_servers[i].tls)
            return true;
    return false;
}

static cJSON *stats_tls(const struct dataplane *dp, uint16_t slot)
{
    struct tls_vs_stats t = {0};
    cJSON *o = cJSON_CreateObject();

    for (unsigned w = 0; w < dp->n_workers; w++) {
        const struct tls_vs_stats *c = &dp_worker_stats(dp, w)->tls.vs[slot];
#define STATS_TLS_SUM(n) t.n += c->n;
        TLS_VS_STATS(STATS_TLS_SUM)
#undef STATS_TLS_SUM
    }
#define STATS_TLS_FIELD(n) add_u64(o, #n, t.n);
    TLS_VS_STATS(STATS_TLS_FIELD)
#undef STATS_TLS_FIELD
    return o;
}

void stats_vs_counters(const struct appliance *a, const struct cfg_vs *v,
                       struct history_counters *out)
{
    struct traffic_counters t = since(sum_traffic(a->dp, false, v->slot), &a->vs_base[v->slot]);

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < v->n_real_servers; i++) {
        uint32_t idx = (uint32_t)v->slot * CFG_MAX_RS + v->real_servers[i].slot;
        for (unsigned w = 0; a->dp != NULL && w < a->dp->n_workers; w++)
            out->active_conns += dp_worker_stats(a->dp, w)->traffic.rs_active_conns[idx];
    }
    out->total_conns = t.conns;
    out->bytes_in = t.bytes_in;
    out->bytes_out = t.bytes_out;
    out->has_requests = v->layer == 7 && v->mode == CFG_MODE_HTTP;
    if (out->has_requests)
        out->requests = sum_http_vs(a->dp, v->slot).requests - a->http_vs_base[v->slot].requests;
}

void stats_history_poll(struct appliance *a, uint64_t now_ms)
{
    if (!history_due(a->history, now_ms))
        return;
    for (size_t i = 0; i < a->cfg->n_virtual_services; i++) {
        const struct cfg_vs *v = &a->cfg->virtual_services[i];
        struct history_counters c;
        stats_vs_counters(a, v, &c);
        history_record(a->history, v->label, &c, now_ms);
    }
    history_sampled(a->history, now_ms);
}

void stats_history_sync(struct appliance *a, const struct lbd_config *cfg)
{
    static const char *labels[CFG_MAX_VS];
    size_t n = 0;

    for (size_t i = 0; i < cfg->n_virtual_services && n < CFG_MAX_VS; i++)
        labels[n++] = cfg->virtual_services[i].label;
    history_sync(a->history, labels, n);
}

static cJSON *stats_services(const struct appliance *a, const char *vs_label)
{
    const struct dataplane *dp = a->dp;
    cJSON *arr = cJSON_CreateArray();

    for (size_t i = 0; i < a->cfg->n_virtual_services; i++) {
        const struct cfg_vs *v = &a->cfg->virtual_services[i];
        uint64_t active = 0;
        struct traffic_counters t;
        cJSON *o, *rss;

        if (vs_label != NULL && strcmp(vs_label, v->label) != 0)
            continue;
        t = since(sum_traffic(dp, false, v->slot), &a->vs_base[v->slot]);
        rss = stats_real_servers(a, v, &active);
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "label", v->label);
        add_u64(o, "active_conns", active);
        add_u64(o, "total_conns", t.conns);
        add_u64(o, "bytes_in", t.bytes_in);
        add_u64(o, "bytes_out", t.bytes_out);
        add_u64(o, "packets_in", t.packets_in);
        add_u64(o, "packets_out", t.packets_out);
        if (v->tls.enabled || config_vs_reencrypts(v))
            cJSON_AddItemToObject(o, "tls", stats_tls(dp, v->slot));
        if (v->layer == 7 && v->mode == CFG_MODE_HTTP)
            cJSON_AddItemToObject(o, "http", http_vs_object(a, v->slot));
        cJSON_AddItemToObject(o, "real_servers", rss);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static cJSON *stats_ports(const struct appliance *a)
{
    cJSON *arr = cJSON_CreateArray();

    for (unsigned p = 0; p < SNAP_MAX_PORTS; p++) {
        struct rte_eth_stats es;
        cJSON *o;
        if (!a->dp->ports[p].configured)
            continue;
        memset(&es, 0, sizeof(es));
        rte_eth_stats_get((uint16_t)p, &es);
        o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "port", p);
        add_u64(o, "rx_packets", es.ipackets);
        add_u64(o, "rx_bytes", es.ibytes);
        add_u64(o, "tx_packets", es.opackets);
        add_u64(o, "tx_bytes", es.obytes);
        add_u64(o, "rx_missed", es.imissed);
        add_u64(o, "rx_errors", es.ierrors);
        add_u64(o, "tx_errors", es.oerrors);
        add_u64(o, "rx_nombuf", es.rx_nombuf);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/*
 * The workers' own counters, in the order stats and /metrics show them (doc/metrics.md):
 * each a uint64_t of struct worker_stats (WORKER_FIELD refuses any other type).
 */
#define WORKER_FIELD(name, member)                                                    \
    {name, offsetof(struct worker_stats, member) +                                    \
               0 * sizeof(char[_Generic(((struct worker_stats *)0)->member, uint64_t: 1)])}

static const struct {
    const char *name;
    size_t off;
} worker_fields[] = {
    WORKER_FIELD("rx_packets", rx_packets),
    WORKER_FIELD("rx_bytes", rx_bytes),
    WORKER_FIELD("tx_packets", lcore.tx_packets),
    WORKER_FIELD("tx_bytes", lcore.tx_bytes),
    WORKER_FIELD("handoff_out", handoff_out),
    WORKER_FIELD("handoff_in", handoff_in),
    WORKER_FIELD("arp_replies", arp_replies),
    WORKER_FIELD("arp_gratuitous", arp_gratuitous),
    WORKER_FIELD("arp_learn_sent", neigh_learn.learn_sent),
    WORKER_FIELD("neigh_refresh_sent", neigh_learn.refresh_sent),
    WORKER_FIELD("neigh_garp_sent", neigh_learn.garp_sent),
    WORKER_FIELD("neigh_learn_held", neigh_learn.held),
    WORKER_FIELD("neigh_learn_throttled", neigh_learn.throttled),
    WORKER_FIELD("icmp_echo_replies", icmp_echo_replies),
    WORKER_FIELD("arp_requests", ip_out.arp_requests),
    WORKER_FIELD("arp_probes", ip_out.arp_probes),
    WORKER_FIELD("frag_packets", ip_out.frag_packets),
    WORKER_FIELD("frag_out", ip_out.frag_out),
    WORKER_FIELD("frag_needed_sent", ip_out.frag_needed_sent),
    WORKER_FIELD("garp_sent", ip_out.garp_sent),
    WORKER_FIELD("ha_rx", ha_rx),
    WORKER_FIELD("ha_tx", ha_tx),
    WORKER_FIELD("l4_sync_sent", l4.sync_sent),
    WORKER_FIELD("l4_sync_ring_full", l4.sync_ring_full),
    WORKER_FIELD("l4_sync_installed", l4.sync_installed),
    WORKER_FIELD("l4_sync_removed", l4.sync_removed),
    WORKER_FIELD("l4_sync_no_service", l4.sync_no_service),
    WORKER_FIELD("l4_sync_failed", l4.sync_failed),
    WORKER_FIELD("l4_log_records", l4.log_records),
    WORKER_FIELD("l4_log_lost", l4.log_lost),
    WORKER_FIELD("probes_sent", probe.probes_sent),
    WORKER_FIELD("probe_failed", probe.probe_failed),
    WORKER_FIELD("probes_ok", probe.probes_ok),
    WORKER_FIELD("l4_halt_resets", l4.halt_resets),
    WORKER_FIELD("l4_halt_rst_retries", l4.halt_rst_retries),
    WORKER_FIELD("echo_replies_in", probe.echo_replies_in),
    WORKER_FIELD("probe_results_lost", probe.results_lost),
    WORKER_FIELD("mbuf_alloc_failed", lcore.mbuf_alloc_failed),
    WORKER_FIELD("ctl_ring_full", lcore.ctl_ring_full),
    WORKER_FIELD("tx_linearized", lcore.tx_linearized),
    WORKER_FIELD("csum_completed", lcore.csum_completed),
    WORKER_FIELD("tx_csum_sw", lcore.tx_csum_sw),
    WORKER_FIELD("tx_csum_offloaded", lcore.tx_csum_offloaded),
    WORKER_FIELD("tx_prepare_failed", lcore.tx_prepare_failed),
    WORKER_FIELD("tx_tso_offloaded", lcore.tx_tso_offloaded),
    WORKER_FIELD("tx_tso_sw", lcore.tx_tso_sw),
    WORKER_FIELD("tx_tso_sw_segs", lcore.tx_tso_sw_segs),
    WORKER_FIELD("tx_backlogged", lcore.tx_backlogged),
    WORKER_FIELD("tx_backlog_aged", lcore.tx_backlog_aged),
    WORKER_FIELD("forwarded", forward.forwarded),
    WORKER_FIELD("icmp_errors_sent", forward.icmp_errors_sent),
    WORKER_FIELD("l4_forward_packets", l4.forward_packets),
    WORKER_FIELD("l4_reverse_packets", l4.reverse_packets),
    WORKER_FIELD("l4_reverse_reassembled", l4.reverse_reassembled),
    WORKER_FIELD("l4_conns_created", l4.conns_created),
    WORKER_FIELD("l4_conns_ended", l4.conns_ended),
    WORKER_FIELD("l4_conns_midstream", l4.conns_midstream),
    WORKER_FIELD("l4_conns_halted", l4.conns_halted),
    WORKER_FIELD("l4_persist_hits", l4.persist_hits),
    WORKER_FIELD("l4_persist_moved", l4.persist_moved),
    WORKER_FIELD("l4_persist_created", l4.persist_created),
    WORKER_FIELD("l4_persist_full", l4.persist_full),
    WORKER_FIELD("l4_nh_misses", l4.nh_misses),
    WORKER_FIELD("l4_icmp_to_client", l4.icmp_to_client),
    WORKER_FIELD("l4_icmp_to_server", l4.icmp_to_server),
    WORKER_FIELD("l4_mss_clamped", l4.mss_clamped),
    WORKER_FIELD("l4_synproxy_cookies_sent", l4.synproxy_cookies_sent),
    WORKER_FIELD("l4_synproxy_cookies_ok", l4.synproxy_cookies_ok),
    WORKER_FIELD("l4_synproxy_cookies_bad", l4.synproxy_cookies_bad),
    WORKER_FIELD("l4_synproxy_syn_resent", l4.synproxy_syn_resent),
    WORKER_FIELD("l4_synproxy_established", l4.synproxy_established),
    WORKER_FIELD("l4_synproxy_refused", l4.synproxy_refused),
    WORKER_FIELD("l4_synproxy_held", l4.synproxy_held),
    WORKER_FIELD("l4_synproxy_early_drops", l4.synproxy_early_drops),
    WORKER_FIELD("l4_synproxy_rescaled", l4.synproxy_rescaled),
    WORKER_FIELD("reass_fragments", reass.fragments),
    WORKER_FIELD("reass_datagrams", reass.datagrams),
    WORKER_FIELD("reass_evicted", reass.evicted),
    WORKER_FIELD("reass_timeouts", reass.timeouts),
    WORKER_FIELD("reass_refused", reass.refused),
};

cJSON *stats_build(const struct appliance *a, const char *vs_label, int *rc, char *err,
                   size_t errlen)
{
    const struct dataplane *dp = a->dp;
    uint64_t drops[DROP_MAX] = {0};
    uint64_t arp = 0, icmp = 0;
    cJSON *o, *workers;

    if (vs_label != NULL && config_find_vs(a->cfg, vs_label) == NULL) {
        *rc = lbd_err_set(err, errlen, LBD_ENOENT, "no virtual service labelled '%s'", vs_label);
        return NULL;
    }
    o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "virtual_services", stats_services(a, vs_label));

    workers = cJSON_AddArrayToObject(o, "workers");
    for (unsigned i = 0; i < dp->n_workers; i++) {
        const struct worker_stats *ws = dp_worker_stats(dp, i);
        cJSON *w = cJSON_CreateObject();
        cJSON_AddNumberToObject(w, "worker", i);
        cJSON_AddNumberToObject(w, "lcore", dp_worker_lcore(dp, i));
        for (size_t k = 0; k < RTE_DIM(worker_fields); k++)
            add_u64(w, worker_fields[k].name,
                    *(const uint64_t *)((const char *)ws + worker_fields[k].off));
        add_u64(w, "l4_conns_active", dp_worker_l4_conns(dp, i));
        add_u64(w, "l4_persist_entries", dp_worker_l4_persist(dp, i));
#define STATS_PROXY_FIELD(n) add_u64(w, "proxy_" #n, ws->proxy.n);
        PROXY_STATS(STATS_PROXY_FIELD)
#undef STATS_PROXY_FIELD
        add_u64(w, "proxy_sessions", dp_worker_proxy_sessions(dp, i));
#define STATS_TLS_WFIELD(n) add_u64(w, "tls_" #n, ws->tls.n);
        TLS_STATS(STATS_TLS_WFIELD)
#undef STATS_TLS_WFIELD
        add_u64(w, "tls_streams_active", dp->workers[i]->proxy != NULL
                                             ? tls_worker_active(dp->workers[i]->proxy->tls)
                                             : 0);
        add_u64(w, "mbufs_in_use", dp_worker_mbufs_in_use(dp, i));
        add_u64(w, "mbuf_pool", dp->pool_size[i].total);
        add_u64(w, "timers_pending", dp_worker_wheel(dp, i)->pending);
        add_u64(w, "timers_fired", dp_worker_wheel(dp, i)->fired);
        add_u64(w, "timer_budget_hits", dp_worker_wheel(dp, i)->budget_hits);
        add_u64(w, "cycles_busy", ws->cycles.busy);
        add_u64(w, "cycles_idle", ws->cycles.idle);
        {
            cJSON *cy = cJSON_AddObjectToObject(w, "cycles");
            for (unsigned k = 0; k < WORKER_STAGE_MAX; k++)
                add_u64(cy, worker_stage_name((enum worker_stage)k), ws->cycles.stage[k]);
        }
        cJSON_AddItemToObject(w, "drops", drops_object(ws->lcore.drops));
        if (dp_worker_tcp(dp, i) != NULL)
            cJSON_AddItemToObject(w, "tcp", tcp_object(dp_worker_tcp(dp, i)));
        cJSON_AddItemToArray(workers, w);
        for (int r = 0; r < DROP_MAX; r++)
            drops[r] += ws->lcore.drops[r];
        arp += ws->arp_replies;
        icmp += ws->icmp_echo_replies;
    }
    cJSON_AddItemToObject(o, "ports", stats_ports(a));
    cJSON_AddItemToObject(o, "drops", drops_object(drops));
    add_u64(o, "arp_replies", arp);
    add_u64(o, "icmp_echo_replies", icmp);
    add_u64(o, "neighbours", neigh_count(dp->neigh));
    add_u64(o, "tsc_hz", rte_get_tsc_hz());
    {
        const struct neigh_stats *ns = neigh_stats(dp->neigh);
        add_u64(o, "neigh_learned", ns->learned);
        add_u64(o, "neigh_changed", ns->changed);
        add_u64(o, "neigh_refreshed", ns->refreshed);
        add_u64(o, "neigh_expired", ns->expired);
        add_u64(o, "neigh_evicted", ns->evicted);
        add_u64(o, "neigh_full", ns->full);
        add_u64(o, "neigh_probes", ns->probes);
        add_u64(o, "neigh_garp_unknown", ns->garp_unknown);
    }
    add_u64(o, "api_slow_clients", a->api != NULL ? a->api->slow_clients : 0);
    add_u64(o, "api_request_timeouts", a->api != NULL ? a->api->request_timeouts : 0);
    add_u64(o, "api_evicted", a->api != NULL ? a->api->evicted : 0);
    add_u64(o, "snapshots_published", a->generation);
    add_u64(o, "maglev_tables_built", a->maglev_built);
    add_u64(o, "maglev_tables_reused", a->maglev_reused);
    add_u64(o, "route_tables_built", a->routes_built);
    add_u64(o, "route_tables_reused", a->routes_reused);
    add_u64(o, "snapshot_publish_failures", a->publish_failures);
    *rc = 0;
    return o;
}
