#include "reconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "base/siphash.h"
#include "snapshot/snapshot.h"
#include "stats.h"
#include "tls_load.h"

/* ------------------------------------------------------------------------ */
/* Identities                                                               */
/* ------------------------------------------------------------------------ */

static const struct cfg_real_server *find_rs(const struct cfg_vs *v, const char *label)
{
    for (size_t i = 0; v != NULL && i < v->n_real_servers; i++)
        if (strcmp(v->real_servers[i].label, label) == 0)
            return &v->real_servers[i];
    return NULL;
}

/* Lowest slot below max not marked in used; marks it. */
static uint16_t take_slot(bool *used, size_t max)
{
    for (size_t i = 0; i < max; i++) {
        if (!used[i]) {
            used[i] = true;
            return (uint16_t)i;
        }
    }
    return 0; /* unreachable: the validator bounds the counts */
}

void reconfig_assign_ids(struct appliance *a, struct lbd_config *next,
                         const struct lbd_config *prev)
{
    static bool vs_used[CFG_MAX_VS];
    bool fresh[CFG_MAX_VS] = {false};

    memset(vs_used, 0, sizeof(vs_used));
    /* The HTTP cookie key: drawn once, kept for the daemon's life. */
    if (prev != NULL) {
        memcpy(next->cookie_key, prev->cookie_key, sizeof(next->cookie_key));
    } else {
        struct siphash_key k;
        if (siphash_key_random(&k) != 0) {
            k.k0 = (uint64_t)time(NULL);
            k.k1 = (uint64_t)getpid();
        }
        for (int b = 0; b < 8; b++) {
            next->cookie_key[b] = (uint8_t)(k.k0 >> (8 * b));
            next->cookie_key[8 + b] = (uint8_t)(k.k1 >> (8 * b));
        }
    }
    /* Carried slots first, so that a new service never takes a kept one's. */
    for (size_t i = 0; i < next->n_virtual_services; i++) {
        struct cfg_vs *v = &next->virtual_services[i];
        const struct cfg_vs *old = prev ? config_find_vs(prev, v->label) : NULL;
        fresh[i] = old == NULL;
        if (old != NULL) {
            v->slot = old->slot;
            vs_used[v->slot] = true;
        }
    }
    for (size_t i = 0; i < next->n_virtual_services; i++) {
        struct cfg_vs *v = &next->virtual_services[i];
        const struct cfg_vs *old = fresh[i] ? NULL : config_find_vs(prev, v->label);
        bool rs_used[CFG_MAX_RS] = {false};
        bool rs_fresh[CFG_MAX_RS] = {false};

        if (fresh[i]) {
            v->slot = take_slot(vs_used, CFG_MAX_VS);
            stats_reset_vs_slot(a, v->slot);
        }
        for (size_t j = 0; j < v->n_real_servers; j++) {
            struct cfg_real_server *rs = &v->real_servers[j];
            const struct cfg_real_server *o = find_rs(old, rs->label);
            rs_fresh[j] = o == NULL;
            if (o != NULL) {
                rs->id = o->id;
                rs->slot = o->slot;
                rs_used[rs->slot] = true;
            }
        }
        for (size_t j = 0; j < v->n_real_servers; j++) {
            struct cfg_real_server *rs = &v->real_servers[j];
            if (!rs_fresh[j])
                continue;
            rs->id = ++a->last_rs_id;
            rs->slot = take_slot(rs_used, CFG_MAX_RS);
            stats_reset_rs_slot(a, (uint32_t)v->slot * CFG_MAX_RS + rs->slot);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Apply                                                                    */
/* ------------------------------------------------------------------------ */

/* What a running daemon cannot change without a restart. */
static bool reconfig_same_ha(const struct cfg_ha *a, const struct cfg_ha *b)
{
    if (a->enabled != b->enabled)
        return false;
    if (!a->enabled)
        return true;
    return a->peer == b->peer && a->priority == b->priority &&
           a->advert_interval_ms == b->advert_interval_ms && a->preempt == b->preempt &&
           strcmp(a->auth_key_file, b->auth_key_file) == 0 && a->vrid == b->vrid &&
           a->preempt_delay_ms == b->preempt_delay_ms &&
           a->n_floating_ips == b->n_floating_ips &&
           memcmp(a->floating_ips, b->floating_ips,
                  a->n_floating_ips * sizeof(a->floating_ips[0])) == 0 &&
           a->n_monitor == b->n_monitor &&
           memcmp(a->monitor, b->monitor, a->n_monitor * sizeof(a->monitor[0])) == 0 &&
           a->monitor_interval_ms == b->monitor_interval_ms &&
           a->monitor_fall == b->monitor_fall;
}

static int check_live(const struct lbd_config *prev, const struct lbd_config *next, char *err,
                      size_t errlen)
{
    /* Each setting made at start-up: whether the edit changes it, and what to say. */
    const struct {
        bool changed;
        const char *why;
    } restart_only[] = {
        {strcmp(prev->appliance.name, next->appliance.name) != 0,
         "appliance.name: changing the name needs a restart"},
        {strcmp(prev->appliance.api_socket, next->appliance.api_socket) != 0,
         "appliance.api_socket: changing the socket needs a restart"},
        {prev->appliance.mbufs_per_worker != next->appliance.mbufs_per_worker,
         "appliance.mbufs_per_worker: the mbuf pools are made at start-up; changing their "
         "size needs a restart"},
        {prev->layer7.rcvbuf_init != next->layer7.rcvbuf_init ||
             prev->layer7.rcvbuf_max != next->layer7.rcvbuf_max,
         "layer7.rcvbuf_init, layer7.rcvbuf_max: the TCP stacks (and the window scale they "
         "offer) are made at start-up; changing them needs a restart"},
        {prev->layer7.sndbuf_init != next->layer7.sndbuf_init ||
             prev->layer7.sndbuf_max != next->layer7.sndbuf_max,
         "layer7.sndbuf_init, layer7.sndbuf_max: the TCP stacks (and their transmit record "
         "pools) are made at start-up; changing them needs a restart"},
        {prev->layer7.max_conns_per_worker != next->layer7.max_conns_per_worker ||
             prev->layer7.max_time_wait_per_worker != next->layer7.max_time_wait_per_worker,
         "layer7: the TCP stacks' control blocks and TIME_WAIT tables are made at start-up; "
         "changing max_conns_per_worker or max_time_wait_per_worker needs a restart"},
        {prev->layer7.tso != next->layer7.tso,
         "layer7.tso: the ports' offloads and the TCP stacks are set up at start-up; "
         "changing it needs a restart"},
        {memcmp(&prev->management, &next->management, sizeof(next->management)) != 0,
         "management: the management server is set up at start-up; changing it needs a "
         "restart"},
        {prev->n_interfaces != next->n_interfaces,
         "interfaces: adding or removing a port needs a restart"},
        {!reconfig_same_ha(&prev->ha, &next->ha),
         "ha: the HA pair's settings are read at start-up; changing them needs a restart"},
    };

    for (size_t i = 0; i < sizeof(restart_only) / sizeof(restart_only[0]); i++)
        if (restart_only[i].changed)
            return lbd_err_set(err, errlen, LBD_ESTATE, "%s", restart_only[i].why);
    for (size_t i = 0; i < next->n_interfaces; i++) {
        const struct cfg_interface *was = NULL;
        for (size_t j = 0; j < prev->n_interfaces; j++)
            if (prev->interfaces[j].port == next->interfaces[i].port)
                was = &prev->interfaces[j];
        if (was == NULL)
            return lbd_err_set(err, errlen, LBD_ESTATE,
                               "interfaces[%zu].port: port %u is not running; adding a port "
                               "needs a restart", i, next->interfaces[i].port);
        if (was->queues != next->interfaces[i].queues)
            return lbd_err_set(err, errlen, LBD_ESTATE,
                               "interfaces[%zu].queues: the port's queues are set up at "
                               "start-up; changing them needs a restart", i);
    }
    return 0;
}

int reconfig_apply(struct appliance *a, struct lbd_config *next, char *err, size_t errlen)
{
    struct lbd_config *prev = a->cfg;
    struct snapshot *s;
    int rc;

    rc = check_live(prev, next, err, errlen);
    if (rc != 0)
        return rc;
    reconfig_assign_ids(a, next, prev);
    /* Certificates are read again on every apply (a renewed file is picked up). */
    rc = tls_load_config(next, a->dp != NULL ? a->dp->n_workers : 1, err, errlen);
    if (rc != 0)
        return rc;
    if (a->health != NULL && health_sync(a->health, next, appliance_now_ms()) != 0) {
        tls_load_release(next);
        return lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory tracking health");
    }
    s = snapshot_rebuild(next, a->dp != NULL ? dp_snapshot(a->dp) : NULL, a->generation + 1,
                         err, errlen);
    if (s == NULL) {
        tls_load_release(next);
        return LBD_ENOMEM;
    }
    appliance_snapshot_counted(a, s);
    a->health_changed = false; /* the snapshot carries the health as it is now */
    if (a->dp != NULL)
        dp_publish(a->dp, s); /* returns once no worker can see the old snapshot */
    else
        snapshot_free(s);
    a->cfg = next;
    stats_history_sync(a, next);    /* a kept service keeps its history */
    tls_load_release(prev);         /* no worker sees a snapshot of prev any more */
    config_free(prev);
    LOG_INFO("reconfig", "config generation %llu applied: %zu virtual services",
             (unsigned long long)a->generation, next->n_virtual_services);
    return 0;
}

int reconfig_publish(struct appliance *a, char *err, size_t errlen)
{
    struct snapshot *s = snapshot_rebuild(a->cfg, a->dp != NULL ? dp_snapshot(a->dp) : NULL,
                                          a->generation + 1, err, errlen);

    if (s == NULL)
        return LBD_ENOMEM;
    appliance_snapshot_counted(a, s);
    a->health_changed = false; /* the snapshot carries the health as it is now */
    if (a->dp != NULL)
        dp_publish(a->dp, s);
    else
        snapshot_free(s);
    return 0;
}

void reconfig_publish_health(struct appliance *a)
{
    char err[256];
    uint64_t now;

    if (!a->health_changed)
        return;
    now = appliance_now_ms();
    if (now < a->publish_retry_ms)
        return;
    /* On failure the flag stays and the next try is a second later; the log says so
     * once per run of failures, not once per try. */
    if (reconfig_publish(a, err, sizeof(err)) != 0) {
        a->publish_failures++;
        if (a->publish_streak++ == 0)
            LOG_ERR("health", "cannot publish the health change: %s (trying again every "
                    "second; counted as snapshot_publish_failures)", err);
        a->publish_retry_ms = now + 1000;
        return;
    }
    if (a->publish_streak != 0)
        LOG_INFO("health", "health change published after %llu failed tries",
                 (unsigned long long)a->publish_streak);
    a->publish_streak = 0;
}

/* ------------------------------------------------------------------------ */
/* Save                                                                     */
/* ------------------------------------------------------------------------ */

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* True when a component of path is "..". */
static bool has_dotdot(const char *path)
{
    for (const char *p = path; *p != '\0';) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return true;
        p += n;
        p += *p == '/';
    }
    return false;
}

/*
 * Where config.save writes: the directory of the running config (dir, a path to open)
 * and the file name in it (base). path NULL: the running config's own file. Returns
 * 0, or LBD_EPERM / LBD_EINVAL with err filled.
 */
static int save_target(const struct appliance *a, const char *path, char *dir,
                       char *base, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    const char *slash;
    struct stat want, got;
    int rc;

    snprintf(buf, sizeof(buf), "%s", a->config_path);
    snprintf(dir, PATH_MAX, "%s", dirname(buf));
    if (path == NULL) {
        snprintf(buf, sizeof(buf), "%s", a->config_path);
        snprintf(base, NAME_MAX + 1, "%s", basename(buf));
        return 0;
    }
    if (strlen(path) >= PATH_MAX)
        return lbd_err_set(err, errlen, LBD_EINVAL, "path: too long");
    if (has_dotdot(path))
        return lbd_err_set(err, errlen, LBD_EPERM,
                           "path: \"%.200s\" has a '..' component: config.save writes only "
                           "in the running config's directory %.200s",
                           path, dir);
    slash = strrchr(path, '/');
    if ((slash != NULL ? slash[1] : path[0]) == '\0' || strcmp(slash ? slash + 1 : path, ".") == 0)
        return lbd_err_set(err, errlen, LBD_EINVAL, "path: \"%.200s\" names no file", path);
    if (strlen(slash ? slash + 1 : path) > NAME_MAX - 32)
        return lbd_err_set(err, errlen, LBD_EINVAL, "path: file name too long");
    snprintf(base, NAME_MAX + 1, "%s", slash ? slash + 1 : path);
    if (slash == NULL)
        return 0; /* a bare name: in the running config's directory */
    /* A directory named otherwise must be that same directory (a relative one is
     * taken from it, as a bare name is). */
    snprintf(buf, sizeof(buf), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (stat(dir, &want) != 0)
        return lbd_err_set(err, errlen, LBD_EIO, "%.200s: %s", dir, strerror(errno));
    if (buf[0] != '/') {
        char rel[2 * PATH_MAX + 2];
        snprintf(rel, sizeof(rel), "%s/%s", dir, buf);
        rc = stat(rel, &got);
    } else {
        rc = stat(buf, &got);
    }
    if (rc != 0 || got.st_dev != want.st_dev || got.st_ino != want.st_ino)
        return lbd_err_set(err, errlen, LBD_EPERM,
                           "path: \"%.200s\" is not in the running config's directory %.200s: "
                           "config.save writes only there",
                           path, dir);
    return 0;
}

int reconfig_save(const struct appliance *a, const char *path, char *written,
                  size_t writtenlen, char *err, size_t errlen)
{
    static unsigned tmp_seq;
    char dir[PATH_MAX], base[NAME_MAX + 1], tmp[NAME_MAX + 32];
    struct stat st;
    cJSON *j;
    char *text;
    int fd = -1, dfd, rc;

    if (path != NULL && path[0] == '\0')
        path = NULL;
    rc = save_target(a, path, dir, base, err, errlen);
    if (rc != 0)
        return rc;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return lbd_err_set(err, errlen, LBD_EIO, "%.200s: %s", dir, strerror(errno));
    if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
        close(dfd);
        return lbd_err_set(err, errlen, LBD_EPERM,
                           "path: %.200s/%.200s is a symbolic link: config.save replaces only "
                           "a file, never a link",
                           dir, base);
    }
    /* A temporary name nobody holds: created, never opened through a link. */
    for (int tries = 0; tries < 100 && fd < 0; tries++) {
        snprintf(tmp, sizeof(tmp), "%s.tmp.%d.%u", base, (int)getpid(), tmp_seq++);
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        rc = lbd_err_set(err, errlen, LBD_EIO, "%.200s/%.200s: %s", dir, tmp, strerror(errno));
        close(dfd);
        return rc;
    }
    j = config_to_json(a->cfg);
    text = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (text == NULL)
        rc = lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
    else if (write_all(fd, text, strlen(text)) != 0 || write_all(fd, "\n", 1) != 0 ||
             fsync(fd) != 0)
        rc = lbd_err_set(err, errlen, LBD_EIO, "%.200s/%.200s: %s", dir, tmp, strerror(errno));
    free(text);
    if (close(fd) != 0 && rc == 0)
        rc = lbd_err_set(err, errlen, LBD_EIO, "%.200s/%.200s: %s", dir, tmp, strerror(errno));
    if (rc == 0 && renameat(dfd, tmp, dfd, base) != 0)
        rc = lbd_err_set(err, errlen, LBD_EIO, "%.200s/%.200s: %s", dir, base, strerror(errno));
    if (rc != 0) {
        unlinkat(dfd, tmp, 0);
        close(dfd);
        return rc;
    }
    /* The rename itself must reach the disk. */
    fsync(dfd);
    close(dfd);
    if (written != NULL)
        snprintf(written, writtenlen, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, base);
    LOG_INFO("reconfig", "running config saved to %s/%s", strcmp(dir, "/") == 0 ? "" : dir,
             base);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Edits on the JSON form                                                   */
/* ------------------------------------------------------------------------ */

/* The element of array whose "label" is label, and its index; NULL when absent. */
static cJSON *find_labelled(cJSON *array, const char *label, int *index)
{
    int i = 0;
    cJSON *it;

    cJSON_ArrayForEach(it, array) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(it, "label");
        if (cJSON_IsString(l) && strcmp(l->valuestring, label) == 0) {
            if (index != NULL)
                *index = i;
            return it;
        }
        i++;
    }
    return NULL;
}

static int req_label(const cJSON *req, const char *name, const char **out, char *err,
                     size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);

    if (v == NULL)
        return lbd_err_set(err, errlen, LBD_EINVAL, "%s: required (a label)", name);
    if (!cJSON_IsString(v))
        return lbd_err_set(err, errlen, LBD_EINVAL, "%s: must be a label (a string)", name);
    *out = v->valuestring;
    return 0;
}

static int req_object(const cJSON *req, const char *name, const cJSON **out, char *err,
                      size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);

    if (v == NULL)
        return lbd_err_set(err, errlen, LBD_EINVAL, "%s: required (an object)", name);
    if (!cJSON_IsObject(v))
        return lbd_err_set(err, errlen, LBD_EINVAL, "%s: must be an object", name);
    *out = v;
    return 0;
}

