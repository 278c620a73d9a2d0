#include <criterion/criterion.h>

#include <stdlib.h>

#include "frames.h"
#include "l4/scheduler.h"
#include "snapshot/maglev.h"

#define PICKS 100000

static struct sched_state st;
static uint32_t active[SNAP_RS_IDS];
static struct snap_rs rs[8];
static struct snap_vs vs;
static uint16_t table[MAGLEV_SIZE];

/* A service with n servers of the given weights, ids 100.., all online. */
static void service(enum cfg_sched sched, uint32_t n, const uint16_t *weights)
{
    memset(rs, 0, sizeof(rs));
    memset(active, 0, sizeof(active));
    sched_init(&st, 1);
    for (uint32_t i = 0; i < n; i++) {
        rs[i].id = 7000 + i;
        rs[i].idx = (uint16_t)(100 + i);
        rs[i].ip = rte_cpu_to_be_32(0xc0a87033u + i);
        rs[i].port = 3478;
        rs[i].weight = weights[i];
        rs[i].state = CFG_RS_ONLINE;
    }
    memset(&vs, 0, sizeof(vs));
    vs.scheduler = (uint8_t)sched;
    vs.n_rs = n;
    vs.rs = rs;
}

static void build_table(void)
{
    struct maglev_backend b[8];

    for (uint32_t i = 0; i < vs.n_rs; i++) {
        b[i].ip = rs[i].ip;
        b[i].port = rs[i].port;
        b[i].weight = rs[i].state == CFG_RS_ONLINE ? rs[i].weight : 0;
    }
    cr_assert_eq(maglev_build(table, b, vs.n_rs), 0);
    vs.maglev = table;
}

static struct sched_flow flow(uint32_t i)
{
    struct sched_flow f = {
        .client_ip = rte_cpu_to_be_32(0x0a000000u + i * 2654435761u % 16777216u),
        .vip = ip4("10.200.50.120"),
        .client_port = rte_cpu_to_be_16((uint16_t)(1024 + i % 60000)),
        .vport = rte_cpu_to_be_16(3478),
        .proto = IPPROTO_UDP,
    };
    return f;
}

/* Picks PICKS times (each pick a new connection: the active count grows) and checks
 * every server's share against its weight, within one percentage point. */
static void check_shares(uint32_t n, const uint16_t *weights)
{
    uint32_t count[8] = {0}, total_w = 0;

    for (uint32_t i = 0; i < n; i++)
        total_w += rs[i].state == CFG_RS_ONLINE ? weights[i] : 0;
    for (uint32_t i = 0; i < PICKS; i++) {
        struct sched_flow f = flow(i);
        const struct snap_rs *r = sched_pick(&st, active, &vs, &f);
        cr_assert_not_null(r);
        count[r - rs]++;
        active[r->idx]++;
    }
    for (uint32_t i = 0; i < n; i++) {
        double want = rs[i].state == CFG_RS_ONLINE ? (double)weights[i] / total_w : 0.0;
        double got = (double)count[i] / PICKS;
        cr_assert(got > want - 0.01 && got < want + 0.01,
                  "server %u: share %.4f, weight share %.4f", i, got, want);
    }
}

static const uint16_t weights[5] = {100, 200, 50, 100, 550};

Test(scheduler, wrr_shares_follow_weights)
{
    service(CFG_SCHED_WRR, 5, weights);
    check_shares(5, weights);
}

Test(scheduler, wrr_is_smooth)
{
    static const uint16_t w[2] = {1, 1};
    const struct snap_rs *prev = NULL;

    service(CFG_SCHED_WRR, 2, w);
    for (int i = 0; i < 100; i++) {
        struct sched_flow f = flow((uint32_t)i);
        const struct snap_rs *r = sched_pick(&st, active, &vs, &f);
        cr_assert_neq(r, prev, "equal weights alternate");
        prev = r;
    }
}

Test(scheduler, wlc_shares_follow_weights)
{
    service(CFG_SCHED_WLC, 5, weights);
    check_shares(5, weights);
}

Test(scheduler, wlc_prefers_the_least_loaded)
{
    static const uint16_t w[3] = {100, 100, 100};
    struct sched_flow f = flow(1);

    service(CFG_SCHED_WLC, 3, w);
    active[100] = 10;
    active[101] = 3;
    active[102] = 7;
    cr_assert_eq(sched_pick(&st, active, &vs, &f), &rs[1]);
}

Test(scheduler, wlc_ties_take_turns_on_an_idle_pool)
{
    static const uint16_t w[3] = {100, 100, 100};
    int seen[3] = {0};

    service(CFG_SCHED_WLC, 3, w);
    /* Short connections: every pick finds the pool idle (nothing active). */
    for (uint32_t i = 0; i < 30; i++) {
        struct sched_flow f = flow(i);
        const struct snap_rs *r = sched_pick(&st, active, &vs, &f);
        seen[r - rs]++;
    }
    cr_assert(seen[0] == 10 && seen[1] == 10 && seen[2] == 10, "%d %d %d", seen[0], seen[1],
              seen[2]);
}

