/*
 * bench_l4: cycles per packet of the Layer 4 dispatch path, and memory per
 * connection and per persistence entry, inside DPDK with no kernel in the loop.
 *
 * Frames are built in mbufs outside the timed region; the timed region is one
 * worker_burst() of 32 packets plus the tx flush to an in-memory port (net_ring),
 * read with rte_rdtsc(). Paths: forward on an established connection, reverse
 * (real server -> client), forward creating a connection (persistence + scheduler),
 * plain routing. Each with a small flow set (caches warm) and a large one.
 *
 * The figure is the median over bursts of cycles per packet (the machines are shared:
 * a burst that was preempted says nothing about the code); the mean is printed too.
 *
 * HA sync: new connections with the HA state sync off and on (a master with a peer:
 * each new connection on a persistent service puts a connection and a persistence
 * record on the ring to the control core), alternating, fresh tables each time; the
 * difference is what the sync costs the worker per new connection.
 *
 * lbd's own stage counters (worker_cycles) are read around each burst too, and their
 * medians printed per packet: the appliance's view of the same bursts.
 *
 *   bench_l4 [flows_large] [--huge[=DIR]]   (default 1000000; --huge: the EAL on
 *                                            hugepages the caller reserved, mounted at
 *                                            DIR, not --no-huge)
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_malloc.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dp_harness.h"
#include "ha_proto.h"

#define BURST 32

static struct harness h;

enum path { P_FORWARD, P_REVERSE, P_ROUTE };

static uint32_t client_ip(uint32_t i)
{
    return rte_cpu_to_be_32(0xc6120000u + i / 16);     /* 198.18.0.0/15, 16 flows each */
}

static uint16_t client_port(uint32_t i)
{
    return (uint16_t)(10000 + i % 16);
}

/* Frame of flow i on path p into f; returns its length and ingress port. */
static uint32_t frame(uint8_t *f, enum path p, uint32_t i, uint32_t rs, uint16_t *port)
{
    switch (p) {
    case P_FORWARD:
        *port = 1;
        return frame_udp(f, client_ip(i), ip4("10.200.50.120"), client_port(i), 3478, 18);
    case P_REVERSE:
        *port = 0;
        return frame_udp(f, rs, client_ip(i), 3478, client_port(i), 18);
    case P_ROUTE:
    default:
        *port = 0;
        return frame_udp(f, ip4("192.168.112.51"), client_ip(i), 5000, client_port(i), 18);
    }
}

static void drain(void)
{
    struct rte_mbuf *m[BURST];
    uint16_t n;

    for (uint16_t p = 0; p < H_PORTS; p++)
        while ((n = rte_eth_rx_burst(p, 0, m, BURST)) > 0)
            rte_pktmbuf_free_bulk(m, n);
}

/* The real server of flow i, from its connection. */
static uint32_t rs_of(uint32_t i)
{
    struct conn_key k = {.src_ip = client_ip(i), .dst_ip = ip4("10.200.50.120"),
                         .src_port = rte_cpu_to_be_16(client_port(i)),
                         .dst_port = rte_cpu_to_be_16(3478), .proto = IPPROTO_UDP};
    enum conn_dir dir;
    struct conn *c = conn_lookup(h.w->l4.conns, &k, &dir);

    return c != NULL ? c->rs_ip : 0;
}

struct result {
    double median;      /* cycles per packet, median over bursts */
    double mean;
    double stage[WORKER_STAGE_MAX];     /* lbd's own count (worker_cycles) per packet,
                                           median over bursts */
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/*
 * Runs `packets` packets of path p over flows [0, flows) in bursts; returns cycles per
 * packet of the timed region.
 */
static struct result run(enum path p, uint32_t flows, uint32_t packets, uint32_t *rs_cache)
{
    static uint8_t f[BURST][128];
    static uint32_t len[BURST];
    struct rte_mbuf *m[BURST];
    uint64_t cycles = 0, done = 0, nb = 0;
    uint64_t *per_burst = malloc((packets / BURST + 1) * sizeof(uint64_t));
    uint32_t next = 0;
    uint16_t port = 0;
    struct result r;
    uint64_t *per_stage = malloc((packets / BURST + 1) * WORKER_STAGE_MAX * sizeof(uint64_t));
    uint64_t st0[WORKER_STAGE_MAX];

