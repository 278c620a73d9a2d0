#include <criterion/criterion.h>

#include "eal.h"
#include "frames.h"
#include "l4/persist.h"

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

    e->n_conns = 1;
    twheel_advance(&wheel, 50000);
    cr_assert_eq(persist_lookup(t, ip4("10.200.50.20"), 3), e, "a live connection holds it");
    persist_release(t, ip4("10.200.50.20"), 3, 55000);
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