/* The service named by req's "vs" label, in root. */
static int edit_find_vs(cJSON *root, const cJSON *req, cJSON **vs, int *index, char *err,
                        size_t errlen)
{
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "virtual_services");
    const char *label;
    int rc = req_label(req, "vs", &label, err, errlen);

    if (rc != 0)
        return rc;
    *vs = find_labelled(arr, label, index);
    if (*vs == NULL)
        return lbd_err_set(err, errlen, LBD_ENOENT, "vs: no virtual service labelled '%.64s'",
                           label);
    return 0;
}

/*
 * Replaces obj's fields by req's, except the ones that address the object (skip).
 * A null value removes the field, so that its default applies again (a real
 * server's port is the exception: null is a value there).
 */
static int merge_fields(cJSON *obj, const cJSON *req, const char *const *skip, size_t n_skip,
                        bool null_is_value, char *err, size_t errlen)
{
    const cJSON *f;
    size_t changed = 0;

    cJSON_ArrayForEach(f, req) {
        bool skipped = false;
        for (size_t i = 0; i < n_skip; i++)
            skipped |= strcmp(f->string, skip[i]) == 0;
        if (skipped)
            continue;
        if (strcmp(f->string, "label") == 0)
            return lbd_err_set(err, errlen, LBD_EINVAL,
                               "label: cannot be changed (delete and add instead)");
        changed++;
    }
    if (changed == 0)
        return lbd_err_set(err, errlen, LBD_EINVAL, "nothing to change: name the fields to set");
    cJSON_ArrayForEach(f, req) {
        bool skipped = false;
        cJSON *copy;
        for (size_t i = 0; i < n_skip; i++)
            skipped |= strcmp(f->string, skip[i]) == 0;
        if (skipped)
            continue;
        if (cJSON_IsNull(f) && !(null_is_value && strcmp(f->string, "port") == 0)) {
            cJSON_DeleteItemFromObjectCaseSensitive(obj, f->string);
            continue;
        }
        copy = cJSON_Duplicate(f, true);
        if (copy == NULL)
            return lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
        if (cJSON_GetObjectItemCaseSensitive(obj, f->string) != NULL)
            cJSON_ReplaceItemInObjectCaseSensitive(obj, f->string, copy);
        else
            cJSON_AddItemToObject(obj, f->string, copy);
    }
    return 0;
}

