/*
 * test_neigh: the neighbour table on the control core, with a clock driven by hand:
 * aging (reachable, stale and probed, expired), confirmation, gratuitous ARP, the cap
 * and its eviction rule under a flood, the generation, slots given back only after
 * the readers, and dp_poll_ctl (messages applied, probes sent, the "table full"
 * warning at most once per DP_NEIGH_WARN_MS).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "base/ctl_msg.h"
#include "dataplane.h"
#include "eal.h"
#include "err.h"
#include "log.h"
#include "net/neigh.h"

#define T0 1000000u     /* an arbitrary control clock to start from */
#define R NEIGH_REACHABLE_MS
#define G NEIGH_GRACE_MS
#define I NEIGH_PROBE_INTERVAL_MS

static const struct rte_ether_addr mac_a = {{0x02, 0, 0, 0, 0x0a, 0x01}};
static const struct rte_ether_addr mac_b = {{0x02, 0, 0, 0, 0x0b, 0x02}};

static struct neigh_table *t;

static void setup(void)
{
    test_eal_init();
}

static void teardown(void)
{
    neigh_free(t);
    t = NULL;
}

TestSuite(neigh, .init = setup, .fini = teardown);

/* 10.0.x.y, network order. */
static uint32_t ipn(unsigned i)
{
    return rte_cpu_to_be_32(0x0a000000u | (i & 0xffffu));
}

static struct neigh_table *table(uint32_t entries, struct rte_rcu_qsbr *q)
{
    char err[128];
    struct neigh_table *nt = neigh_create("t_neigh", entries, q, err, sizeof(err));

    cr_assert_not_null(nt, "%s", err);
    return nt;
}

/* What neigh_age asked to probe. */
struct asked {
    unsigned n;
    bool refuse;            /* the ring is full: nothing is sent */
    uint32_t ip[64];
    struct rte_ether_addr mac[64];
    uint16_t port[64];
};

static bool probe_cb(void *arg, uint32_t ip, const struct rte_ether_addr *mac, uint16_t port)
{
    struct asked *p = arg;

    if (p->refuse)
        return false;
    if (p->n < 64) {
        p->ip[p->n] = ip;
        p->mac[p->n] = *mac;
        p->port[p->n] = port;
    }
    p->n++;
    return true;
}

/* The listing's view of one entry. */
struct found {
    uint32_t ip;
    bool seen;
    struct neigh_entry e;
};

static int find_cb(const struct neigh_entry *e, void *arg)
{
    struct found *f = arg;

    if (e->ip != f->ip)
        return 0;
    f->seen = true;
    f->e = *e;
    return 1;
}

static struct found find(uint32_t ip, uint64_t now)
{
    struct found f = {.ip = ip};

    neigh_walk(t, now, find_cb, &f);
    return f;
}

static bool present(uint32_t ip)
{
    struct rte_ether_addr m;
    uint16_t p;

    return neigh_lookup(t, ip, &m, &p) == 0;
}

Test(neigh, entry_goes_stale_is_probed_then_expires)
{
    struct asked pr = {0};
    struct rte_ether_addr m;
    uint16_t port;
    uint32_t gen;

    t = table(16, NULL);
    cr_assert_eq(neigh_update(t, ipn(1), &mac_a, 1, T0), 1);
    cr_assert_eq(neigh_age(t, T0 + R - 1, probe_cb, &pr), 0);
    cr_assert_eq(pr.n, 0, "reachable: not asked");
    cr_assert_eq(find(ipn(1), T0 + R - 1).e.state, NEIGH_REACHABLE);

    cr_assert_eq(neigh_age(t, T0 + R, probe_cb, &pr), 0);
    cr_assert_eq(pr.n, 1, "stale: asked with a unicast probe");
    cr_assert_eq(pr.ip[0], ipn(1));
    cr_assert(rte_is_same_ether_addr(&pr.mac[0], &mac_a));
    cr_assert_eq(pr.port[0], 1);
    cr_assert_eq(find(ipn(1), T0 + R).e.state, NEIGH_STALE);
    cr_assert_eq(neigh_lookup(t, ipn(1), &m, &port), 0, "a stale entry is still used");

    gen = neigh_generation(t);
    cr_assert_eq(neigh_age(t, T0 + R + G - 1, probe_cb, &pr), 0);
    cr_assert(present(ipn(1)));
    cr_assert_eq(neigh_age(t, T0 + R + G, probe_cb, &pr), 1);
    cr_assert_not(present(ipn(1)));
    cr_assert_eq(neigh_count(t), 0);
    cr_assert_eq(neigh_stats(t)->expired, 1);
    cr_assert_neq(neigh_generation(t), gen, "a removal changes the generation");
    cr_assert_not(find(ipn(1), T0 + R + G).seen);
}

