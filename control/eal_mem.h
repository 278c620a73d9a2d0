/*
 * eal_mem: how the EAL gets its memory, decided before it starts (start-up only).
 *
 * The EAL uses hugepages only where some are free *and* a hugetlbfs is mounted for
 * their size; with pages reserved but nothing mounted for them (a container, a
 * minimal system) rte_eal_init fails with "Permission denied". eal_mem_plan reads
 * the texts of /proc/meminfo and /proc/mounts and the user's EAL arguments and says
 * what main adds to them: nothing (hugepages usable, or the user chose), or
 * --no-huge, with -m EAL_MEM_FALLBACK_MB unless the user gave -m.
 *
 * The user's arguments win: --no-huge and --in-memory (which needs no mount) are left
 * as they are; with --socket-mem (which the EAL refuses beside --no-huge) nothing is
 * added, and the log says that the EAL may fail; with -m, --no-huge is added but the
 * user's amount is kept.
 *
 * Bottom of control/: calls nothing in control/. Pure but for eal_mem_read, so that
 * unit tests drive every case from texts.
 */
#ifndef LBD_EAL_MEM_H
#define LBD_EAL_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EAL_MEM_FALLBACK_MB "1024"

/* What the system offers (free pages of the default size, Hugepagesize). */
enum eal_mem_case {
    EAL_MEM_HUGEPAGES = 0,      /* free pages, and a hugetlbfs mounted for their size */
    EAL_MEM_NO_FREE,            /* no free hugepage */
    EAL_MEM_NO_MOUNT,           /* free pages, but no hugetlbfs mounted at all */
    EAL_MEM_SIZE_NOT_MOUNTED,   /* free pages, hugetlbfs mounted for other sizes only */
};

struct eal_mem_plan {
    enum eal_mem_case hp;
    const char *user_arg;       /* the user's argument that decided, or NULL */
    bool add_no_huge;           /* main adds --no-huge */
    bool add_mem;               /* main adds -m EAL_MEM_FALLBACK_MB */
    uint64_t free_pages;        /* HugePages_Free */
    uint64_t page_kb;           /* Hugepagesize (kB) */
    uint64_t mounted_kb;        /* with EAL_MEM_SIZE_NOT_MOUNTED: a size that is mounted */
};

/* True when argv[0..argc) holds the option name, alone or as name=value. */
bool eal_mem_has_arg(int argc, char **argv, const char *name);

/*
 * The plan for the user's EAL arguments argv[0..argc) on a system whose
 * /proc/meminfo and /proc/mounts read meminfo and mounts (either may be NULL: not
 * readable, taken as empty).
 */
void eal_mem_plan(const char *meminfo, const char *mounts, int argc, char **argv,
                  struct eal_mem_plan *out);

/*
 * One sentence for the log: the case, and what was added or left. Returns buf.
 * *warn: true when the line is a warning (a fallback, or the user's --socket-mem
 * against unusable hugepages).
 */
const char *eal_mem_describe(const struct eal_mem_plan *p, char *buf, size_t len, bool *warn);

/* The whole of a (small, /proc) file as a NUL-terminated string to free(), or NULL. */
char *eal_mem_read(const char *path);

#endif
