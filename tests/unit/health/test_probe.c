/*
 * test_probe: the worker side of health checks driven through an lcore context
 * alone (no worker loop, no port): echo replies to pings in flight reported to the
 * control core once, every other echo reply (wrong token, source, identifier,
 * sequence, a replay, a late one) dropped under its reason and not reported, a
 * corrupted one dropped under its reason, the port's checksum flags honoured, the
 * bounded table of pings, checks that cannot start answered at once, and a full
 * control ring counted rather than blocking.
 */
#include <criterion/criterion.h>

#include <rte_icmp.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "base/lcore_ctx.h"
#include "eal.h"
#include "err.h"
#include "frames.h"
#include "health/probe.h"
#include "net/pkt_parse.h"

#define RS "192.168.112.51"     /* the server pinged */
#define US "192.168.112.5"      /* our self IP */

static struct lcore_ctx lc;
static struct lcore_stats lstats;
static struct probe_stats pstats;
static struct probes pr;

static void setup(void)
{
    test_eal_init();
    memset(&lc, 0, sizeof(lc));
    memset(&lstats, 0, sizeof(lstats));
    memset(&pstats, 0, sizeof(pstats));
    lc.n_workers = 1;
    lc.stats = &lstats;
    lc.pool = rte_pktmbuf_pool_create("t_pool", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    lc.to_ctl = rte_ring_create_elem("t_to_ctl", sizeof(struct ctl_msg), 4, 0,
                                     RING_F_SC_DEQ);
    cr_assert(lc.pool != NULL && lc.to_ctl != NULL);
    cr_assert_eq(probes_init(&pr, &lc, NULL, NULL, &pstats), 0);
}

TestSuite(probe, .init = setup);

/* An echo reply to us, as received, in an mbuf of the context's pool. */
static struct rte_mbuf *echo_reply(uint16_t id, uint16_t seq, bool corrupt, struct pkt_info *pi)
{
    uint8_t f[256];
    uint32_t len = frame_icmp_echo(f, ip4("192.168.112.51"), ip4("192.168.112.5"), id, seq, 16);
    struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(f + 14 + 20);
    struct rte_mbuf *m = rte_pktmbuf_alloc(lc.pool);

    icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
    icmp->icmp_cksum = 0;
    icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, sizeof(*icmp) + 16);
    if (corrupt)
        f[len - 1] ^= 0xff;
    cr_assert_not_null(m);
    memcpy(rte_pktmbuf_append(m, (uint16_t)len), f, len);
    cr_assert_eq(pkt_parse(rte_pktmbuf_mtod(m, uint8_t *), len, true, pi), DROP_NONE);
    return m;
}

/* How a reply departs from the one the server sends. */
struct tamper {
    uint32_t src;           /* its source, 0 = the server pinged */
    uint32_t dst;           /* its destination, 0 = the request's source */
    uint8_t token_xor;      /* flips bits of the token's first byte */
    int16_t id_delta, seq_delta;
    int slot;               /* the slot named in the payload, -1 = as sent */
    uint16_t cut;           /* payload bytes cut off the end */
};

/* The echo reply a server sends to req (a request from probe_echo_request, data at
 * the IPv4 header), as received: in a frame, in an mbuf of the context's pool. */
static struct rte_mbuf *reply_to(const struct rte_mbuf *req, const struct tamper *t,
                                 struct pkt_info *pi)
{
    uint8_t f[256];
    uint32_t off = frame_eth(f, RTE_ETHER_TYPE_IPV4, &frame_mac_us);
    uint32_t len = rte_pktmbuf_pkt_len(req);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + off);
    struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);
    uint8_t *payload = (uint8_t *)(icmp + 1);
    struct rte_mbuf *m = rte_pktmbuf_alloc(lc.pool);
    uint32_t a;

    cr_assert_not_null(m);
    memcpy(ip, rte_pktmbuf_mtod(req, const void *), len);
    len -= t->cut;
    a = ip->src_addr;
    ip->src_addr = t->src ? t->src : ip->dst_addr;
    ip->dst_addr = t->dst ? t->dst : a;
    ip->total_length = rte_cpu_to_be_16((uint16_t)len);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
    icmp->icmp_ident = rte_cpu_to_be_16(
        (uint16_t)(rte_be_to_cpu_16(icmp->icmp_ident) + t->id_delta));
    icmp->icmp_seq_nb = rte_cpu_to_be_16(
        (uint16_t)(rte_be_to_cpu_16(icmp->icmp_seq_nb) + t->seq_delta));
    if (t->slot >= 0) {
        payload[6] = (uint8_t)(t->slot >> 8);
        payload[7] = (uint8_t)t->slot;
    }
    if (t->cut <= 8)
        payload[8] ^= t->token_xor;
    icmp->icmp_cksum = 0;
    icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, len - sizeof(*ip));
    len += off;
    memcpy(rte_pktmbuf_append(m, (uint16_t)len), f, len);
    cr_assert_eq(pkt_parse(rte_pktmbuf_mtod(m, uint8_t *), len, true, pi), DROP_NONE);
    return m;
}