Test(neigh, stale_entry_gets_bounded_probes_apart)
{
    struct asked pr = {0};

    t = table(16, NULL);
    neigh_update(t, ipn(1), &mac_a, 0, T0);
    for (uint64_t now = T0 + R; now < T0 + R + G; now += 1000)
        neigh_age(t, now, probe_cb, &pr);
    cr_assert_eq(pr.n, NEIGH_PROBES, "%u probes", pr.n);
    cr_assert_eq(neigh_stats(t)->probes, NEIGH_PROBES);
    cr_assert_eq(find(ipn(1), T0 + R + G - 1).e.probes, NEIGH_PROBES);

    /* Apart by the interval: the second one not before it. */
    t = (neigh_free(t), table(16, NULL));
    pr.n = 0;
    neigh_update(t, ipn(1), &mac_a, 0, T0);
    neigh_age(t, T0 + R, probe_cb, &pr);
    neigh_age(t, T0 + R + I - 1, probe_cb, &pr);
    cr_assert_eq(pr.n, 1);
    neigh_age(t, T0 + R + I, probe_cb, &pr);
    cr_assert_eq(pr.n, 2);
}

Test(neigh, probe_that_could_not_be_sent_is_retried)
{
    struct asked pr = {.refuse = true};

    t = table(16, NULL);
    neigh_update(t, ipn(1), &mac_a, 0, T0);
    neigh_age(t, T0 + R, probe_cb, &pr);
    cr_assert_eq(neigh_stats(t)->probes, 0);
    pr.refuse = false;
    neigh_age(t, T0 + R + 1000, probe_cb, &pr);
    cr_assert_eq(pr.n, 1, "asked at the next pass, not a probe interval later");
}

Test(neigh, confirmation_keeps_entry)
{
    struct asked pr = {0};
    uint32_t gen;
    struct found f;

    t = table(16, NULL);
    neigh_update(t, ipn(1), &mac_a, 0, T0);
    neigh_update(t, ipn(2), &mac_b, 0, T0);
    neigh_age(t, T0 + R, probe_cb, &pr);        /* both stale, both asked */
    gen = neigh_generation(t);
    /* ipn(1) answers (same MAC, same port): confirmed, not a change. */
    cr_assert_eq(neigh_update(t, ipn(1), &mac_a, 0, T0 + R + G / 2), 0);
    cr_assert_eq(neigh_generation(t), gen, "a confirmation is not a change");
    cr_assert_eq(neigh_stats(t)->refreshed, 1);
    f = find(ipn(1), T0 + R + G / 2);
    cr_assert_eq(f.e.state, NEIGH_REACHABLE);
    cr_assert_eq(f.e.probes, 0);
    cr_assert_eq(f.e.updated_ms, T0 + R + G / 2);

    cr_assert_eq(neigh_age(t, T0 + R + G, probe_cb, &pr), 1, "only the silent one goes");
    cr_assert(present(ipn(1)));
    cr_assert_not(present(ipn(2)));
    /* And it ages again from its confirmation. */
    cr_assert_eq(neigh_age(t, T0 + R + G / 2 + R + G - 1, probe_cb, &pr), 0);
    cr_assert(present(ipn(1)));
    cr_assert_eq(neigh_age(t, T0 + R + G / 2 + R + G, probe_cb, &pr), 1);
    cr_assert_not(present(ipn(1)));
}

