/*
 * lbd: the appliance daemon.
 *
 *   lbd [EAL options] -- --config FILE [--api-socket PATH] [--check]
 *   lbd --check-config FILE
 *
 * Start-up validates everything it can before DPDK starts: a bad config or bad
 * arguments print a message naming the field and exit 2 with nothing started. The
 * main lcore becomes the control core (API, control messages); every other lcore
 * runs a worker. SIGINT/SIGTERM stop it cleanly.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_pdump.h>

#include <openssl/crypto.h>

#include "api_cmd.h"
#include "api_server.h"
#include "appliance.h"
#include "config.h"
#include "config_check.h"
#include "dataplane.h"
#include "eal_mem.h"
#include "ha.h"
#include "ha_proto.h"
#include "history.h"
#include "err.h"
#include "log.h"
#include "mgmt_server.h"
#include "reconfig.h"
#include "snapshot/snapshot.h"
#include "stats.h"
#include "telemetry.h"
#include "tls_load.h"
#include "txlog_sink.h"

#define EXIT_USAGE 2
#define EAL_MAX_ARGS 128
#define CONTROL_POLL_MS 5

static volatile sig_atomic_t stop_requested;
static struct api_server *api_srv;
static struct mgmt_server *mgmt_srv;

struct lbd_opts {
    const char *config;
    const char *api_socket;
    bool check;
};

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: lbd [EAL options] -- --config FILE [--api-socket PATH] [--check]\n"
            "       lbd --check-config FILE\n"
            "  --config FILE       appliance configuration (JSON), required\n"
            "  --api-socket PATH   control socket (overrides appliance.api_socket)\n"
            "  --check             validate the configuration and the files it names, and\n"
            "                      exit (0 valid, 2 not); starts nothing\n"
            "  --check-config FILE the same for FILE (no EAL options or '--' needed)\n"
            "  --version           print the version\n"
            "example: lbd -l 0-1 --vdev net_af_packet0,iface=eth0 -- --config lab.json\n");
}

/* Parses the arguments after "--". Returns 0, 1 (done: help/version), or EXIT_USAGE. */
static int parse_opts(int argc, char **argv, struct lbd_opts *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"api-socket", required_argument, NULL, 's'},
        {"check", no_argument, NULL, 'k'},
        {"check-config", required_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 's': o->api_socket = optarg; break;
        case 'k': o->check = true; break;
        case 'K':
            o->config = optarg;
            o->check = true;
            break;
        case 'h': usage(stdout); return 1;
        case 'V': printf("lbd %s\n", LBD_VERSION); return 1;
        default:
            fprintf(stderr, "lbd: unknown or incomplete option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lbd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (o->config == NULL) {
        fprintf(stderr, "lbd: --config FILE is required\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    return 0;
}

/*
 * The EAL arguments, completed with what a lab, a container or a fresh machine needs:
 * --no-huge (and -m) when the EAL could not use hugepages (none free, or no hugetlbfs
 * mounted for their size: eal_mem.h), and a file prefix per appliance so that several
 * appliances can share a host.
 */
static int build_eal_args(int argc, char **argv, const struct lbd_config *cfg, char **out,
                          char *prefix_buf, size_t prefix_len)
{
    char *meminfo = eal_mem_read("/proc/meminfo"), *mounts = eal_mem_read("/proc/mounts");
    struct eal_mem_plan plan;
    char line[1024];
    bool warn;
    int n = 0;

    eal_mem_plan(meminfo, mounts, argc, argv, &plan);
    free(meminfo);
    free(mounts);
    eal_mem_describe(&plan, line, sizeof(line), &warn);
    if (warn)
        LOG_WARN("main", "%s", line);
    else
        LOG_INFO("main", "%s", line);

    for (int i = 0; i < argc && n < EAL_MAX_ARGS - 5; i++)
        out[n++] = argv[i];
    if (plan.add_no_huge)
        out[n++] = "--no-huge";
    if (plan.add_mem) {
        out[n++] = "-m";
        out[n++] = EAL_MEM_FALLBACK_MB;
    }
    if (!eal_mem_has_arg(argc, argv, "--file-prefix")) {
        snprintf(prefix_buf, prefix_len, "--file-prefix=lbd-%s", cfg->appliance.name);
        out[n++] = prefix_buf;
    }
    out[n] = NULL;
    return n;
}

static void warn_unimplemented(const struct lbd_config *cfg)
{
    for (size_t i = 0; i < cfg->n_virtual_services; i++) {
        const struct cfg_vs *v = &cfg->virtual_services[i];
        if (v->layer == 4)
            continue;
        if (v->layer == 7 && v->protocol == CFG_PROTO_TCP)
            continue;   /* the Layer 7 proxy: TCP and HTTP mode, TLS or not */
        LOG_WARN("main",
                 "virtual_services[%zu] (%s): layer %u %s services are not implemented in "
                 "this version; the VIP answers ARP and ping, its traffic is dropped and "
                 "counted as l%u_unimplemented",
                 i, v->label, v->layer, cfg_proto_name(v->protocol), v->layer);
    }
}

/* Start-up is a table of modules, initialised in order and torn down in reverse. */
struct module {
    const char *name;
    int (*init)(struct appliance *a, char *err, size_t errlen);
    void (*term)(struct appliance *a);
};

static int mod_dataplane_init(struct appliance *a, char *err, size_t errlen)
{
    return dp_init(&a->dp, a->cfg, err, errlen);
}

static void mod_dataplane_term(struct appliance *a)
{
    dp_free(a->dp);
    a->dp = NULL;
}

static int mod_health_init(struct appliance *a, char *err, size_t errlen)
{
    a->health = health_create();
    if (a->health == NULL)
        return lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
    reconfig_assign_ids(a, a->cfg, NULL);
    if (health_sync(a->health, a->cfg, appliance_now_ms()) != 0)
        return lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
    return 0;
}

/* Certificates and TLS contexts (tls_load.h): after the dataplane, which says how many
 * workers there are; before the first snapshot, which points at them. */
/* The last hour per service (history.h), for the status page's graphs. */
static int mod_history_init(struct appliance *a, char *err, size_t errlen)
{
    a->history = history_create(HISTORY_INTERVAL_MS, HISTORY_SAMPLES, CFG_MAX_VS);
    if (a->history == NULL)
        return lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
    stats_history_sync(a, a->cfg);
    return 0;
}

static void mod_history_term(struct appliance *a)
{
    history_free(a->history);
    a->history = NULL;
}

static int mod_tls_init(struct appliance *a, char *err, size_t errlen)
{
    return tls_load_config(a->cfg, a->dp->n_workers, err, errlen);
}

static void mod_tls_term(struct appliance *a)
{
    tls_load_release(a->cfg);
}

static void mod_health_term(struct appliance *a)
{
    health_free(a->health);
    a->health = NULL;
}

static int mod_snapshot_init(struct appliance *a, char *err, size_t errlen)
{
    struct snapshot *s;

    s = snapshot_build(a->cfg, a->generation + 1, err, errlen);

    if (s == NULL)
        return LBD_ENOMEM;
    appliance_snapshot_counted(a, s);
    dp_publish(a->dp, s);
    return 0;
}

/*
 * Packet capture (DPDK's pdump framework): dpdk-dumpcap or dpdk-pdump attach to the
 * running lbd as secondary processes (same --file-prefix) and ask it to copy a port's
 * packets to them. Needs memory that a secondary process can map: hugepages. Under
 * --no-huge (the EAL's memory is anonymous) no secondary process can attach: lbd runs
 * on, without capture, and says so.
 */
static bool pdump_on;

static int mod_pdump_init(struct appliance *a, char *err, size_t errlen)
{
    (void)a;
    (void)err;
    (void)errlen;
    if (rte_eal_has_hugepages() == 0) {
        LOG_WARN("main", "packet capture (dpdk-dumpcap) unavailable: the EAL runs without "
                         "hugepages (--no-huge), which secondary processes cannot attach to");
        return 0;
    }
    if (rte_pdump_init() != 0) {
        LOG_WARN("main", "packet capture (dpdk-dumpcap) unavailable: rte_pdump_init: %s",
                 rte_strerror(rte_errno));
        return 0;
    }
    pdump_on = true;
    {
        const char *dir = rte_eal_get_runtime_dir(), *slash = strrchr(dir, '/');
        LOG_INFO("main", "packet capture ready: dpdk-dumpcap --file-prefix=%s -i PORT",
                 slash != NULL ? slash + 1 : dir);
    }
    return 0;
}

static void mod_pdump_term(struct appliance *a)
{
    (void)a;
    if (pdump_on)
        rte_pdump_uninit();
    pdump_on = false;
}

/* The traffic log's sink (txlog_sink.h): before the workers, which fill its rings. */
static struct txlog_sink txlog_sink;

static int mod_txlog_init(struct appliance *a, char *err, size_t errlen)
{
    int rc = txlog_sink_init(&txlog_sink, err, errlen);

    if (rc == 0)
        a->txlog = &txlog_sink;
    return rc;
}

static void mod_txlog_term(struct appliance *a)
{
    /* What the workers left in their rings (they are stopped) goes out first. */
    while (txlog_sink_poll(&txlog_sink, a) > 0)
        ;
    a->txlog = NULL;
    txlog_sink_free(&txlog_sink);
}

static int mod_api_init(struct appliance *a, char *err, size_t errlen)
{
    int rc = api_server_open(a->api_socket, api_cmd_handle, a, &api_srv, err, errlen);

    if (rc == 0)
        a->api = api_server_counters(api_srv);
    return rc;
}

static void mod_api_term(struct appliance *a)
{
    a->api = NULL;
    api_server_close(api_srv);
    api_srv = NULL;
}

/* The management HTTP server, when the config has one (mgmt_server.h). */
static int mod_mgmt_init(struct appliance *a, char *err, size_t errlen)
{
    int rc = mgmt_server_open(a, &mgmt_srv, err, errlen);

    if (rc == 0 && mgmt_srv != NULL)
        api_server_watch(api_srv, mgmt_server_fd(mgmt_srv));
    return rc;
}

static void mod_mgmt_term(struct appliance *a)
{
    api_server_watch(api_srv, -1);
    mgmt_server_close(mgmt_srv);
    mgmt_srv = NULL;
}

static int mod_workers_init(struct appliance *a, char *err, size_t errlen)
{
    int rc = dp_start(a->dp);

    if (rc != 0)
        lbd_err_set(err, errlen, rc, "cannot launch the workers");
    return rc;
}

static void mod_workers_term(struct appliance *a)
{
    dp_stop(a->dp);
}

static const struct module modules[] = {
    {"dataplane", mod_dataplane_init, mod_dataplane_term},
    {"tls", mod_tls_init, mod_tls_term},
    {"health", mod_health_init, mod_health_term},
    {"history", mod_history_init, mod_history_term},
    {"ha", ha_init, ha_free},
    {"snapshot", mod_snapshot_init, NULL},
    {"txlog", mod_txlog_init, mod_txlog_term},
    {"api", mod_api_init, mod_api_term},
    {"telemetry", telemetry_init, telemetry_term},
    {"management", mod_mgmt_init, mod_mgmt_term},
    {"pdump", mod_pdump_init, mod_pdump_term},
    {"workers", mod_workers_init, mod_workers_term},
};
#define N_MODULES (sizeof(modules) / sizeof(modules[0]))

static void on_worker_msg(void *arg, const struct ctl_msg *msg)
{
    appliance_worker_msg(arg, msg);
}

static void control_loop(struct appliance *a)
{
    while (!stop_requested) {
        uint64_t now;

        api_server_poll(api_srv, CONTROL_POLL_MS);
        mgmt_server_run(mgmt_srv);
        now = appliance_now_ms();
        dp_poll_ctl(a->dp, now, 1024, on_worker_msg, a);
        txlog_sink_poll(a->txlog, a);
        telemetry_tick(a, now);
        if (health_poll(a->health, a->cfg, a->dp, now))
            a->health_changed = true;
        ha_poll(a, now);
        stats_history_poll(a, now);
        reconfig_publish_health(a);
        tls_load_tick(now);
    }
}

static void on_check_problem(void *arg, const char *msg)
{
    (void)arg;
    fprintf(stderr, "lbd: %s\n", msg);
}

/* --check, --check-config: prints "FILE: ok" (exit 0) or each problem (exit 2). */
static int check_config(const char *path)
{
    int n = config_check_file(path, on_check_problem, NULL);

    if (n < 0) {
        fprintf(stderr, "lbd: %s: %s\n", path, lbd_strerror(n));
        return EXIT_FAILURE;
    }
    if (n > 0)
        return EXIT_USAGE;
    printf("%s: ok\n", path);
    return 0;
}

static int exit_code_for(int rc)
{
    return rc == LBD_EINVAL || rc == LBD_ENOENT || rc == LBD_ERANGE || rc == LBD_EEXIST ||
                   rc == LBD_EPERM
               ? EXIT_USAGE
               : EXIT_FAILURE;
}

int main(int argc, char **argv)
{
    static char *eal_argv[EAL_MAX_ARGS];
    static struct appliance app;
    char err[1024], prefix[CFG_LABEL_MAX + 32];
    struct lbd_opts opts = {0};
    struct sigaction sa = {.sa_handler = on_signal};
    enum log_level lvl;
    int dd = argc, eal_argc, rc;
    size_t started = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            dd = i;
            break;
        }
    }
    if (dd == argc && argc > 1 &&
        (strncmp(argv[1], "--check-config", 14) == 0 || strcmp(argv[1], "--help") == 0 ||
         strcmp(argv[1], "--version") == 0))
        dd = 0;   /* no EAL options: every argument is lbd's own */
    if (dd == argc) {
        fprintf(stderr, "lbd: missing '--' between the EAL options and lbd's own\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    argv[dd] = argv[0];
    rc = parse_opts(argc - dd, argv + dd, &opts);
    if (rc != 0)
        return rc == 1 ? 0 : rc;

    if (opts.check)
        return check_config(opts.config);
    rc = config_load_file(opts.config, &app.cfg, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "lbd: %s\n", err);
        return EXIT_USAGE;
    }
    if (app.cfg->ha.enabled) {
        /* The pair's key, before anything starts: a key others may read is refused. */
        static struct ha_key key;
        rc = ha_key_load(app.cfg->ha.auth_key_file, &key, err, sizeof(err));
        OPENSSL_cleanse(&key, sizeof(key));
        if (rc != 0) {
            fprintf(stderr, "lbd: %s\n", err);
            config_free(app.cfg);
            return EXIT_USAGE;
        }
    }
    log_detect_journal();
    if (log_level_parse(app.cfg->appliance.log_level, &lvl) == 0)
        log_set_level(lvl);
    snprintf(app.config_path, sizeof(app.config_path), "%s", opts.config);
    snprintf(app.api_socket, sizeof(app.api_socket), "%s",
             opts.api_socket != NULL ? opts.api_socket : app.cfg->appliance.api_socket);
    app.start_ms = appliance_now_ms();

    eal_argc = build_eal_args(dd, argv, app.cfg, eal_argv, prefix, sizeof(prefix));
    if (rte_eal_init(eal_argc, eal_argv) < 0) {
        fprintf(stderr, "lbd: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
        config_free(app.cfg);
        return EXIT_USAGE;
    }

    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    warn_unimplemented(app.cfg);
    for (started = 0; started < N_MODULES; started++) {
        rc = modules[started].init(&app, err, sizeof(err));
        if (rc != 0) {
            fprintf(stderr, "lbd: %s: %s\n", modules[started].name, err);
            break;
        }
    }
    if (started == N_MODULES) {
        LOG_INFO("main", "%s %s running: %u workers, api on %s", app.cfg->appliance.name,
                 LBD_VERSION, app.dp->n_workers, app.api_socket);
        control_loop(&app);
        LOG_INFO("main", "stopping");
        rc = 0;
    }
    while (started-- > 0)
        if (modules[started].term != NULL)
            modules[started].term(&app);
    config_free(app.cfg);
    rte_eal_cleanup();
    return rc == 0 ? 0 : exit_code_for(rc);
}
