#include "proxy/proxy_log.h"

#include <string.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "proxy/proxy.h"

void proxy_log_begin(struct proxy_sess *s, uint64_t now, bool due)
{
    struct proxy_sess_log *l = &s->log;

    l->t0 = now;
    l->bytes[0] = l->bytes[1] = 0;
    l->t_connect = TXLOG_T_NONE;
    l->t_first = TXLOG_T_NONE;
    l->status = 0;
    l->end = TXLOG_END_NONE;
    l->connect_fail = TXLOG_END_NONE;
    l->req_len = 0;
    l->rs_ip = 0;
    l->rs_id = 0;
    l->rs_port = 0;
    l->pending = due && l->on && s->px->conf.log_ring != NULL;
}

void proxy_log_request(struct proxy_sess *s, const char *line, uint32_t len)
{
    struct proxy_sess_log *l = &s->log;

    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len > TXLOG_REQ_MAX)
        len = TXLOG_REQ_MAX;
    memcpy(l->req, line, len);
    l->req_len = (uint8_t)len;
}

void proxy_log_server(struct proxy_sess *s, uint32_t ip, uint16_t port, uint32_t id)
{
    s->log.rs_ip = ip;
    s->log.rs_port = port;
    s->log.rs_id = id;
}

void proxy_log_connected(struct proxy_sess *s, uint64_t now)
{
    s->log.t_connect = (uint32_t)(now - s->log.t0);
}

void proxy_log_emit(struct proxy_sess *s, uint64_t now)
{
    struct proxy *px = s->px;
    const struct proxy_sess_log *l = &s->log;
    struct txlog_rec r;

    if (!l->pending)
        return;
    s->log.pending = 0;
    memset(&r, 0, sizeof(r));
    r.bytes_in = l->bytes[0];
    r.bytes_out = l->bytes[1];
    r.client_ip = s->client_ip;
    r.vip = s->vip;
    r.client_port = l->client_port;
    r.vport = s->vport;
    r.vs_slot = s->vs_slot;
    r.rs_ip = l->rs_ip;
    r.rs_port = l->rs_port;
    r.rs_id = l->rs_id;
    r.t_connect_ms = l->t_connect;
    r.t_first_ms = l->t_first;
    r.t_total_ms = (uint32_t)(now - l->t0);
    r.status = l->status;
    r.end = l->end;
    r.mode = s->http != NULL ? TXLOG_MODE_HTTP : TXLOG_MODE_TCP;
    r.worker = px->conf.worker_id;
    r.req_len = l->req_len;
    memcpy(r.req, l->req, l->req_len);
    if (rte_ring_sp_enqueue_elem(px->conf.log_ring, &r, sizeof(r)) == 0)
        px->conf.stats->log_records++;
    else
        px->conf.stats->log_lost++;
}
