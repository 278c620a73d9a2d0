/*
 * lbctl: the operator's client for lbd's control API.
 *
 *   lbctl [-s SOCKET] [--json] [--timeout MS] COMMAND [ARGS]
 *
 * Prints tables for people and, with --json, the raw reply for scripts.
 * Exit status: 0 the daemon said ok, 1 it returned an error, 2 usage, 3 no daemon.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "api_proto.h"

#define EXIT_ERR_REPLY 1
#define EXIT_USAGE 2
#define EXIT_NO_DAEMON 3

static int timeout_ms = 10000;
static bool json_out;

static int connect_socket(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "lbctl: socket path too long: %s\n", path);
        return -1;
    }
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "lbctl: cannot connect to %s: %s (is lbd running?)\n", path,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static bool send_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        buf += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads one reply line (malloc'd, newline stripped) or NULL on EOF/timeout/error. */
static char *read_line(int fd)
{
    static char *pending;
    static size_t pending_len;
    char *line;

    for (;;) {
        char *nl = pending != NULL ? memchr(pending, '\n', pending_len) : NULL;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char buf[65536];
        ssize_t r;
        char *grown;

        if (nl != NULL) {
            size_t n = (size_t)(nl - pending);
            line = malloc(n + 1);
            if (line == NULL)
                return NULL;
            memcpy(line, pending, n);
            line[n] = '\0';
            memmove(pending, nl + 1, pending_len - n - 1);
            pending_len -= n + 1;
            return line;
        }
        if (poll(&p, 1, timeout_ms) <= 0) {
            fprintf(stderr, "lbctl: no reply within %d ms\n", timeout_ms);
            return NULL;
        }
        r = recv(fd, buf, sizeof(buf), 0);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            fprintf(stderr, "lbctl: connection closed by lbd\n");
            return NULL;
        }
        grown = realloc(pending, pending_len + (size_t)r);
        if (grown == NULL)
            return NULL;
        pending = grown;
        memcpy(pending + pending_len, buf, (size_t)r);
        pending_len += (size_t)r;
    }
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "-";
}

static void print_status(const cJSON *r)
{
    const cJSON *p;

    printf("name              %s\n", str(r, "name"));
    printf("version           %s\n", str(r, "version"));
    printf("pid               %.0f\n", num(r, "pid"));
    printf("uptime            %.0f s\n", num(r, "uptime_s"));
    printf("config            %s\n", str(r, "config_file"));
    printf("workers           %.0f\n", num(r, "workers"));
    printf("virtual services  %.0f\n", num(r, "virtual_services"));
    printf("ha state          %s\n",
           str(cJSON_GetObjectItemCaseSensitive(r, "ha"), "state"));
    printf("\n%-5s %-16s %-15s %-18s %-19s %-4s %-12s %s\n", "PORT", "NAME", "DRIVER", "MAC",
           "IP", "LINK", "QUEUES rx/tx", "TX OFFLOADS");
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(r, "ports")) {
        char q[32], off[160];
        size_t n = 0;
        const cJSON *o;

        snprintf(q, sizeof(q), "%.0f/%.0f", num(p, "rx_queues"), num(p, "tx_queues"));
        off[0] = '\0';
        cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(p, "tx_offloads"))
            if (cJSON_IsString(o) && n < sizeof(off))
                n += (size_t)snprintf(off + n, sizeof(off) - n, "%s%s", n ? "," : "",
                                      o->valuestring);
        printf("%-5.0f %-16s %-15s %-18s %-19s %-4s %-12s %s\n", num(p, "port"), str(p, "name"),
               str(p, "driver"), str(p, "mac"), str(p, "ip"), str(p, "link"), q,
               n ? off : "none");
    }
}

static void print_drops(const cJSON *drops, const char *indent)
{
    const cJSON *d;
    bool any = false;

    cJSON_ArrayForEach(d, drops) {
        if (!cJSON_IsNumber(d) || d->valuedouble == 0)
            continue;
        printf("%s%-24s %.0f\n", indent, d->string, d->valuedouble);
        any = true;
    }
    if (!any)
        printf("%s(none)\n", indent);
}

