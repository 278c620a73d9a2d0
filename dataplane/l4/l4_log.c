/*
 * l4_log: Layer 4 traffic log records (owning worker only).
 */
#include "l4/l4_log.h"

#include <netinet/in.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

enum txlog_end l4_log_end(const struct conn *c, enum conn_end why)
{
    static const uint8_t closed[] = {
        [CONN_CLOSE_NONE] = TXLOG_END_IDLE_TIMEOUT,
        [CONN_CLOSE_CLIENT_FIN] = TXLOG_END_CLIENT_CLOSE,
        [CONN_CLOSE_SERVER_FIN] = TXLOG_END_SERVER_CLOSE,
        [CONN_CLOSE_CLIENT_RST] = TXLOG_END_CLIENT_RESET,
        [CONN_CLOSE_SERVER_RST] = TXLOG_END_SERVER_RESET,
    };

    switch (why) {
    case CONN_END_HALTED:
        return TXLOG_END_HALT;
    case CONN_END_SYNC:
        return TXLOG_END_SYNC_REMOVED;
    case CONN_END_EXPIRED:
    default:
        break;
    }
    if (c->proto == IPPROTO_TCP) {
        /* Closed by a FIN or RST (and expired closing, or reopened by a SYN since). */
        if (c->closed_by != CONN_CLOSE_NONE && c->closed_by < RTE_DIM(closed))
            return (enum txlog_end)closed[c->closed_by];
        /* The handshake timed out before the real server answered. */
        if (c->state == CONN_TCP_HANDSHAKE && !(c->flags & CONN_F_REPLIED))
            return TXLOG_END_CONNECT_TIMEOUT;
    }
    return TXLOG_END_IDLE_TIMEOUT;
}

void l4_log_conn(struct l4 *l4, const struct conn *c, enum txlog_end end, uint64_t now)
{
    struct txlog_rec r;
    uint64_t last = c->last_seen < now ? c->last_seen : now;

    if (!c->log || l4->log_ring == NULL || (c->packets[0] | c->packets[1]) == 0)
        return;
    memset(&r, 0, sizeof(r));
    r.client_ip = c->client_ip;
    r.vip = c->vip;
    r.rs_ip = c->rs_ip;
    r.rs_id = c->rs_id;
    r.client_port = rte_be_to_cpu_16(c->client_port);
    r.vport = rte_be_to_cpu_16(c->vport);
    r.rs_port = rte_be_to_cpu_16(c->rs_port);
    r.vs_slot = c->vs_slot;
    r.packets[0] = c->packets[0];
    r.packets[1] = c->packets[1];
    r.t_total_ms = (uint32_t)last - c->created;
    r.end = (uint8_t)end;
    r.mode = c->proto == IPPROTO_UDP ? TXLOG_MODE_L4_UDP : TXLOG_MODE_L4_TCP;
    r.worker = (uint8_t)l4->lc->id;
    if (rte_ring_sp_enqueue_elem(l4->log_ring, &r, sizeof(r)) == 0)
        l4->stats->log_records++;
    else
        l4->stats->log_lost++;
}