static const struct tamper as_sent = {.slot = -1};

/* Feeds the reply to req (tampered with as t says). */
static void answer(const struct rte_mbuf *req, const struct tamper *t)
{
    struct pkt_info pi;
    struct rte_mbuf *m = reply_to(req, t, &pi);

    probe_echo_reply(&pr, m, rte_pktmbuf_mtod(m, uint8_t *), &pi);
}

/* A ping of RS from US, as probe_ping sends it. */
static struct rte_mbuf *ping(uint16_t id, uint16_t seq, uint32_t timeout_ms)
{
    struct rte_mbuf *req = probe_echo_request(&pr, ip4(US), ip4(RS), id, seq, timeout_ms);

    cr_assert_not_null(req);
    return req;
}

Test(probe, echo_reply_is_reported_to_the_control_core)
{
    struct rte_mbuf *req = ping(7, 42, 500);
    struct ctl_msg got;

    answer(req, &as_sent);
    cr_assert_eq(pstats.echo_replies_in, 1);
    cr_assert_eq(rte_ring_dequeue_elem(lc.to_ctl, &got, sizeof(got)), 0);
    cr_assert_eq(got.type, CTL_MSG_ECHO_REPLY);
    cr_assert_eq(got.echo.id, 7);
    cr_assert_eq(got.echo.seq, 42);
    cr_assert_eq(got.ip, ip4(RS));
    rte_pktmbuf_free(req);
    cr_assert_eq(rte_mempool_in_use_count(lc.pool), 0, "the reply's mbuf is freed");
}

Test(probe, echo_request_carries_its_slot_and_an_unpredictable_token)
{
    struct rte_mbuf *a = ping(7, 42, 500), *b = ping(7, 42, 500);
    const uint8_t *pa = rte_pktmbuf_mtod_offset(a, const uint8_t *, 20 + 8);
    const uint8_t *pb = rte_pktmbuf_mtod_offset(b, const uint8_t *, 20 + 8);
    const struct rte_icmp_hdr *icmp = rte_pktmbuf_mtod_offset(a, const struct rte_icmp_hdr *, 20);

    cr_assert_eq(rte_pktmbuf_pkt_len(a), 20 + 8 + PROBE_ECHO_PAYLOAD);
    cr_assert_eq(icmp->icmp_type, RTE_IP_ICMP_ECHO_REQUEST);
    cr_assert_eq(rte_raw_cksum(icmp, 8 + PROBE_ECHO_PAYLOAD), 0xffff, "ICMP checksum");
    cr_assert_eq(memcmp(pa, "lbd-hc", 6), 0);
    cr_assert_neq((pa[6] << 8) | pa[7], (pb[6] << 8) | pb[7], "two pings, two slots");
    cr_assert_neq(memcmp(pa + 8, pb + 8, 8), 0, "the same ping twice: two tokens");
    rte_pktmbuf_free(a);
    rte_pktmbuf_free(b);
}

Test(probe, matching_reply_is_reported_once_and_its_replay_dropped)
{
    struct rte_mbuf *req = ping(7, 42, 500);
    struct ctl_msg got;

    answer(req, &as_sent);
    answer(req, &as_sent);              /* the same reply again: duplicated, or replayed */
    answer(req, &as_sent);
    cr_assert_eq(pstats.echo_replies_in, 1);
    cr_assert_eq(rte_ring_count(lc.to_ctl), 1, "one message");
    cr_assert_eq(rte_ring_dequeue_elem(lc.to_ctl, &got, sizeof(got)), 0);
    cr_assert_eq(got.echo.seq, 42);
    cr_assert_eq(lstats.drops[DROP_ECHO_UNMATCHED], 2);
    rte_pktmbuf_free(req);
    cr_assert_eq(rte_mempool_in_use_count(lc.pool), 0);
}

