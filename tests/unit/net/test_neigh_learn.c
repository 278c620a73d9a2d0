/*
 * test_neigh_learn: what a worker tells the control core about the ARP it sees.
 * Suite neigh_learn drives net/neigh_learn through an lcore context alone: learns,
 * confirmations at most every NEIGH_REFRESH_MS, gratuitous ARP, the hold time and
 * the per-worker budget. Suite neigh_worker sends frames through the worker's
 * dispatch (dp_harness): gratuitous ARP handled, a stale next hop probed with a
 * unicast ARP request and kept because it answers.
 */
#include <criterion/criterion.h>

#include <string.h>

#include <rte_eal.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "base/ctl_msg.h"
#include "base/lcore_ctx.h"
#include "dp_harness.h"
#include "err.h"
#include "net/arp.h"
#include "net/neigh.h"
#include "net/neigh_learn.h"

#define T0 1000000u

static const struct rte_ether_addr mac_a = {{0x02, 0, 0, 0, 0x0a, 0x01}};
static const struct rte_ether_addr mac_b = {{0x02, 0, 0, 0, 0x0b, 0x02}};

static struct lcore_ctx lc;
static struct lcore_stats lstats;
static struct neigh_learn_stats ns;
static struct neigh_learn nl;
static struct neigh_table *t;

static void eal(void)
{
    h_eal_init();
}

static void setup(void)
{
    char err[128];

    eal();
    memset(&lc, 0, sizeof(lc));
    memset(&lstats, 0, sizeof(lstats));
    memset(&ns, 0, sizeof(ns));
    lc.n_workers = 1;
    lc.stats = &lstats;
    lc.now_ms = 5000;       /* the worker's clock: not the control core's */
    lc.to_ctl = rte_ring_create_elem("t_to_ctl", sizeof(struct ctl_msg), 4096, 0,
                                     RING_F_SC_DEQ);
    cr_assert_not_null(lc.to_ctl);
    t = neigh_create("t_neigh", 64, NULL, err, sizeof(err));
    cr_assert_not_null(t, "%s", err);
    neigh_learn_init(&nl, &lc, t, &ns);
}

TestSuite(neigh_learn, .init = setup);

static uint32_t ipn(unsigned i)
{
    return rte_cpu_to_be_32(0x0a000000u | (i & 0xffffu));
}

/* The messages sent so far, taken off the ring. */
static unsigned sent(struct rte_ring *r, struct ctl_msg *out, unsigned max)
{
    return rte_ring_dequeue_burst_elem(r, out, sizeof(*out), max, NULL);
}

static void check_msg(const struct ctl_msg *m, uint16_t type, uint32_t ip,
                      const struct rte_ether_addr *mac, uint16_t port)
{
    cr_assert_eq(m->type, type);
    cr_assert_eq(m->ip, ip);
    cr_assert_eq(m->port, port);
    cr_assert_eq(memcmp(m->mac, mac->addr_bytes, RTE_ETHER_ADDR_LEN), 0);
}

Test(neigh_learn, known_neighbour_is_confirmed_at_most_once_per_refresh_interval)
{
    struct ctl_msg m[8];

    neigh_update(t, ipn(1), &mac_a, 0, T0);
    neigh_learn_seen(&nl, 0, ipn(1), &mac_a);
    cr_assert_eq(sent(lc.to_ctl, m, 8), 0, "just confirmed: nothing to say");
    neigh_age(t, T0 + NEIGH_REFRESH_MS - 1, NULL, NULL);  /* the control clock moves on */
    neigh_learn_seen(&nl, 0, ipn(1), &mac_a);
    cr_assert_eq(sent(lc.to_ctl, m, 8), 0);

    neigh_age(t, T0 + NEIGH_REFRESH_MS, NULL, NULL);
    for (int i = 0; i < 100; i++)   /* before the control core has applied the first */
        neigh_learn_seen(&nl, 0, ipn(1), &mac_a);
    cr_assert_eq(sent(lc.to_ctl, m, 8), 1, "one confirmation, however chatty");
    check_msg(&m[0], CTL_MSG_NEIGH_LEARN, ipn(1), &mac_a, 0);
    cr_assert_eq(ns.refresh_sent, 1);
    cr_assert_eq(ns.held, 99);

    /* Applied: quiet again until the next interval, whatever the worker's clock. */
    neigh_update(t, ipn(1), &mac_a, 0, T0 + NEIGH_REFRESH_MS);
    lc.now_ms += 10 * NEIGH_LEARN_HOLD_MS;
    neigh_learn_seen(&nl, 0, ipn(1), &mac_a);
    cr_assert_eq(sent(lc.to_ctl, m, 8), 0);
    neigh_age(t, T0 + 2 * NEIGH_REFRESH_MS, NULL, NULL);
    neigh_learn_seen(&nl, 0, ipn(1), &mac_a);
    cr_assert_eq(sent(lc.to_ctl, m, 8), 1);
    cr_assert_eq(ns.refresh_sent, 2);
    cr_assert_eq(ns.learn_sent, 0);
}