    while (done < packets) {
        for (int b = 0; b < BURST; b++) {
            uint32_t i = next++ % flows;
            len[b] = frame(f[b], p, i, rs_cache ? rs_cache[i] : 0, &port);
            m[b] = h_mbuf(&h, f[b], len[b], port);
            if (m[b] == NULL) {
                fprintf(stderr, "out of mbufs\n");
                exit(1);
            }
        }
        memcpy(st0, h.w->stats.cycles.stage, sizeof(st0));
        uint64_t t0 = rte_rdtsc_precise();
        worker_burst(h.w, h.s, m, BURST, false);
        for (uint16_t q = 0; q < H_PORTS; q++)
            rte_eth_tx_buffer_flush(q, 0, h.w->lc.txb[q]);
        t0 = rte_rdtsc_precise() - t0;
        cycles += t0;
        for (int k = 0; k < WORKER_STAGE_MAX; k++)
            per_stage[(size_t)k * (packets / BURST + 1) + nb] = h.w->stats.cycles.stage[k] - st0[k];
        per_burst[nb++] = t0;
        done += BURST;
        drain();
    }
    qsort(per_burst, nb, sizeof(*per_burst), cmp_u64);
    r.median = (double)per_burst[nb / 2] / BURST;
    r.mean = (double)cycles / (double)done;
    for (int k = 0; k < WORKER_STAGE_MAX; k++) {
        uint64_t *v = per_stage + (size_t)k * (packets / BURST + 1);
        qsort(v, nb, sizeof(*v), cmp_u64);
        r.stage[k] = (double)v[nb / 2] / BURST;
    }
    free(per_stage);
    free(per_burst);
    return r;
}

static uint64_t heap_bytes(void)
{
    struct rte_malloc_socket_stats st;

    rte_malloc_get_socket_stats(0, &st);
    return st.heap_allocsz_bytes;
}

static uint64_t drops(void)
{
    uint64_t d = 0;

    for (int r = 0; r < DROP_MAX; r++)
        d += h.w->stats.lcore.drops[r];
    return d;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Cycles per new connection with the sync off and on, REPS alternating runs each. */
static int sync_cost(uint32_t flows, uint32_t capacity)
{
    enum { REPS = 9 };
    struct rte_ring *ring = rte_ring_create_elem("bench_sync", sizeof(struct ha_rec), 1u << 17,
                                                 0, RING_F_SC_DEQ);
    double med[2][REPS];
    uint64_t recs[2] = {0, 0};
    static struct ha_rec out[4096];

    if (ring == NULL)
        return -1;
    for (int rep = 0; rep < REPS; rep++) {
        for (int on = 0; on < 2; on++) {
            unsigned n;
            l4_free(&h.w->l4);
            if (l4_init(&h.w->l4, &h.w->lc, &h.w->io, &h.w->fw, &h.w->stats.l4, capacity, 0) != 0)
                return -1;
            h.s->ha_sync = on;
            h.w->lc.snap = h.s;
            h.w->lc.sync_out = on ? ring : NULL;
            l4_snapshot_changed(&h.w->l4, h.s);
            med[on][rep] = run(P_FORWARD, flows, flows - flows % BURST, NULL).median;
            while ((n = rte_ring_sc_dequeue_burst_elem(ring, out, sizeof(out[0]), RTE_DIM(out),
                                                       NULL)) > 0)
                recs[on] += n;
        }
    }
    h.s->ha_sync = false;
    h.w->lc.sync_out = NULL;
    qsort(med[0], REPS, sizeof(double), cmp_double);
    qsort(med[1], REPS, sizeof(double), cmp_double);
    printf("ha sync: new connection (%u flows, median of %d runs each): sync off %.1f, "
           "on %.1f cycles/packet: %.1f cycles per new connection for %.2f records "
           "(ring full: %" PRIu64 ")\n", flows, REPS, med[0][REPS / 2], med[1][REPS / 2],
           med[1][REPS / 2] - med[0][REPS / 2],
           (double)recs[1] / ((double)REPS * (flows - flows % BURST)),
           h.w->stats.l4.sync_ring_full);
    rte_ring_free(ring);
    return 0;
}

/* lbd's own cycles of a path by stage (the stages it used), per packet. */
static void print_stages(const char *path, const struct result *r)
{
    printf("                lbd's own count, %s:", path);
    for (int k = 0; k < WORKER_STAGE_MAX; k++)
        if (r->stage[k] >= 0.05)
            printf(" %s %.1f", worker_stage_name((enum worker_stage)k), r->stage[k]);
    printf("\n");
}

/* Cycles of one rte_rdtsc() (the stage accounting's unit of cost), median of runs. */
static double tsc_read_cycles(void)
{
    enum { READS = 1000, RUNS = 101 };
    uint64_t per[RUNS];
    volatile uint64_t sink = 0;

    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = rte_rdtsc_precise();
        for (int i = 0; i < READS; i++)
            sink += rte_rdtsc();
        per[r] = rte_rdtsc_precise() - t0;
    }
    (void)sink;
    qsort(per, RUNS, sizeof(per[0]), cmp_u64);
    return (double)per[RUNS / 2] / READS;
}

int main(int argc, char **argv)
{
    char prefix[64], dir[PATH_MAX + 16];
    char *eal[] = {"bench_l4", "--no-huge", "-m", "2048", "--no-pci", "--no-shconf",
                   "--log-level=error", "-l", "0", "--vdev=net_ring0", "--vdev=net_ring1",
                   NULL, NULL, NULL};
    int neal = 11;
    uint32_t large = 1000000;
    bool huge = false;
    uint32_t sizes[2] = {1024, 0};
    uint64_t before;
    uint32_t *rs_cache;
    struct twheel tw;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--huge") == 0) {
            huge = true;
        } else if (strncmp(argv[i], "--huge=", 7) == 0) {
            huge = true;
            snprintf(dir, sizeof(dir), "--huge-dir=%s", argv[i] + 7);
            eal[neal++] = dir;
        } else {
            large = (uint32_t)strtoul(argv[i], NULL, 10);
        }
    }
    sizes[1] = large;
    /* With hugepages (reserved by the caller): files of our own prefix, unlinked. */
    if (huge) {
        snprintf(prefix, sizeof(prefix), "--file-prefix=bench_l4_%d", (int)getpid());
        eal[1] = prefix;
        eal[neal++] = "--huge-unlink";
    }
    if (rte_eal_init(neal, eal) < 0)
        return 1;

    /* Memory: tables for `large` entries, measured on the DPDK heap. */
    twheel_init(&tw, 0);
    before = heap_bytes();
    struct conn_table *ct = conn_table_create("mem_conn", large, 0, &tw, calloc(SNAP_RS_IDS, 4));
    uint64_t conn_bytes = heap_bytes() - before;
    before = heap_bytes();
    struct persist_table *pt = persist_table_create("mem_persist", large, 0, &tw);
    uint64_t persist_bytes = heap_bytes() - before;
    if (ct == NULL || pt == NULL) {
        fprintf(stderr, "cannot create tables of %u entries\n", large);
        return 1;
    }
    printf("memory: connection table for %u: %.1f MB, %.0f bytes/connection "
           "(entry %zu + 2 hash keys)\n", large, conn_bytes / 1e6,
           (double)conn_bytes / large, sizeof(struct conn));
    printf("memory: persistence table for %u: %.1f MB, %.0f bytes/entry (entry %zu)\n",
           large, persist_bytes / 1e6, (double)persist_bytes / large,
           sizeof(struct persist_entry));
    conn_table_free(ct);
    persist_table_free(pt);

    if (h_init(&h, large + 1024) != 0) {
        fprintf(stderr, "harness set-up failed\n");
        return 1;
    }
    printf("tsc: %" PRIu64 " Hz, %s, one rte_rdtsc() %.1f cycles\n", rte_get_tsc_hz(),
           huge ? "hugepages" : "no hugepages (4 KiB pages)", tsc_read_cycles());
    /* one entry a flow of either set: the small one (1,024) is the larger when
       N < 1024 */
    rs_cache = calloc(RTE_MAX(large, sizes[0]), sizeof(*rs_cache));
    if (rs_cache == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (int s = 0; s < 2; s++) {
        uint32_t flows = sizes[s];
        struct result c_new, c_fwd, c_rev, c_route;

        /* Fresh tables for each flow-set size. */
        l4_free(&h.w->l4);
        if (l4_init(&h.w->l4, &h.w->lc, &h.w->io, &h.w->fw, &h.w->stats.l4, large + 1024,
                    0) != 0)
            return 1;
        l4_snapshot_changed(&h.w->l4, h.s);
        c_new = run(P_FORWARD, flows, flows - flows % BURST, NULL);
        for (uint32_t i = 0; i < flows; i++)
            rs_cache[i] = rs_of(i);
        c_fwd = run(P_FORWARD, flows, RTE_MAX(flows, 2000000u), NULL);
        c_rev = run(P_REVERSE, flows, RTE_MAX(flows, 2000000u), rs_cache);
        c_route = run(P_ROUTE, flows, 1000000, NULL);
        printf("flows %8u, cycles/packet median (mean): new connection %6.1f (%6.1f)  "
               "forward %6.1f (%6.1f)  reverse %6.1f (%6.1f)  routed %6.1f (%6.1f)\n"
               "                connections %u, persistence entries %u, drops %" PRIu64 "\n",
               flows, c_new.median, c_new.mean, c_fwd.median, c_fwd.mean, c_rev.median,
               c_rev.mean, c_route.median, c_route.mean, conn_count(h.w->l4.conns),
               persist_count(h.w->l4.persist), drops());
        print_stages("new connection", &c_new);
        print_stages("forward", &c_fwd);
        print_stages("reverse", &c_rev);
        print_stages("routed", &c_route);
    }
    if (sync_cost(RTE_MIN(large, 16384u), large + 1024) != 0)
        return 1;
    return 0;
}
