/*
 * eal: a minimal DPDK environment for unit tests that need rte_malloc, rte_hash,
 * rte_lpm or mbufs: no hugepages, no PCI, no shared files (--in-memory is refused with --no-huge), so tests may run in
 * parallel processes. Call test_eal_init() from a Criterion .init (each test runs in
 * its own process).
 */
#ifndef LBD_TEST_EAL_H
#define LBD_TEST_EAL_H

#include <criterion/criterion.h>

#include <rte_eal.h>

static inline void test_eal_init(void)
{
    char *argv[] = {"test", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
                    "--log-level=error", "-l", "0", NULL};

    cr_assert_geq(rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv), 0,
                  "EAL init");
}

#endif