static void print_stats(const cJSON *r)
{
    const cJSON *v, *rs, *w, *p, *t;

    printf("%-20s %10s %10s %12s %12s %12s\n", "VIRTUAL SERVICE", "ACTIVE", "TOTAL",
           "PACKETS IN", "BYTES IN", "BYTES OUT");
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(r, "virtual_services")) {
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(v, "http");
        printf("%-20s %10.0f %10.0f %12.0f %12.0f %12.0f\n", str(v, "label"),
               num(v, "active_conns"), num(v, "total_conns"), num(v, "packets_in"),
               num(v, "bytes_in"), num(v, "bytes_out"));
        if ((t = cJSON_GetObjectItemCaseSensitive(v, "tls")) != NULL)
            printf("  tls: handshakes=%.0f resumed=%.0f failed=%.0f (not_tls=%.0f "
                   "protocol=%.0f closed=%.0f) backend=%.0f backend_failed=%.0f "
                   "verify_failed=%.0f\n",
                   num(t, "handshakes"), num(t, "resumed"), num(t, "failed"),
                   num(t, "failed_not_tls"), num(t, "failed_protocol"), num(t, "failed_closed"),
                   num(t, "backend_handshakes"), num(t, "backend_failed"),
                   num(t, "backend_verify_failed"));
        if (h != NULL) {
            printf("  http: requests=%.0f 1xx=%.0f 2xx=%.0f 3xx=%.0f 4xx=%.0f 5xx=%.0f\n",
                   num(h, "requests"), num(h, "responses_1xx"), num(h, "responses_2xx"),
                   num(h, "responses_3xx"), num(h, "responses_4xx"), num(h, "responses_5xx"));
            printf("  http errors: 400=%.0f 408=%.0f 431=%.0f 502=%.0f 503=%.0f 504=%.0f "
                   "aborted=%.0f; cookies inserted=%.0f hits=%.0f replaced=%.0f\n",
                   num(h, "err_400"), num(h, "err_408"), num(h, "err_431"), num(h, "err_502"),
                   num(h, "err_503"), num(h, "err_504"), num(h, "aborted"),
                   num(h, "cookie_inserted"), num(h, "cookie_hits"), num(h, "cookie_replaced"));
        }
        cJSON_ArrayForEach(rs, cJSON_GetObjectItemCaseSensitive(v, "real_servers")) {
            const cJSON *rh = cJSON_GetObjectItemCaseSensitive(rs, "http");
            printf("  %-18s %-15s w=%-5.0f %-7s health=%-8s active=%.0f total=%.0f\n",
                   str(rs, "label"), str(rs, "ip"), num(rs, "weight"), str(rs, "state"),
                   str(rs, "health"), num(rs, "active_conns"), num(rs, "total_conns"));
            if (rh != NULL)
                printf("    http: requests=%.0f 1xx=%.0f 2xx=%.0f 3xx=%.0f 4xx=%.0f 5xx=%.0f\n",
                       num(rh, "requests"), num(rh, "responses_1xx"), num(rh, "responses_2xx"),
                       num(rh, "responses_3xx"), num(rh, "responses_4xx"),
                       num(rh, "responses_5xx"));
        }
    }
    printf("\n%-7s %-6s %12s %12s %12s %12s %10s %10s %8s %8s\n", "WORKER", "LCORE", "RX PKTS",
           "RX BYTES", "TX PKTS", "TX BYTES", "HANDOFF>", ">HANDOFF", "ARP", "ICMP");
    cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(r, "workers"))
        printf("%-7.0f %-6.0f %12.0f %12.0f %12.0f %12.0f %10.0f %10.0f %8.0f %8.0f\n",
               num(w, "worker"), num(w, "lcore"), num(w, "rx_packets"), num(w, "rx_bytes"),
               num(w, "tx_packets"), num(w, "tx_bytes"), num(w, "handoff_out"),
               num(w, "handoff_in"), num(w, "arp_replies"), num(w, "icmp_echo_replies"));
    printf("\n%-5s %12s %12s %12s %12s %10s %10s\n", "PORT", "RX PKTS", "RX BYTES", "TX PKTS",
           "TX BYTES", "MISSED", "ERRORS");
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(r, "ports"))
        printf("%-5.0f %12.0f %12.0f %12.0f %12.0f %10.0f %10.0f\n", num(p, "port"),
               num(p, "rx_packets"), num(p, "rx_bytes"), num(p, "tx_packets"),
               num(p, "tx_bytes"), num(p, "rx_missed"), num(p, "rx_errors") + num(p, "tx_errors"));
    printf("\nDROPS\n");
    print_drops(cJSON_GetObjectItemCaseSensitive(r, "drops"), "  ");
}