Test(probe, reply_with_a_wrong_token_is_dropped_and_the_ping_still_answers)
{
    struct rte_mbuf *req = ping(7, 42, 500);
    struct tamper t = as_sent;

    for (unsigned bit = 0; bit < 8; bit++) {
        t.token_xor = (uint8_t)(1u << bit);
        answer(req, &t);
    }
    cr_assert_eq(lstats.drops[DROP_ECHO_UNMATCHED], 8);
    cr_assert_eq(pstats.echo_replies_in, 0);
    cr_assert_eq(rte_ring_count(lc.to_ctl), 0, "nothing reported");
    /* A forgery does not use the slot up: the server's own reply still counts. */
    answer(req, &as_sent);
    cr_assert_eq(pstats.echo_replies_in, 1);
    cr_assert_eq(rte_ring_count(lc.to_ctl), 1);
    rte_pktmbuf_free(req);
    cr_assert_eq(rte_mempool_in_use_count(lc.pool), 0);
}

Test(probe, reply_from_a_wrong_source_or_to_a_wrong_address_is_dropped)
{
    struct rte_mbuf *req = ping(7, 42, 500);
    struct tamper t = as_sent;

    t.src = ip4("192.168.112.52");      /* another server, with the right token */
    answer(req, &t);
    t.src = 0;
    t.dst = ip4("192.168.112.6");       /* to an address the ping did not leave from */
    answer(req, &t);
    cr_assert_eq(lstats.drops[DROP_ECHO_UNMATCHED], 2);
    cr_assert_eq(pstats.echo_replies_in, 0);
    cr_assert_eq(rte_ring_count(lc.to_ctl), 0);
    answer(req, &as_sent);
    cr_assert_eq(rte_ring_count(lc.to_ctl), 1);
    rte_pktmbuf_free(req);
}

Test(probe, reply_with_an_unknown_identifier_sequence_or_slot_is_dropped)
{
    struct rte_mbuf *req = ping(7, 42, 500);
    struct pkt_info pi;
    struct rte_mbuf *m;
    struct tamper t = as_sent;

    t.id_delta = 1;                     /* another worker's identifier */
    answer(req, &t);
    t.id_delta = 0;
    t.seq_delta = -1;                   /* an earlier ping's sequence number */
    answer(req, &t);
    t.seq_delta = 0;
    t.slot = PROBE_ECHO_SLOTS;          /* no such slot */
    answer(req, &t);
    t.slot = 200;                       /* a slot with no ping in it */
    answer(req, &t);
    t.slot = -1;
    t.cut = 8;                          /* the token cut off */
    answer(req, &t);
    /* Someone else's ping reply: no token at all. */
    m = echo_reply(7, 42, false, &pi);
    probe_echo_reply(&pr, m, rte_pktmbuf_mtod(m, uint8_t *), &pi);
    cr_assert_eq(lstats.drops[DROP_ECHO_UNMATCHED], 6);
    cr_assert_eq(pstats.echo_replies_in, 0);
    cr_assert_eq(rte_ring_count(lc.to_ctl), 0, "nothing reported");
    answer(req, &as_sent);
    cr_assert_eq(rte_ring_count(lc.to_ctl), 1);
    rte_pktmbuf_free(req);
    cr_assert_eq(rte_mempool_in_use_count(lc.pool), 0);
}

Test(probe, reply_after_the_deadline_is_dropped_as_late)
{
    struct rte_mbuf *req = ping(7, 42, 500);

    lc.now_ms += 501;
    answer(req, &as_sent);
    cr_assert_eq(lstats.drops[DROP_ECHO_LATE], 1);
    cr_assert_eq(pstats.echo_replies_in, 0);
    cr_assert_eq(rte_ring_count(lc.to_ctl), 0);
    answer(req, &as_sent);
    cr_assert_eq(lstats.drops[DROP_ECHO_UNMATCHED], 1, "the slot was freed");
    rte_pktmbuf_free(req);
}

Test(probe, pings_in_flight_are_bounded_and_expired_slots_reused)
{
    struct rte_mbuf *req;

    for (unsigned i = 0; i < PROBE_ECHO_SLOTS; i++)
        rte_pktmbuf_free(ping(7, (uint16_t)i, 500));
    cr_assert_null(probe_echo_request(&pr, ip4(US), ip4(RS), 7, 999, 500));
    cr_assert_eq(pstats.probe_failed, 1, "no slot: the check fails, nothing is sent");
    cr_assert_eq(rte_mempool_in_use_count(lc.pool), 0);
    lc.now_ms += 501;
    req = ping(7, 1000, 500);
    answer(req, &as_sent);
    cr_assert_eq(pstats.echo_replies_in, 1);
    rte_pktmbuf_free(req);
}

