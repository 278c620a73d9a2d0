#include <criterion/criterion.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "base/ctl_msg.h"
#include "base/lcore_ctx.h"
#include "eal.h"
#include "frames.h"
#include "l4/persist.h"
#include "l4/persist_ctl.h"

static struct twheel wheel;
static struct persist_table *t;

static void setup(void)
{
    test_eal_init();
    twheel_init(&wheel, 0);
    t = persist_table_create("persist_test", 256, 0, &wheel);
    cr_assert_not_null(t);
}

TestSuite(persist, .init = setup);

Test(persist, insert_lookup_per_client_and_service)
{
    struct persist_entry *e = persist_insert(t, ip4("10.200.50.20"), 3, 17, 17, 1200000, 0);

    cr_assert_not_null(e);
    cr_assert_eq(persist_lookup(t, ip4("10.200.50.20"), 3), e);
    cr_assert_eq(e->rs_id, 17);
    cr_assert_null(persist_lookup(t, ip4("10.200.50.20"), 4), "other service");
    cr_assert_null(persist_lookup(t, ip4("10.200.50.21"), 3), "other client");
    cr_assert_null(persist_insert(t, ip4("10.200.50.20"), 3, 18, 18, 1200000, 0), "no duplicate");
    cr_assert_eq(persist_count(t), 1);
}

Test(persist, expires_after_its_timeout_from_last_use)
{
    struct persist_entry *e = persist_insert(t, ip4("10.200.50.20"), 3, 17, 17, 1200000, 0);

    twheel_advance(&wheel, 1199999);
    cr_assert_eq(persist_lookup(t, ip4("10.200.50.20"), 3), e);
    persist_touch(e, 1200000, 1000000);         /* a new connection at 1000 s */
    twheel_advance(&wheel, 1200000);
    cr_assert_eq(persist_lookup(t, ip4("10.200.50.20"), 3), e, "refreshed by the touch");
    twheel_advance(&wheel, 2199999);
    cr_assert_not_null(persist_lookup(t, ip4("10.200.50.20"), 3));
    twheel_advance(&wheel, 2200000);
    cr_assert_null(persist_lookup(t, ip4("10.200.50.20"), 3), "1200 s after the last use");
    cr_assert_eq(t->expired, 1);
    cr_assert_eq(persist_count(t), 0);
}

Test(persist, lives_while_connections_hold_it)
{
    struct persist_entry *e = persist_insert(t, ip4("10.200.50.20"), 3, 17, 17, 10000, 0);
    uint32_t ref = persist_hold(e);

    cr_assert_eq(e->n_conns, 1);
    twheel_advance(&wheel, 50000);
    cr_assert_eq(persist_lookup(t, ip4("10.200.50.20"), 3), e, "a live connection holds it");
    persist_release(t, ref, 55000);
    cr_assert_eq(e->n_conns, 0);
    twheel_advance(&wheel, 64999);
    cr_assert_not_null(persist_lookup(t, ip4("10.200.50.20"), 3));
    twheel_advance(&wheel, 65000);
    cr_assert_null(persist_lookup(t, ip4("10.200.50.20"), 3), "timeout after the last release");
}

Test(persist, shorter_timeout_applies_at_once)
{
    struct persist_entry *e = persist_insert(t, ip4("10.200.50.20"), 3, 17, 17, 1200000, 0);

    persist_touch(e, 5000, 1000);
    twheel_advance(&wheel, 6000);
    cr_assert_null(persist_lookup(t, ip4("10.200.50.20"), 3));
}

Test(persist, flush_by_service_and_all)
{
    for (uint32_t i = 0; i < 100; i++)
        cr_assert_not_null(persist_insert(t, rte_cpu_to_be_32(0x0a000000 + i), (uint16_t)(i % 2),
                                          1, 1, 1200000, 0));
    cr_assert_eq(persist_flush(t, 1), 50);
    cr_assert_eq(persist_count(t), 50);
    cr_assert_null(persist_lookup(t, rte_cpu_to_be_32(0x0a000001), 1));
    cr_assert_not_null(persist_lookup(t, rte_cpu_to_be_32(0x0a000000), 0));
    cr_assert_eq(persist_flush(t, PERSIST_ALL), 50);
    cr_assert_eq(persist_count(t), 0);
    twheel_advance(&wheel, 2000000);
    cr_assert_eq(t->expired, 0, "flushed entries left no timer behind");
}

Test(persist, full_table_is_refused)
{
    for (uint32_t i = 0; i < 256; i++)
        cr_assert_not_null(persist_insert(t, rte_cpu_to_be_32(0x0a000000 + i), 1, 1, 1, 1000, 0));
    cr_assert_null(persist_insert(t, ip4("10.9.9.9"), 1, 1, 1, 1000, 0));
    twheel_advance(&wheel, 1000);
    cr_assert_not_null(persist_insert(t, ip4("10.9.9.9"), 1, 1, 1, 1000, 1000));
}

