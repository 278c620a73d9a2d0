#include <criterion/criterion.h>

#include <string.h>

#include "appliance.h"
#include "config.h"
#include "err.h"
#include "reconfig.h"

static const char *base_json =
    "{\"interfaces\": [{\"port\": 0, \"ip\": \"192.168.112.5/24\"}],"
    " \"virtual_services\": ["
    "  {\"label\": \"A\", \"ip\": \"192.168.112.110\", \"ports\": [80], \"layer\": 7,"
    "   \"real_servers\": [{\"label\": \"a1\", \"ip\": \"192.168.112.51\"},"
    "                      {\"label\": \"a2\", \"ip\": \"192.168.112.52\", \"port\": 8080}]},"
    "  {\"label\": \"B\", \"ip\": \"192.168.112.111\", \"ports\": [3478], \"layer\": 4,"
    "   \"protocol\": \"udp\", \"real_servers\": [{\"label\": \"b1\", \"ip\": \"192.168.112.51\"}]}"
    " ]}";

static cJSON *root;
static char err[512];

static void setup(void)
{
    struct lbd_config *c;
    cr_assert_eq(config_parse(base_json, &c, err, sizeof(err)), 0, "%s", err);
    root = config_to_json(c);
    config_free(c);
    err[0] = '\0';
}

static void teardown(void)
{
    cJSON_Delete(root);
}

/* Runs an edit given as JSON text; returns its code. */
static int edit(const char *req_text)
{
    cJSON *req = cJSON_Parse(req_text);
    const cJSON *cmd;
    int rc;

    cr_assert_not_null(req, "bad test JSON: %s", req_text);
    cmd = cJSON_GetObjectItem(req, "cmd");
    rc = reconfig_edit(root, cmd->valuestring, req, err, sizeof(err));
    cJSON_Delete(req);
    return rc;
}

/* The edited JSON, validated into a config (the caller frees). */
static struct lbd_config *validated(void)
{
    struct lbd_config *c = NULL;
    int rc = config_from_json(root, &c, err, sizeof(err));
    cr_assert_eq(rc, 0, "edited config invalid: %s", err);
    return c;
}

TestSuite(reconfig_edit, .init = setup, .fini = teardown);

Test(reconfig_edit, rs_set_state_and_weight)
{
    struct lbd_config *c;

    cr_assert_eq(edit("{\"cmd\":\"rs.set\",\"vs\":\"A\",\"rs\":\"a2\",\"state\":\"drain\","
                      "\"weight\":7}"), 0, "%s", err);
    c = validated();
    cr_assert_eq(c->virtual_services[0].real_servers[1].state, CFG_RS_DRAIN);
    cr_assert_eq(c->virtual_services[0].real_servers[1].weight, 7);
    cr_assert_eq(c->virtual_services[0].real_servers[1].port, 8080, "other fields kept");
    cr_assert_eq(c->virtual_services[0].real_servers[0].state, CFG_RS_ONLINE);
    config_free(c);
}

Test(reconfig_edit, rs_set_port_null_means_client_port)
{
    struct lbd_config *c;

    cr_assert_eq(edit("{\"cmd\":\"rs.set\",\"vs\":\"A\",\"rs\":\"a2\",\"port\":null}"), 0);
    c = validated();
    cr_assert_eq(c->virtual_services[0].real_servers[1].port, 0);
    config_free(c);
}

Test(reconfig_edit, rs_add_and_del)
{
    struct lbd_config *c;

    cr_assert_eq(edit("{\"cmd\":\"rs.add\",\"vs\":\"B\",\"rs\":{\"label\":\"b2\","
                      "\"ip\":\"192.168.112.52\"}}"), 0, "%s", err);
    cr_assert_eq(edit("{\"cmd\":\"rs.del\",\"vs\":\"A\",\"rs\":\"a1\"}"), 0, "%s", err);
    c = validated();
    cr_assert_eq(c->virtual_services[1].n_real_servers, 2);
    cr_assert_str_eq(c->virtual_services[1].real_servers[1].label, "b2");
    cr_assert_eq(c->virtual_services[0].n_real_servers, 1);
    cr_assert_str_eq(c->virtual_services[0].real_servers[0].label, "a2");
    config_free(c);
}