static int edit_vs_add(cJSON *root, const cJSON *req, char *err, size_t errlen)
{
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "virtual_services");
    const cJSON *vs, *label;
    cJSON *copy;
    int rc = req_object(req, "vs", &vs, err, errlen);

    if (rc != 0)
        return rc;
    label = cJSON_GetObjectItemCaseSensitive(vs, "label");
    if (cJSON_IsString(label) && find_labelled(arr, label->valuestring, NULL) != NULL)
        return lbd_err_set(err, errlen, LBD_EEXIST,
                           "vs.label: a virtual service labelled '%.64s' exists already",
                           label->valuestring);
    if (arr == NULL) {
        arr = cJSON_AddArrayToObject(root, "virtual_services");
        if (arr == NULL)
            return lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
    }
    copy = cJSON_Duplicate(vs, true);
    if (copy == NULL)
        return lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
    cJSON_AddItemToArray(arr, copy);
    return 0;
}

static int edit_vs_set(cJSON *root, const cJSON *req, char *err, size_t errlen)
{
    static const char *const skip[] = {"cmd", "vs"};
    cJSON *vs, *work;
    int rc = edit_find_vs(root, req, &vs, NULL, err, errlen);

    if (rc != 0)
        return rc;
    /* Merge into a copy, so that a refused request leaves root as it was. */
    work = cJSON_Duplicate(vs, true);
    if (work == NULL)
        return lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
    rc = merge_fields(work, req, skip, 2, false, err, errlen);
    if (rc != 0) {
        cJSON_Delete(work);
        return rc;
    }
    cJSON_ReplaceItemViaPointer(cJSON_GetObjectItemCaseSensitive(root, "virtual_services"), vs,
                                work);
    return 0;
}

