#include "eal_mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EAL_MEM_LINE 4096

bool eal_mem_has_arg(int argc, char **argv, const char *name)
{
    size_t n = strlen(name);

    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], name, n) == 0 && (argv[i][n] == '\0' || argv[i][n] == '='))
            return true;
    return false;
}

/* Copies the line at *p (without its newline, cut at len - 1) to buf; moves *p past
 * it. False at the end of the text. */
static bool next_line(const char **p, char *buf, size_t len)
{
    const char *s = *p, *e;
    size_t n;

    if (s == NULL || *s == '\0')
        return false;
    e = strchr(s, '\n');
    n = e != NULL ? (size_t)(e - s) : strlen(s);
    *p = e != NULL ? e + 1 : s + n;
    if (n >= len)
        n = len - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return true;
}

/* A mount option's page size ("2M", "1G", "2048k", or bytes) in kB; 0 if unreadable. */
static uint64_t page_size_kb(const char *v)
{
    char *end;
    uint64_t n = strtoull(v, &end, 10);

    if (end == v)
        return 0;
    switch (*end) {
    case 'k': case 'K': return n;
    case 'm': case 'M': return n * 1024;
    case 'g': case 'G': return n * 1024 * 1024;
    case '\0': case ',': return n / 1024;
    default: return 0;
    }
}

/*
 * Scans the hugetlbfs mounts: true when one serves pages of want_kb (a mount without
 * pagesize= serves the default size, def_kb). *other_kb: some mounted size, 0 = none.
 */
static bool mounted_for(const char *mounts, uint64_t want_kb, uint64_t def_kb,
                        uint64_t *other_kb)
{
    char line[EAL_MEM_LINE];
    const char *p = mounts;

    *other_kb = 0;
    while (next_line(&p, line, sizeof(line))) {
        char type[32], opts[EAL_MEM_LINE], *o, *save = NULL;
        uint64_t kb = def_kb;

        /* device mount-point type options dump pass; no field holds a blank. */
        if (sscanf(line, "%*s %*s %31s %4095s", type, opts) != 2 ||
            strcmp(type, "hugetlbfs") != 0)
            continue;
        for (o = strtok_r(opts, ",", &save); o != NULL; o = strtok_r(NULL, ",", &save))
            if (strncmp(o, "pagesize=", 9) == 0)
                kb = page_size_kb(o + 9);
        if (kb == want_kb)
            return true;
        if (kb != 0 && *other_kb == 0)
            *other_kb = kb;
    }
    return false;
}

void eal_mem_plan(const char *meminfo, const char *mounts, int argc, char **argv,
                  struct eal_mem_plan *out)
{
    char line[EAL_MEM_LINE];
    const char *p = meminfo;

    memset(out, 0, sizeof(*out));
    while (next_line(&p, line, sizeof(line))) {
        uint64_t v;
        if (sscanf(line, "HugePages_Free: %" SCNu64, &v) == 1)
            out->free_pages = v;
        else if (sscanf(line, "Hugepagesize: %" SCNu64, &v) == 1)
            out->page_kb = v;
    }
    if (out->free_pages == 0 || out->page_kb == 0)
        out->hp = EAL_MEM_NO_FREE;
    else if (mounted_for(mounts, out->page_kb, out->page_kb, &out->mounted_kb))
        out->hp = EAL_MEM_HUGEPAGES;
    else
        out->hp = out->mounted_kb != 0 ? EAL_MEM_SIZE_NOT_MOUNTED : EAL_MEM_NO_MOUNT;

    if (eal_mem_has_arg(argc, argv, "--no-huge"))
        out->user_arg = "--no-huge";
    else if (eal_mem_has_arg(argc, argv, "--in-memory"))
        out->user_arg = "--in-memory";
    else if (out->hp != EAL_MEM_HUGEPAGES && eal_mem_has_arg(argc, argv, "--socket-mem"))
        out->user_arg = "--socket-mem";
    if (out->user_arg != NULL || out->hp == EAL_MEM_HUGEPAGES)
        return;
    out->add_no_huge = true;
    out->add_mem = !eal_mem_has_arg(argc, argv, "-m");
}

/* What the system offers, as the start of a sentence. */
static void describe_case(const struct eal_mem_plan *p, char *buf, size_t len)
{
    switch (p->hp) {
    case EAL_MEM_HUGEPAGES:
        snprintf(buf, len, "%" PRIu64 " free hugepages of %" PRIu64 " kB, hugetlbfs mounted "
                 "for them", p->free_pages, p->page_kb);
        return;
    case EAL_MEM_NO_FREE:
        snprintf(buf, len, "no free hugepages");
        return;
    case EAL_MEM_NO_MOUNT:
        snprintf(buf, len, "%" PRIu64 " free hugepages of %" PRIu64 " kB but no hugetlbfs "
                 "mounted (mount one: mount -t hugetlbfs nodev /dev/hugepages)",
                 p->free_pages, p->page_kb);
        return;
    case EAL_MEM_SIZE_NOT_MOUNTED:
        snprintf(buf, len, "%" PRIu64 " free hugepages of %" PRIu64 " kB but hugetlbfs is "
                 "mounted only for %" PRIu64 " kB pages (mount one with pagesize=%" PRIu64
                 "K)", p->free_pages, p->page_kb, p->mounted_kb, p->page_kb);
        return;
    }
    snprintf(buf, len, "unknown hugepage state");
}

const char *eal_mem_describe(const struct eal_mem_plan *p, char *buf, size_t len, bool *warn)
{
    char what[512];

    describe_case(p, what, sizeof(what));
    *warn = false;
    if (p->user_arg != NULL && strcmp(p->user_arg, "--socket-mem") == 0) {
        *warn = true;
        snprintf(buf, len, "%s; --socket-mem given: EAL memory left as given (the EAL may "
                 "fail: --socket-mem needs usable hugepages)", what);
    } else if (p->user_arg != NULL) {
        snprintf(buf, len, "%s; %s given: EAL memory left as given", what, p->user_arg);
    } else if (p->add_no_huge) {
        *warn = true;
        snprintf(buf, len, "%s: running with --no-huge%s (fine for a lab, slow on hardware: "
                 "reserve hugepages with dpdk-hugepages.py)", what,
                 p->add_mem ? " -m " EAL_MEM_FALLBACK_MB : "");
    } else {
        snprintf(buf, len, "%s: the EAL uses them", what);
    }
    return buf;
}

char *eal_mem_read(const char *path)
{
    FILE *f = fopen(path, "r");
    size_t cap = 16384, n = 0;
    char *buf;

    if (f == NULL)
        return NULL;
    buf = malloc(cap);
    while (buf != NULL) {
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n < cap - 1)
            break;
        /* /proc files report no size: grow until the read comes up short. */
        char *bigger = cap < (8u << 20) ? realloc(buf, cap * 2) : NULL;
        if (bigger == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    fclose(f);
    if (buf != NULL)
        buf[n] = '\0';
    return buf;
}