Test(reconfig_edit, vs_add_set_del)
{
    struct lbd_config *c;

    cr_assert_eq(edit("{\"cmd\":\"vs.add\",\"vs\":{\"label\":\"C\",\"ip\":\"192.168.112.112\","
                      "\"ports\":[443],\"layer\":7}}"), 0, "%s", err);
    cr_assert_eq(edit("{\"cmd\":\"vs.set\",\"vs\":\"A\",\"ports\":[80,443],"
                      "\"scheduler\":\"maglev\"}"), 0, "%s", err);
    cr_assert_eq(edit("{\"cmd\":\"vs.del\",\"vs\":\"B\"}"), 0, "%s", err);
    c = validated();
    cr_assert_eq(c->n_virtual_services, 2);
    cr_assert_str_eq(c->virtual_services[0].label, "A");
    cr_assert_eq(c->virtual_services[0].n_ports, 2);
    cr_assert_eq(c->virtual_services[0].scheduler, CFG_SCHED_MAGLEV);
    cr_assert_eq(c->virtual_services[0].n_real_servers, 2, "real servers kept by vs.set");
    cr_assert_str_eq(c->virtual_services[1].label, "C");
    config_free(c);
}

Test(reconfig_edit, vs_set_null_restores_default)
{
    struct lbd_config *c;

    cr_assert_eq(edit("{\"cmd\":\"vs.set\",\"vs\":\"A\",\"scheduler\":\"sh\"}"), 0);
    cr_assert_eq(edit("{\"cmd\":\"vs.set\",\"vs\":\"A\",\"scheduler\":null}"), 0);
    c = validated();
    cr_assert_eq(c->virtual_services[0].scheduler, CFG_SCHED_WLC);
    config_free(c);
}

/* Refusals: code, message, and root left exactly as it was. */
static void refused(const char *req, int code, const char *msg_part)
{
    char *before = cJSON_PrintUnformatted(root), *after;
    int rc = edit(req);

    cr_assert_eq(rc, code, "%s: rc %d (%s)", req, rc, err);
    cr_assert(strstr(err, msg_part) != NULL, "%s: message '%s' lacks '%s'", req, err, msg_part);
    after = cJSON_PrintUnformatted(root);
    cr_assert_str_eq(before, after, "a refused edit changed the config");
    free(before);
    free(after);
}

Test(reconfig_edit, malformed_and_unknown)
{
    refused("{\"cmd\":\"vs.set\",\"ports\":[1]}", LBD_EINVAL, "vs: required");
    refused("{\"cmd\":\"vs.set\",\"vs\":3,\"ports\":[1]}", LBD_EINVAL, "vs: must be a label");
    refused("{\"cmd\":\"vs.set\",\"vs\":\"Z\",\"ports\":[1]}", LBD_ENOENT, "'Z'");
    refused("{\"cmd\":\"vs.set\",\"vs\":\"A\"}", LBD_EINVAL, "nothing to change");
    refused("{\"cmd\":\"vs.set\",\"vs\":\"A\",\"label\":\"X\"}", LBD_EINVAL, "cannot be changed");
    refused("{\"cmd\":\"vs.del\",\"vs\":\"nope\"}", LBD_ENOENT, "nope");
    refused("{\"cmd\":\"vs.add\",\"vs\":\"A\"}", LBD_EINVAL, "vs: must be an object");
    refused("{\"cmd\":\"vs.add\"}", LBD_EINVAL, "vs: required");
    refused("{\"cmd\":\"vs.add\",\"vs\":{\"label\":\"A\"}}", LBD_EEXIST, "exists already");
    refused("{\"cmd\":\"rs.add\",\"vs\":\"A\",\"rs\":\"x\"}", LBD_EINVAL, "rs: must be an object");
    refused("{\"cmd\":\"rs.add\",\"vs\":\"A\",\"rs\":{\"label\":\"a1\"}}", LBD_EEXIST, "a1");
    refused("{\"cmd\":\"rs.set\",\"vs\":\"A\",\"rs\":\"zz\",\"weight\":1}", LBD_ENOENT, "zz");
    refused("{\"cmd\":\"rs.set\",\"vs\":\"A\",\"weight\":1}", LBD_EINVAL, "rs: required");
    refused("{\"cmd\":\"rs.del\",\"vs\":\"Q\",\"rs\":\"a1\"}", LBD_ENOENT, "'Q'");
}