static void print_ha(const cJSON *r)
{
    const cJSON *peer = cJSON_GetObjectItemCaseSensitive(r, "peer");
    const cJSON *sync = cJSON_GetObjectItemCaseSensitive(r, "sync");
    const cJSON *cnt = cJSON_GetObjectItemCaseSensitive(r, "counters");
    const cJSON *ago = cJSON_GetObjectItemCaseSensitive(peer, "last_advert_ms_ago");
    const cJSON *it;

    printf("state             %s\n", str(r, "state"));
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "enabled")))
        return;
    printf("priority          %.0f (effective %.0f, override %s)\n", num(r, "priority"),
           num(r, "effective_priority"), str(r, "override"));
    printf("self              %s  vrid %.0f  adverts every %.0f ms, master down after %.0f ms\n",
           str(r, "self"), num(r, "vrid"), num(r, "advert_interval_ms"), num(r, "master_down_ms"));
    printf("in state          %.1f s (%s), %.0f transitions\n", num(r, "in_state_ms") / 1000,
           str(r, "last_reason"), num(r, "transitions"));
    printf("peer              %s %s, priority %.0f, last advert %s%.0f ms ago\n",
           str(peer, "ip"), str(peer, "state"), num(peer, "priority"),
           cJSON_IsNumber(ago) ? "" : "never ", cJSON_IsNumber(ago) ? ago->valuedouble : 0);
    printf("sync              seq tx %.0f rx %.0f, peer acked %.0f (lag %.0f), ready %s\n",
           num(sync, "seq_tx"), num(sync, "seq_rx"), num(sync, "peer_acked"),
           num(sync, "lag_batches"), cJSON_IsTrue(cJSON_GetObjectItem(sync, "ready")) ? "yes" : "no");
    printf("sync records      tx %.0f rx %.0f unsent %.0f, bulk %.0f sent %.0f received\n",
           num(sync, "records_tx"), num(sync, "records_rx"), num(sync, "records_unsent"),
           num(sync, "bulk_done"), num(sync, "bulk_received"));
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r, "history"))
        printf("  %9.1f s ago    %s -> %s (%s)\n", num(it, "ms_ago") / 1000, str(it, "from"),
               str(it, "to"), str(it, "reason"));
    printf("counters         ");
    cJSON_ArrayForEach(it, cnt)
        printf(" %s=%.0f", it->string, it->valuedouble);
    printf("\n");
}

static void print_neigh(const cJSON *r)
{
    const cJSON *e;

    printf("%-16s %-18s %-5s %-10s %s\n", "IP", "MAC", "PORT", "STATE", "AGE");
    cJSON_ArrayForEach(e, r)
        printf("%-16s %-18s %-5.0f %-10s %.0fs\n", str(e, "ip"), str(e, "mac"), num(e, "port"),
               str(e, "state"), num(e, "age_s"));
}

static void print_help(const cJSON *r)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, r)
        printf("%-14s %s\n", c->string, cJSON_IsString(c) ? c->valuestring : "");
}

/* Prints one reply; returns the exit status it implies. */
static int show_reply(const char *line, void (*printer)(const cJSON *))
{
    cJSON *reply = cJSON_Parse(line);
    const cJSON *ok, *result, *e;
    int rc;

    if (reply == NULL) {
        fprintf(stderr, "lbctl: malformed reply: %s\n", line);
        return EXIT_ERR_REPLY;
    }
    ok = cJSON_GetObjectItemCaseSensitive(reply, "ok");
    rc = cJSON_IsTrue(ok) ? 0 : EXIT_ERR_REPLY;
    if (json_out || printer == NULL) {
        puts(line);
    } else if (rc == 0) {
        result = cJSON_GetObjectItemCaseSensitive(reply, "result");
        printer(result);
    }
    if (rc != 0 && !json_out && printer != NULL) {
        e = cJSON_GetObjectItemCaseSensitive(reply, "error");
        fprintf(stderr, "lbctl: %s: %s\n", str(e, "code"), str(e, "message"));
    }
    cJSON_Delete(reply);
    return rc;
}

static void print_applied(const cJSON *r)
{
    printf("applied: config generation %.0f, %.0f virtual services\n", num(r, "generation"),
           num(r, "virtual_services"));
}

static void print_saved(const cJSON *r)
{
    printf("saved to %s\n", str(r, "path"));
}

