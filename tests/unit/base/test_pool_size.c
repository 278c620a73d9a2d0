/*
 * The size of a worker's mbuf pool (pool_size.h): each term from what holds mbufs,
 * the TCP budget of a computed pool, and a configured size that gives the TCP stack
 * the rest or is refused when it cannot hold the fixed terms.
 */
#include <criterion/criterion.h>

#include "base/dp_limits.h"
#include "base/pool_size.h"
#include "err.h"

/* The lab: two workers, two ports with an rx queue each for both, 1024 descriptors. */
static struct pool_need lab(void)
{
    return (struct pool_need){
        .n_workers = 2, .n_ports = 2, .rx_desc = 2 * 1024, .tx_desc = 2 * 1024,
        .tx_backlog = DP_TX_BACKLOG,
        .ring_size = DP_HANDOFF_RING_SIZE, .arp_wait = 64, .burst = DP_BURST,
        .reass = DP_REASS_MBUFS, .cache = DP_POOL_CACHE, .tcp_segs = DP_TCP_BUF_SEGS,
        .tcp_min_segs = DP_TCP_MIN_BUF_SEGS,
    };
}

Test(pool_size, every_holder_is_a_term)
{
    struct pool_need n = lab();
    struct pool_size ps;

    cr_assert_eq(pool_size_plan(&n, &ps), 0);
    cr_assert_eq(ps.rx, 2048);
    cr_assert_eq(ps.tx, 2048);
    cr_assert_eq(ps.tx_backlog, 2 * DP_TX_BACKLOG * 2, "two ports' backlogs, header and payload");
    cr_assert_eq(ps.handoff, 4095, "one ring out, of 4096 slots (one kept free)");
    cr_assert_eq(ps.arp_wait, 128, "64 packets, header and payload");
    cr_assert_eq(ps.reass, DP_REASS_MBUFS, "the fragments reassembly may hold");
    cr_assert_eq(ps.in_flight, 32 * (1 + 1 + 2), "a burst, one staging area, two tx buffers");
    cr_assert_eq(ps.cache, 3 * 384, "two workers and the control core, 1.5 caches each");
    cr_assert_eq(ps.fixed,
                 2048 + 2048 + 4 * DP_TX_BACKLOG + 4095 + 128 + DP_REASS_MBUFS + 128 + 1152);
    cr_assert_eq(ps.tcp, DP_TCP_BUF_SEGS);
    cr_assert_eq(ps.total, ps.fixed + DP_TCP_BUF_SEGS);
    /* The old fixed pool of 8191 (with half of it for TCP) could not hold this. */
    cr_assert_gt(ps.total, 8191 + 4095);
}

Test(pool_size, rings_and_caches_grow_with_the_workers)
{
    struct pool_need n = lab();
    struct pool_size one, sixteen;

    n.n_workers = 1;
    cr_assert_eq(pool_size_plan(&n, &one), 0);
    cr_assert_eq(one.handoff, 0, "a single worker hands nothing off");
    cr_assert_eq(one.in_flight, 32 * (1 + 2));
    cr_assert_eq(one.cache, 2 * 384);
    n.n_workers = 16;
    cr_assert_eq(pool_size_plan(&n, &sixteen), 0);
    cr_assert_eq(sixteen.handoff, 15 * 4095);
    cr_assert_eq(sixteen.in_flight, 32 * (16 + 2));
    cr_assert_eq(sixteen.cache, 17 * 384);
    cr_assert_eq(sixteen.total - one.total, 15 * 4095 + 15 * 32 + 15 * 384);
}

Test(pool_size, a_worker_without_an_rx_queue_needs_none)
{
    struct pool_need n = lab();
    struct pool_size with, without;

    cr_assert_eq(pool_size_plan(&n, &with), 0);
    n.rx_desc = 1024;   /* a port with one rx queue: the second worker only sends on it */
    cr_assert_eq(pool_size_plan(&n, &without), 0);
    cr_assert_eq(with.total - without.total, 1024);
}

Test(pool_size, a_configured_size_gives_the_tcp_stack_the_rest)
{
    struct pool_need n = lab();
    struct pool_size ps, computed;

    cr_assert_eq(pool_size_plan(&n, &computed), 0);
    n.configured = 65536;
    cr_assert_eq(pool_size_plan(&n, &ps), 0);
    cr_assert_eq(ps.total, 65536);
    cr_assert_eq(ps.fixed, computed.fixed);
    cr_assert_eq(ps.tcp, 65536 - computed.fixed);
    /* Smaller than computed is fine while TCP keeps its minimum. */
    n.configured = computed.fixed + DP_TCP_MIN_BUF_SEGS;
    cr_assert_eq(pool_size_plan(&n, &ps), 0);
    cr_assert_eq(ps.tcp, DP_TCP_MIN_BUF_SEGS);
}

Test(pool_size, a_configured_size_too_small_is_refused)
{
    struct pool_need n = lab();
    struct pool_size ps, computed;

    cr_assert_eq(pool_size_plan(&n, &computed), 0);
    n.configured = computed.fixed + DP_TCP_MIN_BUF_SEGS - 1;
    cr_assert_eq(pool_size_plan(&n, &ps), LBD_ERANGE);
    cr_assert_eq(ps.total, computed.total, "the computed size, to say what is needed");
    cr_assert_eq(ps.fixed, computed.fixed);
    n.configured = 4096;
    cr_assert_eq(pool_size_plan(&n, &ps), LBD_ERANGE);
}

Test(pool_size, sums_saturate)
{
    struct pool_need n = lab();
    struct pool_size ps;

    n.rx_desc = UINT32_MAX;
    n.tx_desc = UINT32_MAX;
    cr_assert_eq(pool_size_plan(&n, &ps), 0);
    cr_assert_eq(ps.fixed, UINT32_MAX);
    cr_assert_eq(ps.total, UINT32_MAX);
}
