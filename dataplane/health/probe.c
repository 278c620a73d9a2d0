#include "health/probe.h"

#include <string.h>

#include <arpa/inet.h>

#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_ring.h>

#include "base/siphash.h"
#include "err.h"
#include "net/ip_out.h"
#include "net/rx_csum.h"
#include "snapshot/snapshot.h"
#include "tcp/tcp.h"

int probes_init(struct probes *pr, struct lcore_ctx *lc, struct ip_out *io,
                struct tcp_stack *tcp, struct probe_stats *stats)
{
    memset(pr, 0, sizeof(*pr));
    pr->lc = lc;
    pr->io = io;
    pr->tcp = tcp;
    pr->stats = stats;
    return siphash_key_random(&pr->token_key);
}

int probe_build_echo(struct rte_mbuf *m, uint32_t src, uint32_t dst, uint16_t id, uint16_t seq,
                     uint16_t slot, uint64_t token)
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
    memcpy(payload, "lbd-hc", 6);
    payload[6] = (uint8_t)(slot >> 8);
    payload[7] = (uint8_t)slot;
    memcpy(payload + 8, &token, sizeof(token));
    icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, sizeof(*icmp) + PROBE_ECHO_PAYLOAD);
    return 0;
}

/* A free slot (never used, answered, or past its deadline), or NULL. */
static struct probe_echo *probe_echo_slot(struct probes *pr, uint16_t *slot)
{
    uint64_t now = pr->lc->now_ms;

    for (uint32_t n = 0; n < PROBE_ECHO_SLOTS; n++) {
        uint32_t i = (pr->echo_cursor + n) % PROBE_ECHO_SLOTS;
        struct probe_echo *e = &pr->echo[i];
        if (e->deadline_ms == 0 || now > e->deadline_ms) {
            pr->echo_cursor = (i + 1) % PROBE_ECHO_SLOTS;
            *slot = (uint16_t)i;
            return e;
        }
    }
    return NULL;
}

struct rte_mbuf *probe_echo_request(struct probes *pr, uint32_t src, uint32_t dst, uint16_t id,
                                    uint16_t seq, uint32_t timeout_ms)
{
    uint16_t slot;
    struct probe_echo *e = probe_echo_slot(pr, &slot);
    struct rte_mbuf *m;
    uint64_t token;

    if (e == NULL) {
        pr->stats->probe_failed++;
        return NULL;
    }
    m = lcore_alloc(pr->lc);
    if (m == NULL)
        return NULL;
    /* A PRF in counter mode: unpredictable without the key, never repeated. */
    token = siphash24(&pr->token_key, &pr->token_count, sizeof(pr->token_count));
    pr->token_count++;
    if (probe_build_echo(m, src, dst, id, seq, slot, token) != 0) {
        rte_pktmbuf_free(m);
        pr->stats->probe_failed++;
        return NULL;
    }
    *e = (struct probe_echo){
        .deadline_ms = pr->lc->now_ms + (timeout_ms ? timeout_ms : PROBE_ECHO_TIMEOUT_MS),
        .token = token, .dst = dst, .src = src, .id = id, .seq = seq,
    };
    return m;
}

static void probe_ping(struct probes *pr, const struct snapshot *s, const struct ctl_msg *msg)
{
    struct rte_mbuf *m;
    uint32_t next_hop;
    uint16_t port;

    /* Sourced from the self IP of the port that reaches the target. */
    if (s == NULL || snapshot_route(s, msg->ip, &next_hop, &port) != 0) {
        pr->stats->probe_failed++;
        return;
    }
    m = probe_echo_request(pr, s->ports[port].self_ip, msg->ip, msg->echo.id, msg->echo.seq,
                           (uint32_t)msg->echo.timeout_cs * 10);
    if (m == NULL)
        return;
    pr->stats->probes_sent++;
    ip_out(pr->io, s, m, msg->ip);
}

/* Posts a result to the control core; one the full ring refuses is counted (the
 * control core times the check out). */
static void probe_to_ctl(struct probes *pr, struct ctl_msg *msg)
{
    if (!lcore_to_ctl(pr->lc, msg))
        pr->stats->results_lost++;
}

static void probe_result(struct probes *pr, uint32_t id, uint32_t ip, uint16_t port, int rc,
                         uint16_t detail)
{
    struct ctl_msg r = {.type = CTL_MSG_PROBE_RESULT, .port = port, .ip = ip};

    r.probe.id = id;
    r.probe.result = (int16_t)rc;
    r.probe.detail = detail;
    probe_to_ctl(pr, &r);
}