static void print_ports(const cJSON *ports, char *buf, size_t len)
{
    const cJSON *p;
    size_t off = 0;

    buf[0] = '\0';
    cJSON_ArrayForEach(p, ports) {
        int n = snprintf(buf + off, len - off, "%s%.0f", off ? "," : "", p->valuedouble);
        if (n < 0 || (size_t)n >= len - off)
            break;
        off += (size_t)n;
    }
}

static void print_vs_list(const cJSON *r)
{
    const cJSON *v, *rs;
    char ports[256];

    printf("%-20s %-16s %-5s %-9s %-7s %-10s %s\n", "LABEL", "VIP", "PROTO", "LAYER", "SCHED",
           "PERSIST", "PORTS");
    cJSON_ArrayForEach(v, r) {
        const cJSON *pers = cJSON_GetObjectItemCaseSensitive(v, "persistence");
        char layer[16];
        print_ports(cJSON_GetObjectItemCaseSensitive(v, "ports"), ports, sizeof(ports));
        snprintf(layer, sizeof(layer), "%.0f/%s", num(v, "layer"),
                 num(v, "layer") == 7 ? str(v, "mode") : str(v, "forwarding"));
        printf("%-20s %-16s %-5s %-9s %-7s %-10s %s\n", str(v, "label"), str(v, "ip"),
               str(v, "protocol"), layer, str(v, "scheduler"), str(pers, "type"), ports);
        cJSON_ArrayForEach(rs, cJSON_GetObjectItemCaseSensitive(v, "real_servers")) {
            const cJSON *port = cJSON_GetObjectItemCaseSensitive(rs, "port");
            char pb[16];
            if (cJSON_IsNumber(port))
                snprintf(pb, sizeof(pb), "%.0f", port->valuedouble);
            else
                snprintf(pb, sizeof(pb), "(client)");
            printf("  %-18s %-16s port=%-8s weight=%-5.0f %s\n", str(rs, "label"),
                   str(rs, "ip"), pb, num(rs, "weight"), str(rs, "state"));
        }
    }
}

static void print_health(const cJSON *r)
{
    const cJSON *e;

    printf("%-20s %-14s %-16s %-14s %-8s %-12s %8s %8s %8s\n", "SERVICE", "SERVER", "IP",
           "CHECK", "HEALTH", "LAST", "AGO(ms)", "OK", "FAILED");
    cJSON_ArrayForEach(e, r) {
        char check[24];
        if (cJSON_GetObjectItemCaseSensitive(e, "port") != NULL)
            snprintf(check, sizeof(check), "%s:%.0f", str(e, "check"), num(e, "port"));
        else
            snprintf(check, sizeof(check), "%s", str(e, "check"));
        printf("%-20s %-14s %-16s %-14s %-8s %-12s %8.0f %8.0f %8.0f\n", str(e, "vs"),
               str(e, "rs"), str(e, "ip"), check, str(e, "health"), str(e, "last_result"),
               num(e, "last_check_ms_ago"), num(e, "checks_ok"), num(e, "checks_failed"));
    }
}

/* Last and largest of a history series over its samples ("-" when none is known). */
static void history_cell(const cJSON *svc, const char *name, char *buf, size_t len)
{
    const cJSON *v, *last = NULL;
    double peak = -1;

    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(svc, name)) {
        last = v;
        if (cJSON_IsNumber(v) && v->valuedouble > peak)
            peak = v->valuedouble;
    }
    if (peak < 0)
        snprintf(buf, len, "-");
    else if (cJSON_IsNumber(last))
        snprintf(buf, len, "%.6g/%.6g", last->valuedouble, peak);
    else
        snprintf(buf, len, "-/%.6g", peak);
}

static void print_history(const cJSON *r)
{
    static const char *const series[] = {"active_conns", "conns_per_s", "requests_per_s",
                                         "bytes_in_per_s", "bytes_out_per_s"};
    const cJSON *svc;

    printf("one sample every %.0f s, %.0f kept; each column: last/largest\n",
           num(r, "interval_s"), num(r, "capacity"));
    printf("%-20s %7s %14s %14s %14s %16s %16s\n", "SERVICE", "SAMPLES", "ACTIVE", "CONNS/S",
           "REQUESTS/S", "BYTES_IN/S", "BYTES_OUT/S");
    cJSON_ArrayForEach(svc, cJSON_GetObjectItemCaseSensitive(r, "services")) {
        char c[5][40];
        for (int k = 0; k < 5; k++)
            history_cell(svc, series[k], c[k], sizeof(c[k]));
        printf("%-20s %7.0f %14s %14s %14s %16s %16s\n", str(svc, "label"),
               num(svc, "samples"), c[0], c[1], c[2], c[3], c[4]);
    }
}