Test(probe, corrupted_echo_reply_is_dropped_and_not_reported)
{
    struct pkt_info pi;
    struct rte_mbuf *m = echo_reply(7, 42, true, &pi);

    probe_echo_reply(&pr, m, rte_pktmbuf_mtod(m, uint8_t *), &pi);
    cr_assert_eq(pstats.echo_replies_in, 0);
    cr_assert_eq(lstats.drops[DROP_BAD_ICMP_CHECKSUM], 1);
    cr_assert_eq(rte_ring_count(lc.to_ctl), 0);
    cr_assert_eq(rte_mempool_in_use_count(lc.pool), 0);
}

/* The port's verdict on the checksum stands: NONE (sound data, field not to be
 * trusted) is reported, BAD is dropped even with a correct field. */
Test(probe, echo_reply_checksum_flags_are_honoured)
{
    struct rte_mbuf *req = ping(7, 42, 500), *req2 = ping(7, 43, 500), *m;
    struct pkt_info pi;
    struct rte_icmp_hdr *icmp;

    /* The answer to a ping in flight, its field spoiled but flagged NONE: reported. */
    m = reply_to(req, &as_sent, &pi);
    icmp = rte_pktmbuf_mtod_offset(m, struct rte_icmp_hdr *, pi.l4_off);
    icmp->icmp_cksum ^= 0x0f0f;
    m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_NONE;
    probe_echo_reply(&pr, m, rte_pktmbuf_mtod(m, uint8_t *), &pi);
    cr_assert_eq(pstats.echo_replies_in, 1);
    cr_assert_eq(rte_ring_count(lc.to_ctl), 1);
    /* A correct field flagged BAD: dropped as such, not reported. */
    m = reply_to(req2, &as_sent, &pi);
    m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_BAD;
    probe_echo_reply(&pr, m, rte_pktmbuf_mtod(m, uint8_t *), &pi);
    cr_assert_eq(pstats.echo_replies_in, 1);
    cr_assert_eq(lstats.drops[DROP_BAD_ICMP_CHECKSUM], 1);
    cr_assert_eq(rte_ring_count(lc.to_ctl), 1);
    rte_pktmbuf_free(req);
    rte_pktmbuf_free(req2);
    cr_assert_eq(rte_mempool_in_use_count(lc.pool), 0);
}

Test(probe, checks_that_cannot_start_fail_at_once)
{
    struct ctl_msg ping = {.type = CTL_MSG_PROBE_PING, .ip = ip4("192.168.112.51")};
    struct ctl_msg conn = {.type = CTL_MSG_PROBE_CONNECT, .ip = ip4("192.168.112.51"),
                           .port = 80};
    struct ctl_msg got;

    conn.probe.id = 99;
    /* No snapshot yet (nothing routes), and no TCP stack. */
    probe_handle_ctl(&pr, NULL, &ping);
    cr_assert_eq(pstats.probe_failed, 1);
    cr_assert_eq(pstats.probes_sent, 0);
    probe_handle_ctl(&pr, NULL, &conn);
    cr_assert_eq(pstats.probe_failed, 2);
    cr_assert_eq(rte_ring_dequeue_elem(lc.to_ctl, &got, sizeof(got)), 0);
    cr_assert_eq(got.type, CTL_MSG_PROBE_RESULT);
    cr_assert_eq(got.probe.id, 99);
    cr_assert_eq(got.probe.result, LBD_ENOENT);
    cr_assert_eq(rte_mempool_in_use_count(lc.pool), 0);
}

Test(probe, full_control_ring_is_counted_not_waited_for)
{
    unsigned cap = rte_ring_get_capacity(lc.to_ctl);

    for (unsigned i = 0; i < cap + 2; i++) {
        struct rte_mbuf *req = ping((uint16_t)i, 1, 500);
        answer(req, &as_sent);
        rte_pktmbuf_free(req);
    }
    cr_assert_eq(pstats.echo_replies_in, cap + 2);
    cr_assert_eq(rte_ring_count(lc.to_ctl), cap);
    cr_assert_eq(lstats.ctl_ring_full, 2);
    cr_assert_eq(pstats.results_lost, 2, "the lost replies are counted as results lost");
    cr_assert_eq(rte_mempool_in_use_count(lc.pool), 0);
}