Test(neigh_learn, new_neighbour_is_sent_once_per_hold_time)
{
    struct ctl_msg m[8];

    neigh_learn_seen(&nl, 1, ipn(2), &mac_a);
    neigh_learn_seen(&nl, 1, ipn(2), &mac_a);
    cr_assert_eq(sent(lc.to_ctl, m, 8), 1);
    check_msg(&m[0], CTL_MSG_NEIGH_LEARN, ipn(2), &mac_a, 1);
    cr_assert_eq(ns.learn_sent, 1);
    cr_assert_eq(ns.held, 1);
    /* Still not in the table (say it was full): asked again after the hold time. */
    lc.now_ms += NEIGH_LEARN_HOLD_MS - 1;
    neigh_learn_seen(&nl, 1, ipn(2), &mac_a);
    cr_assert_eq(sent(lc.to_ctl, m, 8), 0);
    lc.now_ms += 1;
    neigh_learn_seen(&nl, 1, ipn(2), &mac_a);
    cr_assert_eq(sent(lc.to_ctl, m, 8), 1);
}

Test(neigh_learn, moved_neighbour_is_sent_at_once)
{
    struct ctl_msg m[8];

    neigh_update(t, ipn(1), &mac_a, 0, T0);
    neigh_age(t, T0 + NEIGH_REFRESH_MS, NULL, NULL);
    neigh_learn_seen(&nl, 0, ipn(1), &mac_a);       /* a confirmation... */
    neigh_learn_seen(&nl, 0, ipn(1), &mac_b);       /* ...then it moved: not held */
    neigh_learn_seen(&nl, 1, ipn(1), &mac_b);       /* ...and to another port */
    cr_assert_eq(sent(lc.to_ctl, m, 8), 3);
    check_msg(&m[1], CTL_MSG_NEIGH_LEARN, ipn(1), &mac_b, 0);
    check_msg(&m[2], CTL_MSG_NEIGH_LEARN, ipn(1), &mac_b, 1);
    cr_assert_eq(ns.learn_sent, 2);
}

Test(neigh_learn, gratuitous_arp_moves_known_neighbour_and_creates_nothing)
{
    struct ctl_msg m[8];

    neigh_update(t, ipn(1), &mac_a, 0, T0);
    neigh_learn_garp(&nl, 0, ipn(1), &mac_a);       /* nothing new */
    neigh_learn_garp(&nl, 0, ipn(7), &mac_b);       /* not a neighbour we have */
    cr_assert_eq(sent(lc.to_ctl, m, 8), 0);
    neigh_learn_garp(&nl, 0, ipn(1), &mac_b);       /* the address moved */
    cr_assert_eq(sent(lc.to_ctl, m, 8), 1);
    check_msg(&m[0], CTL_MSG_NEIGH_GARP, ipn(1), &mac_b, 0);
    cr_assert_eq(ns.garp_sent, 1);

    /* An unchanged announcement confirms when due, still as a gratuitous ARP (the
     * control core must not create the entry if it went meanwhile). */
    neigh_age(t, T0 + NEIGH_REFRESH_MS, NULL, NULL);
    neigh_learn_garp(&nl, 0, ipn(1), &mac_a);
    cr_assert_eq(sent(lc.to_ctl, m, 8), 1);
    check_msg(&m[0], CTL_MSG_NEIGH_GARP, ipn(1), &mac_a, 0);
    cr_assert_eq(ns.refresh_sent, 1);
}