static void print_persist(const cJSON *r)
{
    const cJSON *e;

    printf("%-20s %-16s %-18s %10s %6s\n", "SERVICE", "CLIENT", "REAL SERVER", "EXPIRES", "CONNS");
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, "entries"))
        printf("%-20s %-16s %-18s %9.0fs %6.0f\n", str(e, "vs"), str(e, "client"), str(e, "rs"),
               num(e, "expires_in_s"), num(e, "conns"));
    printf("%.0f entr%s%s\n", num(r, "total"), num(r, "total") == 1 ? "y" : "ies",
           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "truncated")) ? " (list truncated)"
                                                                           : "");
}

static void print_flushed(const cJSON *r)
{
    printf("flushed %.0f entries\n", num(r, "flushed"));
}

static void print_pretty(const cJSON *r)
{
    char *s = cJSON_Print(r);
    if (s != NULL) {
        puts(s);
        cJSON_free(s);
    }
}

static int transact(int fd, const char *req, void (*printer)(const cJSON *))
{
    char *line;
    int rc;

    if (!send_all(fd, req, strlen(req))) {
        fprintf(stderr, "lbctl: send failed: %s\n", strerror(errno));
        return EXIT_NO_DAEMON;
    }
    line = read_line(fd);
    if (line == NULL)
        return EXIT_NO_DAEMON;
    rc = show_reply(line, printer);
    free(line);
    return rc;
}

/* raw: sends lines as they are (from the argument, or each stdin line with "-"). */
static int cmd_raw(int fd, const char *arg)
{
    int worst = 0;
    char *in = NULL;
    size_t cap = 0;
    ssize_t n;

    if (strcmp(arg, "-") != 0) {
        size_t len = strlen(arg);
        char *req = malloc(len + 2);
        int rc;
        if (req == NULL)
            return EXIT_ERR_REPLY;
        memcpy(req, arg, len);
        req[len] = '\n';
        req[len + 1] = '\0';
        rc = transact(fd, req, NULL);
        free(req);
        return rc;
    }
    while ((n = getline(&in, &cap, stdin)) >= 0) {
        int rc;
        if (n == 0 || (n == 1 && in[0] == '\n'))
            continue;
        if (in[n - 1] != '\n') {
            char *grown = realloc(in, (size_t)n + 2);
            if (grown == NULL)
                break;
            in = grown;
            in[n] = '\n';
            in[n + 1] = '\0';
        }
        rc = transact(fd, in, NULL);
        if (rc == EXIT_NO_DAEMON) {
            worst = rc;
            break;
        }
        if (rc > worst)
            worst = rc;
    }
    free(in);
    return worst;
}

/* A JSON argument: inline text, or @FILE. NULL (and a message) when it is not JSON. */
static cJSON *load_json_arg(const char *arg)
{
    cJSON *j;

    if (arg[0] == '@') {
        FILE *f = fopen(arg + 1, "r");
        char *text = NULL;
        size_t cap = 0;
        ssize_t n;
        if (f == NULL) {
            fprintf(stderr, "lbctl: %s: %s\n", arg + 1, strerror(errno));
            return NULL;
        }
        n = getdelim(&text, &cap, '\0', f);
        fclose(f);
        j = n > 0 ? cJSON_Parse(text) : NULL;
        free(text);
    } else {
        j = cJSON_Parse(arg);
    }
    if (j == NULL)
        fprintf(stderr, "lbctl: '%.60s' is not valid JSON\n", arg);
    return j;
}

/*
 * vs add JSON|@FILE, vs set LABEL k=v..., vs del LABEL,
 * rs add VS JSON|@FILE, rs set VS RS k=v..., rs del VS RS,
 * rs drain|halt|online VS RS, rs weight VS RS N.
 * A value is taken as JSON when it parses (numbers, null, true, objects), else as a string.
 */