/* Ends the check of slot p with rc; the caller deals with the connection. */
static void probe_tcp_finish(struct probe_tcp *p, int rc, uint16_t detail)
{
    struct probes *pr = p->set;

    twheel_cancel(&pr->lc->wheel, &p->timer);
    p->c = NULL;
    if (rc == 0)
        pr->stats->probes_ok++;
    probe_result(pr, p->id, p->ip, p->port, rc, detail);
}

/* "HTTP/1.1 200 ..." -> 200; 0 when the line is not a status line. */
static uint16_t probe_http_status(const char *s, uint8_t n)
{
    uint16_t code = 0;

    if (n < 12 || memcmp(s, "HTTP/", 5) != 0 || s[8] != ' ')
        return 0;
    for (int i = 9; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        code = (uint16_t)(code * 10 + (s[i] - '0'));
    }
    return code;
}

static void probe_http_request(struct probe_tcp *p, const struct snap_vs *vs)
{
    struct rte_mbuf *m = lcore_alloc(p->set->lc);
    char ip[16];
    char *d;
    int n;

    if (m == NULL)
        return; /* no request: the check times out */
    d = rte_pktmbuf_mtod(m, char *);
    inet_ntop(AF_INET, &p->ip, ip, sizeof(ip));
    n = snprintf(d, rte_pktmbuf_tailroom(m),
                 "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: lbd-health-check\r\n"
                 "Connection: close\r\n\r\n", vs->http_path, ip);
    if (n <= 0 || (uint32_t)n >= rte_pktmbuf_tailroom(m) ||
        rte_pktmbuf_append(m, (uint16_t)n) == NULL || tcp_send(p->c, m) != 0)
        rte_pktmbuf_free(m);
}

static void probe_tcp_event(struct tcp_conn *c, enum tcp_event ev, void *arg)
{
    struct probe_tcp *p = arg;
    struct rte_mbuf *m;
    uint16_t code;

    if (p->c != c)
        return; /* the check already ended (deadline) */
    switch (ev) {
    case TCP_EV_ESTABLISHED:
        if (p->expect == 0) {
            probe_tcp_finish(p, 0, 0);
            tcp_close(c);
        } else {
            const struct snapshot *s = p->set->lc->snap;
            for (uint32_t i = 0; s != NULL && i < s->n_vs; i++)
                if (s->vs[i].slot == p->vs_slot && s->vs[i].check_http) {
                    probe_http_request(p, &s->vs[i]);
                    return;
                }
            /* The service went away while connecting. */
            probe_tcp_finish(p, LBD_ENOENT, 0);
            tcp_abort(c);
        }
        return;
    case TCP_EV_READABLE:
    case TCP_EV_PEER_FIN:
        while ((m = tcp_recv(c, UINT32_MAX)) != NULL) {
            for (struct rte_mbuf *seg = m; seg != NULL && p->got < PROBE_STATUS_MAX;
                 seg = seg->next) {
                uint16_t take = (uint16_t)RTE_MIN((uint32_t)seg->data_len,
                                                  (uint32_t)(PROBE_STATUS_MAX - p->got));
                memcpy(p->status + p->got, rte_pktmbuf_mtod(seg, char *), take);
                p->got = (uint8_t)(p->got + take);
            }
            rte_pktmbuf_free(m);
        }
        if (p->got < 12 && ev != TCP_EV_PEER_FIN)
            return; /* the status line is not complete yet */
        code = probe_http_status(p->status, p->got);
        probe_tcp_finish(p, code == p->expect ? 0 : LBD_EPROTO, code);
        tcp_close(c);
        return;
    case TCP_EV_RESET:
        probe_tcp_finish(p, LBD_ESTATE, 0);
        return;
    case TCP_EV_TIMEOUT:
        probe_tcp_finish(p, LBD_EBUSY, 0);
        return;
    case TCP_EV_CLOSED:
        probe_tcp_finish(p, LBD_EPROTO, 0);
        return;
    default:
        return;
    }
}

/* The check's deadline: what has not answered by now failed. */
static void probe_tcp_deadline(struct twheel_timer *t, uint64_t now)
{
    struct probe_tcp *p = (struct probe_tcp *)t;
    struct tcp_conn *c = p->c;

    if (c == NULL)
        return;
    probe_tcp_finish(p, LBD_EBUSY, 0);
    tcp_abort(c);
}