Test(neigh, gratuitous_arp_moves_known_entry_and_creates_nothing)
{
    struct rte_ether_addr m;
    uint16_t port;
    uint32_t gen;

    t = table(16, NULL);
    neigh_update(t, ipn(1), &mac_a, 0, T0);
    gen = neigh_generation(t);
    cr_assert_eq(neigh_garp(t, ipn(1), &mac_b, 0, T0 + 5), 1);
    cr_assert_eq(neigh_lookup(t, ipn(1), &m, &port), 0);
    cr_assert(rte_is_same_ether_addr(&m, &mac_b), "moved at once");
    cr_assert_neq(neigh_generation(t), gen);
    cr_assert_eq(neigh_stats(t)->changed, 1);
    cr_assert_eq(find(ipn(1), T0 + 5).e.updated_ms, T0 + 5);

    /* The same announcement again only confirms it. */
    gen = neigh_generation(t);
    cr_assert_eq(neigh_garp(t, ipn(1), &mac_b, 0, T0 + 10), 0);
    cr_assert_eq(neigh_generation(t), gen);

    /* About an address we do not have: nothing is created. */
    cr_assert_eq(neigh_garp(t, ipn(2), &mac_b, 0, T0 + 10), LBD_ENOENT);
    cr_assert_not(present(ipn(2)));
    cr_assert_eq(neigh_count(t), 1);
    cr_assert_eq(neigh_stats(t)->garp_unknown, 1);
    cr_assert_eq(neigh_generation(t), gen);
}

Test(neigh, flood_over_capacity_stays_bounded_and_keeps_confirmed_entries)
{
    const unsigned cap = 32, real = 8, flood = 10 * cap;
    struct asked pr = {0};
    uint64_t now;

    t = table(cap, NULL);
    for (unsigned i = 0; i < real; i++)
        cr_assert_eq(neigh_update(t, ipn(i), &mac_a, 0, T0), 1);
    /* A flood from many source addresses: the table fills and stops there. */
    for (unsigned i = 0; i < flood; i++)
        neigh_update(t, ipn(1000 + i), &mac_b, 0, T0 + 1000);
    cr_assert_eq(neigh_count(t), cap);
    cr_assert_eq(neigh_stats(t)->full, flood - (cap - real));
    cr_assert_eq(neigh_stats(t)->evicted, 0, "nothing is stale: nothing evicted");
    for (unsigned i = 0; i < real; i++)
        cr_assert(present(ipn(i)));

    /* The real neighbours keep answering; the flood's entries never do. */
    for (now = T0 + 1000; now <= T0 + 1000 + R + I; now += 1000) {
        neigh_age(t, now, probe_cb, &pr);
        if ((now - T0) % (R / 2) == 0)
            for (unsigned i = 0; i < real; i++)
                neigh_update(t, ipn(i), &mac_a, 0, now);
    }
    cr_assert_eq(neigh_count(t), cap);
    /* Another flood: it takes the place of the old flood's silent entries only. */
    for (unsigned i = 0; i < flood; i++)
        neigh_update(t, ipn(5000 + i), &mac_b, 0, now);
    cr_assert_eq(neigh_count(t), cap);
    cr_assert_eq(neigh_stats(t)->evicted, cap - real);
    for (unsigned i = 0; i < real; i++)
        cr_assert(present(ipn(i)), "a neighbour that answers is never evicted");
    for (unsigned i = 0; i < cap - real; i++)
        cr_assert_not(present(ipn(1000 + i)));
    cr_assert_eq(neigh_count(t), cap);
}