Test(neigh_learn, flood_from_many_addresses_is_throttled_per_worker)
{
    static struct ctl_msg m[4096];

    for (unsigned i = 0; i < 10 * NEIGH_LEARN_BUDGET; i++)
        neigh_learn_seen(&nl, 0, ipn(100 + i), &mac_a);
    cr_assert_eq(sent(lc.to_ctl, m, 4096), NEIGH_LEARN_BUDGET);
    cr_assert_eq(ns.throttled, 9 * NEIGH_LEARN_BUDGET);
    lc.now_ms += NEIGH_LEARN_WINDOW_MS;
    for (unsigned i = 0; i < 10 * NEIGH_LEARN_BUDGET; i++)
        neigh_learn_seen(&nl, 0, ipn(5000 + i), &mac_a);
    cr_assert_eq(sent(lc.to_ctl, m, 4096), NEIGH_LEARN_BUDGET, "the next window's budget");
    cr_assert_eq(lstats.ctl_ring_full, 0, "the ring never filled");
}

/* Through the worker's dispatch. */
static struct harness h;
static uint8_t f[2048], out[2048];

static void hsetup(void)
{
    eal();
    cr_assert_eq(h_init(&h, 1024), 0);     /* with its worker -> control ring */
    h.dp.to_worker[0] = rte_ring_create_elem("h_to_w0", sizeof(struct ctl_msg), 64, 0,
                                             RING_F_SP_ENQ | RING_F_SC_DEQ);
    cr_assert(h.dp.to_ctl != NULL && h.dp.to_worker[0] != NULL);
    h.w->lc.to_ctl = h.dp.to_ctl;
}

TestSuite(neigh_worker, .init = hsetup);

/* An ARP frame from (sip, mac) about tip, as received. */
static uint32_t arp_from(uint16_t op, uint32_t sip, const struct rte_ether_addr *mac, uint32_t tip)
{
    uint32_t len = frame_arp(f, op, sip, tip);
    struct rte_ether_hdr *eth = (struct rte_ether_hdr *)f;
    struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(f + sizeof(*eth));

    rte_ether_addr_copy(mac, &eth->src_addr);
    rte_ether_addr_copy(mac, &arp->arp_data.arp_sha);
    if (op == RTE_ARP_OP_REPLY)
        rte_ether_addr_copy(&frame_mac_us, &eth->dst_addr);
    return len;
}

Test(neigh_worker, gratuitous_arp_moves_a_known_neighbour_and_is_not_answered)
{
    const uint32_t rs1 = ip4("192.168.112.51");
    struct rte_ether_addr m;
    struct ctl_msg msg;
    uint16_t port;
    uint32_t len;

    /* The real server's address moved to mac_b (an HA pair's floating address). */
    len = arp_from(RTE_ARP_OP_REQUEST, rs1, &mac_b, rs1);
    h_run(&h, f, len, 0);
    cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0, "a gratuitous ARP is not answered");
    cr_assert_eq(h.w->stats.lcore.drops[DROP_ARP_NOT_OURS], 0);
    cr_assert_eq(h.w->stats.arp_gratuitous, 1);
    cr_assert_eq(rte_ring_count(h.dp.to_ctl), 1);
    cr_assert_eq(rte_ring_dequeue_elem(h.dp.to_ctl, &msg, sizeof(msg)), 0);
    cr_assert_eq(msg.type, CTL_MSG_NEIGH_GARP);
    cr_assert_eq(rte_ring_enqueue_elem(h.dp.to_ctl, &msg, sizeof(msg)), 0);
    dp_poll_ctl(&h.dp, 1000, 64, NULL, NULL);
    cr_assert_eq(neigh_lookup(h.dp.neigh, rs1, &m, &port), 0);
    cr_assert(rte_is_same_ether_addr(&m, &mac_b), "moved at once");

    /* A reply form of it moves it back. */
    len = arp_from(RTE_ARP_OP_REPLY, rs1, &h_mac_rs[0], rs1);
    h_run(&h, f, len, 0);
    dp_poll_ctl(&h.dp, 1001, 64, NULL, NULL);
    cr_assert_eq(neigh_lookup(h.dp.neigh, rs1, &m, &port), 0);
    cr_assert(rte_is_same_ether_addr(&m, &h_mac_rs[0]));
}