static void probe_connect(struct probes *pr, const struct snapshot *s, const struct ctl_msg *msg)
{
    struct probe_tcp *p = NULL;
    uint32_t next_hop;
    uint16_t port;
    int rc;

    for (unsigned i = 0; i < PROBE_TCP_SLOTS && p == NULL; i++)
        if (pr->slots[i].c == NULL && !twheel_pending(&pr->slots[i].timer))
            p = &pr->slots[i];
    if (p == NULL || pr->tcp == NULL || s == NULL ||
        snapshot_route(s, msg->ip, &next_hop, &port) != 0) {
        pr->stats->probe_failed++;
        probe_result(pr, msg->probe.id, msg->ip, msg->port, p == NULL ? LBD_ENOMEM : LBD_ENOENT,
                     0);
        return;
    }
    twheel_timer_init(&p->timer, probe_tcp_deadline);
    p->set = pr;
    p->id = msg->probe.id;
    p->ip = msg->ip;
    p->port = msg->port;
    p->expect = 0;
    p->got = 0;
    for (uint32_t i = 0; i < s->n_vs; i++) {
        if (s->vs[i].slot == msg->probe.detail && s->vs[i].check_http) {
            p->expect = s->vs[i].http_expect;
            p->vs_slot = msg->probe.detail;
        }
    }
    /* From the self IP of the port that reaches the server. */
    rc = tcp_connect(pr->tcp, s->ports[port].self_ip, msg->ip, msg->port, probe_tcp_event, p,
                     &p->c);
    if (rc != 0) {
        p->c = NULL;
        pr->stats->probe_failed++;
        probe_result(pr, p->id, p->ip, p->port, rc, 0);
        return;
    }
    pr->stats->probes_sent++;
    twheel_arm(&pr->lc->wheel, &p->timer, pr->lc->now_ms + (uint64_t)msg->probe.timeout_cs * 10);
}

void probe_handle_ctl(struct probes *pr, const struct snapshot *s, const struct ctl_msg *msg)
{
    switch (msg->type) {
    case CTL_MSG_PROBE_PING:
        probe_ping(pr, s, msg);
        break;
    case CTL_MSG_PROBE_CONNECT:
        probe_connect(pr, s, msg);
        break;
    default:
        pr->stats->probe_failed++;
        break;
    }
}

void probe_echo_reply(struct probes *pr, struct rte_mbuf *m, const uint8_t *frame,
                      const struct pkt_info *pi)
{
    const struct rte_icmp_hdr *icmp = (const struct rte_icmp_hdr *)(frame + pi->l4_off);
    const uint8_t *payload = (const uint8_t *)(icmp + 1);
    struct ctl_msg msg = {.type = CTL_MSG_ECHO_REPLY};
    enum rx_csum csum = rx_csum_l4(m);
    struct probe_echo *e;
    uint64_t token, deadline;
    uint16_t slot;

    if (csum == RX_CSUM_BAD ||
        (csum == RX_CSUM_VERIFY && rte_raw_cksum(icmp, pi->l4_len) != 0xffff)) {
        lcore_drop(pr->lc, m, DROP_BAD_ICMP_CHECKSUM);
        return;
    }
    if (pi->l4_len < sizeof(*icmp) + PROBE_ECHO_PAYLOAD) {
        lcore_drop(pr->lc, m, DROP_ECHO_UNMATCHED);
        return;
    }
    slot = (uint16_t)((payload[6] << 8) | payload[7]);
    memcpy(&token, payload + 8, sizeof(token));
    msg.echo.id = rte_be_to_cpu_16(icmp->icmp_ident);
    msg.echo.seq = rte_be_to_cpu_16(icmp->icmp_seq_nb);
    msg.ip = pi->src_ip;
    e = slot < PROBE_ECHO_SLOTS ? &pr->echo[slot] : NULL;
    if (e == NULL || e->deadline_ms == 0 || e->token != token || e->dst != pi->src_ip ||
        e->src != pi->dst_ip || e->id != msg.echo.id || e->seq != msg.echo.seq) {
        lcore_drop(pr->lc, m, DROP_ECHO_UNMATCHED);
        return;
    }
    /* It answers this ping: the slot is free again, so a replay matches nothing. */
    deadline = e->deadline_ms;
    e->deadline_ms = 0;
    if (pr->lc->now_ms > deadline) {
        lcore_drop(pr->lc, m, DROP_ECHO_LATE);
        return;
    }
    pr->stats->echo_replies_in++;
    probe_to_ctl(pr, &msg);
    rte_pktmbuf_free(m);
}
