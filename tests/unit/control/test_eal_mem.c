/*
 * How the EAL gets its memory (eal_mem.h), from the texts of /proc/meminfo and
 * /proc/mounts and the user's EAL arguments: hugepages used where some are free and
 * mounted for, --no-huge (with -m) otherwise, and the user's choice respected.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eal_mem.h"

static const char meminfo_free[] =
    "MemTotal:        8000000 kB\n"
    "AnonHugePages:         0 kB\n"
    "HugePages_Total:     512\n"
    "HugePages_Free:      500\n"
    "HugePages_Rsvd:        0\n"
    "HugePages_Surp:        0\n"
    "Hugepagesize:       2048 kB\n"
    "Hugetlb:         1048576 kB\n";

static const char meminfo_none[] =
    "MemTotal:        8000000 kB\n"
    "HugePages_Total:       0\n"
    "HugePages_Free:        0\n"
    "Hugepagesize:       2048 kB\n";

static const char mounts_plain[] =
    "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
    "tmpfs /dev/shm tmpfs rw,nosuid,nodev 0 0\n";

static const char mounts_2m[] =
    "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
    "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n";

static const char mounts_default_size[] =
    "nodev /mnt/huge hugetlbfs rw,relatime 0 0\n";

static const char mounts_1g[] =
    "nodev /mnt/huge1g hugetlbfs rw,relatime,pagesize=1024M 0 0\n";

static struct eal_mem_plan plan_for(const char *meminfo, const char *mounts, int argc,
                                    char **argv)
{
    struct eal_mem_plan p;

    eal_mem_plan(meminfo, mounts, argc, argv, &p);
    return p;
}

static void assert_said(const struct eal_mem_plan *p, const char *part, bool want_warn)
{
    char line[1024];
    bool warn;

    eal_mem_describe(p, line, sizeof(line), &warn);
    cr_assert_not_null(strstr(line, part), "log line \"%s\" lacks \"%s\"", line, part);
    cr_assert_eq(warn, want_warn, "%s", line);
}

Test(eal_mem, free_pages_and_a_mount_use_hugepages)
{
    char *argv[] = {"lbd", "-l", "0-1"};
    struct eal_mem_plan p = plan_for(meminfo_free, mounts_2m, 3, argv);

    cr_assert_eq(p.hp, EAL_MEM_HUGEPAGES);
    cr_assert_eq(p.free_pages, 500);
    cr_assert_eq(p.page_kb, 2048);
    cr_assert(!p.add_no_huge);
    cr_assert(!p.add_mem);
    assert_said(&p, "500 free hugepages of 2048 kB", false);
    /* A mount without pagesize= serves the default size. */
    p = plan_for(meminfo_free, mounts_default_size, 3, argv);
    cr_assert_eq(p.hp, EAL_MEM_HUGEPAGES);
    cr_assert(!p.add_no_huge);
}

Test(eal_mem, free_pages_without_a_mount_fall_back)
{
    char *argv[] = {"lbd", "-l", "0-1"};
    struct eal_mem_plan p = plan_for(meminfo_free, mounts_plain, 3, argv);

    cr_assert_eq(p.hp, EAL_MEM_NO_MOUNT);
    cr_assert(p.add_no_huge);
    cr_assert(p.add_mem);
    assert_said(&p, "no hugetlbfs mounted", true);
    assert_said(&p, "--no-huge -m 1024", true);
    /* /proc/mounts unreadable: no mount either. */
    p = plan_for(meminfo_free, NULL, 3, argv);
    cr_assert_eq(p.hp, EAL_MEM_NO_MOUNT);
    cr_assert(p.add_no_huge);
}

Test(eal_mem, free_pages_of_a_size_not_mounted_fall_back)
{
    char *argv[] = {"lbd"};
    struct eal_mem_plan p = plan_for(meminfo_free, mounts_1g, 1, argv);

    cr_assert_eq(p.hp, EAL_MEM_SIZE_NOT_MOUNTED);
    cr_assert_eq(p.mounted_kb, 1048576);
    cr_assert(p.add_no_huge);
    cr_assert(p.add_mem);
    assert_said(&p, "mounted only for 1048576 kB pages", true);
}

