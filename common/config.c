#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "err.h"

#define JPATH_MAX 160           /* longest field path in a message */
#define JSHOW_MAX 72            /* a string value as shown in a message */
#define CFG_FILE_MAX (16u << 20)
#define CFG_SOCKET_PATH_MAX 108 /* sizeof(sockaddr_un.sun_path) */

#define NAMES(a) (a), (sizeof(a) / sizeof((a)[0]))

/* Returns from the calling function when expr fails (negative). */
#define TRY(expr)                                                              \
    do {                                                                       \
        int try_rc_ = (expr);                                                  \
        if (try_rc_ < 0)                                                       \
            return try_rc_;                                                    \
    } while (0)

/* JSON names of the enums, indexed by value. */
static const char *const proto_names[] = {"tcp", "udp"};
static const char *const mode_names[] = {"tcp", "http"};
static const char *const facility_names[] = {"local0", "local1", "local2", "local3", "local4",
                                             "local5", "local6", "local7", "user", "daemon"};
static const char *const fwd_names[] = {"nat"};
static const char *const sched_names[] = {"wlc", "wrr", "sh", "maglev"};
static const char *const persist_names[] = {"none", "source_ip", "http_cookie"};
static const char *const check_names[] = {"none", "connect", "ping", "http"};
static const char *const state_names[] = {"online", "drain", "halt"};
static const char *const log_level_names[] = {"err", "warn", "info", "debug"};
static const char *const syn_proxy_names[] = {"flood", "off", "always"};
static const char *const cc_names[] = {"cubic", "newreno"};

/* ------------------------------------------------------------------------ */
/* Names                                                                    */
/* ------------------------------------------------------------------------ */

static const char *enum_name(const char *const *names, size_t n, unsigned v)
{
    return v < n ? names[v] : "?";
}

/* Index of name in names, or 0. */
static int name_index(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return (int)i;
    return 0;
}

const char *cfg_proto_name(enum cfg_proto p)
{
    return enum_name(NAMES(proto_names), p);
}

const char *cfg_sched_name(enum cfg_sched s)
{
    return enum_name(NAMES(sched_names), s);
}

const char *cfg_log_facility_name(enum cfg_log_facility f)
{
    return enum_name(NAMES(facility_names), f);
}

const char *cfg_persist_name(enum cfg_persist_type t)
{
    return enum_name(NAMES(persist_names), t);
}

const char *cfg_check_name(enum cfg_check_type t)
{
    return enum_name(NAMES(check_names), t);
}

const char *cfg_rs_state_name(enum cfg_rs_state s)
{
    return enum_name(NAMES(state_names), s);
}

/* ------------------------------------------------------------------------ */
/* Defaults                                                                 */
/* ------------------------------------------------------------------------ */

/* Fields are set one by one on zeroed memory so that padding and string tails stay
 * zero: two equal configs are then equal byte for byte, field by field. */
static void config_defaults(struct lbd_config *cfg)
{
    snprintf(cfg->appliance.name, sizeof(cfg->appliance.name), "lbd");
    snprintf(cfg->appliance.log_level, sizeof(cfg->appliance.log_level), "info");
    cfg->layer7.connect_timeout_ms = 4000;
    cfg->layer7.client_timeout_s = 1200;
    cfg->layer7.server_timeout_s = 1200;
    cfg->layer7.rcvbuf_init = CFG_RCVBUF_INIT;
    cfg->layer7.rcvbuf_max = CFG_RCVBUF_MAX_DEFAULT;
    cfg->layer7.sndbuf_init = CFG_SNDBUF_INIT;
    cfg->layer7.sndbuf_max = CFG_SNDBUF_MAX_DEFAULT;
    cfg->layer7.max_conns_per_worker = CFG_L7_MAX_CONNS_PER_WORKER;
    cfg->layer7.tso = true;
    cfg->layer4.tcp_handshake_timeout_s = CFG_L4_TCP_HANDSHAKE_TIMEOUT_S;
    cfg->layer4.tcp_established_timeout_s = CFG_L4_TCP_ESTABLISHED_TIMEOUT_S;
    cfg->layer4.tcp_closing_timeout_s = CFG_L4_TCP_CLOSING_TIMEOUT_S;
    cfg->layer4.udp_timeout_s = CFG_L4_UDP_TIMEOUT_S;
    cfg->layer4.max_conns_per_worker = CFG_L4_MAX_CONNS_PER_WORKER;
    cfg->ha.priority = 100;
    cfg->ha.advert_interval_ms = 1000;
    cfg->ha.preempt = true;
    cfg->ha.vrid = 1;
    cfg->ha.monitor_interval_ms = 1000;
    cfg->ha.monitor_fall = 3;
    cfg->management.address = htonl(INADDR_LOOPBACK);
    cfg->management.port = CFG_MGMT_PORT;
    cfg->management.max_clients = CFG_MGMT_MAX_CLIENTS;
    cfg->management.timeout_s = CFG_MGMT_TIMEOUT_S;
    cfg->logging.syslog = true;
    cfg->logging.facility = CFG_LOG_LOCAL0;
    snprintf(cfg->logging.syslog_socket, sizeof(cfg->logging.syslog_socket), "/dev/log");
}

static void vs_defaults(struct cfg_vs *v)
{
    v->persistence.timeout_s = 1200;
    snprintf(v->persistence.cookie, sizeof(v->persistence.cookie), "SERVERID");
    v->health_check.type = CFG_CHECK_CONNECT;
    v->health_check.interval_ms = 2000;
    v->health_check.timeout_ms = 1000;
    v->health_check.rise = 2;
    v->health_check.fall = 3;
    snprintf(v->health_check.http_path, sizeof(v->health_check.http_path), "/");
    v->health_check.http_expect = 200;
    v->max_header_bytes = CFG_HTTP_HEADER_BYTES_DEFAULT;
    v->http_request_timeout_ms = CFG_HTTP_REQUEST_TIMEOUT_MS_DEFAULT;
    v->x_forwarded_for = true;
}

static void rs_defaults(struct cfg_real_server *rs)
{
    rs->weight = 100;
}

/* ------------------------------------------------------------------------ */
/* Error messages and field paths                                           */
/* ------------------------------------------------------------------------ */

/* Where parse errors go. */
struct jctx {
    char *err;
    size_t errlen;
};

static int jfail(struct jctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills "<path>: <reason>" and returns LBD_EINVAL. */
static int jfail(struct jctx *c, const char *path, const char *fmt, ...)
{
    char reason[384];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    return lbd_err_set(c->err, c->errlen, LBD_EINVAL, "%s: %s", path, reason);
}

static int jnomem(struct jctx *c, const char *path)
{
    return lbd_err_set(c->err, c->errlen, LBD_ENOMEM, "%s: out of memory", path);
}

/* The path of member key of base: "base.key", or "key" at the root. */
static const char *jpath_key(char *buf, const char *base, const char *key)
{
    /* A path cut short only shortens a message; using the result keeps gcc quiet. */
    if (snprintf(buf, JPATH_MAX, "%s%s%s", base, base[0] != '\0' ? "." : "", key) < 0)
        buf[0] = '\0';
    return buf;
}

/* The path of element i of the array at base: "base[i]". */
static const char *jpath_idx(char *buf, const char *base, size_t i)
{
    if (snprintf(buf, JPATH_MAX, "%s[%zu]", base, i) < 0)
        buf[0] = '\0';
    return buf;
}

/*
 * s as shown in a message (buf holds JSHOW_MAX bytes): quotes, backslashes and control
 * characters escaped, cut with "..." when long, in double quotes when quoted is set.
 */
static const char *jshow(char *buf, const char *s, bool quoted)
{
    size_t o = 0;

    if (quoted)
        buf[o++] = '"';
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[8];
        size_t k;

        if (ch == '"' || ch == '\\')
            snprintf(esc, sizeof(esc), "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            snprintf(esc, sizeof(esc), "\\u%04x", ch);
        else
            snprintf(esc, sizeof(esc), "%c", ch);
        k = strlen(esc);
        if (o + k > JSHOW_MAX - 6) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(buf + o, esc, k);
        o += k;
    }
    if (quoted)
        buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/* A JSON number as shown in a message. */
static const char *jnum(char *buf, size_t len, double v)
{
    snprintf(buf, len, "%.15g", v);
    return buf;
}

/* An address, quoted as the JSON value it came from (the parsers accept canonical text only). */
static const char *jshow_ip(char *buf, uint32_t ip)
{
    char a[ADDR_STR_MAX];
    snprintf(buf, ADDR_STR_MAX + 2, "\"%s\"", addr_format_ipv4(ip, a));
    return buf;
}

static const char *jshow_prefix(char *buf, uint32_t ip, uint8_t len)
{
    char a[ADDR_PREFIX_STR_MAX];
    snprintf(buf, ADDR_PREFIX_STR_MAX + 2, "\"%s\"", addr_format_prefix(ip, len, a));
    return buf;
}

/* ------------------------------------------------------------------------ */
/* Value checks: one JSON value at a known path                              */
/* ------------------------------------------------------------------------ */

/* What a string field may hold. */
enum jstr_kind {
    JSTR_LABEL,     /* labels and names: letters, digits, '.', '_', '-' */
    JSTR_TOKEN,     /* HTTP token (cookie names) */
    JSTR_FILE,      /* file paths: no control characters */
    JSTR_TEXT,      /* free text (cipher lists): no control characters */
    JSTR_HTTP_PATH, /* "/..." without spaces or control characters */
};

static bool is_label_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-';
}

static bool is_token_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static bool is_control(char ch)
{
    return (unsigned char)ch < 0x20 || ch == 0x7f;
}

/* True for an address a host can have: not 0/8, loopback, multicast, reserved or broadcast. */
static bool is_host_addr(uint32_t ip_be)
{
    uint32_t first = ntohl(ip_be) >> 24;
    return first != 0 && first != 127 && first < 224;
}

/* A whole number lo..hi. */
static int jv_uint(struct jctx *c, const cJSON *it, const char *path, uint32_t lo, uint32_t hi,
                   uint32_t *out)
{
    char nb[32];
    double v;

    if (!cJSON_IsNumber(it))
        return jfail(c, path, "must be a number");
    v = it->valuedouble;
    /* Out-of-range first: the cast below is only defined for moderate values. */
    if (!(v >= -1e18 && v <= 1e18))
        return jfail(c, path, "%s is not in %u..%u", jnum(nb, sizeof(nb), v), lo, hi);
    if ((double)(long long)v != v)
        return jfail(c, path, "%s is not a whole number", jnum(nb, sizeof(nb), v));
    if (v < lo || v > hi)
        return jfail(c, path, "%s is not in %u..%u", jnum(nb, sizeof(nb), v), lo, hi);
    *out = (uint32_t)v;
    return 0;
}

/* A TCP/UDP port number 1..65535. */
static int jv_port(struct jctx *c, const cJSON *it, const char *path, uint16_t *out)
{
    char nb[32];
    double v;

    if (!cJSON_IsNumber(it))
        return jfail(c, path, "must be a number");
    v = it->valuedouble;
    if (!(v >= 1 && v <= 65535) || (double)(long)v != v)
        return jfail(c, path, "%s is not a port", jnum(nb, sizeof(nb), v));
    *out = (uint16_t)v;
    return 0;
}

static int jv_bool(struct jctx *c, const cJSON *it, const char *path, bool *out)
{
    if (!cJSON_IsBool(it))
        return jfail(c, path, "must be true or false");
    *out = cJSON_IsTrue(it);
    return 0;
}

/* A non-empty string of kind that fits in buf (cap bytes, zero-filled past the end). */
static int jv_str(struct jctx *c, const cJSON *it, const char *path, enum jstr_kind kind,
                  char *buf, size_t cap)
{
    char show[JSHOW_MAX];
    const char *s;
    size_t len;

    if (!cJSON_IsString(it))
        return jfail(c, path, "must be a string");
    s = it->valuestring;
    len = strlen(s);
    if (len == 0)
        return jfail(c, path, "must not be empty");
    if (len >= cap)
        return jfail(c, path, "%s is longer than %zu characters", jshow(show, s, true),
                     cap - 1);
    for (size_t i = 0; i < len; i++) {
        bool ok;
        switch (kind) {
        case JSTR_LABEL:
            ok = is_label_char(s[i]);
            break;
        case JSTR_TOKEN:
            ok = is_token_char(s[i]);
            break;
        case JSTR_HTTP_PATH:
            ok = !is_control(s[i]) && s[i] != ' ';
            break;
        default:
            ok = !is_control(s[i]);
            break;
        }
        if (ok)
            continue;
        switch (kind) {
        case JSTR_LABEL:
            return jfail(c, path, "%s may contain only letters, digits, '.', '_' and '-'",
                         jshow(show, s, true));
        case JSTR_TOKEN:
            return jfail(c, path, "%s is not a valid cookie name", jshow(show, s, true));
        case JSTR_HTTP_PATH:
            return jfail(c, path, "%s must not contain spaces or control characters",
                         jshow(show, s, true));
        default:
            return jfail(c, path, "%s must not contain control characters",
                         jshow(show, s, true));
        }
    }
    if (kind == JSTR_HTTP_PATH && s[0] != '/')
        return jfail(c, path, "%s does not start with '/'", jshow(show, s, true));
    memset(buf, 0, cap);
    memcpy(buf, s, len);
    return 0;
}

/* One of names (n of them); returns its index or LBD_EINVAL. */
static int jv_enum(struct jctx *c, const cJSON *it, const char *path, const char *const *names,
                   size_t n)
{
    char show[JSHOW_MAX], list[128] = "";
    size_t used = 0;

    if (!cJSON_IsString(it))
        return jfail(c, path, "must be a string");
    for (size_t i = 0; i < n; i++)
        if (strcmp(it->valuestring, names[i]) == 0)
            return (int)i;
    for (size_t i = 0; i < n && used < sizeof(list); i++)
        used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i > 0 ? ", " : "",
                                 names[i]);
    return jfail(c, path, "%s is not one of %s", jshow(show, it->valuestring, true), list);
}