Test(scheduler, sh_shares_follow_weights_and_a_client_keeps_its_server)
{
    service(CFG_SCHED_SH, 5, weights);
    build_table();
    check_shares(5, weights);
    for (uint32_t i = 0; i < 1000; i++) {
        struct sched_flow a = flow(i), b = flow(i);
        b.client_port = rte_cpu_to_be_16(7);
        cr_assert_eq(sched_pick(&st, active, &vs, &a), sched_pick(&st, active, &vs, &b));
    }
}

Test(scheduler, maglev_shares_follow_weights)
{
    service(CFG_SCHED_MAGLEV, 5, weights);
    build_table();
    check_shares(5, weights);
}

Test(scheduler, drain_and_halt_take_no_new_connection)
{
    service(CFG_SCHED_WRR, 5, weights);
    rs[1].state = CFG_RS_DRAIN;
    rs[4].state = CFG_RS_HALT;
    check_shares(5, weights);
    for (enum cfg_sched s = CFG_SCHED_WLC; s <= CFG_SCHED_MAGLEV; s++) {
        service(s, 5, weights);
        rs[1].state = CFG_RS_DRAIN;
        rs[4].state = CFG_RS_HALT;
        build_table();
        check_shares(5, weights);
    }
}

Test(scheduler, weight_zero_takes_nothing_and_none_eligible_gives_null)
{
    static const uint16_t w[2] = {0, 0};
    struct sched_flow f = flow(3);

    for (enum cfg_sched s = CFG_SCHED_WLC; s <= CFG_SCHED_MAGLEV; s++) {
        service(s, 2, w);
        build_table();
        cr_assert_null(sched_pick(&st, active, &vs, &f), "scheduler %d", s);
    }
}

Test(scheduler, max_conns_is_shared_across_workers)
{
    static const uint16_t w[2] = {100, 100};
    uint32_t count[2] = {0};

    for (enum cfg_sched s = CFG_SCHED_WLC; s <= CFG_SCHED_MAGLEV; s++) {
        service(s, 2, w);
        st.n_workers = 2;
        rs[0].max_conns = 11;       /* 6 per worker */
        build_table();
        memset(count, 0, sizeof(count));
        for (uint32_t i = 0; i < 100; i++) {
            struct sched_flow f = flow(i);
            const struct snap_rs *r = sched_pick(&st, active, &vs, &f);
            cr_assert_not_null(r);
            count[r - rs]++;
            active[r->idx]++;
        }
        cr_assert_eq(count[0], 6, "scheduler %d: %u", s, count[0]);
        cr_assert_eq(count[1], 94);
    }
}

/* Maglev (Eisenbud et al., 5.3): removing one of N backends moves its own entries and
 * few others'. */
Test(maglev, removal_disrupts_few_other_entries)
{
    static uint16_t before[MAGLEV_SIZE], after[MAGLEV_SIZE];
    struct maglev_backend b[20];
    uint32_t moved_other = 0, owned = 0;

    for (uint32_t i = 0; i < 20; i++) {
        b[i].ip = rte_cpu_to_be_32(0xc0a87033u + i);
        b[i].port = 443;
        b[i].weight = 100;
    }
    cr_assert_eq(maglev_build(before, b, 20), 0);
    b[7].weight = 0;            /* backend 7 leaves; indexes stay the same */
    cr_assert_eq(maglev_build(after, b, 20), 0);
    for (uint32_t i = 0; i < MAGLEV_SIZE; i++) {
        cr_assert_neq(after[i], MAGLEV_EMPTY);
        cr_assert_neq(after[i], 7);
        if (before[i] == 7)
            owned++;
        else if (after[i] != before[i])
            moved_other++;
    }
    cr_assert(owned > MAGLEV_SIZE / 20 - MAGLEV_SIZE / 200 && owned < MAGLEV_SIZE / 20 + MAGLEV_SIZE / 200);
    cr_log_info("backend 7 owned %u entries; %u other entries moved (%.2f%%)", owned,
                moved_other, 100.0 * moved_other / MAGLEV_SIZE);
    cr_assert_lt(moved_other, MAGLEV_SIZE * 3 / 100, "%u other entries moved", moved_other);
}

Test(maglev, table_does_not_depend_on_config_order)
{
    static uint16_t t1[MAGLEV_SIZE], t2[MAGLEV_SIZE];
    struct maglev_backend b[6], r[6];

    for (uint32_t i = 0; i < 6; i++) {
        b[i].ip = rte_cpu_to_be_32(0x0ac83279u + i * 10);
        b[i].port = 0;
        b[i].weight = (uint16_t)(50 + i * 10);
        r[5 - i] = b[i];
    }
    cr_assert_eq(maglev_build(t1, b, 6), 0);
    cr_assert_eq(maglev_build(t2, r, 6), 0);
    for (uint32_t i = 0; i < MAGLEV_SIZE; i++)
        cr_assert(b[t1[i]].ip == r[t2[i]].ip, "entry %u", i);
}

Test(maglev, empty_without_backends)
{
    static uint16_t t[MAGLEV_SIZE];

    cr_assert_eq(maglev_build(t, NULL, 0), 0);
    for (uint32_t i = 0; i < MAGLEV_SIZE; i++)
        cr_assert_eq(t[i], MAGLEV_EMPTY);
}