Test(persist, a_flushed_entry_waits_for_its_last_reference)
{
    struct persist_entry *e1 = persist_insert(t, ip4("10.200.50.20"), 3, 17, 17, 10000, 0), *e2, *e3;
    uint32_t r1 = persist_hold(e1), r1b = persist_hold(e1), r2;

    cr_assert_eq(persist_flush(t, PERSIST_ALL), 1);
    cr_assert_null(persist_lookup(t, ip4("10.200.50.20"), 3), "out of the table at once");
    cr_assert_eq(persist_count(t), 0);
    cr_assert_eq(persist_slots_used(t), 1, "kept while connections hold it");
    cr_assert_eq(persist_flush(t, PERSIST_ALL), 0, "flushed once");
    /* The same client again: a new entry in another slot. */
    e2 = persist_insert(t, ip4("10.200.50.20"), 3, 18, 18, 10000, 100);
    cr_assert_not_null(e2);
    cr_assert_neq(e2, e1);
    r2 = persist_hold(e2);
    persist_release(t, r1, 200);
    cr_assert_eq(e2->n_conns, 1, "the old connection's end leaves the new entry alone");
    cr_assert_eq(persist_slots_used(t), 2);
    persist_release(t, r1b, 300);
    cr_assert_eq(persist_slots_used(t), 1, "freed with its last reference");
    cr_assert_eq(persist_count(t), 1);
    /* Its slot is reused by another client; the new entry's count stays right. */
    e3 = persist_insert(t, ip4("10.200.50.21"), 3, 17, 17, 10000, 400);
    cr_assert_eq(e3, e1, "the freed slot is reused");
    cr_assert_eq(e3->n_conns, 0);
    persist_release(t, r2, 500);
    cr_assert_eq(e2->n_conns, 0);
    cr_assert_eq(e3->n_conns, 0);
    twheel_advance(&wheel, 20000);
    cr_assert_eq(persist_count(t), 0);
    cr_assert_eq(persist_slots_used(t), 0);
    cr_assert_eq(t->expired, 2, "the flushed entry left no timer behind");
}

/* A listing driven by hand: its context, the table, and the ring to the control core. */
static struct lcore_ctx lc;
static struct lcore_stats lstats;
static struct persist_ctl pc;

static void list_setup(uint32_t capacity)
{
    lc = (struct lcore_ctx){.stats = &lstats, .now_ms = 0};
    lc.to_ctl = rte_ring_create_elem("pctl_to_ctl", sizeof(struct ctl_msg), 1024,
                                     SOCKET_ID_ANY, RING_F_SC_DEQ);
    cr_assert_not_null(lc.to_ctl);
    persist_table_free(t);
    t = persist_table_create("persist_list", capacity, 0, &wheel);
    cr_assert_not_null(t);
    persist_ctl_init(&pc, &lc, t);
}

/*
 * Polls the listing started with req until its DONE (at most max_polls): returns the
 * polls it took, *entries the entries received; every poll looks at no more than
 * PERSIST_CTL_VISIT slots.
 */
static unsigned list_run(uint32_t req, unsigned max_polls, uint32_t *entries, uint32_t *done)
{
    unsigned polls = 1;
    uint64_t seen = pc.dump.visited;
    struct ctl_msg m;

    *entries = 0;
    *done = UINT32_MAX;
    cr_assert_leq(seen, PERSIST_CTL_VISIT, "the first poll looked at %llu slots",
                  (unsigned long long)seen);
    for (;;) {
        while (rte_ring_dequeue_elem(lc.to_ctl, &m, sizeof(m)) == 0) {
            if (m.type == CTL_MSG_PERSIST_ENTRY) {
                cr_assert_eq(m.persist.tag, req & 0xf);
                (*entries)++;
            } else {
                cr_assert_eq(m.type, CTL_MSG_PERSIST_DONE);
                cr_assert_eq(m.preq.req, req);
                *done = m.preq.count;
            }
        }
        if (!pc.dump.active)
            return polls;
        cr_assert_lt(polls, max_polls, "no DONE after %u polls", polls);
        cr_assert_leq(persist_ctl_poll(&pc), PERSIST_CTL_VISIT);
        cr_assert_leq(pc.dump.visited - seen, PERSIST_CTL_VISIT);
        seen = pc.dump.visited;
        polls++;
    }
}

Test(persist, a_listing_matching_nothing_looks_at_a_bounded_number_of_slots_per_poll)
{
    const uint32_t n = 5 * PERSIST_CTL_VISIT;
    struct ctl_msg req = {.type = CTL_MSG_PERSIST_LIST, .port = 9};  /* no such service */
    uint32_t entries, done;
    unsigned polls;

    list_setup(n);
    for (uint32_t i = 0; i < n; i++)
        cr_assert_not_null(persist_insert(t, rte_cpu_to_be_32(0x0a000000 + i), 1, 1, 1,
                                          1200000, 0));
    req.preq.req = 21;
    persist_ctl_handle(&pc, &req);
    cr_assert(pc.dump.active, "not done in one poll");
    polls = list_run(21, 100, &entries, &done);
    cr_assert_geq(polls, n / PERSIST_CTL_VISIT, "%u polls", polls);
    cr_assert_eq(entries, 0);
    cr_assert_eq(done, 0);
    cr_assert_eq(pc.dump.visited, n, "every slot looked at once");
}

Test(persist, a_filtered_listing_over_several_polls_counts_right)
{
    const uint32_t n = 3 * PERSIST_CTL_VISIT + 100;
    struct ctl_msg req = {.type = CTL_MSG_PERSIST_LIST, .port = 2};
    uint32_t entries, done, want = 0;

    list_setup(n);
    for (uint32_t i = 0; i < n; i++) {
        uint16_t slot = i % 97 == 0 ? 2 : 1;
        cr_assert_not_null(persist_insert(t, rte_cpu_to_be_32(0x0a000000 + i), slot, 1, 1,
                                          1200000, 0));
        want += slot == 2;
    }
    /* A flushed entry still held is not listed. */
    {
        struct persist_entry *e = persist_lookup(t, rte_cpu_to_be_32(0x0a000000), 2);
        persist_hold(e);
        persist_delete(t, e);
        want--;
    }
    req.preq.req = 22;
    persist_ctl_handle(&pc, &req);
    list_run(22, 100, &entries, &done);
    cr_assert_eq(entries, want);
    cr_assert_eq(done, want);
}