Test(reconfig_edit, values_are_checked_by_the_validator)
{
    struct lbd_config *c = NULL;

    cr_assert_eq(edit("{\"cmd\":\"rs.set\",\"vs\":\"A\",\"rs\":\"a1\",\"state\":\"asleep\"}"), 0);
    cr_assert_neq(config_from_json(root, &c, err, sizeof(err)), 0);
    cr_assert_null(c);
    cr_assert(strstr(err, "virtual_services[0].real_servers[0].state") != NULL, "%s", err);
}

Test(reconfig_ids, carried_by_label_and_never_reused)
{
    static struct appliance a;
    struct lbd_config *one, *two;
    const char *second =
        "{\"interfaces\": [{\"port\": 0, \"ip\": \"192.168.112.5/24\"}],"
        " \"virtual_services\": ["
        "  {\"label\": \"N\", \"ip\": \"192.168.112.120\", \"ports\": [80], \"layer\": 7},"
        "  {\"label\": \"B\", \"ip\": \"192.168.112.111\", \"ports\": [3478], \"layer\": 4,"
        "   \"protocol\": \"udp\", \"real_servers\": [{\"label\": \"new\", \"ip\": \"192.168.112.53\"},"
        "   {\"label\": \"b1\", \"ip\": \"192.168.112.54\"}]}]}";

    cr_assert_eq(config_parse(base_json, &one, err, sizeof(err)), 0);
    cr_assert_eq(config_parse(second, &two, err, sizeof(err)), 0, "%s", err);
    reconfig_assign_ids(&a, one, NULL);
    cr_assert_eq(one->virtual_services[0].slot, 0);
    cr_assert_eq(one->virtual_services[1].slot, 1);
    cr_assert_eq(one->virtual_services[0].real_servers[0].id, 1);
    cr_assert_eq(one->virtual_services[0].real_servers[1].id, 2);
    cr_assert_eq(one->virtual_services[1].real_servers[0].id, 3);

    reconfig_assign_ids(&a, two, one);
    /* B keeps slot 1 and b1 its id although both moved; N takes the free slot 0. */
    cr_assert_eq(two->virtual_services[1].slot, 1);
    cr_assert_eq(two->virtual_services[0].slot, 0);
    cr_assert_eq(two->virtual_services[1].real_servers[1].id, 3);
    cr_assert_eq(two->virtual_services[1].real_servers[1].slot, 0);
    /* A new server gets a new id (never 1 or 2 again) and a free slot. */
    cr_assert_eq(two->virtual_services[1].real_servers[0].id, 4);
    cr_assert_eq(two->virtual_services[1].real_servers[0].slot, 1);
    config_free(one);
    config_free(two);
}

/* ------------------------------------------------------------------------ */
/* config.save: where it may write, and how                                 */
/* ------------------------------------------------------------------------ */

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static struct appliance sa;
static char sdir[64], odir[64];    /* the running config's directory; another one */

static void save_setup(void)
{
    FILE *f;

    snprintf(sdir, sizeof(sdir), "/tmp/lbd-test-save-XXXXXX");
    snprintf(odir, sizeof(odir), "/tmp/lbd-test-other-XXXXXX");
    cr_assert_not_null(mkdtemp(sdir));
    cr_assert_not_null(mkdtemp(odir));
    memset(&sa, 0, sizeof(sa));
    cr_assert_eq(config_parse(base_json, &sa.cfg, err, sizeof(err)), 0, "%s", err);
    snprintf(sa.config_path, sizeof(sa.config_path), "%s/lbd.json", sdir);
    f = fopen(sa.config_path, "w");
    cr_assert_not_null(f);
    fputs("old\n", f);
    fclose(f);
}