Test(eal_mem, no_free_pages_fall_back)
{
    char *argv[] = {"lbd"};
    struct eal_mem_plan p = plan_for(meminfo_none, mounts_2m, 1, argv);

    cr_assert_eq(p.hp, EAL_MEM_NO_FREE);
    cr_assert(p.add_no_huge);
    cr_assert(p.add_mem);
    assert_said(&p, "no free hugepages: running with --no-huge -m 1024", true);
    /* A kernel without hugetlb support at all, or /proc/meminfo unreadable. */
    p = plan_for("MemTotal: 1000 kB\n", NULL, 1, argv);
    cr_assert_eq(p.hp, EAL_MEM_NO_FREE);
    cr_assert(p.add_no_huge);
    p = plan_for(NULL, NULL, 1, argv);
    cr_assert_eq(p.hp, EAL_MEM_NO_FREE);
}

Test(eal_mem, the_users_eal_memory_arguments_are_respected)
{
    char *no_huge[] = {"lbd", "--no-huge", "-m", "512"};
    char *in_memory[] = {"lbd", "--in-memory"};
    char *mem[] = {"lbd", "-m", "2048"};
    char *socket_mem[] = {"lbd", "--socket-mem=1024,1024"};
    struct eal_mem_plan p;

    /* --no-huge: nothing added, whatever the system has. */
    p = plan_for(meminfo_none, mounts_plain, 4, no_huge);
    cr_assert_str_eq(p.user_arg, "--no-huge");
    cr_assert(!p.add_no_huge);
    cr_assert(!p.add_mem);
    assert_said(&p, "--no-huge given: EAL memory left as given", false);
    /* --in-memory needs no mount (anonymous hugepages). */
    p = plan_for(meminfo_free, mounts_plain, 2, in_memory);
    cr_assert_str_eq(p.user_arg, "--in-memory");
    cr_assert(!p.add_no_huge);
    /* -m: --no-huge added, the user's amount kept. */
    p = plan_for(meminfo_free, mounts_plain, 3, mem);
    cr_assert_null(p.user_arg);
    cr_assert(p.add_no_huge);
    cr_assert(!p.add_mem);
    assert_said(&p, "running with --no-huge (", true);
    /* --socket-mem cannot go with --no-huge: left as given, with a warning. */
    p = plan_for(meminfo_free, mounts_plain, 2, socket_mem);
    cr_assert_str_eq(p.user_arg, "--socket-mem");
    cr_assert(!p.add_no_huge);
    cr_assert(!p.add_mem);
    assert_said(&p, "the EAL may fail", true);
    /* ... and with usable hugepages it is simply used. */
    p = plan_for(meminfo_free, mounts_2m, 2, socket_mem);
    cr_assert_null(p.user_arg);
    cr_assert(!p.add_no_huge);
}

Test(eal_mem, options_are_matched_whole)
{
    char *argv[] = {"lbd", "--no-hugefoo", "-mx", "--socket-mem-x"};

    cr_assert(!eal_mem_has_arg(4, argv, "--no-huge"));
    cr_assert(!eal_mem_has_arg(4, argv, "-m"));
    cr_assert(!eal_mem_has_arg(4, argv, "--socket-mem"));
    cr_assert(eal_mem_has_arg(4, argv, "--no-hugefoo"));
}

Test(eal_mem, page_sizes_in_mount_options)
{
    char *argv[] = {"lbd"};
    static const char gib_meminfo[] = "HugePages_Free: 4\nHugepagesize: 1048576 kB\n";
    struct eal_mem_plan p;

    p = plan_for(gib_meminfo, "nodev /h hugetlbfs rw,pagesize=1G 0 0\n", 1, argv);
    cr_assert_eq(p.hp, EAL_MEM_HUGEPAGES);
    p = plan_for(gib_meminfo, "nodev /h hugetlbfs rw,pagesize=1073741824 0 0\n", 1, argv);
    cr_assert_eq(p.hp, EAL_MEM_HUGEPAGES);
    p = plan_for(meminfo_free, "nodev /h hugetlbfs pagesize=2048k,rw 0 0\n", 1, argv);
    cr_assert_eq(p.hp, EAL_MEM_HUGEPAGES);
    /* Not a hugetlbfs, whatever its options say. */
    p = plan_for(meminfo_free, "nodev /h tmpfs rw,pagesize=2M 0 0\n", 1, argv);
    cr_assert_eq(p.hp, EAL_MEM_NO_MOUNT);
}

Test(eal_mem, reads_a_proc_file_whole)
{
    char *s = eal_mem_read("/proc/self/mounts");

    cr_assert_not_null(s);
    cr_assert_gt(strlen(s), 0);
    free(s);
    cr_assert_null(eal_mem_read("/nonexistent/file"));
}