static int build_edit(const char *noun, int argc, char **argv, cJSON **args, const char **api)
{
    static char name[16];
    bool is_rs = strcmp(noun, "rs") == 0;
    const char *verb = argv[0];
    int need = is_rs ? 3 : 2, i;
    cJSON *a;

    if (is_rs && (strcmp(verb, "drain") == 0 || strcmp(verb, "halt") == 0 ||
                  strcmp(verb, "online") == 0 || strcmp(verb, "weight") == 0)) {
        need = strcmp(verb, "weight") == 0 ? 4 : 3;
        if (argc != need)
            goto usage;
        a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "vs", argv[1]);
        cJSON_AddStringToObject(a, "rs", argv[2]);
        if (strcmp(verb, "weight") == 0)
            cJSON_AddNumberToObject(a, "weight", atof(argv[3]));
        else
            cJSON_AddStringToObject(a, "state", verb);
        snprintf(name, sizeof(name), "rs.set");
        *api = name;
        *args = a;
        return 0;
    }
    if (argc < need || (strcmp(verb, "add") != 0 && strcmp(verb, "set") != 0 &&
                        strcmp(verb, "del") != 0))
        goto usage;
    if (strcmp(verb, "set") != 0 && argc != need)
        goto usage;
    a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "vs", argv[1]);
    if (strcmp(verb, "add") == 0) {
        cJSON *obj = load_json_arg(argv[need - 1]);
        if (obj == NULL) {
            cJSON_Delete(a);
            return EXIT_USAGE;
        }
        if (is_rs) {
            cJSON_AddItemToObject(a, "rs", obj);
        } else {
            cJSON_DeleteItemFromObject(a, "vs");
            cJSON_AddItemToObject(a, "vs", obj);
        }
    } else if (is_rs) {
        cJSON_AddStringToObject(a, "rs", argv[2]);
    }
    for (i = need; strcmp(verb, "set") == 0 && i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        cJSON *v;
        if (eq == NULL || eq == argv[i]) {
            fprintf(stderr, "lbctl: '%s' is not FIELD=VALUE\n", argv[i]);
            cJSON_Delete(a);
            return EXIT_USAGE;
        }
        *eq = '\0';
        v = cJSON_Parse(eq + 1);
        if (v == NULL)
            v = cJSON_CreateString(eq + 1);
        cJSON_AddItemToObject(a, argv[i], v);
    }
    snprintf(name, sizeof(name), "%s.%s", noun, verb);
    *api = name;
    *args = a;
    return 0;
usage:
    fprintf(stderr, "lbctl: usage: %s\n",
            is_rs ? "rs add VS JSON|@FILE | rs set VS RS FIELD=VALUE... | rs del VS RS | "
                    "rs drain|halt|online VS RS | rs weight VS RS N"
                  : "vs add JSON|@FILE | vs set VS FIELD=VALUE... | vs del VS");
    return EXIT_USAGE;
}

/* watch: the stats table, redrawn every secs seconds until interrupted. */
static int cmd_watch(const char *sock, int secs)
{
    char *req = api_request("stats", NULL);
    int rc = 0;

    if (req == NULL)
        return EXIT_ERR_REPLY;
    for (;;) {
        int fd = connect_socket(sock);
        if (fd < 0) {
            rc = EXIT_NO_DAEMON;
            break;
        }
        printf("\033[H\033[2J");
        rc = transact(fd, req, print_stats);
        close(fd);
        fflush(stdout);
        if (rc != 0)
            break;
        sleep((unsigned)secs);
    }
    free(req);
    return rc;
}

/*
 * logs: the last n traffic log lines; with follow, then every new line as it comes
 * (polled every 200 ms on one connection) until interrupted or the daemon goes.
 */