static void rm_tree(const char *dir)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static void save_teardown(void)
{
    config_free(sa.cfg);
    rm_tree(sdir);
    rm_tree(odir);
}

TestSuite(reconfig_save, .init = save_setup, .fini = save_teardown);

static char *slurp(const char *path)
{
    static char buf[65536];
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL)
        return NULL;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int by_name(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The names in dir but "." and "..", sorted, joined with spaces. */
static const char *names_in(const char *dir)
{
    static char out[4096];
    char *names[64];
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t off = 0, n = 0;

    out[0] = '\0';
    cr_assert_not_null(d);
    while ((e = readdir(d)) != NULL && n < 64)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof(names[0]), by_name);
    for (size_t i = 0; i < n; i++) {
        off += (size_t)snprintf(out + off, sizeof(out) - off, "%s%s", off ? " " : "", names[i]);
        free(names[i]);
    }
    return out;
}

static void assert_loadable(const char *path)
{
    struct lbd_config *c;
    struct stat st;

    cr_assert_eq(config_load_file(path, &c, err, sizeof(err)), 0, "%s: %s", path, err);
    cr_assert_eq(c->n_virtual_services, 2);
    config_free(c);
    cr_assert_eq(lstat(path, &st), 0);
    cr_assert(S_ISREG(st.st_mode));
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
}

