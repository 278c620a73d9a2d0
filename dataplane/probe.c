#include "probe.h"

#include <string.h>

#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_ring.h>

#include "err.h"
#include "ip_out.h"
#include "snapshot.h"
#include "worker.h"

int probe_build_echo(struct rte_mbuf *m, uint32_t src, uint32_t dst, uint16_t id, uint16_t seq)
{
    const uint16_t len = sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_icmp_hdr) +
                         PROBE_ECHO_PAYLOAD;
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)rte_pktmbuf_append(m, len);
    struct rte_icmp_hdr *icmp;
    uint8_t *payload;

    if (ip == NULL)
        return LBD_ENOMEM;
    memset(ip, 0, len);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(len);
    ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_ICMP;
    ip->src_addr = src;
    ip->dst_addr = dst;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    icmp = (struct rte_icmp_hdr *)(ip + 1);
    icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
    icmp->icmp_ident = rte_cpu_to_be_16(id);
    icmp->icmp_seq_nb = rte_cpu_to_be_16(seq);
    payload = (uint8_t *)(icmp + 1);
    memcpy(payload, "lbd health check", PROBE_ECHO_PAYLOAD);
    icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, sizeof(*icmp) + PROBE_ECHO_PAYLOAD);
    return 0;
}

static void probe_report(struct worker *w, struct ctl_msg *msg)
{
    if (rte_ring_mp_enqueue_elem(w->dp->to_ctl, msg, sizeof(*msg)) != 0)
        w->stats.ctl_ring_full++;
}

static void probe_ping(struct worker *w, const struct snapshot *s, const struct ctl_msg *msg)
{
    struct rte_mbuf *m;
    uint32_t next_hop;
    uint16_t port;

    /* Sourced from the self IP of the port that reaches the target. */
    if (s == NULL || snapshot_route(s, msg->ip, &next_hop, &port) != 0) {
        w->stats.probe_failed++;
        return;
    }
    m = rte_pktmbuf_alloc(w->dp->pools[w->id]);
    if (m == NULL) {
        w->stats.mbuf_alloc_failed++;
        return;
    }
    if (probe_build_echo(m, s->ports[port].self_ip, msg->ip, msg->echo.id,
                         msg->echo.seq) != 0) {
        rte_pktmbuf_free(m);
        w->stats.probe_failed++;
        return;
    }
    w->stats.probes_sent++;
    ip_out(w, s, m, msg->ip);
}

void probe_handle_ctl(struct worker *w, const struct snapshot *s, const struct ctl_msg *msg)
{
    switch (msg->type) {
    case CTL_MSG_PROBE_PING:
        probe_ping(w, s, msg);
        break;
    case CTL_MSG_PROBE_CONNECT: {
        /* TCP checks run on the TCP stack, which this build does not have yet. */
        struct ctl_msg r = {.type = CTL_MSG_PROBE_RESULT,
                            .port = msg->port, .ip = msg->ip,
                            .probe = {.id = msg->probe.id, .result = LBD_ENOTSUP}};
        probe_report(w, &r);
        break;
    }
    default:
        w->stats.probe_failed++;
        break;
    }
}

void probe_echo_reply(struct worker *w, struct rte_mbuf *m, const uint8_t *frame,
                      const struct pkt_info *pi)
{
    const struct rte_icmp_hdr *icmp = (const struct rte_icmp_hdr *)(frame + pi->l4_off);
    struct ctl_msg msg = {.type = CTL_MSG_ECHO_REPLY};

    if (rte_raw_cksum(icmp, pi->l4_len) != 0xffff) {
        worker_drop(w, m, DROP_BAD_ICMP_CHECKSUM);
        return;
    }
    msg.echo.id = rte_be_to_cpu_16(icmp->icmp_ident);
    msg.echo.seq = rte_be_to_cpu_16(icmp->icmp_seq_nb);
    msg.ip = pi->src_ip;
    w->stats.echo_replies_in++;
    probe_report(w, &msg);
    rte_pktmbuf_free(m);
}