Test(neigh, eviction_takes_least_recently_confirmed_stale_entry)
{
    uint64_t later;

    t = table(4, NULL);
    neigh_update(t, ipn(1), &mac_a, 0, T0);
    neigh_update(t, ipn(2), &mac_a, 0, T0 + 1000);
    neigh_update(t, ipn(3), &mac_a, 0, T0 + 2000);
    neigh_update(t, ipn(4), &mac_a, 0, T0 + 3000);
    /* Full, everything recent: a new neighbour is refused, nobody goes. */
    cr_assert_eq(neigh_update(t, ipn(5), &mac_a, 0, T0 + 4000), LBD_ENOMEM);
    cr_assert_eq(neigh_count(t), 4);
    cr_assert_eq(neigh_stats(t)->full, 1);
    neigh_update(t, ipn(1), &mac_a, 0, T0 + 4000);  /* confirmed: now the youngest */

    /* Stale but not yet for a probe interval: still protected. */
    later = T0 + 1000 + R + I - 1;
    cr_assert_eq(neigh_update(t, ipn(5), &mac_a, 0, later), LBD_ENOMEM);
    later = T0 + 1000 + R + I;
    cr_assert_eq(neigh_update(t, ipn(5), &mac_a, 0, later), 1);
    cr_assert_not(present(ipn(2)), "the least recently confirmed goes first");
    cr_assert(present(ipn(1)) && present(ipn(3)) && present(ipn(4)) && present(ipn(5)));
    cr_assert_eq(neigh_update(t, ipn(6), &mac_a, 0, later + 1000), 1);
    cr_assert_not(present(ipn(3)));
    cr_assert(present(ipn(1)));
    cr_assert_eq(neigh_stats(t)->evicted, 2);
    cr_assert_eq(neigh_count(t), 4);
}

Test(neigh, generation_changes_on_every_change_or_removal)
{
    uint32_t g;

    t = table(2, NULL);
    g = neigh_generation(t);
    neigh_update(t, ipn(1), &mac_a, 0, T0);
    cr_assert_neq(neigh_generation(t), g, "added");
    g = neigh_generation(t);
    neigh_update(t, ipn(1), &mac_a, 0, T0 + 1);
    cr_assert_eq(neigh_generation(t), g, "confirmed only");
    neigh_update(t, ipn(1), &mac_b, 0, T0 + 2);
    cr_assert_neq(neigh_generation(t), g, "MAC changed");
    g = neigh_generation(t);
    neigh_update(t, ipn(1), &mac_b, 1, T0 + 3);
    cr_assert_neq(neigh_generation(t), g, "port changed");
    g = neigh_generation(t);
    neigh_garp(t, ipn(1), &mac_a, 1, T0 + 4);
    cr_assert_neq(neigh_generation(t), g, "moved by gratuitous ARP");
    neigh_update(t, ipn(2), &mac_a, 0, T0 + 5);
    g = neigh_generation(t);
    cr_assert_eq(neigh_update(t, ipn(3), &mac_a, 0, T0 + 6), LBD_ENOMEM);
    cr_assert_eq(neigh_generation(t), g, "a refused learn changes nothing");
    cr_assert_eq(neigh_update(t, ipn(3), &mac_a, 0, T0 + 4 + R + I), 1);
    cr_assert_neq(neigh_generation(t), g, "evicted and added");
    g = neigh_generation(t);
    cr_assert_eq(neigh_age(t, T0 + 5 + R + G, NULL, NULL), 1);
    cr_assert_neq(neigh_generation(t), g, "expired");
}

