/*
 * proxy_setup: the Layer 7 proxy's slow path (see proxy.h): the session pool, and
 * the listeners that follow the snapshot.
 */
#include "proxy/proxy.h"

#include <netinet/in.h>

#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "err.h"
#include "proxy/http_msg.h"
#include "proxy/proxy_http.h"
#include "proxy/proxy_int.h"
#include "proxy/tls_stream.h"
#include "tcp/tcp.h"



struct proxy *proxy_create(const struct proxy_conf *conf, char *err, size_t errlen)
{
    struct proxy *px;

    if (conf->tcp == NULL || conf->wheel == NULL || conf->persist == NULL ||
        conf->sched == NULL || conf->stats == NULL || conf->pool == NULL ||
        conf->max_sessions == 0) {
        lbd_err_set(err, errlen, LBD_EINVAL, "proxy: incomplete settings");
        return NULL;
    }
    px = rte_zmalloc_socket("proxy", sizeof(*px), RTE_CACHE_LINE_SIZE, conf->socket_id);
    if (px == NULL)
        goto err_nomem;
    px->conf = *conf;
    px->max_listeners = conf->tcp->conf.max_listeners;
    px->sessions = rte_zmalloc_socket("proxy_sessions",
                                      sizeof(struct proxy_sess) * conf->max_sessions,
                                      RTE_CACHE_LINE_SIZE, conf->socket_id);
    px->listeners = rte_zmalloc_socket("proxy_listeners",
                                       sizeof(struct proxy_listener) * px->max_listeners, 0,
                                       conf->socket_id);
    if (px->sessions == NULL || px->listeners == NULL)
        goto err_nomem;
    /* HTTP mode: a message state per session, and the worker's scratch buffers (a
     * header block is parsed and rewritten within one event, never held). */
    if (px->conf.http == NULL) {
        px->conf.http = rte_zmalloc_socket("proxy_http_stats", sizeof(*px->conf.http),
                                           RTE_CACHE_LINE_SIZE, conf->socket_id);
        px->own_http_stats = true;
    }
    px->http_pool = rte_zmalloc_socket("proxy_http", proxy_http_state_size() * conf->max_sessions,
                                       RTE_CACHE_LINE_SIZE, conf->socket_id);
    px->http_in = rte_malloc_socket("proxy_http_in", CFG_HTTP_HEADER_BYTES_MAX + 1024, 0,
                                    conf->socket_id);
    px->http_out = rte_malloc_socket("proxy_http_out", CFG_HTTP_HEADER_BYTES_MAX + 1024, 0,
                                     conf->socket_id);
    px->http_head = rte_zmalloc_socket("proxy_http_head", sizeof(struct http_head), 0,
                                       conf->socket_id);
    if (px->conf.http == NULL || px->http_pool == NULL || px->http_in == NULL ||
        px->http_out == NULL || px->http_head == NULL)
        goto err_nomem;
    proxy_http_pool_init(px);
    px->http_mode = &proxy_http_mode;
    /* TLS streams: one per half that may carry TLS, both halves of every session. */
    px->tls = tls_worker_create(conf->tcp->conf.worker_id, 2 * conf->max_sessions, conf->tcp,
                                conf->wheel, conf->pool, conf->tls_stats, err, errlen);
    if (px->tls == NULL) {
        proxy_free(px);
        return NULL;
    }
    for (uint32_t i = conf->max_sessions; i-- > 0;) {
        px->sessions[i].px = px;
        px->sessions[i].state = PROXY_FREE;
        px->sessions[i].next_free = px->free_list;
        px->free_list = &px->sessions[i];
    }
    return px;

err_nomem:
    lbd_err_set(err, errlen, LBD_ENOMEM, "proxy: out of memory for %u sessions",
                conf->max_sessions);
    proxy_free(px);
    return NULL;
}

void proxy_free(struct proxy *px)
{
    if (px == NULL)
        return;
    for (uint32_t i = 0; px->sessions != NULL && i < px->conf.max_sessions; i++) {
        struct proxy_sess *s = &px->sessions[i];
        if (s->state == PROXY_FREE)
            continue;
        for (int d = 0; d < 2; d++) {
            rte_pktmbuf_free(s->stall[d]);
            mbufq_purge(&s->held[d]);
        }
        twheel_cancel(px->conf.wheel, &s->timer);
    }
    tls_worker_free(px->tls);
    rte_free(px->sessions);
    rte_free(px->listeners);
    if (px->own_http_stats)
        rte_free(px->conf.http);
    rte_free(px->http_pool);
    rte_free(px->http_in);
    rte_free(px->http_out);
    rte_free(px->http_head);
    rte_free(px);
}

static bool proxy_wants(const struct snap_vs *vs)
{
    return vs != NULL && vs->layer == 7 &&
           (vs->mode == CFG_MODE_TCP || vs->mode == CFG_MODE_HTTP) &&
           vs->protocol == IPPROTO_TCP;
}

void proxy_snapshot_changed(struct proxy *px, const struct snapshot *s)
{
    px->snap = s;
    /* Listeners whose service is gone (or is no longer layer-7 TCP mode). */
    for (uint32_t i = 0; i < px->n_listeners;) {
        const struct proxy_listener *l = &px->listeners[i];
        if (s != NULL && proxy_wants(snapshot_service(s, l->ip, IPPROTO_TCP, l->port))) {
            i++;
            continue;
        }
        tcp_unlisten(px->conf.tcp, l->ip, l->port);
        px->listeners[i] = px->listeners[--px->n_listeners];
    }
    if (s == NULL)
        return;
    /* New ones. */
    for (uint32_t v = 0; v < s->n_vs; v++) {
        const struct snap_vs *vs = &s->vs[v];
        if (!proxy_wants(vs))
            continue;
        for (uint16_t p = 0; p < vs->n_ports; p++) {
            int rc;
            if (px->n_listeners == px->max_listeners) {
                px->conf.stats->listen_failed++;
                continue;
            }
            rc = tcp_listen(px->conf.tcp, vs->ip, vs->ports[p], 0, proxy_on_accept, px);
            if (rc == 0)
                px->listeners[px->n_listeners++] =
                    (struct proxy_listener){.ip = vs->ip, .port = vs->ports[p]};
            else if (rc != LBD_EEXIST)
                px->conf.stats->listen_failed++;
        }
    }
    proxy_close_halted(px);
}
