/*
 * test_probe: the worker side of health checks driven through an lcore context
 * alone (no worker loop, no port): echo replies reported to the control core, a
 * corrupted one dropped under its reason, the port's checksum flags honoured, checks
 * that cannot start answered at once, and a full control ring counted rather than
 * blocking.
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
    probes_init(&pr, &lc, NULL, NULL, &pstats);
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

Test(probe, echo_reply_is_reported_to_the_control_core)
{
    struct pkt_info pi;
    struct rte_mbuf *m = echo_reply(7, 42, false, &pi);
    struct ctl_msg got;

    probe_echo_reply(&pr, m, rte_pktmbuf_mtod(m, uint8_t *), &pi);
    cr_assert_eq(pstats.echo_replies_in, 1);
    cr_assert_eq(rte_ring_dequeue_elem(lc.to_ctl, &got, sizeof(got)), 0);
    cr_assert_eq(got.type, CTL_MSG_ECHO_REPLY);
    cr_assert_eq(got.echo.id, 7);
    cr_assert_eq(got.echo.seq, 42);
    cr_assert_eq(got.ip, ip4("192.168.112.51"));
    cr_assert_eq(rte_mempool_in_use_count(lc.pool), 0, "the reply's mbuf is freed");
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
    struct pkt_info pi;
    struct rte_mbuf *m = echo_reply(7, 42, false, &pi);
    struct rte_icmp_hdr *icmp = rte_pktmbuf_mtod_offset(m, struct rte_icmp_hdr *, pi.l4_off);

    icmp->icmp_cksum ^= 0x0f0f;
    m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_NONE;
    probe_echo_reply(&pr, m, rte_pktmbuf_mtod(m, uint8_t *), &pi);
    cr_assert_eq(pstats.echo_replies_in, 1);
    cr_assert_eq(rte_ring_count(lc.to_ctl), 1);
    m = echo_reply(7, 43, false, &pi);
    m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_BAD;
    probe_echo_reply(&pr, m, rte_pktmbuf_mtod(m, uint8_t *), &pi);
    cr_assert_eq(pstats.echo_replies_in, 1);
    cr_assert_eq(lstats.drops[DROP_BAD_ICMP_CHECKSUM], 1);
    cr_assert_eq(rte_ring_count(lc.to_ctl), 1);
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
    struct pkt_info pi;
    unsigned cap = rte_ring_get_capacity(lc.to_ctl);

    for (unsigned i = 0; i < cap + 2; i++) {
        struct rte_mbuf *m = echo_reply((uint16_t)i, 1, false, &pi);
        probe_echo_reply(&pr, m, rte_pktmbuf_mtod(m, uint8_t *), &pi);
    }
    cr_assert_eq(pstats.echo_replies_in, cap + 2);
    cr_assert_eq(rte_ring_count(lc.to_ctl), cap);
    cr_assert_eq(lstats.ctl_ring_full, 2);
    cr_assert_eq(rte_mempool_in_use_count(lc.pool), 0);
}