Test(reconfig_save, by_default_the_running_configs_own_file)
{
    char written[PATH_MAX];

    cr_assert_eq(reconfig_save(&sa, NULL, written, sizeof(written), err, sizeof(err)), 0, "%s",
                 err);
    cr_assert_str_eq(written, sa.config_path);
    assert_loadable(sa.config_path);
    cr_assert_str_eq(names_in(sdir), "lbd.json", "no temporary file left");
    cr_assert_eq(reconfig_save(&sa, "", written, sizeof(written), err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(written, sa.config_path, "an empty path is the default");
}

Test(reconfig_save, another_file_of_the_same_directory)
{
    char written[PATH_MAX], p[PATH_MAX], want[PATH_MAX];

    cr_assert_eq(reconfig_save(&sa, "backup.json", written, sizeof(written), err, sizeof(err)),
                 0, "%s", err);
    snprintf(want, sizeof(want), "%s/backup.json", sdir);
    cr_assert_str_eq(written, want, "a bare name is taken in the config's directory");
    assert_loadable(want);
    snprintf(p, sizeof(p), "%s/./second.json", sdir);
    cr_assert_eq(reconfig_save(&sa, p, written, sizeof(written), err, sizeof(err)), 0, "%s", err);
    snprintf(want, sizeof(want), "%s/second.json", sdir);
    assert_loadable(want);
    cr_assert_eq(reconfig_save(&sa, "./third.json", written, sizeof(written), err, sizeof(err)),
                 0, "%s", err);
    snprintf(want, sizeof(want), "%s/third.json", sdir);
    assert_loadable(want);
    cr_assert_str_eq(slurp(sa.config_path), "old\n", "the running config's file untouched");
}

/* path is refused with code, message containing what; nothing appears anywhere. */
static void refused_save(const char *path, int code, const char *what)
{
    char before_s[4096], before_o[4096];

    snprintf(before_s, sizeof(before_s), "%s", names_in(sdir));
    snprintf(before_o, sizeof(before_o), "%s", names_in(odir));
    err[0] = '\0';
    cr_assert_eq(reconfig_save(&sa, path, NULL, 0, err, sizeof(err)), code, "%s: %s", path, err);
    cr_assert_not_null(strstr(err, what), "%s: %s", path, err);
    cr_assert_str_eq(names_in(sdir), before_s, "%s: files appeared in the config's directory",
                     path);
    cr_assert_str_eq(names_in(odir), before_o, "%s: files appeared elsewhere", path);
    cr_assert_str_eq(slurp(sa.config_path), "old\n");
}

Test(reconfig_save, paths_outside_the_configs_directory_are_refused)
{
    char p[PATH_MAX];

    snprintf(p, sizeof(p), "%s/x.json", odir);
    refused_save(p, LBD_EPERM, "not in the running config's directory");
    refused_save("/proc/no/such.json", LBD_EPERM, "not in the running config's directory");
    refused_save("/etc/lbd-test-nope.json", LBD_EPERM, "not in the running config's directory");
    snprintf(p, sizeof(p), "%s/../%s/x.json", sdir, odir + 5);
    refused_save(p, LBD_EPERM, "'..'");
    snprintf(p, sizeof(p), "%s/sub/../x.json", sdir);
    refused_save(p, LBD_EPERM, "'..'");
    refused_save("../x.json", LBD_EPERM, "'..'");
    refused_save("..", LBD_EPERM, "'..'");
    snprintf(p, sizeof(p), "%s/sub", sdir);
    cr_assert_eq(mkdir(p, 0700), 0);
    refused_save("sub/x.json", LBD_EPERM, "not in the running config's directory");
    snprintf(p, sizeof(p), "%s/sub/x.json", sdir);
    refused_save(p, LBD_EPERM, "not in the running config's directory");
    snprintf(p, sizeof(p), "%s/", sdir);
    refused_save(p, LBD_EINVAL, "names no file");
    snprintf(p, sizeof(p), "%s/.", sdir);
    refused_save(p, LBD_EINVAL, "names no file");
}

Test(reconfig_save, a_symbolic_link_is_never_the_target)
{
    char link[PATH_MAX], victim[PATH_MAX];

    /* A link in the directory pointing elsewhere: refused, nothing written through it. */
    snprintf(link, sizeof(link), "%s/link.json", sdir);
    snprintf(victim, sizeof(victim), "%s/victim.json", odir);
    cr_assert_eq(symlink(victim, link), 0);
    refused_save("link.json", LBD_EPERM, "symbolic link");
    refused_save(link, LBD_EPERM, "symbolic link");
    cr_assert_neq(access(victim, F_OK), 0);
    /* The running config's own file, when it is a link. */
    snprintf(sa.config_path, sizeof(sa.config_path), "%s", link);
    cr_assert_eq(reconfig_save(&sa, NULL, NULL, 0, err, sizeof(err)), LBD_EPERM, "%s", err);
    cr_assert_neq(access(victim, F_OK), 0);
}

Test(reconfig_save, a_link_planted_at_the_temporary_name_is_not_followed)
{
    char link[PATH_MAX], victim[PATH_MAX];

    /* The temporary names a save would try first (this process's, sequence 0..3), and
     * the one without a sequence number. */
    for (int i = -1; i < 4; i++) {
        if (i < 0)
            snprintf(link, sizeof(link), "%s/lbd.json.tmp.%d", sdir, (int)getpid());
        else
            snprintf(link, sizeof(link), "%s/lbd.json.tmp.%d.%d", sdir, (int)getpid(), i);
        snprintf(victim, sizeof(victim), "%s/victim%d", odir, i + 1);
        cr_assert_eq(symlink(victim, link), 0);
    }
    cr_assert_eq(reconfig_save(&sa, NULL, NULL, 0, err, sizeof(err)), 0, "%s", err);
    assert_loadable(sa.config_path);
    cr_assert_str_eq(names_in(odir), "", "written through a planted link: %s", names_in(odir));
    for (int i = 0; i < 4; i++) {
        struct stat st;
        snprintf(link, sizeof(link), "%s/lbd.json.tmp.%d.%d", sdir, (int)getpid(), i);
        cr_assert_eq(lstat(link, &st), 0);
        cr_assert(S_ISLNK(st.st_mode), "the planted link is left as it was");
    }
}

Test(reconfig_save, a_failed_save_leaves_no_temporary_file)
{
    char p[PATH_MAX];

    /* Renaming over a directory fails after the file was written. */
    snprintf(p, sizeof(p), "%s/adir.json", sdir);
    cr_assert_eq(mkdir(p, 0700), 0);
    cr_assert_eq(reconfig_save(&sa, "adir.json", NULL, 0, err, sizeof(err)), LBD_EIO, "%s", err);
    cr_assert_str_eq(names_in(sdir), "adir.json lbd.json", "%s", names_in(sdir));
}