Test(neigh, removed_slot_is_reused_only_after_the_readers)
{
    size_t sz = rte_rcu_qsbr_get_memsize(1);
    struct rte_rcu_qsbr *q = rte_zmalloc("t_qsbr", sz, RTE_CACHE_LINE_SIZE);

    cr_assert_not_null(q);
    cr_assert_eq(rte_rcu_qsbr_init(q, 1), 0);
    cr_assert_eq(rte_rcu_qsbr_thread_register(q, 0), 0);
    rte_rcu_qsbr_thread_online(q, 0);
    t = table(8, q);
    neigh_update(t, ipn(1), &mac_a, 0, T0);
    cr_assert_eq(neigh_age(t, T0 + R + G, NULL, NULL), 1);
    cr_assert_not(present(ipn(1)), "gone from the look-ups at once");
    cr_assert_eq(neigh_deferred(t), 1, "its slot waits for the reader");
    neigh_age(t, T0 + R + G + 1000, NULL, NULL);
    cr_assert_eq(neigh_deferred(t), 1, "the reader has not passed a quiescent state");
    rte_rcu_qsbr_quiescent(q, 0);
    neigh_age(t, T0 + R + G + 2000, NULL, NULL);
    cr_assert_eq(neigh_deferred(t), 0, "given back once it did");

    /* Slots waiting for a stuck reader never stop the table from working. */
    for (unsigned round = 0; round < 4; round++) {
        uint64_t now = T0 + (round + 2) * (uint64_t)(R + G + 1000);
        for (unsigned i = 0; i < 8; i++)
            cr_assert_eq(neigh_update(t, ipn(100 * round + i), &mac_a, 0, now), 1);
        cr_assert_eq(neigh_age(t, now + R + G, NULL, NULL), 8);
        rte_rcu_qsbr_quiescent(q, 0);
    }
    cr_assert_eq(neigh_count(t), 0);
    rte_rcu_qsbr_thread_offline(q, 0);
    neigh_free(t);
    t = NULL;
    rte_free(q);
}

Test(neigh, workers_read_the_age_by_the_control_clock)
{
    struct rte_ether_addr m;
    uint16_t port;
    uint64_t age = 1;

    t = table(8, NULL);
    neigh_update(t, ipn(1), &mac_a, 3, T0);
    cr_assert_eq(neigh_lookup_age(t, ipn(1), &m, &port, &age), 0);
    cr_assert_eq(age, 0);
    cr_assert_eq(port, 3);
    neigh_age(t, T0 + 7000, NULL, NULL);
    cr_assert_eq(neigh_lookup_age(t, ipn(1), &m, &port, &age), 0);
    cr_assert_eq(age, 7000);
    cr_assert_eq(neigh_lookup_age(t, ipn(2), &m, &port, &age), LBD_ENOENT);
}

/* dp_poll_ctl over a dataplane of one worker and no port. */
static struct dataplane dp;

static void dp_setup(uint32_t entries)
{
    memset(&dp, 0, sizeof(dp));
    dp.n_workers = 1;
    dp.to_ctl = rte_ring_create_elem("t_to_ctl", sizeof(struct ctl_msg), 4096, 0,
                                     RING_F_SC_DEQ);
    dp.to_worker[0] = rte_ring_create_elem("t_to_w0", sizeof(struct ctl_msg), 64, 0,
                                           RING_F_SP_ENQ | RING_F_SC_DEQ);
    cr_assert(dp.to_ctl != NULL && dp.to_worker[0] != NULL);
    t = dp.neigh = table(entries, NULL);
}