Test(neigh_worker, gratuitous_arp_for_unknown_or_our_own_address_creates_nothing)
{
    struct rte_ether_addr m;
    uint16_t port;
    uint32_t n = neigh_count(h.dp.neigh), len;

    len = arp_from(RTE_ARP_OP_REQUEST, ip4("192.168.112.99"), &mac_b, ip4("192.168.112.99"));
    h_run(&h, f, len, 0);
    /* Someone announcing our own self IP: neither learned nor answered. */
    len = arp_from(RTE_ARP_OP_REQUEST, ip4("192.168.112.5"), &mac_b, ip4("192.168.112.5"));
    h_run(&h, f, len, 0);
    cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0);
    cr_assert_eq(rte_ring_count(h.dp.to_ctl), 0);
    dp_poll_ctl(&h.dp, 1000, 64, NULL, NULL);
    cr_assert_eq(neigh_count(h.dp.neigh), n);
    cr_assert_eq(neigh_lookup(h.dp.neigh, ip4("192.168.112.99"), &m, &port), LBD_ENOENT);
    cr_assert_eq(neigh_lookup(h.dp.neigh, ip4("192.168.112.5"), &m, &port), LBD_ENOENT);
    cr_assert_eq(h.w->stats.arp_gratuitous, 2);
}

Test(neigh_worker, next_hop_that_answers_its_probes_never_vanishes)
{
    const uint32_t rs1 = ip4("192.168.112.51"), self = ip4("192.168.112.5");
    const struct rte_arp_hdr *arp = (const struct rte_arp_hdr *)(out + 14);
    const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)out;
    struct rte_ether_addr m;
    struct ctl_msg msg;
    uint64_t now;
    uint32_t len, tip, sip;
    uint16_t port;
    unsigned probes = 0;

    /* The harness learned its neighbours at control time 0; go well past their
     * lifetime, answering every probe the control core asks a worker to send. */
    for (now = 1000; now <= 4 * (uint64_t)(NEIGH_REACHABLE_MS + NEIGH_GRACE_MS);
         now += NEIGH_AGE_INTERVAL_MS) {
        dp_poll_ctl(&h.dp, now, 64, NULL, NULL);
        while (rte_ring_dequeue_elem(h.dp.to_worker[0], &msg, sizeof(msg)) == 0) {
            cr_assert_eq(msg.type, CTL_MSG_NEIGH_PROBE);
            memcpy(m.addr_bytes, msg.mac, RTE_ETHER_ADDR_LEN);
            ip_out_probe(&h.w->io, h.s, msg.ip, &m, msg.port);
            for (uint16_t p = 0; p < H_PORTS; p++)
                rte_eth_tx_buffer_flush(p, 0, h.w->lc.txb[p]);
            len = h_sent(&h, msg.port, out, sizeof(out));
            cr_assert_eq(len, ARP_FRAME_LEN, "a probe went out on port %u", msg.port);
            if (msg.ip != rs1)
                continue;   /* the others stay silent */
            probes++;
            cr_assert(rte_is_same_ether_addr(&eth->dst_addr, &h_mac_rs[0]), "unicast");
            cr_assert_eq(rte_be_to_cpu_16(arp->arp_opcode), RTE_ARP_OP_REQUEST);
            memcpy(&sip, &arp->arp_data.arp_sip, 4);
            memcpy(&tip, &arp->arp_data.arp_tip, 4);
            cr_assert_eq(sip, self);
            cr_assert_eq(tip, rs1);
            /* rs1 answers: the worker confirms it to the control core. */
            h.w->lc.now_ms += 5000;
            len = arp_from(RTE_ARP_OP_REPLY, rs1, &h_mac_rs[0], self);
            h_run(&h, f, len, 0);
        }
        cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0, "nothing else is sent");
    }
    cr_assert_geq(probes, 3);
    cr_assert_eq(neigh_lookup(h.dp.neigh, rs1, &m, &port), 0, "kept: it answers");
    cr_assert(rte_is_same_ether_addr(&m, &h_mac_rs[0]));
    cr_assert_eq(neigh_lookup(h.dp.neigh, ip4("192.168.112.52"), &m, &port), LBD_ENOENT,
                 "silent: gone");
    cr_assert_geq(h.w->stats.neigh_learn.refresh_sent, 3);
    cr_assert_geq(h.w->stats.ip_out.arp_probes, 3 * 3);
}