/* A host address in strict dotted-quad form. */
static int jv_host(struct jctx *c, const cJSON *it, const char *path, uint32_t *out)
{
    char show[JSHOW_MAX];
    uint32_t ip;

    if (!cJSON_IsString(it))
        return jfail(c, path, "must be a string");
    if (addr_parse_ipv4(it->valuestring, &ip) < 0)
        return jfail(c, path, "%s is not an IPv4 address", jshow(show, it->valuestring, true));
    if (!is_host_addr(ip))
        return jfail(c, path, "%s is not a unicast host address",
                     jshow(show, it->valuestring, true));
    *out = ip;
    return 0;
}

static int jv_prefix(struct jctx *c, const cJSON *it, const char *path, uint32_t *ip,
                     uint8_t *len)
{
    char show[JSHOW_MAX];

    if (!cJSON_IsString(it))
        return jfail(c, path, "must be a string");
    if (addr_parse_prefix(it->valuestring, ip, len) < 0)
        return jfail(c, path, "%s is not an IPv4 prefix", jshow(show, it->valuestring, true));
    return 0;
}

static int jv_object(struct jctx *c, const cJSON *it, const char *path)
{
    return cJSON_IsObject(it) ? 0 : jfail(c, path, "must be an object");
}

/*
 * Every member of obj (NULL: none) is one of keys (NULL-terminated) and appears once:
 * typos are errors, not silently ignored settings.
 */