static void post(uint16_t type, uint32_t ip, const struct rte_ether_addr *mac)
{
    struct ctl_msg msg = {.type = type, .port = 0, .ip = ip};

    memcpy(msg.mac, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
    cr_assert_eq(rte_ring_enqueue_elem(dp.to_ctl, &msg, sizeof(msg)), 0);
}

Test(neigh, poll_applies_messages_and_sends_probes_to_workers)
{
    struct rte_ether_addr m;
    struct ctl_msg got;
    uint16_t port;

    dp_setup(16);
    post(CTL_MSG_NEIGH_LEARN, ipn(1), &mac_a);
    post(CTL_MSG_NEIGH_GARP, ipn(2), &mac_a);   /* unknown: ignored */
    cr_assert_eq(dp_poll_ctl(&dp, T0, 64, NULL, NULL), 2);
    cr_assert(present(ipn(1)));
    cr_assert_not(present(ipn(2)));
    post(CTL_MSG_NEIGH_GARP, ipn(1), &mac_b);
    dp_poll_ctl(&dp, T0 + 10, 64, NULL, NULL);
    cr_assert_eq(neigh_lookup(t, ipn(1), &m, &port), 0);
    cr_assert(rte_is_same_ether_addr(&m, &mac_b));
    cr_assert_eq(rte_ring_count(dp.to_worker[0]), 0);

    /* Stale: the worker is asked to probe it at its last MAC. */
    dp_poll_ctl(&dp, T0 + 10 + R, 64, NULL, NULL);
    cr_assert_eq(rte_ring_dequeue_elem(dp.to_worker[0], &got, sizeof(got)), 0);
    cr_assert_eq(got.type, CTL_MSG_NEIGH_PROBE);
    cr_assert_eq(got.ip, ipn(1));
    cr_assert_eq(memcmp(got.mac, mac_b.addr_bytes, RTE_ETHER_ADDR_LEN), 0);
    /* Aged once per NEIGH_AGE_INTERVAL_MS, not on every poll. */
    dp_poll_ctl(&dp, T0 + 10 + R + I - 500, 64, NULL, NULL);   /* a pass: not due yet */
    dp_poll_ctl(&dp, T0 + 10 + R + I, 64, NULL, NULL);         /* due, but no pass */
    cr_assert_eq(rte_ring_count(dp.to_worker[0]), 0);
    dp_poll_ctl(&dp, T0 + 10 + R + I + 500, 64, NULL, NULL);
    cr_assert_eq(rte_ring_dequeue_elem(dp.to_worker[0], &got, sizeof(got)), 0, "the second");
    dp_poll_ctl(&dp, T0 + 10 + R + 2 * I + 500, 64, NULL, NULL);
    cr_assert_eq(rte_ring_dequeue_elem(dp.to_worker[0], &got, sizeof(got)), 0, "the third");
    cr_assert(present(ipn(1)));
    dp_poll_ctl(&dp, T0 + 10 + R + G, 64, NULL, NULL);
    cr_assert_not(present(ipn(1)), "never answered: removed");
    cr_assert_eq(rte_ring_count(dp.to_worker[0]), 0);
}

/* Counts the lines of f that contain what. */
static unsigned lines_with(FILE *f, const char *what, char *last, size_t lastlen)
{
    char line[512];
    unsigned n = 0;

    rewind(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strstr(line, what) != NULL) {
            n++;
            snprintf(last, lastlen, "%s", line);
        }
    }
    return n;
}

Test(neigh, table_full_warning_is_rate_limited)
{
    FILE *cap = tmpfile();
    int saved = dup(2);
    char last[512] = "";
    unsigned n;

    cr_assert(cap != NULL && saved >= 0);
    log_set_level(LOG_LVL_WARN);
    dp_setup(8);
    fflush(stderr);
    dup2(fileno(cap), 2);

    for (unsigned i = 0; i < 100; i++)      /* 92 refused */
        post(CTL_MSG_NEIGH_LEARN, ipn(i), &mac_a);
    dp_poll_ctl(&dp, T0, 4096, NULL, NULL);
    for (unsigned i = 0; i < 100; i++)      /* 100 more, within the interval */
        post(CTL_MSG_NEIGH_LEARN, ipn(1000 + i), &mac_a);
    dp_poll_ctl(&dp, T0 + DP_NEIGH_WARN_MS / 2, 4096, NULL, NULL);
    fflush(stderr);
    n = lines_with(cap, "neighbour table full", last, sizeof(last));
    cr_assert_eq(n, 1, "one line for 192 refusals, not %u", n);
    cr_assert_eq(neigh_stats(t)->full, 192);

    /* The flood stopped: one summary of what was held back, once the interval passed. */
    dp_poll_ctl(&dp, T0 + DP_NEIGH_WARN_MS - 1, 4096, NULL, NULL);
    dp_poll_ctl(&dp, T0 + DP_NEIGH_WARN_MS, 4096, NULL, NULL);
    dp_poll_ctl(&dp, T0 + 3 * DP_NEIGH_WARN_MS, 4096, NULL, NULL);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    n = lines_with(cap, "neighbour table full", last, sizeof(last));
    cr_assert_eq(n, 2, "%u lines", n);
    cr_assert(strstr(last, " 191 ") != NULL, "the summary counts what it held back: %s", last);
    fclose(cap);
}