static int edit_vs_del(cJSON *root, const cJSON *req, char *err, size_t errlen)
{
    cJSON *vs;
    int index, rc = edit_find_vs(root, req, &vs, &index, err, errlen);

    if (rc != 0)
        return rc;
    cJSON_DeleteItemFromArray(cJSON_GetObjectItemCaseSensitive(root, "virtual_services"), index);
    return 0;
}

static int edit_rs(cJSON *root, const char *cmd, const cJSON *req, char *err, size_t errlen)
{
    static const char *const skip[] = {"cmd", "vs", "rs"};
    cJSON *vs, *arr, *rs, *work;
    const char *label;
    int index, rc = edit_find_vs(root, req, &vs, NULL, err, errlen);

    if (rc != 0)
        return rc;
    arr = cJSON_GetObjectItemCaseSensitive(vs, "real_servers");
    if (strcmp(cmd, "rs.add") == 0) {
        const cJSON *obj, *l;
        rc = req_object(req, "rs", &obj, err, errlen);
        if (rc != 0)
            return rc;
        l = cJSON_GetObjectItemCaseSensitive(obj, "label");
        if (cJSON_IsString(l) && find_labelled(arr, l->valuestring, NULL) != NULL)
            return lbd_err_set(err, errlen, LBD_EEXIST,
                               "rs.label: a real server labelled '%.64s' exists already",
                               l->valuestring);
        if (arr == NULL && (arr = cJSON_AddArrayToObject(vs, "real_servers")) == NULL)
            return lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
        work = cJSON_Duplicate(obj, true);
        if (work == NULL)
            return lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
        cJSON_AddItemToArray(arr, work);
        return 0;
    }
    rc = req_label(req, "rs", &label, err, errlen);
    if (rc != 0)
        return rc;
    rs = find_labelled(arr, label, &index);
    if (rs == NULL)
        return lbd_err_set(err, errlen, LBD_ENOENT, "rs: no real server labelled '%.64s' in '%.64s'",
                           label, cJSON_GetObjectItemCaseSensitive(vs, "label")->valuestring);
    if (strcmp(cmd, "rs.del") == 0) {
        cJSON_DeleteItemFromArray(arr, index);
        return 0;
    }
    work = cJSON_Duplicate(rs, true);
    if (work == NULL)
        return lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
    rc = merge_fields(work, req, skip, 3, true, err, errlen);
    if (rc != 0) {
        cJSON_Delete(work);
        return rc;
    }
    cJSON_ReplaceItemViaPointer(arr, rs, work);
    return 0;
}

int reconfig_edit(cJSON *root, const char *cmd, const cJSON *req, char *err, size_t errlen)
{
    if (strcmp(cmd, "vs.add") == 0)
        return edit_vs_add(root, req, err, errlen);
    if (strcmp(cmd, "vs.set") == 0)
        return edit_vs_set(root, req, err, errlen);
    if (strcmp(cmd, "vs.del") == 0)
        return edit_vs_del(root, req, err, errlen);
    if (strcmp(cmd, "rs.add") == 0 || strcmp(cmd, "rs.set") == 0 || strcmp(cmd, "rs.del") == 0)
        return edit_rs(root, cmd, req, err, errlen);
    return lbd_err_set(err, errlen, LBD_EINVAL, "%s: not an edit command", cmd);
}