static int jcheck_keys(struct jctx *c, const cJSON *obj, const char *base,
                       const char *const *keys)
{
    for (const cJSON *m = obj != NULL ? obj->child : NULL; m != NULL; m = m->next) {
        char path[JPATH_MAX], show[JSHOW_MAX];
        const char *const *k = keys;

        while (*k != NULL && strcmp(*k, m->string) != 0)
            k++;
        jpath_key(path, base, jshow(show, m->string, false));
        if (*k == NULL)
            return jfail(c, path, "unknown field");
        for (const cJSON *p = obj->child; p != m; p = p->next)
            if (strcmp(p->string, m->string) == 0)
                return jfail(c, path, "given twice");
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Field getters: look a member up, apply its default when absent            */
/* ------------------------------------------------------------------------ */

enum {
    J_REQUIRED = 1 << 0, /* absent is an error */
    J_NULLABLE = 1 << 1, /* null is accepted and means "none" (zero) */
    J_NONEMPTY = 1 << 2, /* arrays: at least one element */
};

/*
 * Looks key up in obj (NULL: an absent section). Returns 1 with *it set when there is a
 * value to check, 0 when absent (or null on a J_NULLABLE field: the default, which is
 * zero for every nullable field, stays), LBD_EINVAL when a required field is absent.
 */
static int jfield(struct jctx *c, const cJSON *obj, const char *base, const char *key,
                  int flags, char *path, const cJSON **it)
{
    jpath_key(path, base, key);
    *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (*it == NULL)
        return (flags & J_REQUIRED) ? jfail(c, path, "required") : 0;
    if ((flags & J_NULLABLE) && cJSON_IsNull(*it))
        return 0;
    return 1;
}

static int jget_uint(struct jctx *c, const cJSON *obj, const char *base, const char *key,
                     int flags, uint32_t lo, uint32_t hi, uint32_t *out)
{
    char path[JPATH_MAX];
    const cJSON *it;
    int rc = jfield(c, obj, base, key, flags, path, &it);

    if (rc <= 0) {
        if (rc == 0 && it != NULL)
            *out = 0;
        return rc;
    }
    return jv_uint(c, it, path, lo, hi, out);
}

static int jget_u16(struct jctx *c, const cJSON *obj, const char *base, const char *key,
                    int flags, uint32_t lo, uint32_t hi, uint16_t *out)
{
    uint32_t v = *out;
    TRY(jget_uint(c, obj, base, key, flags, lo, hi, &v));
    *out = (uint16_t)v;
    return 0;
}

static int jget_u8(struct jctx *c, const cJSON *obj, const char *base, const char *key,
                   int flags, uint32_t lo, uint32_t hi, uint8_t *out)
{
    uint32_t v = *out;
    TRY(jget_uint(c, obj, base, key, flags, lo, hi, &v));
    *out = (uint8_t)v;
    return 0;
}

/* A port; null (J_NULLABLE) is 0. */
static int jget_port(struct jctx *c, const cJSON *obj, const char *base, const char *key,
                     int flags, uint16_t *out)
{
    char path[JPATH_MAX];
    const cJSON *it;
    int rc = jfield(c, obj, base, key, flags, path, &it);

    if (rc <= 0) {
        if (rc == 0 && it != NULL)
            *out = 0;
        return rc;
    }
    return jv_port(c, it, path, out);
}

static int jget_bool(struct jctx *c, const cJSON *obj, const char *base, const char *key,
                     bool *out)
{
    char path[JPATH_MAX];
    const cJSON *it;
    int rc = jfield(c, obj, base, key, 0, path, &it);

    return rc <= 0 ? rc : jv_bool(c, it, path, out);
}

/* A string; null (J_NULLABLE) is "". */
static int jget_str(struct jctx *c, const cJSON *obj, const char *base, const char *key,
                    int flags, enum jstr_kind kind, char *buf, size_t cap)
{
    char path[JPATH_MAX];
    const cJSON *it;
    int rc = jfield(c, obj, base, key, flags, path, &it);

    if (rc <= 0) {
        if (rc == 0 && it != NULL)
            memset(buf, 0, cap);
        return rc;
    }
    return jv_str(c, it, path, kind, buf, cap);
}

/* One of names: returns its index, def when absent, or LBD_EINVAL. */
static int jget_enum(struct jctx *c, const cJSON *obj, const char *base, const char *key,
                     int flags, const char *const *names, size_t n, int def)
{
    char path[JPATH_MAX];
    const cJSON *it;
    int rc = jfield(c, obj, base, key, flags, path, &it);

    if (rc <= 0)
        return rc < 0 ? rc : def;
    return jv_enum(c, it, path, names, n);
}

/* A host address; null (J_NULLABLE) is 0. */
static int jget_host(struct jctx *c, const cJSON *obj, const char *base, const char *key,
                     int flags, uint32_t *out)
{
    char path[JPATH_MAX];
    const cJSON *it;
    int rc = jfield(c, obj, base, key, flags, path, &it);

    if (rc <= 0) {
        if (rc == 0 && it != NULL)
            *out = 0;
        return rc;
    }
    return jv_host(c, it, path, out);
}

static int jget_prefix(struct jctx *c, const cJSON *obj, const char *base, const char *key,
                       int flags, uint32_t *ip, uint8_t *len)
{
    char path[JPATH_MAX];
    const cJSON *it;
    int rc = jfield(c, obj, base, key, flags, path, &it);

    return rc <= 0 ? rc : jv_prefix(c, it, path, ip, len);
}

/* An optional object: *out is NULL when absent. */
static int jget_object(struct jctx *c, const cJSON *obj, const char *base, const char *key,
                       const cJSON **out)
{
    char path[JPATH_MAX];
    int rc = jfield(c, obj, base, key, 0, path, out);

    return rc <= 0 ? rc : jv_object(c, *out, path);
}

/* An array of at most max elements: *out is NULL and *n 0 when absent. */
static int jget_array(struct jctx *c, const cJSON *obj, const char *base, const char *key,
                      int flags, size_t max, const char *what, const cJSON **out, size_t *n)
{
    char path[JPATH_MAX];
    int rc = jfield(c, obj, base, key, flags, path, out);

    *n = 0;
    if (rc <= 0)
        return rc;
    if (!cJSON_IsArray(*out))
        return jfail(c, path, "must be an array");
    *n = (size_t)cJSON_GetArraySize(*out);
    if (*n == 0 && (flags & J_NONEMPTY))
        return jfail(c, path, "must not be empty");
    if (*n > max)
        return jfail(c, path, "more than %zu %s", max, what);
    return 0;
}

/* key, when present in obj, must be allowed: otherwise "<path>: only for <what>". */
static int jonly(struct jctx *c, const cJSON *obj, const char *base, const char *key,
                 bool allowed, const char *what)
{
    char path[JPATH_MAX];

    if (allowed || cJSON_GetObjectItemCaseSensitive(obj, key) == NULL)
        return 0;
    return jfail(c, jpath_key(path, base, key), "only for %s", what);
}

/* Zeroed storage for n elements of size bytes; NULL when n is 0 (and when out of memory). */
static void *jcalloc(size_t n, size_t size)
{
    return n > 0 ? calloc(n, size) : NULL;
}

/* ------------------------------------------------------------------------ */
/* Look-ups used by the cross-field checks                                   */
/* ------------------------------------------------------------------------ */

/* Index of the interface whose subnet holds ip, or -1. */
static long find_subnet(const struct lbd_config *cfg, uint32_t ip)
{
    for (size_t i = 0; i < cfg->n_interfaces; i++)
        if (addr_in_prefix(ip, cfg->interfaces[i].ip, cfg->interfaces[i].prefix_len))
            return (long)i;
    return -1;
}

/* Index of the interface whose self IP is ip, or -1. */
static long find_self_ip(const struct lbd_config *cfg, uint32_t ip)
{
    for (size_t i = 0; i < cfg->n_interfaces; i++)
        if (cfg->interfaces[i].ip == ip)
            return (long)i;
    return -1;
}

/* Index of the first of the first n services whose VIP is ip, or -1. */
static long find_vip(const struct lbd_config *cfg, size_t n, uint32_t ip)
{
    for (size_t i = 0; i < n; i++)
        if (cfg->virtual_services[i].ip == ip)
            return (long)i;
    return -1;
}

/* A next hop (gateway, route via, HA peer) is a neighbour on a connected subnet. */
static int check_neighbour(struct jctx *c, const struct lbd_config *cfg, const char *path,
                           uint32_t ip)
{
    char show[JSHOW_MAX];
    long i;

    if (find_subnet(cfg, ip) < 0)
        return jfail(c, path, "%s is not on a connected interface subnet", jshow_ip(show, ip));
    if ((i = find_self_ip(cfg, ip)) >= 0)
        return jfail(c, path, "%s is the self IP of interfaces[%ld]", jshow_ip(show, ip), i);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* appliance, interfaces, routing, layer7                                    */
/* ------------------------------------------------------------------------ */

static int parse_appliance(struct jctx *c, const cJSON *root, struct cfg_appliance *a)
{
    static const char *const keys[] = {"name", "api_socket", "idle_sleep_us", "log_level",
                                       "mbufs_per_worker", NULL};
    const char *p = "appliance";
    char path[JPATH_MAX], show[JSHOW_MAX];
    const cJSON *o;
    int lvl;

    TRY(jget_object(c, root, "", p, &o));
    TRY(jcheck_keys(c, o, p, keys));
    TRY(jget_str(c, o, p, "name", 0, JSTR_LABEL, a->name, sizeof(a->name)));
    TRY(jget_str(c, o, p, "api_socket", 0, JSTR_FILE, a->api_socket, sizeof(a->api_socket)));
    TRY(jget_uint(c, o, p, "idle_sleep_us", 0, 0, 1000000, &a->idle_sleep_us));
    TRY(jget_uint(c, o, p, "mbufs_per_worker", J_NULLABLE, CFG_MBUFS_PER_WORKER_MIN,
                  CFG_MBUFS_PER_WORKER_MAX, &a->mbufs_per_worker));
    TRY(lvl = jget_enum(c, o, p, "log_level", 0, NAMES(log_level_names),
                        name_index(NAMES(log_level_names), a->log_level)));
    memset(a->log_level, 0, sizeof(a->log_level));
    snprintf(a->log_level, sizeof(a->log_level), "%s", log_level_names[lvl]);

    if (a->api_socket[0] == '\0') {
        snprintf(a->api_socket, sizeof(a->api_socket), "/run/lbd/%s.sock", a->name);
        return 0;
    }
    jpath_key(path, p, "api_socket");
    if (a->api_socket[0] != '/')
        return jfail(c, path, "%s is not an absolute path", jshow(show, a->api_socket, true));
    if (strlen(a->api_socket) >= CFG_SOCKET_PATH_MAX)
        return jfail(c, path, "%s is longer than %d characters (a Unix socket path)",
                     jshow(show, a->api_socket, true), CFG_SOCKET_PATH_MAX - 1);
    return 0;
}

/* Rules that involve one interface and those before it. */
static int check_interface(struct jctx *c, const struct lbd_config *cfg, size_t i,
                           const char *p)
{
    const struct cfg_interface *ifc = &cfg->interfaces[i];
    uint32_t host_mask = ~addr_mask(ifc->prefix_len);
    uint32_t host = ifc->ip & host_mask;
    char path[JPATH_MAX], show[JSHOW_MAX], net[ADDR_PREFIX_STR_MAX];

    jpath_key(path, p, "ip");
    if (ifc->prefix_len == 0 || !is_host_addr(ifc->ip) ||
        (ifc->prefix_len <= 30 && (host == 0 || host == host_mask)))
        return jfail(c, path, "%s is not a host address on a subnet",
                     jshow_prefix(show, ifc->ip, ifc->prefix_len));
    for (size_t j = 0; j < i; j++) {
        const struct cfg_interface *o = &cfg->interfaces[j];
        uint8_t len = o->prefix_len < ifc->prefix_len ? o->prefix_len : ifc->prefix_len;
        if (o->port == ifc->port)
            return jfail(c, jpath_key(path, p, "port"), "%u is already used by interfaces[%zu]",
                         ifc->port, j);
        if (addr_in_prefix(ifc->ip, o->ip, len))
            return jfail(c, path, "%s overlaps interfaces[%zu] (%s)",
                         jshow_prefix(show, ifc->ip, ifc->prefix_len), j,
                         addr_format_prefix(o->ip & addr_mask(o->prefix_len), o->prefix_len,
                                            net));
    }

    if (ifc->gateway == 0)
        return 0;
    jpath_key(path, p, "gateway");
    if (!addr_in_prefix(ifc->gateway, ifc->ip, ifc->prefix_len))
        return jfail(c, path, "%s is not on the interface's subnet %s",
                     jshow_ip(show, ifc->gateway),
                     addr_format_prefix(ifc->ip & addr_mask(ifc->prefix_len), ifc->prefix_len,
                                        net));
    if (ifc->gateway == ifc->ip)
        return jfail(c, path, "%s is the interface's own address", jshow_ip(show, ifc->gateway));
    for (size_t j = 0; j < i; j++)
        if (cfg->interfaces[j].gateway != 0)
            return jfail(c, path, "interfaces[%zu] already has the default gateway", j);
    return 0;
}

static int parse_interfaces(struct jctx *c, const cJSON *root, struct lbd_config *cfg)
{
    static const char *const keys[] = {"port", "ip", "gateway", "queues", NULL};
    const cJSON *arr, *it;
    size_t n, i = 0;

    TRY(jget_array(c, root, "", "interfaces", J_REQUIRED | J_NONEMPTY, CFG_MAX_INTERFACES,
                   "interfaces", &arr, &n));
    cfg->interfaces = jcalloc(n, sizeof(*cfg->interfaces));
    if (n > 0 && cfg->interfaces == NULL)
        return jnomem(c, "interfaces");
    cfg->n_interfaces = n;
    cJSON_ArrayForEach(it, arr) {
        struct cfg_interface *ifc = &cfg->interfaces[i];
        char p[JPATH_MAX];

        jpath_idx(p, "interfaces", i);
        TRY(jv_object(c, it, p));
        TRY(jcheck_keys(c, it, p, keys));
        TRY(jget_u16(c, it, p, "port", J_REQUIRED, 0, UINT16_MAX, &ifc->port));
        TRY(jget_prefix(c, it, p, "ip", J_REQUIRED, &ifc->ip, &ifc->prefix_len));
        TRY(jget_host(c, it, p, "gateway", J_NULLABLE, &ifc->gateway));
        TRY(jget_u16(c, it, p, "queues", 0, 0, CFG_PORT_QUEUES_MAX, &ifc->queues));
        TRY(check_interface(c, cfg, i, p));
        i++;
    }
    return 0;
}

static int check_route(struct jctx *c, const struct lbd_config *cfg, size_t i, const char *p)
{
    const struct cfg_route *r = &cfg->routing.routes[i];
    uint32_t net = r->prefix & addr_mask(r->len);
    char path[JPATH_MAX], show[JSHOW_MAX], buf[ADDR_PREFIX_STR_MAX];

    jpath_key(path, p, "prefix");
    if (net != r->prefix)
        return jfail(c, path, "%s has host bits set (the network is %s)",
                     jshow_prefix(show, r->prefix, r->len), addr_format_prefix(net, r->len, buf));
    for (size_t j = 0; j < i; j++)
        if (cfg->routing.routes[j].prefix == r->prefix && cfg->routing.routes[j].len == r->len)
            return jfail(c, path, "%s is already routed by routing.routes[%zu]",
                         jshow_prefix(show, r->prefix, r->len), j);
    if (r->len == 0)
        for (size_t j = 0; j < cfg->n_interfaces; j++)
            if (cfg->interfaces[j].gateway != 0)
                return jfail(c, path, "%s is the default route, already given by "
                                      "interfaces[%zu].gateway",
                             jshow_prefix(show, r->prefix, r->len), j);
    return check_neighbour(c, cfg, jpath_key(path, p, "via"), r->via);
}

static int parse_routing(struct jctx *c, const cJSON *root, struct lbd_config *cfg)
{
    static const char *const keys[] = {"forward", "routes", NULL};
    static const char *const route_keys[] = {"prefix", "via", NULL};
    const char *p = "routing";
    const cJSON *o, *arr, *it;
    size_t n, i = 0;

    TRY(jget_object(c, root, "", p, &o));
    TRY(jcheck_keys(c, o, p, keys));
    TRY(jget_bool(c, o, p, "forward", &cfg->routing.forward));
    TRY(jget_array(c, o, p, "routes", 0, CFG_MAX_ROUTES, "routes", &arr, &n));
    cfg->routing.routes = jcalloc(n, sizeof(*cfg->routing.routes));
    if (n > 0 && cfg->routing.routes == NULL)
        return jnomem(c, "routing.routes");
    cfg->routing.n_routes = n;
    cJSON_ArrayForEach(it, arr) {
        struct cfg_route *r = &cfg->routing.routes[i];
        char rp[JPATH_MAX];

        jpath_idx(rp, "routing.routes", i);
        TRY(jv_object(c, it, rp));
        TRY(jcheck_keys(c, it, rp, route_keys));
        TRY(jget_prefix(c, it, rp, "prefix", J_REQUIRED, &r->prefix, &r->len));
        TRY(jget_host(c, it, rp, "via", J_REQUIRED, &r->via));
        TRY(check_route(c, cfg, i, rp));
        i++;
    }
    return 0;
}

static int parse_layer7(struct jctx *c, const cJSON *root, struct cfg_layer7 *l7)
{
    static const char *const keys[] = {"connect_timeout_ms", "client_timeout_s",
                                       "server_timeout_s", "congestion_control",
                                       "rcvbuf_init", "rcvbuf_max", "sndbuf_init",
                                       "sndbuf_max", "max_conns_per_worker",
                                       "max_time_wait_per_worker", "tso", NULL};
    const char *p = "layer7";
    const cJSON *o;
    int cc;

    TRY(jget_object(c, root, "", p, &o));
    TRY(jcheck_keys(c, o, p, keys));
    TRY(jget_uint(c, o, p, "connect_timeout_ms", 0, 1, 3600000, &l7->connect_timeout_ms));
    TRY(jget_uint(c, o, p, "client_timeout_s", 0, 1, 604800, &l7->client_timeout_s));
    TRY(jget_uint(c, o, p, "server_timeout_s", 0, 1, 604800, &l7->server_timeout_s));
    TRY(cc = jget_enum(c, o, p, "congestion_control", 0, NAMES(cc_names), CFG_CC_CUBIC));
    l7->congestion_control = (uint32_t)cc;
    TRY(jget_uint(c, o, p, "rcvbuf_init", 0, CFG_RCVBUF_LO, CFG_RCVBUF_HI, &l7->rcvbuf_init));
    TRY(jget_uint(c, o, p, "rcvbuf_max", 0, CFG_RCVBUF_LO, CFG_RCVBUF_HI, &l7->rcvbuf_max));
    if (l7->rcvbuf_init > l7->rcvbuf_max)
        return jfail(c, "layer7.rcvbuf_init", "%u is more than layer7.rcvbuf_max (%u)",
                     l7->rcvbuf_init, l7->rcvbuf_max);
    TRY(jget_uint(c, o, p, "sndbuf_init", 0, CFG_RCVBUF_LO, CFG_RCVBUF_HI, &l7->sndbuf_init));
    TRY(jget_uint(c, o, p, "sndbuf_max", 0, CFG_RCVBUF_LO, CFG_RCVBUF_HI, &l7->sndbuf_max));
    if (l7->sndbuf_init > l7->sndbuf_max)
        return jfail(c, "layer7.sndbuf_init", "%u is more than layer7.sndbuf_max (%u)",
                     l7->sndbuf_init, l7->sndbuf_max);
    TRY(jget_uint(c, o, p, "max_conns_per_worker", 0, 64, 4194304, &l7->max_conns_per_worker));
    TRY(jget_uint(c, o, p, "max_time_wait_per_worker", J_NULLABLE, 64, 16777216,
                  &l7->max_time_wait_per_worker));
    TRY(jget_bool(c, o, p, "tso", &l7->tso));
    return 0;
}

static int parse_layer4(struct jctx *c, const cJSON *root, struct cfg_layer4 *l4)
{
    static const char *const keys[] = {"tcp_handshake_timeout_s", "tcp_established_timeout_s",
                                       "tcp_closing_timeout_s", "udp_timeout_s",
                                       "max_conns_per_worker", "max_half_open_per_worker",
                                       "tcp_midstream", "syn_proxy", NULL};
    const char *p = "layer4";
    int e;
    const cJSON *o;

    TRY(jget_object(c, root, "", p, &o));
    TRY(jcheck_keys(c, o, p, keys));
    TRY(jget_uint(c, o, p, "tcp_handshake_timeout_s", 0, 1, 3600,
                  &l4->tcp_handshake_timeout_s));
    TRY(jget_uint(c, o, p, "tcp_established_timeout_s", 0, 1, 604800,
                  &l4->tcp_established_timeout_s));
    TRY(jget_uint(c, o, p, "tcp_closing_timeout_s", 0, 1, 3600, &l4->tcp_closing_timeout_s));
    TRY(jget_uint(c, o, p, "udp_timeout_s", 0, 1, 604800, &l4->udp_timeout_s));
    TRY(jget_uint(c, o, p, "max_conns_per_worker", 0, 1024, 16777216,
                  &l4->max_conns_per_worker));
    TRY(jget_uint(c, o, p, "max_half_open_per_worker", J_NULLABLE, 1, 16777216,
                  &l4->max_half_open_per_worker));
    TRY(jget_bool(c, o, p, "tcp_midstream", &l4->tcp_midstream));
    TRY(e = jget_enum(c, o, p, "syn_proxy", 0, NAMES(syn_proxy_names), CFG_SYN_PROXY_FLOOD));
    l4->syn_proxy = (enum cfg_syn_proxy)e;
    if (l4->max_half_open_per_worker >
        (l4->max_conns_per_worker != 0 ? l4->max_conns_per_worker : CFG_L4_MAX_CONNS_PER_WORKER))
        return jfail(c, "layer4.max_half_open_per_worker",
                     "%u is more than max_conns_per_worker", l4->max_half_open_per_worker);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* virtual_services                                                         */
/* ------------------------------------------------------------------------ */

static int cmp_port(const void *a, const void *b)
{
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* "ports": numbers and "lo-hi" strings, expanded, unique, sorted. */
static int parse_ports(struct jctx *c, const cJSON *vs, const char *vp, struct cfg_vs *v)
{
    uint8_t seen[65536 / 8] = {0};
    char p[JPATH_MAX], ep[JPATH_MAX], show[JSHOW_MAX];
    const cJSON *arr, *it;
    size_t n, i = 0;

    TRY(jget_array(c, vs, vp, "ports", J_REQUIRED | J_NONEMPTY, SIZE_MAX, "ports", &arr, &n));
    jpath_key(p, vp, "ports");
    v->n_ports = 0;
    cJSON_ArrayForEach(it, arr) {
        uint16_t lo, hi;

        jpath_idx(ep, p, i++);
        if (cJSON_IsNumber(it)) {
            TRY(jv_port(c, it, ep, &lo));
            hi = lo;
        } else if (cJSON_IsString(it)) {
            if (addr_parse_port_range(it->valuestring, &lo, &hi) < 0)
                return jfail(c, ep, "%s is not a port or a port range",
                             jshow(show, it->valuestring, true));
        } else {
            return jfail(c, ep, "must be a number or a \"lo-hi\" string");
        }
        for (uint32_t port = lo; port <= hi; port++) {
            if (seen[port / 8] & (1u << (port % 8)))
                return jfail(c, ep, "port %u is listed twice", port);
            if (v->n_ports == CFG_MAX_VS_PORTS)
                return jfail(c, p, "more than %d ports", CFG_MAX_VS_PORTS);
            seen[port / 8] |= (uint8_t)(1u << (port % 8));
            v->ports[v->n_ports++] = (uint16_t)port;
        }
    }
    qsort(v->ports, v->n_ports, sizeof(v->ports[0]), cmp_port);
    return 0;
}

static int parse_persistence(struct jctx *c, const cJSON *vs, const char *vp, struct cfg_vs *v)
{
    static const char *const keys[] = {"type", "timeout_s", "cookie", "max_idle_s",
                                       "max_life_s", NULL};
    struct cfg_persistence *ps = &v->persistence;
    char p[JPATH_MAX], path[JPATH_MAX];
    const cJSON *o;
    bool src, cookie;
    int t;

    TRY(jget_object(c, vs, vp, "persistence", &o));
    if (o == NULL)
        return 0;
    jpath_key(p, vp, "persistence");
    TRY(jcheck_keys(c, o, p, keys));
    TRY(t = jget_enum(c, o, p, "type", J_REQUIRED, NAMES(persist_names), 0));
    ps->type = (enum cfg_persist_type)t;
    src = ps->type == CFG_PERSIST_SOURCE_IP;
    cookie = ps->type == CFG_PERSIST_HTTP_COOKIE;
    if (cookie && !(v->layer == 7 && v->mode == CFG_MODE_HTTP))
        return jfail(c, jpath_key(path, p, "type"), "http_cookie needs layer 7 mode http");
    TRY(jonly(c, o, p, "timeout_s", src, "type source_ip"));
    TRY(jget_uint(c, o, p, "timeout_s", 0, 1, 604800, &ps->timeout_s));
    TRY(jonly(c, o, p, "cookie", cookie, "type http_cookie"));
    TRY(jget_str(c, o, p, "cookie", 0, JSTR_TOKEN, ps->cookie, sizeof(ps->cookie)));
    TRY(jonly(c, o, p, "max_idle_s", cookie, "type http_cookie"));
    TRY(jget_uint(c, o, p, "max_idle_s", J_NULLABLE, 0, UINT32_MAX, &ps->max_idle_s));
    TRY(jonly(c, o, p, "max_life_s", cookie, "type http_cookie"));
    TRY(jget_uint(c, o, p, "max_life_s", J_NULLABLE, 0, UINT32_MAX, &ps->max_life_s));
    return 0;
}

static int parse_health_check(struct jctx *c, const cJSON *vs, const char *vp,
                              struct cfg_vs *v)
{
    static const char *const keys[] = {"type", "port", "interval_ms", "timeout_ms", "rise",
                                       "fall", "http_path", "http_expect", NULL};
    static const char *const timing[] = {"interval_ms", "timeout_ms", "rise", "fall"};
    struct cfg_health_check *hc = &v->health_check;
    char p[JPATH_MAX], path[JPATH_MAX];
    const cJSON *o;
    bool probe, http;
    int t;

    TRY(jget_object(c, vs, vp, "health_check", &o));
    if (o == NULL)
        return 0;
    jpath_key(p, vp, "health_check");
    TRY(jcheck_keys(c, o, p, keys));
    TRY(t = jget_enum(c, o, p, "type", J_REQUIRED, NAMES(check_names), 0));
    hc->type = (enum cfg_check_type)t;
    http = hc->type == CFG_CHECK_HTTP;
    probe = hc->type != CFG_CHECK_NONE;
    TRY(jonly(c, o, p, "port", http || hc->type == CFG_CHECK_CONNECT,
              "types connect and http"));
    TRY(jget_port(c, o, p, "port", J_NULLABLE, &hc->port));
    for (size_t i = 0; i < sizeof(timing) / sizeof(timing[0]); i++)
        TRY(jonly(c, o, p, timing[i], probe, "types connect, ping and http"));
    TRY(jget_uint(c, o, p, "interval_ms", 0, 100, 3600000, &hc->interval_ms));
    TRY(jget_uint(c, o, p, "timeout_ms", 0, 10, 3600000, &hc->timeout_ms));
    TRY(jget_u16(c, o, p, "rise", 0, 1, 100, &hc->rise));
    TRY(jget_u16(c, o, p, "fall", 0, 1, 100, &hc->fall));
    TRY(jonly(c, o, p, "http_path", http, "type http"));
    TRY(jget_str(c, o, p, "http_path", 0, JSTR_HTTP_PATH, hc->http_path,
                 sizeof(hc->http_path)));
    TRY(jonly(c, o, p, "http_expect", http, "type http"));
    TRY(jget_u16(c, o, p, "http_expect", 0, 100, 599, &hc->http_expect));
    if (hc->timeout_ms > hc->interval_ms)
        return jfail(c, jpath_key(path, p, "timeout_ms"), "%u is more than interval_ms %u",
                     hc->timeout_ms, hc->interval_ms);
    return 0;
}

/* ---- tls (a service's, and a real server's "tls") ---------------------- */

static const char *const tls_version_names[] = {"1.0", "1.1", "1.2", "1.3"};

const char *cfg_tls_version_name(enum cfg_tls_version v)
{
    return enum_name(NAMES(tls_version_names), v);
}

/* One certificate's fields in o (at path p): "cert" (with "key") or "pfx", and
 * "pfx_password_file". The files are opened by control/tls_load.c. */
static int parse_tls_cert(struct jctx *c, const cJSON *o, const char *p, struct cfg_tls_cert *tc)
{
    char path[JPATH_MAX];

    TRY(jget_str(c, o, p, "cert", 0, JSTR_FILE, tc->cert, sizeof(tc->cert)));
    TRY(jget_str(c, o, p, "key", J_NULLABLE, JSTR_FILE, tc->key, sizeof(tc->key)));
    TRY(jget_str(c, o, p, "pfx", 0, JSTR_FILE, tc->pfx, sizeof(tc->pfx)));
    TRY(jget_str(c, o, p, "pfx_password_file", J_NULLABLE, JSTR_FILE, tc->pfx_password_file,
                 sizeof(tc->pfx_password_file)));
    if (tc->cert[0] == '\0' && tc->pfx[0] == '\0')
        return jfail(c, jpath_key(path, p, "cert"), "required (or pfx)");
    if (tc->cert[0] != '\0' && tc->pfx[0] != '\0')
        return jfail(c, jpath_key(path, p, "pfx"), "give either cert (PEM) or pfx, not both");
    if (tc->pfx[0] != '\0' && tc->key[0] != '\0')
        return jfail(c, jpath_key(path, p, "key"), "a PFX holds its key: only with cert");
    return 0;
}

static int parse_tls(struct jctx *c, const cJSON *vs, const char *vp, struct cfg_vs *v)
{
    static const char *const keys[] = {"cert", "key", "pfx", "pfx_password_file", "ciphers",
                                       "ciphersuites", "min_version", "sni_certs", NULL};
    static const char *const cert_keys[] = {"cert", "key", "pfx", "pfx_password_file", NULL};
    struct cfg_tls *tls = &v->tls;
    struct cfg_tls_cert def = {{0}};
    char p[JPATH_MAX];
    const cJSON *o, *arr, *it;
    size_t n, i = 0;
    int e;

    TRY(jonly(c, vs, vp, "tls", v->layer == 7, "layer 7 services"));
    TRY(jget_object(c, vs, vp, "tls", &o));
    if (o == NULL)
        return 0;
    jpath_key(p, vp, "tls");
    TRY(jcheck_keys(c, o, p, keys));
    TRY(parse_tls_cert(c, o, p, &def));
    memcpy(tls->cert, def.cert, sizeof(tls->cert));
    memcpy(tls->key, def.key, sizeof(tls->key));
    memcpy(tls->pfx, def.pfx, sizeof(tls->pfx));
    memcpy(tls->pfx_password_file, def.pfx_password_file, sizeof(tls->pfx_password_file));
    TRY(jget_str(c, o, p, "ciphers", J_NULLABLE, JSTR_TEXT, tls->ciphers,
                 sizeof(tls->ciphers)));
    TRY(jget_str(c, o, p, "ciphersuites", J_NULLABLE, JSTR_TEXT, tls->ciphersuites,
                 sizeof(tls->ciphersuites)));
    TRY(e = jget_enum(c, o, p, "min_version", 0, NAMES(tls_version_names), CFG_TLS_1_2));
    tls->min_version = (enum cfg_tls_version)e;
    TRY(jget_array(c, o, p, "sni_certs", 0, CFG_TLS_MAX_SNI, "SNI certificates", &arr, &n));
    tls->n_sni = n;
    if (n > 0) {
        char ap[JPATH_MAX];
        jpath_key(ap, p, "sni_certs");
        cJSON_ArrayForEach(it, arr) {
            char ip[JPATH_MAX];
            jpath_idx(ip, ap, i);
            TRY(jv_object(c, it, ip));
            TRY(jcheck_keys(c, it, ip, cert_keys));
            TRY(parse_tls_cert(c, it, ip, &tls->sni[i]));
            i++;
        }
    }
    tls->enabled = true;
    return 0;
}

/* A real server's "tls": false, true (encrypted, not verified) or
 * {"verify": bool, "ca": FILE, "sni": NAME}. */
static int parse_rs_tls(struct jctx *c, const cJSON *it, const char *rp, const struct cfg_vs *v,
                        struct cfg_real_server *rs)
{
    static const char *const keys[] = {"verify", "ca", "sni", NULL};
    char path[JPATH_MAX], fp[JPATH_MAX];
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(it, "tls");

    if (o == NULL)
        return 0;
    if (!cJSON_IsObject(o)) {
        TRY(jget_bool(c, it, rp, "tls", &rs->tls));
    } else {
        jpath_key(path, rp, "tls");
        TRY(jcheck_keys(c, o, path, keys));
        TRY(jget_bool(c, o, path, "verify", &rs->tls_verify));
        TRY(jget_str(c, o, path, "ca", J_NULLABLE, JSTR_FILE, rs->tls_ca, sizeof(rs->tls_ca)));
        TRY(jget_str(c, o, path, "sni", J_NULLABLE, JSTR_LABEL, rs->tls_sni,
                     sizeof(rs->tls_sni)));
        if (rs->tls_ca[0] != '\0' && !rs->tls_verify)
            return jfail(c, jpath_key(fp, path, "ca"), "only with \"verify\": true");
        rs->tls = true;
    }
    if (rs->tls && v->layer != 7)
        return jfail(c, jpath_key(path, rp, "tls"), "only for layer 7 services");
    return 0;
}

/* Rules that involve one real server and those before it in its service. */
static int check_rs(struct jctx *c, const struct cfg_vs *v, size_t i, const char *p)
{
    const struct cfg_real_server *rs = &v->real_servers[i];
    char path[JPATH_MAX], show[JSHOW_MAX], port[8];

    if (rs->max_conns != 0 && rs->min_conns > rs->max_conns)
        return jfail(c, jpath_key(path, p, "min_conns"), "%u is more than max_conns %u",
                     rs->min_conns, rs->max_conns);
    /* No field may be accepted and then ignored. A minimum has no single meaning
     * here: HAProxy's minconn grows a server's limit with the backend's load towards
     * fullconn and queues what is over it, LVS's lower threshold is a hysteresis
     * after max_conns; lbd has neither a fullconn nor a queue, so 0 only (what the
     * deployment guide uses). */
    if (rs->min_conns != 0)
        return jfail(c, jpath_key(path, p, "min_conns"),
                     "%u: not supported (only 0): lbd has no connection queue and no "
                     "service-wide load (fullconn) for a minimum to scale from; use "
                     "max_conns for a limit", rs->min_conns);
    for (size_t j = 0; j < i; j++) {
        const struct cfg_real_server *o = &v->real_servers[j];
        if (strcmp(o->label, rs->label) == 0)
            return jfail(c, jpath_key(path, p, "label"), "%s is already used by real_servers[%zu]",
                         jshow(show, rs->label, true), j);
        if (o->ip == rs->ip && o->port == rs->port) {
            if (rs->port != 0)
                snprintf(port, sizeof(port), "%u", rs->port);
            else
                snprintf(port, sizeof(port), "null");
            return jfail(c, jpath_key(path, p, "ip"),
                         "%s with port %s is already real_servers[%zu]",
                         jshow_ip(show, rs->ip), port, j);
        }
    }
    return 0;
}

static int parse_real_servers(struct jctx *c, const cJSON *vs, const char *vp, struct cfg_vs *v)
{
    static const char *const keys[] = {"label", "ip", "port", "weight", "min_conns",
                                       "max_conns", "state", "tls", NULL};
    char p[JPATH_MAX];
    const cJSON *arr, *it;
    size_t n, i = 0;
    int st;

    TRY(jget_array(c, vs, vp, "real_servers", 0, CFG_MAX_RS, "real servers", &arr, &n));
    jpath_key(p, vp, "real_servers");
    v->real_servers = jcalloc(n, sizeof(*v->real_servers));
    if (n > 0 && v->real_servers == NULL)
        return jnomem(c, p);
    v->n_real_servers = n;
    cJSON_ArrayForEach(it, arr) {
        struct cfg_real_server *rs = &v->real_servers[i];
        char rp[JPATH_MAX];

        jpath_idx(rp, p, i);
        rs_defaults(rs);
        TRY(jv_object(c, it, rp));
        TRY(jcheck_keys(c, it, rp, keys));
        TRY(jget_str(c, it, rp, "label", J_REQUIRED, JSTR_LABEL, rs->label, sizeof(rs->label)));
        TRY(jget_host(c, it, rp, "ip", J_REQUIRED, &rs->ip));
        TRY(jget_port(c, it, rp, "port", J_NULLABLE, &rs->port));
        TRY(jget_uint(c, it, rp, "weight", 0, 0, 65535, &rs->weight));
        TRY(jget_uint(c, it, rp, "min_conns", 0, 0, UINT32_MAX, &rs->min_conns));
        TRY(jget_uint(c, it, rp, "max_conns", 0, 0, UINT32_MAX, &rs->max_conns));
        TRY(st = jget_enum(c, it, rp, "state", 0, NAMES(state_names), CFG_RS_ONLINE));
        rs->state = (enum cfg_rs_state)st;
        TRY(parse_rs_tls(c, it, rp, v, rs));
        TRY(check_rs(c, v, i, rp));
        i++;
    }
    return 0;
}

/* Service rules against the interfaces and the services before it. */
static int check_vs(struct jctx *c, const struct lbd_config *cfg, size_t i, const char *p)
{
    const struct cfg_vs *v = &cfg->virtual_services[i];
    char path[JPATH_MAX], show[JSHOW_MAX];
    long k;

    if ((k = find_self_ip(cfg, v->ip)) >= 0)
        return jfail(c, jpath_key(path, p, "ip"), "%s is the self IP of interfaces[%ld]",
                     jshow_ip(show, v->ip), k);
    for (size_t j = 0; j < i; j++) {
        const struct cfg_vs *o = &cfg->virtual_services[j];
        size_t a = 0, b = 0;

        if (strcmp(o->label, v->label) == 0)
            return jfail(c, jpath_key(path, p, "label"),
                         "%s is already used by virtual_services[%zu]",
                         jshow(show, v->label, true), j);
        if (o->ip != v->ip || o->protocol != v->protocol)
            continue;
        /* Both port lists are sorted: walk them together. */
        while (a < v->n_ports && b < o->n_ports) {
            if (v->ports[a] < o->ports[b]) {
                a++;
            } else if (v->ports[a] > o->ports[b]) {
                b++;
            } else {
                char ip[ADDR_STR_MAX];
                return jfail(c, jpath_key(path, p, "ports"),
                             "%s %s port %u is already used by virtual_services[%zu]",
                             addr_format_ipv4(v->ip, ip), cfg_proto_name(v->protocol),
                             v->ports[a], j);
            }
        }
    }
    return 0;
}

static int parse_vs(struct jctx *c, const cJSON *it, const char *p, struct lbd_config *cfg,
                    size_t i)
{
    static const char *const keys[] = {"label", "ip", "ports", "protocol", "layer", "mode",
                                       "forwarding", "scheduler", "persistence",
                                       "health_check", "source_address", "tls",
                                       "max_header_bytes", "http_request_timeout_ms",
                                       "x_forwarded_for", "log", "real_servers", NULL};
    struct cfg_vs *v = &cfg->virtual_services[i];
    char path[JPATH_MAX], nb[32];
    const cJSON *layer;
    bool http;
    int e;

    vs_defaults(v);
    TRY(jv_object(c, it, p));
    TRY(jcheck_keys(c, it, p, keys));
    TRY(jget_str(c, it, p, "label", J_REQUIRED, JSTR_LABEL, v->label, sizeof(v->label)));
    TRY(jget_host(c, it, p, "ip", J_REQUIRED, &v->ip));
    TRY(parse_ports(c, it, p, v));
    TRY(e = jget_enum(c, it, p, "protocol", 0, NAMES(proto_names), CFG_PROTO_TCP));
    v->protocol = (enum cfg_proto)e;

    TRY(jfield(c, it, p, "layer", J_REQUIRED, path, &layer));
    if (!cJSON_IsNumber(layer))
        return jfail(c, path, "must be a number");
    if (layer->valuedouble != 4 && layer->valuedouble != 7)
        return jfail(c, path, "%s is not 4 or 7", jnum(nb, sizeof(nb), layer->valuedouble));
    v->layer = (uint8_t)layer->valuedouble;
    if (v->layer == 7 && v->protocol == CFG_PROTO_UDP)
        return jfail(c, jpath_key(path, p, "protocol"), "udp is only for layer 4 services");

    TRY(jonly(c, it, p, "mode", v->layer == 7, "layer 7 services"));
    TRY(e = jget_enum(c, it, p, "mode", 0, NAMES(mode_names), CFG_MODE_TCP));
    v->mode = (enum cfg_mode)e;
    TRY(jonly(c, it, p, "forwarding", v->layer == 4, "layer 4 services"));
    TRY(e = jget_enum(c, it, p, "forwarding", 0, NAMES(fwd_names), CFG_FWD_NAT));
    v->forwarding = (enum cfg_forwarding)e;
    TRY(e = jget_enum(c, it, p, "scheduler", 0, NAMES(sched_names), CFG_SCHED_WLC));
    v->scheduler = (enum cfg_sched)e;
    TRY(parse_persistence(c, it, p, v));
    TRY(parse_health_check(c, it, p, v));
    TRY(jonly(c, it, p, "source_address", v->layer == 7, "layer 7 services"));
    TRY(jget_host(c, it, p, "source_address", 0, &v->source_address));
    if (v->source_address == 0)
        v->source_address = v->ip;
    TRY(parse_tls(c, it, p, v));
    http = v->layer == 7 && v->mode == CFG_MODE_HTTP;
    TRY(jonly(c, it, p, "max_header_bytes", http, "layer 7 mode http services"));
    TRY(jget_uint(c, it, p, "max_header_bytes", 0, 1024, CFG_HTTP_HEADER_BYTES_MAX,
                  &v->max_header_bytes));
    TRY(jonly(c, it, p, "http_request_timeout_ms", http, "layer 7 mode http services"));
    TRY(jget_uint(c, it, p, "http_request_timeout_ms", 0, 100, 3600000,
                  &v->http_request_timeout_ms));
    TRY(jonly(c, it, p, "x_forwarded_for", http, "layer 7 mode http services"));
    TRY(jget_bool(c, it, p, "x_forwarded_for", &v->x_forwarded_for));
    v->log = v->layer == 7;
    TRY(jget_bool(c, it, p, "log", &v->log));
    TRY(parse_real_servers(c, it, p, v));
    return check_vs(c, cfg, i, p);
}

static int parse_virtual_services(struct jctx *c, const cJSON *root, struct lbd_config *cfg)
{
    const cJSON *arr, *it;
    size_t n, i = 0;

    TRY(jget_array(c, root, "", "virtual_services", 0, CFG_MAX_VS, "virtual services", &arr,
                   &n));
    cfg->virtual_services = jcalloc(n, sizeof(*cfg->virtual_services));
    if (n > 0 && cfg->virtual_services == NULL)
        return jnomem(c, "virtual_services");
    cfg->n_virtual_services = n;
    cJSON_ArrayForEach(it, arr) {
        char p[JPATH_MAX];
        TRY(parse_vs(c, it, jpath_idx(p, "virtual_services", i), cfg, i));
        i++;
    }

    /* A SNAT source must come back to this appliance: a self IP or a VIP. */
    for (i = 0; i < n; i++) {
        const struct cfg_vs *v = &cfg->virtual_services[i];
        char p[JPATH_MAX], path[JPATH_MAX], show[JSHOW_MAX];

        if (v->layer != 7 || find_self_ip(cfg, v->source_address) >= 0 ||
            find_vip(cfg, n, v->source_address) >= 0)
            continue;
        jpath_idx(p, "virtual_services", i);
        return jfail(c, jpath_key(path, p, "source_address"), "%s is neither a self IP nor a VIP",
                     jshow_ip(show, v->source_address));
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* ha and the whole config                                                  */
/* ------------------------------------------------------------------------ */

static int parse_ha(struct jctx *c, const cJSON *root, struct lbd_config *cfg)
{
    static const char *const keys[] = {"peer", "priority", "advert_interval_ms", "preempt",
                                       "auth_key_file", "vrid", "preempt_delay_ms",
                                       "floating_ips", "monitor", "monitor_interval_ms",
                                       "monitor_fall", NULL};
    struct cfg_ha *ha = &cfg->ha;
    const char *p = "ha";
    char path[JPATH_MAX], show[JSHOW_MAX];
    const cJSON *o, *arr, *it;
    size_t n, i = 0;
    long k;

    TRY(jget_object(c, root, "", p, &o));
    if (o == NULL)
        return 0;
    TRY(jcheck_keys(c, o, p, keys));
    TRY(jget_host(c, o, p, "peer", J_REQUIRED, &ha->peer));
    TRY(check_neighbour(c, cfg, jpath_key(path, p, "peer"), ha->peer));
    if ((k = find_vip(cfg, cfg->n_virtual_services, ha->peer)) >= 0)
        return jfail(c, path, "%s is the VIP of virtual_services[%ld]",
                     jshow_ip(show, ha->peer), k);
    TRY(jget_u8(c, o, p, "priority", 0, 1, 254, &ha->priority));
    TRY(jget_uint(c, o, p, "advert_interval_ms", 0, 10, 60000, &ha->advert_interval_ms));
    TRY(jget_bool(c, o, p, "preempt", &ha->preempt));
    TRY(jget_str(c, o, p, "auth_key_file", J_NULLABLE, JSTR_FILE, ha->auth_key_file,
                 sizeof(ha->auth_key_file)));
    TRY(jget_u8(c, o, p, "vrid", 0, 1, 255, &ha->vrid));
    TRY(jget_uint(c, o, p, "preempt_delay_ms", 0, 0, 3600000, &ha->preempt_delay_ms));
    TRY(jget_array(c, o, p, "floating_ips", 0, CFG_MAX_FLOATING_IPS, "floating addresses",
                   &arr, &n));
    ha->n_floating_ips = n;
    cJSON_ArrayForEach(it, arr) {
        char fp[JPATH_MAX];
        uint32_t ip;

        jpath_idx(fp, "ha.floating_ips", i);
        TRY(jv_host(c, it, fp, &ip));
        TRY(check_neighbour(c, cfg, fp, ip));
        if (ip == ha->peer)
            return jfail(c, fp, "%s is the peer", jshow_ip(show, ip));
        if ((k = find_vip(cfg, cfg->n_virtual_services, ip)) >= 0)
            return jfail(c, fp, "%s is the VIP of virtual_services[%ld]", jshow_ip(show, ip), k);
        for (size_t j = 0; j < i; j++)
            if (ha->floating_ips[j] == ip)
                return jfail(c, fp, "%s is listed twice", jshow_ip(show, ip));
        ha->floating_ips[i++] = ip;
    }
    TRY(jget_array(c, o, p, "monitor", 0, CFG_MAX_HA_MONITOR, "monitored addresses", &arr,
                   &n));
    ha->n_monitor = n;
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        char mp[JPATH_MAX];
        uint32_t ip;

        jpath_idx(mp, "ha.monitor", i);
        TRY(jv_host(c, it, mp, &ip));
        TRY(check_neighbour(c, cfg, mp, ip));
        if (ip == ha->peer)
            return jfail(c, mp, "%s is the peer (its adverts already tell whether it is there)",
                         jshow_ip(show, ip));
        if ((k = find_vip(cfg, cfg->n_virtual_services, ip)) >= 0)
            return jfail(c, mp, "%s is the VIP of virtual_services[%ld]", jshow_ip(show, ip), k);
        for (size_t j = 0; j < ha->n_floating_ips; j++)
            if (ha->floating_ips[j] == ip)
                return jfail(c, mp, "%s is a floating address (ours, not a neighbour's)",
                             jshow_ip(show, ip));
        for (size_t j = 0; j < i; j++)
            if (ha->monitor[j] == ip)
                return jfail(c, mp, "%s is listed twice", jshow_ip(show, ip));
        ha->monitor[i++] = ip;
    }
    TRY(jget_uint(c, o, p, "monitor_interval_ms", 0, 100, 60000, &ha->monitor_interval_ms));
    TRY(jget_u16(c, o, p, "monitor_fall", 0, 1, 100, &ha->monitor_fall));
    ha->enabled = true;
    return 0;
}

/*
 * The management server listens on a kernel socket: loopback, any host address, or
 * 0.0.0.0 (all of them), but never an address lbd's own ports own (a self IP or a VIP
 * is answered by the dataplane, the kernel never sees it).
 */
static int parse_management(struct jctx *c, const cJSON *root, struct lbd_config *cfg)
{
    static const char *const keys[] = {"address", "port", "max_clients", "timeout_s", "tls",
                                       "users_file", NULL};
    static const char *const tls_keys[] = {"cert", "key", NULL};
    struct cfg_management *m = &cfg->management;
    const char *p = "management";
    char path[JPATH_MAX], show[JSHOW_MAX];
    const cJSON *o, *it, *t;
    uint32_t first;
    long k;

    TRY(jget_object(c, root, "", p, &o));
    if (o == NULL)
        return 0;
    TRY(jcheck_keys(c, o, p, keys));
    jpath_key(path, p, "address");
    it = cJSON_GetObjectItemCaseSensitive(o, "address");
    if (it != NULL) {
        if (!cJSON_IsString(it))
            return jfail(c, path, "must be a string");
        if (addr_parse_ipv4(it->valuestring, &m->address) < 0)
            return jfail(c, path, "%s is not an IPv4 address",
                         jshow(show, it->valuestring, true));
        first = ntohl(m->address) >> 24;
        if (first >= 224 || (first == 0 && m->address != 0))
            return jfail(c, path, "%s is not a unicast host address (or 0.0.0.0)",
                         jshow(show, it->valuestring, true));
        if ((k = find_self_ip(cfg, m->address)) >= 0)
            return jfail(c, path, "%s is the self IP of interfaces[%ld] (a dataplane port: "
                                  "the management server listens on the host's own network)",
                         jshow_ip(show, m->address), k);
        if ((k = find_vip(cfg, cfg->n_virtual_services, m->address)) >= 0)
            return jfail(c, path, "%s is the VIP of virtual_services[%ld]",
                         jshow_ip(show, m->address), k);
    }
    TRY(jget_port(c, o, p, "port", 0, &m->port));
    TRY(jget_uint(c, o, p, "max_clients", 0, 1, 1024, &m->max_clients));
    TRY(jget_uint(c, o, p, "timeout_s", 0, 1, 3600, &m->timeout_s));
    TRY(jget_object(c, o, p, "tls", &t));
    if (t != NULL) {
        jpath_key(path, p, "tls");
        TRY(jcheck_keys(c, t, path, tls_keys));
        TRY(jget_str(c, t, path, "cert", J_REQUIRED, JSTR_FILE, m->tls_cert,
                     sizeof(m->tls_cert)));
        TRY(jget_str(c, t, path, "key", J_REQUIRED, JSTR_FILE, m->tls_key, sizeof(m->tls_key)));
        m->tls = true;
    }
    TRY(jget_str(c, o, p, "users_file", J_NULLABLE, JSTR_FILE, m->users_file,
                 sizeof(m->users_file)));
    if (m->users_file[0] != '\0' && !m->tls)
        return jfail(c, "management.users_file",
                     "needs management.tls (passwords are not sent in the clear)");
    m->enabled = true;
    return 0;
}

static int parse_logging(struct jctx *c, const cJSON *root, struct cfg_logging *l)
{
    static const char *const keys[] = {"syslog", "facility", "syslog_socket", NULL};
    const char *p = "logging";
    const cJSON *o;
    int e;

    TRY(jget_object(c, root, "", p, &o));
    if (o == NULL)
        return 0;
    TRY(jcheck_keys(c, o, p, keys));
    TRY(jget_bool(c, o, p, "syslog", &l->syslog));
    TRY(e = jget_enum(c, o, p, "facility", 0, NAMES(facility_names), CFG_LOG_LOCAL0));
    l->facility = (enum cfg_log_facility)e;
    TRY(jget_str(c, o, p, "syslog_socket", 0, JSTR_FILE, l->syslog_socket,
                 sizeof(l->syslog_socket)));
    if (l->syslog_socket[0] != '/' || strlen(l->syslog_socket) >= 108)
        return jfail(c, "logging.syslog_socket",
                     "must be an absolute path of at most 107 bytes (a Unix socket)");
    return 0;
}

static int parse_root(struct jctx *c, const cJSON *root, struct lbd_config *cfg)
{
    static const char *const keys[] = {"appliance", "interfaces", "routing", "layer7",
                                       "layer4", "virtual_services", "ha", "management",
                                       "logging", NULL};

    TRY(jcheck_keys(c, root, "", keys));
    TRY(parse_appliance(c, root, &cfg->appliance));
    TRY(parse_interfaces(c, root, cfg));
    TRY(parse_routing(c, root, cfg));
    TRY(parse_layer7(c, root, &cfg->layer7));
    TRY(parse_layer4(c, root, &cfg->layer4));
    TRY(parse_logging(c, root, &cfg->logging));
    TRY(parse_virtual_services(c, root, cfg));
    TRY(parse_ha(c, root, cfg));
    return parse_management(c, root, cfg);
}

int config_from_json(const cJSON *root, struct lbd_config **out, char *err, size_t errlen)
{
    struct jctx c = {err, errlen};
    struct lbd_config *cfg;
    int rc;

    if (out == NULL)
        return lbd_err_set(err, errlen, LBD_EINVAL, "config: no place for the result");
    if (!cJSON_IsObject(root))
        return lbd_err_set(err, errlen, LBD_EINVAL, "config: must be a JSON object");
    cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL)
        return lbd_err_set(err, errlen, LBD_ENOMEM, "config: out of memory");
    config_defaults(cfg);
    rc = parse_root(&c, root, cfg);
    if (rc < 0) {
        config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

/* 1-based line and column (in bytes) of pos in text. */
static void text_position(const char *text, const char *pos, unsigned *line, unsigned *col)
{
    const char *line_start = text;

    *line = 1;
    for (const char *s = text; s < pos && *s != '\0'; s++) {
        if (*s == '\n') {
            (*line)++;
            line_start = s + 1;
        }
    }
    *col = (unsigned)(pos - line_start) + 1;
}

int config_parse(const char *text, struct lbd_config **out, char *err, size_t errlen)
{
    const char *end = NULL;
    unsigned line, col;
    cJSON *root;
    int rc;

    if (text == NULL)
        return lbd_err_set(err, errlen, LBD_EINVAL, "config: no text");
    root = cJSON_ParseWithOpts(text, &end, 1);
    if (root == NULL) {
        if (end == NULL || end < text)
            end = text;
        text_position(text, end, &line, &col);
        return lbd_err_set(err, errlen, LBD_EINVAL, "JSON syntax error at line %u, column %u",
                           line, col);
    }
    rc = config_from_json(root, out, err, errlen);
    cJSON_Delete(root);
    return rc;
}

/* Reads a whole file (at most CFG_FILE_MAX bytes) into a NUL-terminated buffer. */
static int read_text_file(const char *path, char **text, char *err, size_t errlen)
{
    size_t len = 0, cap = 0;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    int rc = 0;

    if (f == NULL)
        return lbd_err_set(err, errlen, LBD_EIO, "%s", strerror(errno));
    for (;;) {
        size_t got;
        if (cap - len < 4096) {
            char *nb;
            cap = cap == 0 ? 65536 : cap * 2;
            if (cap > CFG_FILE_MAX + 1) {
                rc = lbd_err_set(err, errlen, LBD_E2BIG, "larger than %u bytes", CFG_FILE_MAX);
                break;
            }
            if ((nb = realloc(buf, cap)) == NULL) {
                rc = lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
                break;
            }
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                rc = lbd_err_set(err, errlen, LBD_EIO, "%s", strerror(errno));
            break;
        }
    }
    fclose(f);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        free(buf);
        return lbd_err_set(err, errlen, LBD_EINVAL, "contains a NUL byte");
    }
    *text = buf;
    return 0;
}

int config_load_file(const char *path, struct lbd_config **out, char *err, size_t errlen)
{
    char msg[1024];
    char *text = NULL;
    int rc;

    if (path == NULL)
        return lbd_err_set(err, errlen, LBD_EINVAL, "config: no file name");
    rc = read_text_file(path, &text, msg, sizeof(msg));
    if (rc == 0) {
        rc = config_parse(text, out, msg, sizeof(msg));
        free(text);
    }
    if (rc < 0)
        return lbd_err_set(err, errlen, rc, "%s: %s", path, msg);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Dump                                                                     */
/* ------------------------------------------------------------------------ */

/* Remembers whether any allocation failed while building the dump. */
struct jout {
    bool failed;
};

/* Adds item to parent (under key; appended when key is NULL); returns item or NULL. */
static cJSON *jo_add(struct jout *o, cJSON *parent, const char *key, cJSON *item)
{
    bool ok = parent != NULL && item != NULL &&
              (key != NULL ? cJSON_AddItemToObject(parent, key, item)
                           : cJSON_AddItemToArray(parent, item));
    if (!ok) {
        cJSON_Delete(item);
        o->failed = true;
        return NULL;
    }
    return item;
}

static void jo_num(struct jout *o, cJSON *parent, const char *key, double v)
{
    jo_add(o, parent, key, cJSON_CreateNumber(v));
}

/* A number, or null when 0 ("none"). */
static void jo_num_or_null(struct jout *o, cJSON *parent, const char *key, double v)
{
    jo_add(o, parent, key, v != 0 ? cJSON_CreateNumber(v) : cJSON_CreateNull());
}

static void jo_str(struct jout *o, cJSON *parent, const char *key, const char *s)
{
    jo_add(o, parent, key, cJSON_CreateString(s));
}

/* A string, or null when empty ("none"). */
static void jo_str_or_null(struct jout *o, cJSON *parent, const char *key, const char *s)
{
    jo_add(o, parent, key, s[0] != '\0' ? cJSON_CreateString(s) : cJSON_CreateNull());
}

static void jo_bool(struct jout *o, cJSON *parent, const char *key, bool v)
{
    jo_add(o, parent, key, cJSON_CreateBool(v));
}

/* An address, or null when 0 ("none"). */
static void jo_ip(struct jout *o, cJSON *parent, const char *key, uint32_t ip)
{
    char buf[ADDR_STR_MAX];
    jo_add(o, parent, key,
           ip != 0 ? cJSON_CreateString(addr_format_ipv4(ip, buf)) : cJSON_CreateNull());
}

static void dump_appliance(struct jout *o, cJSON *root, const struct cfg_appliance *a)
{
    cJSON *ao = jo_add(o, root, "appliance", cJSON_CreateObject());

    jo_str(o, ao, "name", a->name);
    jo_str(o, ao, "api_socket", a->api_socket);
    jo_num(o, ao, "idle_sleep_us", a->idle_sleep_us);
    jo_str(o, ao, "log_level", a->log_level);
    jo_num_or_null(o, ao, "mbufs_per_worker", a->mbufs_per_worker);
}

static void dump_network(struct jout *o, cJSON *root, const struct lbd_config *cfg)
{
    cJSON *ifs = jo_add(o, root, "interfaces", cJSON_CreateArray());
    cJSON *ro = jo_add(o, root, "routing", cJSON_CreateObject());
    cJSON *routes;
    char buf[ADDR_PREFIX_STR_MAX];

    for (size_t i = 0; i < cfg->n_interfaces; i++) {
        const struct cfg_interface *ifc = &cfg->interfaces[i];
        cJSON *io = jo_add(o, ifs, NULL, cJSON_CreateObject());
        jo_num(o, io, "port", ifc->port);
        jo_str(o, io, "ip", addr_format_prefix(ifc->ip, ifc->prefix_len, buf));
        jo_ip(o, io, "gateway", ifc->gateway);
        jo_num(o, io, "queues", ifc->queues);
    }
    jo_bool(o, ro, "forward", cfg->routing.forward);
    routes = jo_add(o, ro, "routes", cJSON_CreateArray());
    for (size_t i = 0; i < cfg->routing.n_routes; i++) {
        const struct cfg_route *r = &cfg->routing.routes[i];
        cJSON *rto = jo_add(o, routes, NULL, cJSON_CreateObject());
        jo_str(o, rto, "prefix", addr_format_prefix(r->prefix, r->len, buf));
        jo_ip(o, rto, "via", r->via);
    }
}

static void dump_persistence(struct jout *o, cJSON *vo, const struct cfg_persistence *ps)
{
    cJSON *po = jo_add(o, vo, "persistence", cJSON_CreateObject());

    jo_str(o, po, "type", cfg_persist_name(ps->type));
    if (ps->type == CFG_PERSIST_SOURCE_IP)
        jo_num(o, po, "timeout_s", ps->timeout_s);
    if (ps->type == CFG_PERSIST_HTTP_COOKIE) {
        jo_str(o, po, "cookie", ps->cookie);
        jo_num_or_null(o, po, "max_idle_s", ps->max_idle_s);
        jo_num_or_null(o, po, "max_life_s", ps->max_life_s);
    }
}

static void dump_health_check(struct jout *o, cJSON *vo, const struct cfg_health_check *hc)
{
    cJSON *ho = jo_add(o, vo, "health_check", cJSON_CreateObject());

    jo_str(o, ho, "type", cfg_check_name(hc->type));
    if (hc->type == CFG_CHECK_CONNECT || hc->type == CFG_CHECK_HTTP)
        jo_num_or_null(o, ho, "port", hc->port);
    if (hc->type != CFG_CHECK_NONE) {
        jo_num(o, ho, "interval_ms", hc->interval_ms);
        jo_num(o, ho, "timeout_ms", hc->timeout_ms);
        jo_num(o, ho, "rise", hc->rise);
        jo_num(o, ho, "fall", hc->fall);
    }
    if (hc->type == CFG_CHECK_HTTP) {
        jo_str(o, ho, "http_path", hc->http_path);
        jo_num(o, ho, "http_expect", hc->http_expect);
    }
}

static void dump_real_servers(struct jout *o, cJSON *vo, const struct cfg_vs *v)
{
    cJSON *arr = jo_add(o, vo, "real_servers", cJSON_CreateArray());

    for (size_t i = 0; i < v->n_real_servers; i++) {
        const struct cfg_real_server *rs = &v->real_servers[i];
        cJSON *ro = jo_add(o, arr, NULL, cJSON_CreateObject());
        jo_str(o, ro, "label", rs->label);
        jo_ip(o, ro, "ip", rs->ip);
        jo_num_or_null(o, ro, "port", rs->port);
        jo_num(o, ro, "weight", rs->weight);
        jo_num(o, ro, "min_conns", rs->min_conns);
        jo_num(o, ro, "max_conns", rs->max_conns);
        jo_str(o, ro, "state", cfg_rs_state_name(rs->state));
        if (v->layer == 7 && rs->tls_verify) {
            cJSON *to = jo_add(o, ro, "tls", cJSON_CreateObject());
            jo_bool(o, to, "verify", true);
            jo_str_or_null(o, to, "ca", rs->tls_ca);
            jo_str_or_null(o, to, "sni", rs->tls_sni);
        } else if (v->layer == 7 && rs->tls && rs->tls_sni[0] != '\0') {
            cJSON *to = jo_add(o, ro, "tls", cJSON_CreateObject());
            jo_bool(o, to, "verify", false);
            jo_str(o, to, "sni", rs->tls_sni);
        } else if (v->layer == 7) {
            jo_bool(o, ro, "tls", rs->tls);
        }
    }
}

static void dump_tls_cert(struct jout *o, cJSON *to, const struct cfg_tls_cert *tc)
{
    if (tc->pfx[0] != '\0') {
        jo_str(o, to, "pfx", tc->pfx);
    } else {
        jo_str(o, to, "cert", tc->cert);
        jo_str_or_null(o, to, "key", tc->key);
    }
    jo_str_or_null(o, to, "pfx_password_file", tc->pfx_password_file);
}

static void dump_tls(struct jout *o, cJSON *vo, const struct cfg_tls *t)
{
    cJSON *to = jo_add(o, vo, "tls", cJSON_CreateObject());
    struct cfg_tls_cert def = {{0}};

    memcpy(def.cert, t->cert, sizeof(def.cert));
    memcpy(def.key, t->key, sizeof(def.key));
    memcpy(def.pfx, t->pfx, sizeof(def.pfx));
    memcpy(def.pfx_password_file, t->pfx_password_file, sizeof(def.pfx_password_file));
    dump_tls_cert(o, to, &def);
    jo_str_or_null(o, to, "ciphers", t->ciphers);
    jo_str_or_null(o, to, "ciphersuites", t->ciphersuites);
    jo_str(o, to, "min_version", cfg_tls_version_name(t->min_version));
    if (t->n_sni > 0) {
        cJSON *arr = jo_add(o, to, "sni_certs", cJSON_CreateArray());
        for (size_t i = 0; i < t->n_sni; i++)
            dump_tls_cert(o, jo_add(o, arr, NULL, cJSON_CreateObject()), &t->sni[i]);
    }
}

static void dump_vs(struct jout *o, cJSON *arr, const struct cfg_vs *v)
{
    cJSON *vo = jo_add(o, arr, NULL, cJSON_CreateObject());
    cJSON *ports;

    jo_str(o, vo, "label", v->label);
    jo_ip(o, vo, "ip", v->ip);
    ports = jo_add(o, vo, "ports", cJSON_CreateArray());
    for (size_t i = 0; i < v->n_ports; i++)
        jo_num(o, ports, NULL, v->ports[i]);
    jo_str(o, vo, "protocol", cfg_proto_name(v->protocol));
    jo_num(o, vo, "layer", v->layer);
    if (v->layer == 7)
        jo_str(o, vo, "mode", enum_name(NAMES(mode_names), v->mode));
    else
        jo_str(o, vo, "forwarding", enum_name(NAMES(fwd_names), v->forwarding));
    jo_str(o, vo, "scheduler", cfg_sched_name(v->scheduler));
    dump_persistence(o, vo, &v->persistence);
    dump_health_check(o, vo, &v->health_check);
    if (v->layer == 7)
        jo_ip(o, vo, "source_address", v->source_address);
    if (v->layer == 7 && v->mode == CFG_MODE_HTTP) {
        jo_num(o, vo, "max_header_bytes", v->max_header_bytes);
        jo_num(o, vo, "http_request_timeout_ms", v->http_request_timeout_ms);
        jo_bool(o, vo, "x_forwarded_for", v->x_forwarded_for);
    }
    jo_bool(o, vo, "log", v->log);
    if (v->tls.enabled)
        dump_tls(o, vo, &v->tls);
    dump_real_servers(o, vo, v);
}

static void dump_ha(struct jout *o, cJSON *root, const struct cfg_ha *ha)
{
    cJSON *ho;

    if (!ha->enabled)
        return;
    ho = jo_add(o, root, "ha", cJSON_CreateObject());
    jo_ip(o, ho, "peer", ha->peer);
    jo_num(o, ho, "priority", ha->priority);
    jo_num(o, ho, "advert_interval_ms", ha->advert_interval_ms);
    jo_bool(o, ho, "preempt", ha->preempt);
    jo_str_or_null(o, ho, "auth_key_file", ha->auth_key_file);
    jo_num(o, ho, "vrid", ha->vrid);
    jo_num(o, ho, "preempt_delay_ms", ha->preempt_delay_ms);
    {
        cJSON *fa = jo_add(o, ho, "floating_ips", cJSON_CreateArray());
        for (size_t i = 0; i < ha->n_floating_ips; i++)
            jo_ip(o, fa, NULL, ha->floating_ips[i]);
    }
    {
        cJSON *ma = jo_add(o, ho, "monitor", cJSON_CreateArray());
        for (size_t i = 0; i < ha->n_monitor; i++)
            jo_ip(o, ma, NULL, ha->monitor[i]);
    }
    jo_num(o, ho, "monitor_interval_ms", ha->monitor_interval_ms);
    jo_num(o, ho, "monitor_fall", ha->monitor_fall);
}

static void dump_management(struct jout *o, cJSON *root, const struct cfg_management *m)
{
    char buf[ADDR_STR_MAX];
    cJSON *mo;

    if (!m->enabled)
        return;
    mo = jo_add(o, root, "management", cJSON_CreateObject());
    jo_str(o, mo, "address", addr_format_ipv4(m->address, buf));
    jo_num(o, mo, "port", m->port);
    jo_num(o, mo, "max_clients", m->max_clients);
    jo_num(o, mo, "timeout_s", m->timeout_s);
    if (m->tls) {
        cJSON *to = jo_add(o, mo, "tls", cJSON_CreateObject());
        jo_str(o, to, "cert", m->tls_cert);
        jo_str(o, to, "key", m->tls_key);
    }
    jo_str_or_null(o, mo, "users_file", m->users_file);
}

cJSON *config_to_json(const struct lbd_config *cfg)
{
    struct jout o = {false};
    cJSON *root, *l7, *l4, *vss;

    if (cfg == NULL || (root = cJSON_CreateObject()) == NULL)
        return NULL;
    dump_appliance(&o, root, &cfg->appliance);
    dump_network(&o, root, cfg);
    l7 = jo_add(&o, root, "layer7", cJSON_CreateObject());
    jo_num(&o, l7, "connect_timeout_ms", cfg->layer7.connect_timeout_ms);
    jo_num(&o, l7, "client_timeout_s", cfg->layer7.client_timeout_s);
    jo_num(&o, l7, "server_timeout_s", cfg->layer7.server_timeout_s);
    jo_str(&o, l7, "congestion_control", cc_names[cfg->layer7.congestion_control]);
    jo_num(&o, l7, "rcvbuf_init", cfg->layer7.rcvbuf_init);
    jo_num(&o, l7, "rcvbuf_max", cfg->layer7.rcvbuf_max);
    jo_num(&o, l7, "sndbuf_init", cfg->layer7.sndbuf_init);
    jo_num(&o, l7, "sndbuf_max", cfg->layer7.sndbuf_max);
    jo_num(&o, l7, "max_conns_per_worker", cfg->layer7.max_conns_per_worker);
    jo_num_or_null(&o, l7, "max_time_wait_per_worker", cfg->layer7.max_time_wait_per_worker);
    jo_add(&o, l7, "tso", cJSON_CreateBool(cfg->layer7.tso));
    l4 = jo_add(&o, root, "layer4", cJSON_CreateObject());
    jo_num(&o, l4, "tcp_handshake_timeout_s", cfg->layer4.tcp_handshake_timeout_s);
    jo_num(&o, l4, "tcp_established_timeout_s", cfg->layer4.tcp_established_timeout_s);
    jo_num(&o, l4, "tcp_closing_timeout_s", cfg->layer4.tcp_closing_timeout_s);
    jo_num(&o, l4, "udp_timeout_s", cfg->layer4.udp_timeout_s);
    jo_num(&o, l4, "max_conns_per_worker", cfg->layer4.max_conns_per_worker);
    jo_num_or_null(&o, l4, "max_half_open_per_worker", cfg->layer4.max_half_open_per_worker);
    jo_add(&o, l4, "tcp_midstream", cJSON_CreateBool(cfg->layer4.tcp_midstream));
    jo_str(&o, l4, "syn_proxy", enum_name(NAMES(syn_proxy_names), cfg->layer4.syn_proxy));
    vss = jo_add(&o, root, "virtual_services", cJSON_CreateArray());
    for (size_t i = 0; i < cfg->n_virtual_services; i++)
        dump_vs(&o, vss, &cfg->virtual_services[i]);
    dump_ha(&o, root, &cfg->ha);
    dump_management(&o, root, &cfg->management);
    {
        cJSON *lo = jo_add(&o, root, "logging", cJSON_CreateObject());
        jo_bool(&o, lo, "syslog", cfg->logging.syslog);
        jo_str(&o, lo, "facility", cfg_log_facility_name(cfg->logging.facility));
        jo_str(&o, lo, "syslog_socket", cfg->logging.syslog_socket);
    }
    if (o.failed) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* ------------------------------------------------------------------------ */
/* Ownership and look-ups                                                   */
/* ------------------------------------------------------------------------ */

void config_free(struct lbd_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->n_virtual_services && cfg->virtual_services != NULL; i++)
        free(cfg->virtual_services[i].real_servers);
    free(cfg->virtual_services);
    free(cfg->routing.routes);
    free(cfg->interfaces);
    free(cfg);
}

const struct cfg_vs *config_find_vs(const struct lbd_config *cfg, const char *label)
{
    if (cfg == NULL || label == NULL)
        return NULL;
    for (size_t i = 0; i < cfg->n_virtual_services; i++)
        if (strcmp(cfg->virtual_services[i].label, label) == 0)
            return &cfg->virtual_services[i];
    return NULL;
}