static int cmd_logs(const char *sock, int n, bool follow)
{
    int fd = connect_socket(sock), rc = 0;
    double next = -1;

    if (fd < 0)
        return EXIT_NO_DAEMON;
    for (;;) {
        cJSON *args = cJSON_CreateObject(), *reply;
        const cJSON *result, *lines, *l;
        char *req, *line;
        if (next < 0)
            cJSON_AddNumberToObject(args, "n", n);
        else
            cJSON_AddNumberToObject(args, "after", next);
        req = api_request("logs", args);
        cJSON_Delete(args);
        if (req == NULL || !send_all(fd, req, strlen(req))) {
            free(req);
            rc = EXIT_NO_DAEMON;
            break;
        }
        free(req);
        line = read_line(fd);
        if (line == NULL) {
            rc = EXIT_NO_DAEMON;
            break;
        }
        reply = cJSON_Parse(line);
        if (reply == NULL || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"))) {
            rc = show_reply(line, print_help);
            cJSON_Delete(reply);
            free(line);
            break;
        }
        result = cJSON_GetObjectItemCaseSensitive(reply, "result");
        if (json_out) {
            puts(line);
        } else {
            if (num(result, "missed") > 0)
                fprintf(stderr, "lbctl: %.0f lines missed (overwritten in the tail)\n",
                        num(result, "missed"));
            lines = cJSON_GetObjectItemCaseSensitive(result, "lines");
            cJSON_ArrayForEach(l, lines)
                if (cJSON_IsString(l))
                    puts(l->valuestring);
        }
        fflush(stdout);
        next = num(result, "next");
        lines = cJSON_GetObjectItemCaseSensitive(result, "lines");
        /* A full reply: more may be waiting, ask again at once. */
        bool full = cJSON_GetArraySize(lines) >= 500;
        cJSON_Delete(reply);
        free(line);
        if (!follow && !full)
            break;
        if (!full)
            usleep(200 * 1000);
    }
    close(fd);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: lbctl [-s SOCKET] [--json] [--timeout MS] COMMAND [ARGS]\n"
            "commands:\n"
            "  status             appliance, ports, HA state\n"
            "  stats [VS]         counters per service, worker and port; drops by reason\n"
            "  config get         the running configuration (JSON)\n"
            "  config apply FILE  validate and apply a whole config (nothing changes on error)\n"
            "  config save [PATH] write the running config to its file (or PATH, in the same\n"
            "                     directory) atomically\n"
            "  vs list            the virtual services and their real servers\n"
            "  vs add JSON|@FILE  vs set VS FIELD=VALUE...  vs del VS\n"
            "  rs add VS JSON|@FILE  rs set VS RS FIELD=VALUE...  rs del VS RS\n"
            "  rs drain|halt|online VS RS   rs weight VS RS N\n"
            "  watch [SECS]       the stats table, refreshed every SECS (default 1)\n"
            "  health [VS]        health of every real server: state, last check\n"
            "  history [VS]       the last hour per service: connections, requests, bytes\n"
            "  persist list|flush [VS|- [CLIENT]]  persistence entries\n"
            "  neigh              the neighbour (ARP) table\n"
            "  logs [-f] [N]      the last N (default 20) traffic log lines; -f: then follow\n"
            "  ha [promote|demote]  HA pair: state, peer, sync; take over or hand over\n"
            "  help               the commands the daemon knows\n"
            "  raw LINE|-         send LINE (or each stdin line) as-is, print each reply\n"
            "socket: -s, else $LBD_SOCKET, else %s\n"
            "exit: 0 ok, 1 error reply, 2 usage, 3 cannot reach lbd\n",
            API_DEFAULT_SOCKET);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *sock = getenv("LBD_SOCKET");
    const char *cmd;
    cJSON *args = NULL;
    char *req;
    int c, fd, rc;

    if (sock == NULL || sock[0] == '\0')
        sock = API_DEFAULT_SOCKET;
    while ((c = getopt_long(argc, argv, "+s:jt:h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': sock = optarg; break;
        case 'j': json_out = true; break;
        case 't': timeout_ms = atoi(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    cmd = argv[optind++];

    if (strcmp(cmd, "raw") == 0) {
        if (optind >= argc) {
            fprintf(stderr, "lbctl: raw needs a request line or -\n");
            return EXIT_USAGE;
        }
        fd = connect_socket(sock);
        if (fd < 0)
            return EXIT_NO_DAEMON;
        rc = cmd_raw(fd, argv[optind]);
        close(fd);
        return rc;
    }

    void (*printer)(const cJSON *) = NULL;
    const char *api = NULL;
    const char *sub = optind < argc ? argv[optind] : "";
    rc = 0;
    if (strcmp(cmd, "watch") == 0) {
        int secs = optind < argc ? atoi(argv[optind]) : 1;
        return cmd_watch(sock, secs > 0 ? secs : 1);
    }
    if (strcmp(cmd, "logs") == 0) {
        bool follow = false;
        int n = 20;
        for (; optind < argc; optind++) {
            char *end;
            long v;
            if (strcmp(argv[optind], "-f") == 0 || strcmp(argv[optind], "--follow") == 0) {
                follow = true;
                continue;
            }
            v = strtol(argv[optind], &end, 10);
            if (*end != '\0' || end == argv[optind] || v < 0 || v > 500) {
                fprintf(stderr, "lbctl: logs [-f] [N]: N is 0..500\n");
                return EXIT_USAGE;
            }
            n = (int)v;
        }
        return cmd_logs(sock, n, follow);
    }
    if (strcmp(cmd, "status") == 0) {
        api = "status";
        printer = print_status;
    } else if (strcmp(cmd, "stats") == 0) {
        api = "stats";
        printer = print_stats;
        if (optind < argc) {
            args = cJSON_CreateObject();
            cJSON_AddStringToObject(args, "vs", argv[optind++]);
        }
    } else if (strcmp(cmd, "config") == 0 && strcmp(sub, "get") == 0) {
        optind++;
        api = "config.get";
        printer = print_pretty;
    } else if (strcmp(cmd, "config") == 0 && strcmp(sub, "apply") == 0 && optind + 1 < argc) {
        char at[PATH_MAX + 2];
        cJSON *c;
        snprintf(at, sizeof(at), "@%s", argv[optind + 1]);
        c = load_json_arg(at);
        optind += 2;
        if (c == NULL)
            return EXIT_USAGE;
        args = cJSON_CreateObject();
        cJSON_AddItemToObject(args, "config", c);
        api = "config.apply";
        printer = print_applied;
    } else if (strcmp(cmd, "config") == 0 && strcmp(sub, "save") == 0) {
        optind++;
        if (optind < argc) {
            args = cJSON_CreateObject();
            cJSON_AddStringToObject(args, "path", argv[optind++]);
        }
        api = "config.save";
        printer = print_saved;
    } else if (strcmp(cmd, "vs") == 0 && strcmp(sub, "list") == 0) {
        optind++;
        api = "vs.list";
        printer = print_vs_list;
    } else if ((strcmp(cmd, "vs") == 0 || strcmp(cmd, "rs") == 0) && sub[0] != '\0') {
        rc = build_edit(cmd, argc - optind, argv + optind, &args, &api);
        if (rc != 0)
            return rc;
        optind = argc;
        printer = print_applied;
    } else if (strcmp(cmd, "health") == 0) {
        api = "health.list";
        printer = print_health;
        if (optind < argc) {
            args = cJSON_CreateObject();
            cJSON_AddStringToObject(args, "vs", argv[optind++]);
        }
    } else if (strcmp(cmd, "history") == 0) {
        api = "history";
        printer = print_history;
        if (optind < argc) {
            args = cJSON_CreateObject();
            cJSON_AddStringToObject(args, "vs", argv[optind++]);
        }
    } else if (strcmp(cmd, "persist") == 0 &&
               (strcmp(sub, "list") == 0 || strcmp(sub, "flush") == 0)) {
        bool flush = strcmp(sub, "flush") == 0;
        optind++;
        args = cJSON_CreateObject();
        if (optind < argc && strcmp(argv[optind], "-") != 0)
            cJSON_AddStringToObject(args, "vs", argv[optind]);
        if (optind < argc)
            optind++;
        if (optind < argc)
            cJSON_AddStringToObject(args, "client", argv[optind++]);
        api = flush ? "persist.flush" : "persist.list";
        printer = flush ? print_flushed : print_persist;
    } else if (strcmp(cmd, "ha") == 0) {
        api = "ha.status";
        if (strcmp(sub, "promote") == 0 || strcmp(sub, "demote") == 0) {
            api = strcmp(sub, "promote") == 0 ? "ha.promote" : "ha.demote";
            optind++;
        } else if (strcmp(sub, "status") == 0) {
            optind++;
        }
        printer = print_ha;
    } else if (strcmp(cmd, "neigh") == 0) {
        api = "neigh.list";
        printer = print_neigh;
    } else if (strcmp(cmd, "help") == 0) {
        api = "help";
        printer = print_help;
    }
    if (api == NULL || optind < argc) {
        fprintf(stderr, "lbctl: unknown command or extra arguments: %s\n", cmd);
        usage(stderr);
        cJSON_Delete(args);
        return EXIT_USAGE;
    }
    req = api_request(api, args);
    cJSON_Delete(args);
    if (req == NULL)
        return EXIT_ERR_REPLY;
    fd = connect_socket(sock);
    if (fd < 0) {
        free(req);
        return EXIT_NO_DAEMON;
    }
    rc = transact(fd, req, printer);
    free(req);
    close(fd);
    return rc;
}
