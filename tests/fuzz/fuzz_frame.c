/*
 * fuzz_frame: arbitrary frames through the worker's dispatch (worker_burst) on two
 * in-memory ports (tests/unit/dp_harness.h: a server LAN and a client LAN, a UDP
 * Layer 4 service with persistence and a TCP one with Maglev, routing on). The first
 * byte picks the ingress port and how far the clock moves; the rest is the frame.
 * What the worker sends is drained; tables stay bounded; nothing crashes.
 */
#include <stdint.h>
#include <stdlib.h>

#include <rte_eal.h>

#include "dp_harness.h"

static struct harness h;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char *eal[] = {"fuzz_frame", "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
                   "--no-telemetry", "--log-level=error", "-l", "0",
                   "--vdev=net_ring0", "--vdev=net_ring1", NULL};

    if (rte_eal_init(12, eal) < 0 || h_init(&h, 4096) != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rte_mbuf *out[32];
    uint16_t n;

    if (size < 1 || size > 2048 + 1)     /* an mbuf's data room */
        return 0;
    h_run(&h, data + 1, (uint32_t)(size - 1), data[0] & 1);
    for (uint16_t p = 0; p < H_PORTS; p++)
        while ((n = rte_eth_rx_burst(p, 0, out, 32)) > 0)
            rte_pktmbuf_free_bulk(out, n);
    h_ctl_drain(&h);
    /* Time moves 0-127 s: connection, persistence and ARP-queue expiry run too. */
    h.w->lc.now_ms += (uint64_t)(data[0] >> 1) * 1000;
    twheel_advance(&h.w->lc.wheel, h.w->lc.now_ms);
    ip_out_poll(&h.w->io, h.s);
    return 0;
}
