#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "err.h"

/*
 * JSON in these tests is written with single quotes for readability; sq() turns them
 * into double quotes. A value that needs a real quote character is not used here.
 */
static char *sq(const char *s)
{
    char *d = strdup(s);
    cr_assert_not_null(d);
    for (char *p = d; *p != '\0'; p++)
        if (*p == '\'')
            *p = '"';
    return d;
}

static cJSON *parse_sq(const char *s)
{
    char *t = sq(s);
    cJSON *j = cJSON_Parse(t);
    cr_assert_not_null(j, "test JSON does not parse: %s", t);
    free(t);
    return j;
}

static uint32_t ip4(const char *s)
{
    uint32_t ip;
    cr_assert_eq(addr_parse_ipv4(s, &ip), 0, "%s", s);
    return ip;
}

/*
 * The base config of the error tests: valid, and every section is used.
 *   virtual_services[0] FePool: layer 7 TCP, multi-port, source IP persistence
 *   virtual_services[1] Web:    layer 7 HTTP, cookie, http check, TLS, re-encryption
 *   virtual_services[2] Stun:   layer 4 UDP, ping check, through the route
 */
static const char base_json[] =
    "{'appliance': {'name': 'lb1', 'api_socket': '/run/lbd/lb1.sock', 'idle_sleep_us': 0,"
    "               'log_level': 'info'},"
    " 'interfaces': [{'port': 0, 'ip': '192.168.112.5/24', 'gateway': '192.168.112.254'},"
    "                {'port': 1, 'ip': '10.0.0.5/24'}],"
    " 'routing': {'forward': true,"
    "             'routes': [{'prefix': '172.24.7.0/24', 'via': '192.168.112.254'}]},"
    " 'layer7': {'connect_timeout_ms': 4000, 'client_timeout_s': 1200,"
    "            'server_timeout_s': 1200},"
    " 'layer4': {'tcp_handshake_timeout_s': 30, 'tcp_established_timeout_s': 900,"
    "            'tcp_closing_timeout_s': 30, 'udp_timeout_s': 300,"
    "            'max_conns_per_worker': 262144},"
    " 'virtual_services': ["
    "  {'label': 'FePool', 'ip': '192.168.112.110', 'ports': [80, 443, '5070-5073'],"
    "   'protocol': 'tcp', 'layer': 7, 'mode': 'tcp', 'scheduler': 'wlc',"
    "   'persistence': {'type': 'source_ip', 'timeout_s': 1200},"
    "   'health_check': {'type': 'connect', 'port': 5061, 'interval_ms': 2000,"
    "                    'timeout_ms': 1000, 'rise': 2, 'fall': 3},"
    "   'source_address': '192.168.112.110',"
    "   'real_servers': ["
    "    {'label': 'FE1', 'ip': '192.168.112.51', 'port': null, 'weight': 100,"
    "     'min_conns': 0, 'max_conns': 0, 'state': 'online', 'tls': false},"
    "    {'label': 'FE2', 'ip': '192.168.112.52'}]},"
    "  {'label': 'Web', 'ip': '192.168.112.112', 'ports': [8080], 'layer': 7, 'mode': 'http',"
    "   'persistence': {'type': 'http_cookie', 'cookie': 'MS-WSMAN', 'max_idle_s': null,"
    "                   'max_life_s': null},"
    "   'health_check': {'type': 'http', 'port': 8080, 'http_path': '/health',"
    "                    'http_expect': 200},"
    "   'tls': {'cert': '/etc/lbd/certs/public.pfx',"
    "           'pfx_password_file': '/etc/lbd/certs/public.pass', 'ciphers': 'HIGH:!aNULL'},"
    "   'real_servers': [{'label': 'FE1', 'ip': '192.168.112.51', 'port': 4443, 'tls': true}]},"
    "  {'label': 'Stun', 'ip': '192.168.112.140', 'ports': [3478], 'protocol': 'udp',"
    "   'layer': 4, 'forwarding': 'nat', 'scheduler': 'sh',"
    "   'persistence': {'type': 'source_ip', 'timeout_s': 1200},"
    "   'health_check': {'type': 'ping'},"
    "   'real_servers': [{'label': 'Edge1', 'ip': '172.24.7.1', 'port': 3478},"
    "                    {'label': 'Edge2', 'ip': '172.24.7.2', 'port': 3478,"
    "                     'state': 'drain'}]}"
    " ],"
    " 'ha': {'peer': '192.168.112.6', 'priority': 150, 'advert_interval_ms': 1000,"
    "        'preempt': true, 'auth_key_file': '/etc/lbd/ha.key', 'vrid': 1}}";

/* The example of DESIGN.md section 5, verbatim. */
static const char design_json[] =
    "{\n"
    "  'appliance': {'name': 'lb1', 'api_socket': '/run/lbd/lb1.sock', 'idle_sleep_us': 0},\n"
    "  'interfaces': [{'port': 0, 'ip': '192.168.112.5/24', 'gateway': '192.168.112.254'}],\n"
    "  'routing': {'forward': true, 'routes': [{'prefix': '172.24.7.0/24', 'via': "
    "'192.168.112.254'}]},\n"
    "  'layer7': {'connect_timeout_ms': 4000, 'client_timeout_s': 1200, 'server_timeout_s': "
    "1200},\n"
    "  'virtual_services': [\n"
    "    {\n"
    "      'label': 'FePool',\n"
    "      'ip': '192.168.112.110',\n"
    "      'ports': [80, 135, 443, 444, 448, 5061, 5070, 5071, 5072, 5073, 5075, 5076, 5080],\n"
    "      'protocol': 'tcp',\n"
    "      'layer': 7,\n"
    "      'mode': 'tcp',\n"
    "      'scheduler': 'wlc',\n"
    "      'persistence': {'type': 'source_ip', 'timeout_s': 1200},\n"
    "      'health_check': {'type': 'connect', 'port': 5061, 'interval_ms': 2000,\n"
    "                       'timeout_ms': 1000, 'rise': 2, 'fall': 3},\n"
    "      'source_address': '192.168.112.110',\n"
    "      'real_servers': [\n"
    "        {'label': 'FE1', 'ip': '192.168.112.51', 'port': null, 'weight': 100,\n"
    "         'min_conns': 0, 'max_conns': 0}\n"
    "      ]\n"
    "    }\n"
    "  ],\n"
    "  'ha': {'peer': '192.168.112.6', 'priority': 150, 'advert_interval_ms': 1000,\n"
    "         'preempt': true, 'auth_key_file': '/etc/lbd/ha.key'}\n"
    "}\n";

/* ------------------------------------------------------------------------ */
/* Mutating the base config                                                 */
/* ------------------------------------------------------------------------ */

/* Applies one change at path ("virtual_services[0].ports[1]"); value NULL deletes. */
static void set_path(cJSON *root, const char *path, const char *value)
{
    cJSON *cur = root;
    const char *s = path;

    for (;;) {
        char key[64] = "";
        long idx = -1;
        cJSON *next;

        if (*s == '[') {
            char *e;
            idx = strtol(s + 1, &e, 10);
            cr_assert_eq(*e, ']', "bad path %s", path);
            s = e + 1;
        } else {
            size_t n = strcspn(s, ".[");
            cr_assert(n > 0 && n < sizeof(key), "bad path %s", path);
            memcpy(key, s, n);
            s += n;
        }
        if (*s == '.')
            s++;
        if (*s == '\0') {
            if (value == NULL) {
                if (idx >= 0)
                    cJSON_DeleteItemFromArray(cur, (int)idx);
                else
                    cJSON_DeleteItemFromObjectCaseSensitive(cur, key);
                return;
            }
            cJSON *v = parse_sq(value);
            if (idx >= 0) {
                if (idx < cJSON_GetArraySize(cur))
                    cJSON_ReplaceItemInArray(cur, (int)idx, v);
                else
                    cJSON_AddItemToArray(cur, v);
            } else if (cJSON_GetObjectItemCaseSensitive(cur, key) != NULL) {
                cJSON_ReplaceItemInObjectCaseSensitive(cur, key, v);
            } else {
                cJSON_AddItemToObject(cur, key, v);
            }
            return;
        }
        next = idx >= 0 ? cJSON_GetArrayItem(cur, (int)idx)
                        : cJSON_GetObjectItemCaseSensitive(cur, key);
        cr_assert_not_null(next, "%s is not in the base config", path);
        cur = next;
    }
}

struct change {
    const char *path;
    const char *value; /* JSON with single quotes; NULL deletes */
};

struct err_case {
    struct change set[3];
    const char *msg;
};

#define DEL NULL

/* Builds the base config with the changes applied and returns the load's result. */
static int load_changed(const struct change *set, size_t n, struct lbd_config **out, char *err,
                        size_t errlen)
{
    cJSON *root = parse_sq(base_json);
    int rc;

    for (size_t i = 0; i < n && set[i].path != NULL; i++)
        set_path(root, set[i].path, set[i].value);
    rc = config_from_json(root, out, err, errlen);
    cJSON_Delete(root);
    return rc;
}

/* Every case must fail with exactly its message and leave the output alone. */
static void run_cases(const struct err_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct lbd_config *sentinel = (struct lbd_config *)&cases[i];
        struct lbd_config *cfg = sentinel;
        char err[512] = "";
        int rc = load_changed(cases[i].set, 3, &cfg, err, sizeof(err));

        cr_expect_eq(rc, LBD_EINVAL, "case \"%s\": rc %d, err \"%s\"", cases[i].msg, rc, err);
        cr_expect_str_eq(err, cases[i].msg, "case %zu (%s = %s)\n  got:  %s\n  want: %s", i,
                         cases[i].set[0].path,
                         cases[i].set[0].value ? cases[i].set[0].value : "<deleted>", err,
                         cases[i].msg);
        cr_expect_eq(cfg, sentinel, "case \"%s\" touched *out", cases[i].msg);
        if (rc == 0 && cfg != sentinel)
            config_free(cfg);
    }
}

#define RUN(cases) run_cases((cases), sizeof(cases) / sizeof((cases)[0]))

/* Loads the base config with changes that must be accepted. */
static struct lbd_config *load_ok(const struct change *set, size_t n)
{
    struct lbd_config *cfg = NULL;
    char err[512] = "";

    cr_assert_eq(load_changed(set, n, &cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_not_null(cfg);
    return cfg;
}

/* ------------------------------------------------------------------------ */
/* Equality                                                                 */
/* ------------------------------------------------------------------------ */

static bool mem_eq(const void *a, const void *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

/* Field-by-field (the model has no padding garbage: it is built on zeroed memory). */
static void assert_cfg_eq(const struct lbd_config *a, const struct lbd_config *b)
{
    cr_assert(mem_eq(&a->appliance, &b->appliance, sizeof(a->appliance)), "appliance differs");
    cr_assert_eq(a->n_interfaces, b->n_interfaces);
    cr_assert(mem_eq(a->interfaces, b->interfaces, a->n_interfaces * sizeof(*a->interfaces)),
              "interfaces differ");
    cr_assert_eq(a->routing.forward, b->routing.forward);
    cr_assert_eq(a->routing.n_routes, b->routing.n_routes);
    cr_assert(mem_eq(a->routing.routes, b->routing.routes,
                     a->routing.n_routes * sizeof(*a->routing.routes)),
              "routes differ");
    cr_assert(mem_eq(&a->layer7, &b->layer7, sizeof(a->layer7)), "layer7 differs");
    cr_assert(mem_eq(&a->layer4, &b->layer4, sizeof(a->layer4)), "layer4 differs");
    cr_assert_eq(a->n_virtual_services, b->n_virtual_services);
    for (size_t i = 0; i < a->n_virtual_services; i++) {
        struct cfg_vs x, y;
        memcpy(&x, &a->virtual_services[i], sizeof(x));
        memcpy(&y, &b->virtual_services[i], sizeof(y));
        cr_assert_eq(x.n_real_servers, y.n_real_servers);
        cr_assert(mem_eq(x.real_servers, y.real_servers,
                         x.n_real_servers * sizeof(*x.real_servers)),
                  "virtual_services[%zu].real_servers differ", i);
        x.real_servers = y.real_servers = NULL;
        cr_assert(mem_eq(&x, &y, sizeof(x)), "virtual_services[%zu] differs", i);
    }
    cr_assert(mem_eq(&a->ha, &b->ha, sizeof(a->ha)), "ha differs");
    cr_assert(mem_eq(&a->management, &b->management, sizeof(a->management)),
              "management differs");
    cr_assert(mem_eq(&a->logging, &b->logging, sizeof(a->logging)), "logging differs");
}

static char *dump(const struct lbd_config *cfg)
{
    cJSON *j = config_to_json(cfg);
    char *s;

    cr_assert_not_null(j);
    s = cJSON_Print(j);
    cr_assert_not_null(s);
    cJSON_Delete(j);
    return s;
}

/* config_to_json -> config_from_json gives an equal config and the same dump. */
static void assert_round_trip(const struct lbd_config *cfg)
{
    struct lbd_config *back = NULL;
    cJSON *j = config_to_json(cfg);
    char err[512] = "";
    char *d1, *d2;

    cr_assert_not_null(j);
    cr_assert_eq(config_from_json(j, &back, err, sizeof(err)), 0, "%s", err);
    cJSON_Delete(j);
    assert_cfg_eq(cfg, back);
    d1 = dump(cfg);
    d2 = dump(back);
    cr_assert_str_eq(d1, d2);
    cJSON_free(d1);
    cJSON_free(d2);
    config_free(back);
}

static struct lbd_config *parse_text_ok(const char *text_sq)
{
    struct lbd_config *cfg = NULL;
    char *t = sq(text_sq);
    char err[512] = "";

    cr_assert_eq(config_parse(t, &cfg, err, sizeof(err)), 0, "%s", err);
    free(t);
    return cfg;
}

static struct lbd_config *load_repo_file(const char *rel)
{
    const char *dir = getenv("LBD_SRC_DIR");
    char path[PATH_MAX], err[512] = "";
    struct lbd_config *cfg = NULL;

    cr_assert_not_null(dir, "LBD_SRC_DIR is not set (run through meson test)");
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    cr_assert_eq(config_load_file(path, &cfg, err, sizeof(err)), 0, "%s", err);
    return cfg;
}

/* ------------------------------------------------------------------------ */
/* Loading valid configs                                                    */
/* ------------------------------------------------------------------------ */

Test(config, base_config_loads)
{
    struct lbd_config *cfg = load_ok(NULL, 0);
    const struct cfg_vs *v;

    cr_assert_eq(cfg->n_interfaces, 2);
    cr_assert_eq(cfg->interfaces[0].ip, ip4("192.168.112.5"));
    cr_assert_eq(cfg->interfaces[0].prefix_len, 24);
    cr_assert_eq(cfg->interfaces[0].gateway, ip4("192.168.112.254"));
    cr_assert_eq(cfg->interfaces[1].port, 1);
    cr_assert_eq(cfg->interfaces[1].gateway, 0);
    cr_assert(cfg->routing.forward);
    cr_assert_eq(cfg->routing.n_routes, 1);
    cr_assert_eq(cfg->routing.routes[0].prefix, ip4("172.24.7.0"));
    cr_assert_eq(cfg->routing.routes[0].len, 24);
    cr_assert_eq(cfg->routing.routes[0].via, ip4("192.168.112.254"));
    cr_assert_eq(cfg->n_virtual_services, 3);

    v = config_find_vs(cfg, "Web");
    cr_assert_not_null(v);
    cr_assert_eq(v, &cfg->virtual_services[1]);
    cr_assert_eq(v->mode, CFG_MODE_HTTP);
    cr_assert_eq(v->persistence.type, CFG_PERSIST_HTTP_COOKIE);
    cr_assert_str_eq(v->persistence.cookie, "MS-WSMAN");
    cr_assert_eq(v->persistence.max_idle_s, 0);
    cr_assert_eq(v->persistence.max_life_s, 0);
    cr_assert_eq(v->health_check.type, CFG_CHECK_HTTP);
    cr_assert_eq(v->health_check.port, 8080);
    cr_assert_str_eq(v->health_check.http_path, "/health");
    cr_assert_eq(v->health_check.http_expect, 200);
    cr_assert(v->tls.enabled);
    cr_assert_str_eq(v->tls.cert, "/etc/lbd/certs/public.pfx");
    cr_assert_str_eq(v->tls.key, "");
    cr_assert_str_eq(v->tls.pfx_password_file, "/etc/lbd/certs/public.pass");
    cr_assert_str_eq(v->tls.ciphers, "HIGH:!aNULL");
    cr_assert_eq(v->real_servers[0].port, 4443);
    cr_assert(v->real_servers[0].tls);

    v = config_find_vs(cfg, "Stun");
    cr_assert_not_null(v);
    cr_assert_eq(v->protocol, CFG_PROTO_UDP);
    cr_assert_eq(v->layer, 4);
    cr_assert_eq(v->forwarding, CFG_FWD_NAT);
    cr_assert_eq(v->scheduler, CFG_SCHED_SH);
    cr_assert_eq(v->health_check.type, CFG_CHECK_PING);
    cr_assert_eq(v->real_servers[1].state, CFG_RS_DRAIN);
    cr_assert_eq(v->source_address, v->ip, "layer 4: the VIP");

    cr_assert(cfg->ha.enabled);
    cr_assert_eq(cfg->ha.peer, ip4("192.168.112.6"));
    cr_assert_eq(cfg->ha.priority, 150);
    cr_assert_str_eq(cfg->ha.auth_key_file, "/etc/lbd/ha.key");

    cr_assert_null(config_find_vs(cfg, "fepool"), "labels are case-sensitive");
    cr_assert_null(config_find_vs(cfg, "nope"));
    cr_assert_null(config_find_vs(cfg, NULL));
    cr_assert_null(config_find_vs(NULL, "Web"));
    config_free(cfg);
}

Test(config, design_example_loads)
{
    struct lbd_config *cfg = parse_text_ok(design_json);
    const struct cfg_vs *v = config_find_vs(cfg, "FePool");
    static const uint16_t ports[] = {80,   135,  443,  444,  448,  5061, 5070,
                                     5071, 5072, 5073, 5075, 5076, 5080};

    cr_assert_str_eq(cfg->appliance.name, "lb1");
    cr_assert_str_eq(cfg->appliance.api_socket, "/run/lbd/lb1.sock");
    cr_assert_not_null(v);
    cr_assert_eq(v->ip, ip4("192.168.112.110"));
    cr_assert_eq(v->n_ports, 13);
    cr_assert_arr_eq(v->ports, ports, sizeof(ports));
    cr_assert_eq(v->layer, 7);
    cr_assert_eq(v->mode, CFG_MODE_TCP);
    cr_assert_eq(v->persistence.type, CFG_PERSIST_SOURCE_IP);
    cr_assert_eq(v->persistence.timeout_s, 1200);
    cr_assert_eq(v->health_check.type, CFG_CHECK_CONNECT);
    cr_assert_eq(v->health_check.port, 5061);
    cr_assert_eq(v->source_address, ip4("192.168.112.110"));
    cr_assert_eq(v->n_real_servers, 1);
    cr_assert_str_eq(v->real_servers[0].label, "FE1");
    cr_assert_eq(v->real_servers[0].port, 0);
    cr_assert_eq(v->real_servers[0].weight, 100);
    cr_assert(cfg->ha.enabled);
    cr_assert_eq(cfg->ha.vrid, 1, "default vrid");
    assert_round_trip(cfg);
    config_free(cfg);
}

Test(config, defaults_are_filled)
{
    struct lbd_config *cfg = parse_text_ok(
        "{'interfaces': [{'port': 0, 'ip': '10.0.0.5/24'}],"
        " 'virtual_services': [{'label': 'A', 'ip': '10.0.0.10', 'ports': [80], 'layer': 7,"
        "   'real_servers': [{'label': 'r', 'ip': '10.0.0.20'}]},"
        "  {'label': 'B', 'ip': '10.0.0.10', 'ports': [80], 'protocol': 'udp', 'layer': 4}]}");
    const struct cfg_vs *v = &cfg->virtual_services[0];
    const struct cfg_real_server *rs = &v->real_servers[0];

    cr_assert_str_eq(cfg->appliance.name, "lbd");
    cr_assert_str_eq(cfg->appliance.api_socket, "/run/lbd/lbd.sock");
    cr_assert_eq(cfg->appliance.idle_sleep_us, 0);
    cr_assert_eq(cfg->appliance.mbufs_per_worker, 0, "computed");
    cr_assert_str_eq(cfg->appliance.log_level, "info");
    cr_assert_eq(cfg->interfaces[0].gateway, 0);
    cr_assert_not(cfg->routing.forward);
    cr_assert_eq(cfg->routing.n_routes, 0);
    cr_assert_eq(cfg->layer7.connect_timeout_ms, 4000);
    cr_assert_eq(cfg->layer7.client_timeout_s, 1200);
    cr_assert_eq(cfg->layer7.server_timeout_s, 1200);
    cr_assert_eq(cfg->layer4.tcp_handshake_timeout_s, 30);
    cr_assert_eq(cfg->layer4.tcp_established_timeout_s, 900);
    cr_assert_eq(cfg->layer4.tcp_closing_timeout_s, 30);
    cr_assert_eq(cfg->layer4.udp_timeout_s, 300);
    cr_assert_eq(cfg->layer4.max_conns_per_worker, 262144);

    cr_assert_eq(v->protocol, CFG_PROTO_TCP);
    cr_assert_eq(v->mode, CFG_MODE_TCP);
    cr_assert_eq(v->forwarding, CFG_FWD_NAT);
    cr_assert_eq(v->scheduler, CFG_SCHED_WLC);
    cr_assert_eq(v->persistence.type, CFG_PERSIST_NONE);
    cr_assert_eq(v->persistence.timeout_s, 1200);
    cr_assert_str_eq(v->persistence.cookie, "SERVERID");
    cr_assert_eq(v->persistence.max_idle_s, 0);
    cr_assert_eq(v->persistence.max_life_s, 0);
    cr_assert_eq(v->health_check.type, CFG_CHECK_CONNECT);
    cr_assert_eq(v->health_check.port, 0);
    cr_assert_eq(v->health_check.interval_ms, 2000);
    cr_assert_eq(v->health_check.timeout_ms, 1000);
    cr_assert_eq(v->health_check.rise, 2);
    cr_assert_eq(v->health_check.fall, 3);
    cr_assert_str_eq(v->health_check.http_path, "/");
    cr_assert_eq(v->health_check.http_expect, 200);
    cr_assert_eq(v->source_address, v->ip);
    cr_assert_not(v->tls.enabled);

    cr_assert_eq(rs->port, 0);
    cr_assert_eq(rs->weight, 100);
    cr_assert_eq(rs->min_conns, 0);
    cr_assert_eq(rs->max_conns, 0);
    cr_assert_eq(rs->state, CFG_RS_ONLINE);
    cr_assert_not(rs->tls);

    cr_assert_eq(cfg->virtual_services[1].n_real_servers, 0, "real_servers is optional");
    cr_assert_null(cfg->virtual_services[1].real_servers);

    cr_assert_not(cfg->ha.enabled);
    cr_assert_eq(cfg->ha.priority, 100);
    cr_assert_eq(cfg->ha.advert_interval_ms, 1000);
    cr_assert(cfg->ha.preempt);
    cr_assert_eq(cfg->ha.vrid, 1);
    assert_round_trip(cfg);
    config_free(cfg);
}

Test(config, api_socket_follows_the_name)
{
    struct lbd_config *cfg = parse_text_ok(
        "{'appliance': {'name': 'edge-lb.2'}, 'interfaces': [{'port': 3, 'ip': '10.0.0.5/8'}]}");

    cr_assert_str_eq(cfg->appliance.name, "edge-lb.2");
    cr_assert_str_eq(cfg->appliance.api_socket, "/run/lbd/edge-lb.2.sock");
    cr_assert_eq(cfg->n_virtual_services, 0);
    config_free(cfg);
}

Test(config, port_ranges_expand_sorted)
{
    const struct change set[] = {
        {"virtual_services[0].ports", "[5080, '5070-5073', 80, '443', '5075-5076', 135]"},
    };
    static const uint16_t want[] = {80, 135, 443, 5070, 5071, 5072, 5073, 5075, 5076, 5080};
    struct lbd_config *cfg = load_ok(set, 1);

    cr_assert_eq(cfg->virtual_services[0].n_ports, 10);
    cr_assert_arr_eq(cfg->virtual_services[0].ports, want, sizeof(want));
    config_free(cfg);
}

Test(config, sixty_four_ports_fit)
{
    const struct change set[] = {{"virtual_services[0].ports", "['1-63', 65535]"}};
    struct lbd_config *cfg = load_ok(set, 1);

    cr_assert_eq(cfg->virtual_services[0].n_ports, CFG_MAX_VS_PORTS);
    cr_assert_eq(cfg->virtual_services[0].ports[0], 1);
    cr_assert_eq(cfg->virtual_services[0].ports[62], 63);
    cr_assert_eq(cfg->virtual_services[0].ports[63], 65535);
    config_free(cfg);
}

Test(config, services_may_share_a_vip)
{
    /* Same VIP and port with another protocol, and same VIP with other ports. */
    const struct change set[] = {
        {"virtual_services[2].ip", "'192.168.112.110'"},
        {"virtual_services[2].ports", "[443, 80]"},
        {"virtual_services[1].ip", "'192.168.112.110'"},
    };
    struct lbd_config *cfg = load_ok(set, 3);

    cr_assert_eq(cfg->virtual_services[1].ip, cfg->virtual_services[0].ip);
    cr_assert_eq(cfg->virtual_services[2].ip, cfg->virtual_services[0].ip);
    config_free(cfg);
}

Test(config, layer4_values_and_partial_object)
{
    const struct change set[] = {
        {"layer4", "{'tcp_established_timeout_s': 7200, 'udp_timeout_s': 60}"},
    };
    struct lbd_config *cfg = load_ok(set, 1);

    cr_assert_eq(cfg->layer4.tcp_established_timeout_s, 7200);
    cr_assert_eq(cfg->layer4.udp_timeout_s, 60);
    cr_assert_eq(cfg->layer4.tcp_handshake_timeout_s, 30, "absent fields keep their default");
    cr_assert_eq(cfg->layer4.tcp_closing_timeout_s, 30);
    cr_assert_eq(cfg->layer4.max_conns_per_worker, 262144);
    cr_assert_eq(cfg->layer4.max_half_open_per_worker, 0, "default: a quarter of the table");
    cr_assert(!cfg->layer4.tcp_midstream, "default: only a SYN opens a connection");
    cr_assert_eq(cfg->layer4.syn_proxy, CFG_SYN_PROXY_FLOOD, "default: beyond the cap");
    config_free(cfg);
}

Test(config, layer7_congestion_control)
{
    const struct change nr[] = {{"layer7", "{'congestion_control': 'newreno'}"}};
    const struct change cu[] = {{"layer7", "{'congestion_control': 'cubic'}"}};
    struct lbd_config *cfg = load_ok(NULL, 0);

    cr_assert_eq(cfg->layer7.congestion_control, CFG_CC_CUBIC, "default: CUBIC");
    config_free(cfg);
    cfg = load_ok(nr, 1);
    cr_assert_eq(cfg->layer7.congestion_control, CFG_CC_NEWRENO);
    cr_assert_eq(cfg->layer7.connect_timeout_ms, 4000, "absent fields keep their default");
    cJSON *j = config_to_json(cfg);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "layer7"), "congestion_control")
                         ->valuestring,
                     "newreno");
    cJSON_Delete(j);
    config_free(cfg);
    cfg = load_ok(cu, 1);
    cr_assert_eq(cfg->layer7.congestion_control, CFG_CC_CUBIC);
    config_free(cfg);
}

/* The value of layer7.<name> in cfg's JSON form. */
static double layer7_json(const struct lbd_config *cfg, const char *name)
{
    cJSON *j = config_to_json(cfg);
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "layer7"), name);
    double d;

    cr_assert_not_null(v, "layer7.%s in the JSON", name);
    d = v->valuedouble;
    cJSON_Delete(j);
    return d;
}

/*
 * layer7.<kind>_init and <kind>_max (kind: rcvbuf, sndbuf): their defaults, two values
 * set (kept by a round trip through JSON) and a fixed buffer (both the same). init and
 * max point at the two fields of cfg->layer7 (offsets in struct cfg_layer7).
 */
static void check_buffer_pair(const char *kind, size_t init, size_t max, uint32_t init_default,
                              uint32_t set_init, uint32_t set_max)
{
    char set_v[128], fixed_v[128], name[32];
    const struct change set[] = {{"layer7", set_v}}, fixed[] = {{"layer7", fixed_v}};
    struct lbd_config *cfg = load_ok(NULL, 0);
#define FIELD(cfg, off) (*(const uint32_t *)((const char *)&(cfg)->layer7 + (off)))

    snprintf(set_v, sizeof(set_v), "{'%s_init': %u, '%s_max': %u}", kind, set_init, kind, set_max);
    snprintf(fixed_v, sizeof(fixed_v), "{'%s_init': 262144, '%s_max': 262144}", kind, kind);
    cr_assert_eq(FIELD(cfg, init), init_default, "%s_init's default", kind);
    cr_assert_eq(FIELD(cfg, max), 4194304, "%s_max's default: 4 MB", kind);
    config_free(cfg);
    cfg = load_ok(set, 1);
    cr_assert_eq(FIELD(cfg, init), set_init);
    cr_assert_eq(FIELD(cfg, max), set_max);
    snprintf(name, sizeof(name), "%s_init", kind);
    cr_assert_eq(layer7_json(cfg, name), set_init);
    snprintf(name, sizeof(name), "%s_max", kind);
    cr_assert_eq(layer7_json(cfg, name), set_max);
    config_free(cfg);
    cfg = load_ok(fixed, 1);
    cr_assert_eq(FIELD(cfg, init), FIELD(cfg, max), "a fixed buffer");
    config_free(cfg);
#undef FIELD
}

/* Receive buffers: 64 KB to start with; send buffers: 256 KB; both up to 4 MB. */
Test(config, layer7_buffers)
{
    check_buffer_pair("rcvbuf", offsetof(struct cfg_layer7, rcvbuf_init),
                      offsetof(struct cfg_layer7, rcvbuf_max), 65536, 32768, 8388608);
    check_buffer_pair("sndbuf", offsetof(struct cfg_layer7, sndbuf_init),
                      offsetof(struct cfg_layer7, sndbuf_max), 262144, 65536, 16777216);
}

/* layer7.tso: on by default, off on request, kept by a round trip. */
Test(config, layer7_tso)
{
    const struct change off[] = {{"layer7", "{'tso': false}"}};
    const struct change bad[] = {{"layer7", "{'tso': 1}"}};
    struct lbd_config *cfg = load_ok(NULL, 0);

    cr_assert(cfg->layer7.tso, "default");
    assert_round_trip(cfg);
    config_free(cfg);
    cfg = load_ok(off, 1);
    cr_assert(!cfg->layer7.tso);
    assert_round_trip(cfg);
    config_free(cfg);
    {
        struct lbd_config *c2 = NULL;
        char err[512] = "";
        cr_assert_eq(load_changed(bad, 1, &c2, err, sizeof(err)), LBD_EINVAL);
        cr_assert(strstr(err, "layer7.tso") != NULL, "%s", err);
    }
}

/* interfaces[].queues: 0 (one a worker) by default, 1..16 on request, kept by a round
 * trip; more than 16 refused with its path. */
Test(config, interface_queues)
{
    const struct change two[] = {
        {"interfaces", "[{'port': 0, 'ip': '192.168.112.5/24', 'queues': 2}]"}};
    const struct change bad[] = {
        {"interfaces", "[{'port': 0, 'ip': '192.168.112.5/24', 'queues': 17}]"}};
    struct lbd_config *cfg = load_ok(NULL, 0);

    cr_assert_eq(cfg->interfaces[0].queues, 0, "default: one a worker");
    assert_round_trip(cfg);
    config_free(cfg);
    cfg = load_ok(two, 1);
    cr_assert_eq(cfg->interfaces[0].queues, 2);
    assert_round_trip(cfg);
    config_free(cfg);
    {
        struct lbd_config *c2 = NULL;
        char err[512] = "";
        cr_assert_eq(load_changed(bad, 1, &c2, err, sizeof(err)), LBD_EINVAL);
        cr_assert(strstr(err, "interfaces[0].queues") != NULL, "%s", err);
    }
}

/* The TCP stack's sizes: control blocks and TIME_WAIT entries per worker. */
Test(config, layer7_control_blocks_and_time_wait)
{
    const struct change set[] = {
        {"layer7", "{'max_conns_per_worker': 2048, 'max_time_wait_per_worker': 100000}"}};
    const struct change nul[] = {{"layer7", "{'max_time_wait_per_worker': null}"}};
    struct lbd_config *cfg = load_ok(NULL, 0);

    cr_assert_eq(cfg->layer7.max_conns_per_worker, 32768, "default");
    cr_assert_eq(cfg->layer7.max_time_wait_per_worker, 0, "default: 4 x max_conns_per_worker");
    config_free(cfg);
    cfg = load_ok(set, 1);
    cr_assert_eq(cfg->layer7.max_conns_per_worker, 2048);
    cr_assert_eq(cfg->layer7.max_time_wait_per_worker, 100000);
    assert_round_trip(cfg);
    config_free(cfg);
    cfg = load_ok(nul, 1);
    cr_assert_eq(cfg->layer7.max_time_wait_per_worker, 0);
    assert_round_trip(cfg);
    config_free(cfg);
}

Test(config, layer4_half_open_cap_and_midstream)
{
    const struct change set[] = {
        {"layer4", "{'max_half_open_per_worker': 5000, 'tcp_midstream': true, "
                   "'syn_proxy': 'always'}"},
    };
    struct lbd_config *cfg = load_ok(set, 1);

    cr_assert_eq(cfg->layer4.max_half_open_per_worker, 5000);
    cr_assert(cfg->layer4.tcp_midstream);
    cr_assert_eq(cfg->layer4.syn_proxy, CFG_SYN_PROXY_ALWAYS);
    assert_round_trip(cfg);
    config_free(cfg);
}

Test(config, nulls_and_optional_values)
{
    const struct change set[] = {
        {"interfaces[1].gateway", "null"},
        {"virtual_services[1].tls", "{'cert': '/etc/lbd/a.pem', 'key': null, "
                                    "'pfx_password_file': null, 'ciphers': null}"},
        {"virtual_services[1].health_check", "{'type': 'connect', 'port': null}"},
    };
    struct lbd_config *cfg = load_ok(set, 3);
    const struct cfg_vs *v = &cfg->virtual_services[1];

    cr_assert_eq(cfg->interfaces[1].gateway, 0);
    cr_assert(v->tls.enabled);
    cr_assert_str_eq(v->tls.key, "");
    cr_assert_str_eq(v->tls.ciphers, "");
    cr_assert_eq(v->health_check.port, 0);
    assert_round_trip(cfg);
    config_free(cfg);
}

Test(config, tls_pem_pfx_sni_versions_and_verified_real_servers)
{
    const struct change set[] = {
        {"virtual_services[1].tls",
         "{'pfx': '/etc/lbd/public.pfx', 'pfx_password_file': '/etc/lbd/public.pass',"
         " 'ciphers': 'ECDHE-ECDSA-AES128-GCM-SHA256', 'ciphersuites': 'TLS_AES_128_GCM_SHA256',"
         " 'min_version': '1.3',"
         " 'sni_certs': [{'cert': '/etc/lbd/b.pem', 'key': '/etc/lbd/b.key'},"
         "               {'pfx': '/etc/lbd/c.pfx', 'pfx_password_file': '/etc/lbd/c.pass'}]}"},
        {"virtual_services[1].real_servers[0].tls",
         "{'verify': true, 'ca': '/etc/lbd/ca.pem', 'sni': 'fe1.example.com'}"},
    };
    struct lbd_config *cfg = load_ok(set, 2);
    const struct cfg_vs *v = &cfg->virtual_services[1];
    const struct cfg_real_server *rs = &v->real_servers[0];

    cr_assert(v->tls.enabled);
    cr_assert_str_eq(v->tls.pfx, "/etc/lbd/public.pfx");
    cr_assert_str_eq(v->tls.cert, "");
    cr_assert_str_eq(v->tls.ciphersuites, "TLS_AES_128_GCM_SHA256");
    cr_assert_eq(v->tls.min_version, CFG_TLS_1_3);
    cr_assert_eq(v->tls.n_sni, 2);
    cr_assert_str_eq(v->tls.sni[0].key, "/etc/lbd/b.key");
    cr_assert_str_eq(v->tls.sni[1].pfx_password_file, "/etc/lbd/c.pass");
    cr_assert(rs->tls);
    cr_assert(rs->tls_verify);
    cr_assert_str_eq(rs->tls_ca, "/etc/lbd/ca.pem");
    cr_assert_str_eq(rs->tls_sni, "fe1.example.com");
    assert_round_trip(cfg);
    config_free(cfg);
}

Test(config, tls_min_version_defaults_to_1_2)
{
    const struct change set[] = {{"virtual_services[1].tls", "{'cert': '/etc/lbd/a.pem'}"}};
    struct lbd_config *cfg = load_ok(set, 1);

    cr_assert_eq(cfg->virtual_services[1].tls.min_version, CFG_TLS_1_2);
    cr_assert_eq(cfg->virtual_services[1].tls.n_sni, 0);
    config_free(cfg);
}

Test(config, mbufs_per_worker_null_or_a_size)
{
    const struct change null_set[] = {{"appliance.mbufs_per_worker", "null"}};
    const struct change size_set[] = {{"appliance.mbufs_per_worker", "65536"}};
    struct lbd_config *cfg = load_ok(null_set, 1);
    cJSON *j;

    cr_assert_eq(cfg->appliance.mbufs_per_worker, 0, "null: computed");
    j = config_to_json(cfg);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "appliance"),
                                               "mbufs_per_worker")));
    cJSON_Delete(j);
    config_free(cfg);
    cfg = load_ok(size_set, 1);
    cr_assert_eq(cfg->appliance.mbufs_per_worker, 65536);
    assert_round_trip(cfg);
    config_free(cfg);
}

Test(config, cookie_limits_and_check_types)
{
    const struct change set[] = {
        {"virtual_services[1].persistence",
         "{'type': 'http_cookie', 'cookie': 'SRV', 'max_idle_s': 600, 'max_life_s': 86400}"},
        {"virtual_services[0].health_check", "{'type': 'none'}"},
        {"virtual_services[2].source_address", DEL},
    };
    struct lbd_config *cfg = load_ok(set, 3);

    cr_assert_eq(cfg->virtual_services[1].persistence.max_idle_s, 600);
    cr_assert_eq(cfg->virtual_services[1].persistence.max_life_s, 86400);
    cr_assert_eq(cfg->virtual_services[0].health_check.type, CFG_CHECK_NONE);
    assert_round_trip(cfg);
    config_free(cfg);
}

Test(config, http_mode_fields)
{
    const struct change set[] = {
        {"virtual_services[1].max_header_bytes", "8192"},
        {"virtual_services[1].http_request_timeout_ms", "5000"},
        {"virtual_services[1].x_forwarded_for", "false"},
    };
    struct lbd_config *cfg = load_ok(NULL, 0);

    /* Defaults: 16 KiB of header, 10 s for it, X-Forwarded-For on. */
    cr_assert_eq(cfg->virtual_services[1].mode, CFG_MODE_HTTP);
    cr_assert_eq(cfg->virtual_services[1].max_header_bytes, 16384);
    cr_assert_eq(cfg->virtual_services[1].http_request_timeout_ms, 10000);
    cr_assert(cfg->virtual_services[1].x_forwarded_for);
    config_free(cfg);
    cfg = load_ok(set, 3);
    cr_assert_eq(cfg->virtual_services[1].max_header_bytes, 8192);
    cr_assert_eq(cfg->virtual_services[1].http_request_timeout_ms, 5000);
    cr_assert(!cfg->virtual_services[1].x_forwarded_for);
    assert_round_trip(cfg);
    config_free(cfg);
}

Test(config, source_address_may_be_a_self_ip_or_another_vip)
{
    const struct change a[] = {{"virtual_services[0].source_address", "'192.168.112.5'"}};
    const struct change b[] = {{"virtual_services[0].source_address", "'192.168.112.140'"}};
    struct lbd_config *cfg = load_ok(a, 1);

    cr_assert_eq(cfg->virtual_services[0].source_address, ip4("192.168.112.5"));
    config_free(cfg);
    cfg = load_ok(b, 1);
    cr_assert_eq(cfg->virtual_services[0].source_address, ip4("192.168.112.140"));
    config_free(cfg);
}

/* ------------------------------------------------------------------------ */
/* Dump and round trip                                                      */
/* ------------------------------------------------------------------------ */

Test(config, round_trip_of_the_base_config)
{
    struct lbd_config *cfg = load_ok(NULL, 0);
    assert_round_trip(cfg);
    config_free(cfg);
}

Test(config, dump_has_the_schema_shape)
{
    struct lbd_config *cfg = load_ok(NULL, 0);
    cJSON *j = config_to_json(cfg);
    cJSON *vss = cJSON_GetObjectItem(j, "virtual_services");
    cJSON *fe = cJSON_GetArrayItem(vss, 0), *web = cJSON_GetArrayItem(vss, 1);
    cJSON *stun = cJSON_GetArrayItem(vss, 2), *ports, *rs0, *hc, *ps;

    cr_assert_not_null(j);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "appliance"), "log_level")
                         ->valuestring,
                     "info");
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "interfaces"),
                                                            0),
                                         "ip")
                         ->valuestring,
                     "192.168.112.5/24");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(
        cJSON_GetArrayItem(cJSON_GetObjectItem(j, "interfaces"), 1), "gateway")));

    ports = cJSON_GetObjectItem(fe, "ports");
    cr_assert_eq(cJSON_GetArraySize(ports), 6, "ranges expanded");
    cr_assert(cJSON_IsNumber(cJSON_GetArrayItem(ports, 2)));
    cr_assert_eq(cJSON_GetArrayItem(ports, 2)->valueint, 5070);
    rs0 = cJSON_GetArrayItem(cJSON_GetObjectItem(fe, "real_servers"), 0);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(rs0, "port")), "port 0 is null");
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(rs0, "tls")));
    cr_assert_null(cJSON_GetObjectItem(fe, "tls"), "tls only when enabled");
    cr_assert_null(cJSON_GetObjectItem(fe, "forwarding"), "forwarding is a layer 4 field");
    cr_assert_str_eq(cJSON_GetObjectItem(fe, "source_address")->valuestring, "192.168.112.110");

    ps = cJSON_GetObjectItem(web, "persistence");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(ps, "max_idle_s")));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(ps, "max_life_s")));
    cr_assert_null(cJSON_GetObjectItem(ps, "timeout_s"));
    cr_assert_not_null(cJSON_GetObjectItem(web, "tls"));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(web, "tls"), "key")));

    cr_assert_null(cJSON_GetObjectItem(stun, "mode"), "mode is a layer 7 field");
    cr_assert_null(cJSON_GetObjectItem(stun, "source_address"));
    cr_assert_str_eq(cJSON_GetObjectItem(stun, "forwarding")->valuestring, "nat");
    hc = cJSON_GetObjectItem(stun, "health_check");
    cr_assert_null(cJSON_GetObjectItem(hc, "port"), "ping has no port");
    cr_assert_eq(cJSON_GetObjectItem(hc, "interval_ms")->valueint, 2000, "defaults explicit");
    cr_assert_not_null(cJSON_GetObjectItem(j, "ha"));
    cJSON_Delete(j);
    config_free(cfg);

    /* No "ha" in, no "ha" out. */
    const struct change noha[] = {{"ha", DEL}};
    cfg = load_ok(noha, 1);
    j = config_to_json(cfg);
    cr_assert_null(cJSON_GetObjectItem(j, "ha"));
    cJSON_Delete(j);
    config_free(cfg);
}

Test(config, to_json_of_null_is_null)
{
    cr_assert_null(config_to_json(NULL));
    config_free(NULL);
}

Test(config, names)
{
    cr_assert_str_eq(cfg_proto_name(CFG_PROTO_TCP), "tcp");
    cr_assert_str_eq(cfg_proto_name(CFG_PROTO_UDP), "udp");
    cr_assert_str_eq(cfg_sched_name(CFG_SCHED_WLC), "wlc");
    cr_assert_str_eq(cfg_sched_name(CFG_SCHED_WRR), "wrr");
    cr_assert_str_eq(cfg_sched_name(CFG_SCHED_SH), "sh");
    cr_assert_str_eq(cfg_sched_name(CFG_SCHED_MAGLEV), "maglev");
    cr_assert_str_eq(cfg_persist_name(CFG_PERSIST_NONE), "none");
    cr_assert_str_eq(cfg_persist_name(CFG_PERSIST_SOURCE_IP), "source_ip");
    cr_assert_str_eq(cfg_persist_name(CFG_PERSIST_HTTP_COOKIE), "http_cookie");
    cr_assert_str_eq(cfg_check_name(CFG_CHECK_NONE), "none");
    cr_assert_str_eq(cfg_check_name(CFG_CHECK_CONNECT), "connect");
    cr_assert_str_eq(cfg_check_name(CFG_CHECK_PING), "ping");
    cr_assert_str_eq(cfg_check_name(CFG_CHECK_HTTP), "http");
    cr_assert_str_eq(cfg_rs_state_name(CFG_RS_ONLINE), "online");
    cr_assert_str_eq(cfg_rs_state_name(CFG_RS_DRAIN), "drain");
    cr_assert_str_eq(cfg_rs_state_name(CFG_RS_HALT), "halt");
    cr_assert_str_eq(cfg_rs_state_name((enum cfg_rs_state)42), "?");
}

/* ------------------------------------------------------------------------ */
/* Text and files                                                           */
/* ------------------------------------------------------------------------ */

static void expect_parse_error(const char *text, const char *msg)
{
    struct lbd_config *cfg = NULL;
    char err[512] = "";

    cr_expect_eq(config_parse(text, &cfg, err, sizeof(err)), LBD_EINVAL, "%s", text);
    cr_expect_str_eq(err, msg, "for %s", text);
    cr_expect_null(cfg);
}

Test(config, syntax_errors_give_line_and_column)
{
    expect_parse_error("{\n  \"interfaces\": []\n  \"ha\": {}\n}",
                       "JSON syntax error at line 3, column 3");
    expect_parse_error("{\"interfaces\": [1, 2,]}", "JSON syntax error at line 1, column 22");
    expect_parse_error("{} x", "JSON syntax error at line 1, column 4");
    expect_parse_error("", "JSON syntax error at line 1, column 1");
    expect_parse_error("\n\n   {\"a\": tru}", "JSON syntax error at line 3, column 10");
    expect_parse_error("[]", "config: must be a JSON object");
    expect_parse_error("42", "config: must be a JSON object");
}

Test(config, fields_given_twice_are_errors)
{
    expect_parse_error("{\"interfaces\": [{\"port\": 0, \"ip\": \"10.0.0.5/24\", \"port\": 1}]}",
                       "interfaces[0].port: given twice");
    expect_parse_error("{\"interfaces\": [], \"interfaces\": []}", "interfaces: given twice");
}

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/lbd-test-config-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(config, file_errors_start_with_the_file_name)
{
    char path[128], want[256], err[512];
    struct lbd_config *cfg = NULL;

    make_tmpdir();
    snprintf(path, sizeof(path), "%s/missing.json", tmpdir);
    cr_assert_eq(config_load_file(path, &cfg, err, sizeof(err)), LBD_EIO);
    snprintf(want, sizeof(want), "%s: No such file or directory", path);
    cr_assert_str_eq(err, want);

    cr_assert_eq(config_load_file(tmpdir, &cfg, err, sizeof(err)), LBD_EIO);
    snprintf(want, sizeof(want), "%s: Is a directory", tmpdir);
    cr_assert_str_eq(err, want);

    snprintf(path, sizeof(path), "%s/syntax.json", tmpdir);
    write_file(path, "{\n  \"interfaces\": [\n    {\"port\": 0,}\n  ]\n}\n");
    cr_assert_eq(config_load_file(path, &cfg, err, sizeof(err)), LBD_EINVAL);
    snprintf(want, sizeof(want), "%s: JSON syntax error at line 3, column 17", path);
    cr_assert_str_eq(err, want);
    unlink(path);

    snprintf(path, sizeof(path), "%s/field.json", tmpdir);
    write_file(path, "{\"interfaces\": [{\"port\": 0, \"ip\": \"10.0.0.300/24\"}]}");
    cr_assert_eq(config_load_file(path, &cfg, err, sizeof(err)), LBD_EINVAL);
    snprintf(want, sizeof(want), "%s: interfaces[0].ip: \"10.0.0.300/24\" is not an IPv4 prefix",
             path);
    cr_assert_str_eq(err, want);
    cr_assert_null(cfg);

    write_file(path, "{\"interfaces\": [{\"port\": 0, \"ip\": \"10.0.0.3/24\"}]}");
    cr_assert_eq(config_load_file(path, &cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cfg->n_interfaces, 1);
    config_free(cfg);
    unlink(path);
    rmdir(tmpdir);
}

/* The shipped configurations load, validate and survive a round trip. */
Test(config, shipped_configs_load)
{
    static const char *const files[] = {
        "config/lab.json",
        "config/lb1.json",
        "config/lb2.json",
        "config/reverse-proxy.json",
    };

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        struct lbd_config *cfg = load_repo_file(files[i]);
        cr_assert_gt(cfg->n_virtual_services, 0, "%s", files[i]);
        assert_round_trip(cfg);
        config_free(cfg);
    }
}

/* LB1 carries every row of the requirements' LB1 table. */
Test(config, lb1_has_the_guide_services)
{
    static const struct {
        const char *label, *vip;
        size_t n_ports;
        uint16_t first_port;
        uint8_t layer;
        enum cfg_proto proto;
        enum cfg_mode mode;
    } rows[] = {
        {"FePool", "192.168.112.110", 13, 80, 7, CFG_PROTO_TCP, CFG_MODE_TCP},
        {"FePoolWsInt", "192.168.112.111", 2, 80, 7, CFG_PROTO_TCP, CFG_MODE_TCP},
        {"FePoolWsExt8080", "192.168.112.112", 1, 8080, 7, CFG_PROTO_TCP, CFG_MODE_HTTP},
        {"FePoolWsExt4443", "192.168.112.112", 1, 4443, 7, CFG_PROTO_TCP, CFG_MODE_TCP},
        {"DirPool", "192.168.112.120", 3, 443, 7, CFG_PROTO_TCP, CFG_MODE_TCP},
        {"DirPoolWsInt", "192.168.112.121", 2, 80, 7, CFG_PROTO_TCP, CFG_MODE_TCP},
        {"DirPoolWsExt8080", "192.168.112.122", 1, 8080, 7, CFG_PROTO_TCP, CFG_MODE_HTTP},
        {"DirPoolWsExt4443", "192.168.112.122", 1, 4443, 7, CFG_PROTO_TCP, CFG_MODE_TCP},
        {"OfficeWebApp", "192.168.112.125", 1, 443, 7, CFG_PROTO_TCP, CFG_MODE_TCP},
        {"EdgeIntTCP", "192.168.112.140", 3, 443, 7, CFG_PROTO_TCP, CFG_MODE_TCP},
        {"EdgeIntUDP", "192.168.112.140", 1, 3478, 4, CFG_PROTO_UDP, CFG_MODE_TCP},
    };
    struct lbd_config *cfg = load_repo_file("config/lb1.json");

    cr_assert_eq(cfg->n_virtual_services, sizeof(rows) / sizeof(rows[0]));
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct cfg_vs *v = config_find_vs(cfg, rows[i].label);
        cr_assert_not_null(v, "%s", rows[i].label);
        cr_expect_eq(v->ip, ip4(rows[i].vip), "%s", rows[i].label);
        cr_expect_eq(v->n_ports, rows[i].n_ports, "%s", rows[i].label);
        cr_expect_eq(v->ports[0], rows[i].first_port, "%s", rows[i].label);
        cr_expect_eq(v->layer, rows[i].layer, "%s", rows[i].label);
        cr_expect_eq(v->protocol, rows[i].proto, "%s", rows[i].label);
        cr_expect_eq(v->mode, rows[i].mode, "%s", rows[i].label);
        cr_expect_gt(v->n_real_servers, 0, "%s", rows[i].label);
        for (size_t r = 0; r < v->n_real_servers; r++)
            cr_expect_eq(v->real_servers[r].weight, 100, "%s", rows[i].label);
        if (v->layer == 7)
            cr_expect_eq(v->source_address, v->ip, "%s: SNAT to the VIP", rows[i].label);
    }
    cr_assert_eq(config_find_vs(cfg, "EdgeIntUDP")->health_check.type, CFG_CHECK_PING);
    cr_assert_eq(config_find_vs(cfg, "FePool")->health_check.port, 5061);
    cr_assert_eq(config_find_vs(cfg, "FePool")->persistence.timeout_s, 1200);
    cr_assert_eq(config_find_vs(cfg, "OfficeWebApp")->real_servers[0].ip, ip4("192.168.112.130"));
    cr_assert_eq(config_find_vs(cfg, "EdgeIntTCP")->real_servers[1].ip, ip4("172.24.7.2"));
    cr_assert_eq(cfg->layer7.connect_timeout_ms, 4000);
    cr_assert_eq(cfg->layer7.client_timeout_s, 1200);
    cr_assert_eq(cfg->layer7.server_timeout_s, 1200);
    config_free(cfg);
}

Test(config, lb2_and_reverse_proxy_have_the_guide_services)
{
    struct lbd_config *cfg = load_repo_file("config/lb2.json");
    const struct cfg_vs *v;

    cr_assert_eq(cfg->n_virtual_services, 4);
    cr_assert(cfg->routing.forward, "LB2 routes the edge servers' own traffic");
    cr_assert_neq(cfg->interfaces[0].gateway, 0, "LB2 has a default gateway");
    v = config_find_vs(cfg, "EdgeExtAccess");
    cr_assert_not_null(v);
    cr_assert_eq(v->ip, ip4("10.200.50.100"));
    cr_assert_eq(v->n_ports, 3);
    cr_assert_eq(v->real_servers[0].ip, ip4("10.200.50.101"));
    cr_assert_eq(v->real_servers[1].ip, ip4("10.200.50.102"));
    v = config_find_vs(cfg, "EdgeExtAvUDP");
    cr_assert_not_null(v);
    cr_assert_eq(v->layer, 4);
    cr_assert_eq(v->protocol, CFG_PROTO_UDP);
    cr_assert_eq(v->health_check.type, CFG_CHECK_PING);
    cr_assert_eq(v->real_servers[1].ip, ip4("10.200.50.122"));
    cr_assert_not_null(config_find_vs(cfg, "EdgeExtWeb"));
    cr_assert_eq(config_find_vs(cfg, "EdgeExtAvTCP")->layer, 4);
    config_free(cfg);

    cfg = load_repo_file("config/reverse-proxy.json");
    v = config_find_vs(cfg, "FeRpSSL");
    cr_assert_not_null(v);
    cr_assert_eq(v->ip, ip4("10.200.50.160"));
    cr_assert(v->tls.enabled);
    cr_assert_str_eq(v->tls.cert, "/etc/lbd/certs/public.pfx");
    cr_assert_str_eq(v->tls.pfx_password_file, "/etc/lbd/certs/public.pass");
    cr_assert_eq(v->mode, CFG_MODE_HTTP);
    for (size_t r = 0; r < v->n_real_servers; r++) {
        cr_assert(v->real_servers[r].tls);
        cr_assert_eq(v->real_servers[r].port, 4443);
    }
    v = config_find_vs(cfg, "ReverseProxyFE-HTTP");
    cr_assert_not_null(v);
    cr_assert_eq(v->mode, CFG_MODE_HTTP);
    cr_assert_eq(v->persistence.type, CFG_PERSIST_NONE);
    cr_assert_eq(v->real_servers[0].port, 8080);
    cr_assert_not_null(config_find_vs(cfg, "DirRpSSL"));
    cr_assert_eq(config_find_vs(cfg, "DirRpSSL")->ip, ip4("10.200.50.161"));
    cr_assert_not_null(config_find_vs(cfg, "ReverseProxyDIR-HTTP"));
    config_free(cfg);
}

/*
 * Each HA pair ships as two files: the first unit (lb1.json, lb2.json) with the services
 * and the second (lb1-peer.json, lb2-peer.json) with only the appliance-local settings
 * and its ha section, as the guide adds a slave. The two must point at each other, share
 * the vrid, key, advert interval and floating addresses, sit on the same subnet with
 * the same gateway and routes, and the first must win the election.
 */
static void assert_pair(const char *first, const char *second, const char *floating)
{
    struct lbd_config *a = load_repo_file(first), *b = load_repo_file(second);

    cr_assert(a->ha.enabled && b->ha.enabled, "%s, %s: both have an ha section", first, second);
    cr_assert_eq(a->ha.peer, b->interfaces[0].ip, "%s's peer is %s's self IP", first, second);
    cr_assert_eq(b->ha.peer, a->interfaces[0].ip, "%s's peer is %s's self IP", second, first);
    cr_assert_gt(a->ha.priority, b->ha.priority, "%s is the master", first);
    cr_assert_eq(a->ha.vrid, b->ha.vrid);
    cr_assert_eq(a->ha.advert_interval_ms, b->ha.advert_interval_ms);
    cr_assert_str_eq(a->ha.auth_key_file, b->ha.auth_key_file);
    cr_assert_eq(a->ha.n_floating_ips, 1, "%s: one floating address", first);
    cr_assert_eq(b->ha.n_floating_ips, 1, "%s: one floating address", second);
    cr_assert_eq(a->ha.floating_ips[0], ip4(floating), "%s: floating %s", first, floating);
    cr_assert_eq(b->ha.floating_ips[0], ip4(floating), "%s: floating %s", second, floating);
    cr_assert_eq(a->n_interfaces, 1, "%s: one arm", first);
    cr_assert_eq(b->n_interfaces, 1, "%s: one arm", second);
    cr_assert_eq(a->interfaces[0].prefix_len, b->interfaces[0].prefix_len);
    cr_assert_eq(a->interfaces[0].gateway, b->interfaces[0].gateway);
    cr_assert_eq(a->routing.forward, b->routing.forward);
    cr_assert_eq(a->routing.n_routes, b->routing.n_routes);
    for (size_t i = 0; i < a->routing.n_routes; i++) {
        cr_assert_eq(a->routing.routes[i].prefix, b->routing.routes[i].prefix);
        cr_assert_eq(a->routing.routes[i].via, b->routing.routes[i].via);
    }
    cr_assert_eq(a->layer7.connect_timeout_ms, b->layer7.connect_timeout_ms);
    cr_assert_eq(a->layer7.client_timeout_s, b->layer7.client_timeout_s);
    cr_assert_eq(a->layer7.server_timeout_s, b->layer7.server_timeout_s);
    cr_assert_gt(a->n_virtual_services, 0);
    cr_assert_eq(b->n_virtual_services, 0, "%s receives the services from %s", second, first);
    cr_assert_str_neq(a->appliance.name, b->appliance.name);
    cr_assert_str_neq(a->appliance.api_socket, b->appliance.api_socket);
    /* The status page and /metrics on each unit, on the host's loopback. */
    cr_assert(a->management.enabled && b->management.enabled);
    cr_assert_eq(a->management.address, ip4("127.0.0.1"));
    cr_assert_eq(b->management.address, ip4("127.0.0.1"));
    cr_assert_eq(a->management.port, 9100);
    cr_assert_eq(b->management.port, 9100);
    config_free(a);
    config_free(b);
}

Test(config, ha_pairs_ship_as_two_files)
{
    assert_pair("config/lb1.json", "config/lb1-peer.json", "192.168.112.4");
    assert_pair("config/lb2.json", "config/lb2-peer.json", "10.200.50.4");
}

/* The reverse proxy forwards to LB1's external web services VIPs (the guide's option 1),
 * so that LB1's MS-WSMAN cookie holds a user to one Front End through it. */
Test(config, reverse_proxy_forwards_to_lb1)
{
    struct lbd_config *rp = load_repo_file("config/reverse-proxy.json");
    struct lbd_config *lb1 = load_repo_file("config/lb1.json");
    static const char *const pairs[][2] = {
        {"ReverseProxyFE-HTTP", "FePoolWsExt8080"}, {"FeRpSSL", "FePoolWsExt4443"},
        {"ReverseProxyDIR-HTTP", "DirPoolWsExt8080"}, {"DirRpSSL", "DirPoolWsExt4443"},
    };

    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        const struct cfg_vs *v = config_find_vs(rp, pairs[i][0]);
        const struct cfg_vs *to = config_find_vs(lb1, pairs[i][1]);
        cr_assert_not_null(v, "%s", pairs[i][0]);
        cr_assert_not_null(to, "%s", pairs[i][1]);
        cr_assert_eq(v->n_real_servers, 1, "%s", pairs[i][0]);
        cr_assert_eq(v->real_servers[0].ip, to->ip, "%s -> %s", pairs[i][0], pairs[i][1]);
        cr_assert_eq(v->real_servers[0].port, to->ports[0], "%s -> %s", pairs[i][0], pairs[i][1]);
        cr_assert_eq(v->source_address, v->ip, "%s: SNAT to the VIP", pairs[i][0]);
    }
    cr_assert_eq(config_find_vs(lb1, "FePoolWsExt8080")->persistence.type, CFG_PERSIST_HTTP_COOKIE);
    cr_assert_eq(config_find_vs(lb1, "DirPoolWsExt8080")->persistence.type, CFG_PERSIST_HTTP_COOKIE);
    config_free(rp);
    config_free(lb1);
}

/* ------------------------------------------------------------------------ */
/* Every field's error path                                                 */
/* ------------------------------------------------------------------------ */

Test(config_errors, root)
{
    static const struct err_case cases[] = {
        {{{"foo", "1"}}, "foo: unknown field"},
        {{{"interfaces", DEL}}, "interfaces: required"},
        {{{"interfaces", "{}"}}, "interfaces: must be an array"},
        {{{"interfaces", "[]"}}, "interfaces: must not be empty"},
        {{{"interfaces", "null"}}, "interfaces: must be an array"},
        {{{"virtual_services", "{}"}}, "virtual_services: must be an array"},
        {{{"Appliance", "{}"}}, "Appliance: unknown field"},
    };
    RUN(cases);
}

Test(config_errors, appliance)
{
    static const struct err_case cases[] = {
        {{{"appliance", "5"}}, "appliance: must be an object"},
        {{{"appliance", "null"}}, "appliance: must be an object"},
        {{{"appliance.nmae", "'x'"}}, "appliance.nmae: unknown field"},
        {{{"appliance.name", "1"}}, "appliance.name: must be a string"},
        {{{"appliance.name", "''"}}, "appliance.name: must not be empty"},
        {{{"appliance.name", "'lb 1'"}},
         "appliance.name: \"lb 1\" may contain only letters, digits, '.', '_' and '-'"},
        {{{"appliance.name", "'lb/1'"}},
         "appliance.name: \"lb/1\" may contain only letters, digits, '.', '_' and '-'"},
        {{{"appliance.name", "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'"}},
         "appliance.name: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" is "
         "longer than 63 characters"},
        {{{"appliance.api_socket", "true"}}, "appliance.api_socket: must be a string"},
        {{{"appliance.api_socket", "''"}}, "appliance.api_socket: must not be empty"},
        {{{"appliance.api_socket", "'lb1.sock'"}},
         "appliance.api_socket: \"lb1.sock\" is not an absolute path"},
        {{{"appliance.api_socket", "'/run/lbd/a\\tb'"}},
         "appliance.api_socket: \"/run/lbd/a\\u0009b\" must not contain control characters"},
        {{{"appliance.api_socket",
           "'/run/lbd/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
           "aaaaaaaaaaaaaaaaaaaaaaa.sock'"}},
         "appliance.api_socket: \"/run/lbd/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "...\" is longer than 107 characters (a Unix socket path)"},
        {{{"appliance.idle_sleep_us", "'0'"}}, "appliance.idle_sleep_us: must be a number"},
        {{{"appliance.idle_sleep_us", "null"}}, "appliance.idle_sleep_us: must be a number"},
        {{{"appliance.idle_sleep_us", "1.5"}}, "appliance.idle_sleep_us: 1.5 is not a whole number"},
        {{{"appliance.idle_sleep_us", "-1"}}, "appliance.idle_sleep_us: -1 is not in 0..1000000"},
        {{{"appliance.idle_sleep_us", "1000001"}},
         "appliance.idle_sleep_us: 1000001 is not in 0..1000000"},
        {{{"appliance.idle_sleep_us", "1e300"}},
         "appliance.idle_sleep_us: 1e+300 is not in 0..1000000"},
        {{{"appliance.log_level", "'verbose'"}},
         "appliance.log_level: \"verbose\" is not one of err, warn, info, debug"},
        {{{"appliance.log_level", "'INFO'"}},
         "appliance.log_level: \"INFO\" is not one of err, warn, info, debug"},
        {{{"appliance.log_level", "3"}}, "appliance.log_level: must be a string"},
        {{{"appliance.mbufs_per_worker", "'8192'"}},
         "appliance.mbufs_per_worker: must be a number"},
        {{{"appliance.mbufs_per_worker", "8192.5"}},
         "appliance.mbufs_per_worker: 8192.5 is not a whole number"},
        {{{"appliance.mbufs_per_worker", "0"}},
         "appliance.mbufs_per_worker: 0 is not in 4096..16777216"},
        {{{"appliance.mbufs_per_worker", "4095"}},
         "appliance.mbufs_per_worker: 4095 is not in 4096..16777216"},
        {{{"appliance.mbufs_per_worker", "16777217"}},
         "appliance.mbufs_per_worker: 16777217 is not in 4096..16777216"},
    };
    RUN(cases);
}

Test(config_errors, interfaces)
{
    static const struct err_case cases[] = {
        {{{"interfaces[0]", "5"}}, "interfaces[0]: must be an object"},
        {{{"interfaces[0].gw", "'192.168.112.254'"}}, "interfaces[0].gw: unknown field"},
        {{{"interfaces[0].port", DEL}}, "interfaces[0].port: required"},
        {{{"interfaces[0].port", "'0'"}}, "interfaces[0].port: must be a number"},
        {{{"interfaces[0].port", "65536"}}, "interfaces[0].port: 65536 is not in 0..65535"},
        {{{"interfaces[0].port", "-1"}}, "interfaces[0].port: -1 is not in 0..65535"},
        {{{"interfaces[0].port", "0.5"}}, "interfaces[0].port: 0.5 is not a whole number"},
        {{{"interfaces[0].ip", DEL}}, "interfaces[0].ip: required"},
        {{{"interfaces[0].ip", "5"}}, "interfaces[0].ip: must be a string"},
        {{{"interfaces[0].ip", "'10.0.0.300/24'"}},
         "interfaces[0].ip: \"10.0.0.300/24\" is not an IPv4 prefix"},
        {{{"interfaces[0].ip", "'192.168.112.5'"}},
         "interfaces[0].ip: \"192.168.112.5\" is not an IPv4 prefix"},
        {{{"interfaces[0].ip", "'192.168.112.5/33'"}},
         "interfaces[0].ip: \"192.168.112.5/33\" is not an IPv4 prefix"},
        {{{"interfaces[0].ip", "'192.168.112.0/24'"}},
         "interfaces[0].ip: \"192.168.112.0/24\" is not a host address on a subnet"},
        {{{"interfaces[0].ip", "'192.168.112.255/24'"}},
         "interfaces[0].ip: \"192.168.112.255/24\" is not a host address on a subnet"},
        {{{"interfaces[0].ip", "'192.168.112.5/0'"}},
         "interfaces[0].ip: \"192.168.112.5/0\" is not a host address on a subnet"},
        {{{"interfaces[0].ip", "'224.0.0.5/24'"}},
         "interfaces[0].ip: \"224.0.0.5/24\" is not a host address on a subnet"},
        {{{"interfaces[0].gateway", "5"}}, "interfaces[0].gateway: must be a string"},
        {{{"interfaces[0].gateway", "'192.168.112.256'"}},
         "interfaces[0].gateway: \"192.168.112.256\" is not an IPv4 address"},
        {{{"interfaces[0].gateway", "'10.0.0.1'"}},
         "interfaces[0].gateway: \"10.0.0.1\" is not on the interface's subnet 192.168.112.0/24"},
        {{{"interfaces[0].gateway", "'192.168.112.5'"}},
         "interfaces[0].gateway: \"192.168.112.5\" is the interface's own address"},
        {{{"interfaces[1].port", "0"}}, "interfaces[1].port: 0 is already used by interfaces[0]"},
        {{{"interfaces[1].ip", "'192.168.112.6/24'"}},
         "interfaces[1].ip: \"192.168.112.6/24\" overlaps interfaces[0] (192.168.112.0/24)"},
        {{{"interfaces[1].ip", "'192.168.0.6/16'"}},
         "interfaces[1].ip: \"192.168.0.6/16\" overlaps interfaces[0] (192.168.112.0/24)"},
        {{{"interfaces[1].gateway", "'10.0.0.254'"}},
         "interfaces[1].gateway: interfaces[0] already has the default gateway"},
    };
    RUN(cases);
}

Test(config_errors, routing)
{
    static const struct err_case cases[] = {
        {{{"routing", "[]"}}, "routing: must be an object"},
        {{{"routing.foward", "true"}}, "routing.foward: unknown field"},
        {{{"routing.forward", "'yes'"}}, "routing.forward: must be true or false"},
        {{{"routing.forward", "1"}}, "routing.forward: must be true or false"},
        {{{"routing.routes", "{}"}}, "routing.routes: must be an array"},
        {{{"routing.routes[0]", "'172.24.7.0/24'"}}, "routing.routes[0]: must be an object"},
        {{{"routing.routes[0].gateway", "'192.168.112.254'"}},
         "routing.routes[0].gateway: unknown field"},
        {{{"routing.routes[0].prefix", DEL}}, "routing.routes[0].prefix: required"},
        {{{"routing.routes[0].prefix", "24"}}, "routing.routes[0].prefix: must be a string"},
        {{{"routing.routes[0].prefix", "'172.24.7.0'"}},
         "routing.routes[0].prefix: \"172.24.7.0\" is not an IPv4 prefix"},
        {{{"routing.routes[0].prefix", "'172.24.7.1/24'"}},
         "routing.routes[0].prefix: \"172.24.7.1/24\" has host bits set (the network is "
         "172.24.7.0/24)"},
        {{{"routing.routes[0].prefix", "'0.0.0.0/0'"}},
         "routing.routes[0].prefix: \"0.0.0.0/0\" is the default route, already given by "
         "interfaces[0].gateway"},
        {{{"routing.routes[0].via", DEL}}, "routing.routes[0].via: required"},
        {{{"routing.routes[0].via", "'192.168.112'"}},
         "routing.routes[0].via: \"192.168.112\" is not an IPv4 address"},
        {{{"routing.routes[0].via", "'10.9.9.9'"}},
         "routing.routes[0].via: \"10.9.9.9\" is not on a connected interface subnet"},
        {{{"routing.routes[0].via", "'192.168.112.5'"}},
         "routing.routes[0].via: \"192.168.112.5\" is the self IP of interfaces[0]"},
        {{{"routing.routes[1]", "{'prefix': '172.24.7.0/24', 'via': '10.0.0.1'}"}},
         "routing.routes[1].prefix: \"172.24.7.0/24\" is already routed by routing.routes[0]"},
    };
    RUN(cases);
}

Test(config_errors, layer4)
{
    static const struct err_case cases[] = {
        {{{"layer4", "[]"}}, "layer4: must be an object"},
        {{{"layer4.udp_timeout", "1"}}, "layer4.udp_timeout: unknown field"},
        {{{"layer4.udp_timeout_s", "0"}}, "layer4.udp_timeout_s: 0 is not in 1..604800"},
        {{{"layer4.tcp_handshake_timeout_s", "3601"}},
         "layer4.tcp_handshake_timeout_s: 3601 is not in 1..3600"},
        {{{"layer4.tcp_established_timeout_s", "'900'"}},
         "layer4.tcp_established_timeout_s: must be a number"},
        {{{"layer4.tcp_closing_timeout_s", "2.5"}},
         "layer4.tcp_closing_timeout_s: 2.5 is not a whole number"},
        {{{"layer4.max_conns_per_worker", "100"}},
         "layer4.max_conns_per_worker: 100 is not in 1024..16777216"},
        {{{"layer7.max_conns_per_worker", "10"}},
         "layer7.max_conns_per_worker: 10 is not in 64..4194304"},
        {{{"layer7.max_time_wait_per_worker", "0"}},
         "layer7.max_time_wait_per_worker: 0 is not in 64..16777216"},
        {{{"layer4.max_half_open_per_worker", "0"}},
         "layer4.max_half_open_per_worker: 0 is not in 1..16777216"},
        {{{"layer4.max_half_open_per_worker", "300000"}},
         "layer4.max_half_open_per_worker: 300000 is more than max_conns_per_worker"},
        {{{"layer4.tcp_midstream", "1"}}, "layer4.tcp_midstream: must be true or false"},
        {{{"layer4.syn_proxy", "'on'"}}, "layer4.syn_proxy: \"on\" is not one of flood, off, always"},
        {{{"layer4.syn_proxy", "true"}}, "layer4.syn_proxy: must be a string"},
    };
    RUN(cases);
}

Test(config_errors, layer7)
{
    static const struct err_case cases[] = {
        {{{"layer7", "true"}}, "layer7: must be an object"},
        {{{"layer7.connect_timeout", "1"}}, "layer7.connect_timeout: unknown field"},
        {{{"layer7.connect_timeout_ms", "'4000'"}}, "layer7.connect_timeout_ms: must be a number"},
        {{{"layer7.connect_timeout_ms", "0"}}, "layer7.connect_timeout_ms: 0 is not in 1..3600000"},
        {{{"layer7.connect_timeout_ms", "3600001"}},
         "layer7.connect_timeout_ms: 3600001 is not in 1..3600000"},
        {{{"layer7.client_timeout_s", "1.5"}}, "layer7.client_timeout_s: 1.5 is not a whole number"},
        {{{"layer7.client_timeout_s", "604801"}},
         "layer7.client_timeout_s: 604801 is not in 1..604800"},
        {{{"layer7.server_timeout_s", "-1200"}},
         "layer7.server_timeout_s: -1200 is not in 1..604800"},
        {{{"layer7.server_timeout_s", "4294967296"}},
         "layer7.server_timeout_s: 4294967296 is not in 1..604800"},
        {{{"layer7.server_timeout_s", "false"}}, "layer7.server_timeout_s: must be a number"},
        {{{"layer7.congestion_control", "'reno'"}},
         "layer7.congestion_control: \"reno\" is not one of cubic, newreno"},
        {{{"layer7.congestion_control", "1"}}, "layer7.congestion_control: must be a string"},
        {{{"layer7.rcvbuf_init", "1024"}}, "layer7.rcvbuf_init: 1024 is not in 4096..268435456"},
        {{{"layer7.rcvbuf_max", "268435457"}},
         "layer7.rcvbuf_max: 268435457 is not in 4096..268435456"},
        {{{"layer7.rcvbuf_max", "'4M'"}}, "layer7.rcvbuf_max: must be a number"},
        {{{"layer7.rcvbuf_max", "32768"}},
         "layer7.rcvbuf_init: 65536 is more than layer7.rcvbuf_max (32768)"},
        {{{"layer7.sndbuf_init", "1024"}}, "layer7.sndbuf_init: 1024 is not in 4096..268435456"},
        {{{"layer7.sndbuf_max", "'4M'"}}, "layer7.sndbuf_max: must be a number"},
        {{{"layer7.sndbuf_max", "131072"}},
         "layer7.sndbuf_init: 262144 is more than layer7.sndbuf_max (131072)"},
    };
    RUN(cases);
}

Test(config_errors, virtual_service_fields)
{
    static const struct err_case cases[] = {
        {{{"virtual_services[0]", "[]"}}, "virtual_services[0]: must be an object"},
        {{{"virtual_services[0].lables", "'x'"}}, "virtual_services[0].lables: unknown field"},
        {{{"virtual_services[0].label", DEL}}, "virtual_services[0].label: required"},
        {{{"virtual_services[0].label", "7"}}, "virtual_services[0].label: must be a string"},
        {{{"virtual_services[0].label", "''"}}, "virtual_services[0].label: must not be empty"},
        {{{"virtual_services[0].label", "'Fe Pool'"}},
         "virtual_services[0].label: \"Fe Pool\" may contain only letters, digits, '.', '_' and "
         "'-'"},
        {{{"virtual_services[0].ip", DEL}}, "virtual_services[0].ip: required"},
        {{{"virtual_services[0].ip", "3232264302"}}, "virtual_services[0].ip: must be a string"},
        {{{"virtual_services[0].ip", "'192.168.112.300'"}},
         "virtual_services[0].ip: \"192.168.112.300\" is not an IPv4 address"},
        {{{"virtual_services[0].ip", "'192.168.112.110/32'"}},
         "virtual_services[0].ip: \"192.168.112.110/32\" is not an IPv4 address"},
        {{{"virtual_services[0].ip", "'0.0.0.0'"}},
         "virtual_services[0].ip: \"0.0.0.0\" is not a unicast host address"},
        {{{"virtual_services[0].ip", "'239.1.1.1'"}},
         "virtual_services[0].ip: \"239.1.1.1\" is not a unicast host address"},
        {{{"virtual_services[0].ip", "'192.168.112.5'"}},
         "virtual_services[0].ip: \"192.168.112.5\" is the self IP of interfaces[0]"},
        {{{"virtual_services[0].protocol", "'sctp'"}},
         "virtual_services[0].protocol: \"sctp\" is not one of tcp, udp"},
        {{{"virtual_services[0].protocol", "6"}}, "virtual_services[0].protocol: must be a string"},
        {{{"virtual_services[0].layer", DEL}}, "virtual_services[0].layer: required"},
        {{{"virtual_services[0].layer", "'7'"}}, "virtual_services[0].layer: must be a number"},
        {{{"virtual_services[0].layer", "5"}}, "virtual_services[0].layer: 5 is not 4 or 7"},
        {{{"virtual_services[0].layer", "7.5"}}, "virtual_services[0].layer: 7.5 is not 4 or 7"},
        {{{"virtual_services[0].mode", "'https'"}},
         "virtual_services[0].mode: \"https\" is not one of tcp, http"},
        {{{"virtual_services[0].mode", "null"}}, "virtual_services[0].mode: must be a string"},
        {{{"virtual_services[2].forwarding", "'dr'"}},
         "virtual_services[2].forwarding: \"dr\" is not one of nat"},
        {{{"virtual_services[1].scheduler", "'foo'"}},
         "virtual_services[1].scheduler: \"foo\" is not one of wlc, wrr, sh, maglev"},
        {{{"virtual_services[1].scheduler", "1"}},
         "virtual_services[1].scheduler: must be a string"},
        {{{"virtual_services[0].source_address", "'192.168.112.1000'"}},
         "virtual_services[0].source_address: \"192.168.112.1000\" is not an IPv4 address"},
        {{{"virtual_services[0].source_address", "'10.0.0.9'"}},
         "virtual_services[0].source_address: \"10.0.0.9\" is neither a self IP nor a VIP"},
        {{{"virtual_services[0].real_servers", "{}"}},
         "virtual_services[0].real_servers: must be an array"},
    };
    RUN(cases);
}

Test(config_errors, ports)
{
    static const struct err_case cases[] = {
        {{{"virtual_services[0].ports", DEL}}, "virtual_services[0].ports: required"},
        {{{"virtual_services[0].ports", "80"}}, "virtual_services[0].ports: must be an array"},
        {{{"virtual_services[0].ports", "'80,443'"}},
         "virtual_services[0].ports: must be an array"},
        {{{"virtual_services[0].ports", "[]"}}, "virtual_services[0].ports: must not be empty"},
        {{{"virtual_services[2].ports", "[3478, 3479, 3480, 70000]"}},
         "virtual_services[2].ports[3]: 70000 is not a port"},
        {{{"virtual_services[0].ports[1]", "0"}}, "virtual_services[0].ports[1]: 0 is not a port"},
        {{{"virtual_services[0].ports[1]", "-443"}},
         "virtual_services[0].ports[1]: -443 is not a port"},
        {{{"virtual_services[0].ports[1]", "443.5"}},
         "virtual_services[0].ports[1]: 443.5 is not a port"},
        {{{"virtual_services[0].ports[1]", "true"}},
         "virtual_services[0].ports[1]: must be a number or a \"lo-hi\" string"},
        {{{"virtual_services[0].ports[1]", "null"}},
         "virtual_services[0].ports[1]: must be a number or a \"lo-hi\" string"},
        {{{"virtual_services[0].ports[2]", "'5076-5070'"}},
         "virtual_services[0].ports[2]: \"5076-5070\" is not a port or a port range"},
        {{{"virtual_services[0].ports[2]", "'5070 - 5076'"}},
         "virtual_services[0].ports[2]: \"5070 - 5076\" is not a port or a port range"},
        {{{"virtual_services[0].ports[2]", "'0-10'"}},
         "virtual_services[0].ports[2]: \"0-10\" is not a port or a port range"},
        {{{"virtual_services[0].ports[2]", "'5070-70000'"}},
         "virtual_services[0].ports[2]: \"5070-70000\" is not a port or a port range"},
        {{{"virtual_services[0].ports[2]", "''"}},
         "virtual_services[0].ports[2]: \"\" is not a port or a port range"},
        {{{"virtual_services[0].ports[1]", "80"}},
         "virtual_services[0].ports[1]: port 80 is listed twice"},
        {{{"virtual_services[0].ports[1]", "'79-81'"}},
         "virtual_services[0].ports[1]: port 80 is listed twice"},
        {{{"virtual_services[0].ports[3]", "'5071'"}},
         "virtual_services[0].ports[3]: port 5071 is listed twice"},
        {{{"virtual_services[0].ports", "['1-65']"}},
         "virtual_services[0].ports: more than 64 ports"},
        {{{"virtual_services[0].ports", "['1-64', 65535]"}},
         "virtual_services[0].ports: more than 64 ports"},
    };
    RUN(cases);
}

Test(config_errors, layer_rules)
{
    static const struct err_case cases[] = {
        {{{"virtual_services[0].protocol", "'udp'"}},
         "virtual_services[0].protocol: udp is only for layer 4 services"},
        {{{"virtual_services[2].layer", "7"}},
         "virtual_services[2].protocol: udp is only for layer 4 services"},
        {{{"virtual_services[2].mode", "'tcp'"}},
         "virtual_services[2].mode: only for layer 7 services"},
        {{{"virtual_services[0].forwarding", "'nat'"}},
         "virtual_services[0].forwarding: only for layer 4 services"},
        {{{"virtual_services[2].source_address", "'192.168.112.140'"}},
         "virtual_services[2].source_address: only for layer 7 services"},
        {{{"virtual_services[2].tls", "{'cert': '/etc/lbd/a.pem'}"}},
         "virtual_services[2].tls: only for layer 7 services"},
        {{{"virtual_services[2].real_servers[0].tls", "true"}},
         "virtual_services[2].real_servers[0].tls: only for layer 7 services"},
        {{{"virtual_services[0].persistence", "{'type': 'http_cookie'}"}},
         "virtual_services[0].persistence.type: http_cookie needs layer 7 mode http"},
        {{{"virtual_services[2].persistence", "{'type': 'http_cookie', 'cookie': 'X'}"}},
         "virtual_services[2].persistence.type: http_cookie needs layer 7 mode http"},
        {{{"virtual_services[0].max_header_bytes", "8192"}},
         "virtual_services[0].max_header_bytes: only for layer 7 mode http services"},
        {{{"virtual_services[2].x_forwarded_for", "true"}},
         "virtual_services[2].x_forwarded_for: only for layer 7 mode http services"},
        {{{"virtual_services[0].http_request_timeout_ms", "1000"}},
         "virtual_services[0].http_request_timeout_ms: only for layer 7 mode http services"},
        {{{"virtual_services[1].max_header_bytes", "100"}},
         "virtual_services[1].max_header_bytes: 100 is not in 1024..65536"},
        {{{"virtual_services[1].max_header_bytes", "65537"}},
         "virtual_services[1].max_header_bytes: 65537 is not in 1024..65536"},
        {{{"virtual_services[1].http_request_timeout_ms", "0"}},
         "virtual_services[1].http_request_timeout_ms: 0 is not in 100..3600000"},
        {{{"virtual_services[1].x_forwarded_for", "1"}},
         "virtual_services[1].x_forwarded_for: must be true or false"},
        /* Changing the mode of a cookie service. */
        {{{"virtual_services[1].mode", "'tcp'"}},
         "virtual_services[1].persistence.type: http_cookie needs layer 7 mode http"},
    };
    RUN(cases);
}

Test(config_errors, persistence)
{
    static const struct err_case cases[] = {
        {{{"virtual_services[0].persistence", "'source_ip'"}},
         "virtual_services[0].persistence: must be an object"},
        {{{"virtual_services[0].persistence.timeout", "1200"}},
         "virtual_services[0].persistence.timeout: unknown field"},
        {{{"virtual_services[0].persistence.type", DEL}},
         "virtual_services[0].persistence.type: required"},
        {{{"virtual_services[0].persistence.type", "'cookie'"}},
         "virtual_services[0].persistence.type: \"cookie\" is not one of none, source_ip, "
         "http_cookie"},
        {{{"virtual_services[0].persistence.type", "0"}},
         "virtual_services[0].persistence.type: must be a string"},
        {{{"virtual_services[0].persistence.timeout_s", "0"}},
         "virtual_services[0].persistence.timeout_s: 0 is not in 1..604800"},
        {{{"virtual_services[0].persistence.timeout_s", "'20m'"}},
         "virtual_services[0].persistence.timeout_s: must be a number"},
        {{{"virtual_services[0].persistence.timeout_s", "null"}},
         "virtual_services[0].persistence.timeout_s: must be a number"},
        {{{"virtual_services[0].persistence.cookie", "'X'"}},
         "virtual_services[0].persistence.cookie: only for type http_cookie"},
        {{{"virtual_services[0].persistence.max_idle_s", "null"}},
         "virtual_services[0].persistence.max_idle_s: only for type http_cookie"},
        {{{"virtual_services[0].persistence.max_life_s", "60"}},
         "virtual_services[0].persistence.max_life_s: only for type http_cookie"},
        {{{"virtual_services[0].persistence", "{'type': 'none', 'timeout_s': 60}"}},
         "virtual_services[0].persistence.timeout_s: only for type source_ip"},
        {{{"virtual_services[1].persistence.timeout_s", "60"}},
         "virtual_services[1].persistence.timeout_s: only for type source_ip"},
        {{{"virtual_services[1].persistence.cookie", "'MS WSMAN'"}},
         "virtual_services[1].persistence.cookie: \"MS WSMAN\" is not a valid cookie name"},
        {{{"virtual_services[1].persistence.cookie", "'a;b'"}},
         "virtual_services[1].persistence.cookie: \"a;b\" is not a valid cookie name"},
        {{{"virtual_services[1].persistence.cookie", "''"}},
         "virtual_services[1].persistence.cookie: must not be empty"},
        {{{"virtual_services[1].persistence.cookie", "5"}},
         "virtual_services[1].persistence.cookie: must be a string"},
        {{{"virtual_services[1].persistence.max_idle_s", "-1"}},
         "virtual_services[1].persistence.max_idle_s: -1 is not in 0..4294967295"},
        {{{"virtual_services[1].persistence.max_idle_s", "'none'"}},
         "virtual_services[1].persistence.max_idle_s: must be a number"},
        {{{"virtual_services[1].persistence.max_life_s", "4294967296"}},
         "virtual_services[1].persistence.max_life_s: 4294967296 is not in 0..4294967295"},
        {{{"virtual_services[1].persistence.max_life_s", "0.25"}},
         "virtual_services[1].persistence.max_life_s: 0.25 is not a whole number"},
    };
    RUN(cases);
}

Test(config_errors, health_check)
{
    static const struct err_case cases[] = {
        {{{"virtual_services[0].health_check", "'connect'"}},
         "virtual_services[0].health_check: must be an object"},
        {{{"virtual_services[0].health_check.check_port", "5061"}},
         "virtual_services[0].health_check.check_port: unknown field"},
        {{{"virtual_services[0].health_check.type", DEL}},
         "virtual_services[0].health_check.type: required"},
        {{{"virtual_services[0].health_check.type", "'tcp'"}},
         "virtual_services[0].health_check.type: \"tcp\" is not one of none, connect, ping, http"},
        {{{"virtual_services[0].health_check.port", "0"}},
         "virtual_services[0].health_check.port: 0 is not a port"},
        {{{"virtual_services[0].health_check.port", "65536"}},
         "virtual_services[0].health_check.port: 65536 is not a port"},
        {{{"virtual_services[0].health_check.port", "'5061'"}},
         "virtual_services[0].health_check.port: must be a number"},
        {{{"virtual_services[2].health_check.port", "3478"}},
         "virtual_services[2].health_check.port: only for types connect and http"},
        {{{"virtual_services[0].health_check", "{'type': 'none', 'interval_ms': 2000}"}},
         "virtual_services[0].health_check.interval_ms: only for types connect, ping and http"},
        {{{"virtual_services[0].health_check", "{'type': 'none', 'fall': 2}"}},
         "virtual_services[0].health_check.fall: only for types connect, ping and http"},
        {{{"virtual_services[0].health_check.http_path", "'/'"}},
         "virtual_services[0].health_check.http_path: only for type http"},
        {{{"virtual_services[0].health_check.http_expect", "200"}},
         "virtual_services[0].health_check.http_expect: only for type http"},
        {{{"virtual_services[0].health_check.interval_ms", "99"}},
         "virtual_services[0].health_check.interval_ms: 99 is not in 100..3600000"},
        {{{"virtual_services[0].health_check.interval_ms", "2000.5"}},
         "virtual_services[0].health_check.interval_ms: 2000.5 is not a whole number"},
        {{{"virtual_services[0].health_check.timeout_ms", "5"}},
         "virtual_services[0].health_check.timeout_ms: 5 is not in 10..3600000"},
        {{{"virtual_services[0].health_check.timeout_ms", "3000"}},
         "virtual_services[0].health_check.timeout_ms: 3000 is more than interval_ms 2000"},
        {{{"virtual_services[2].health_check", "{'type': 'ping', 'interval_ms': 500}"}},
         "virtual_services[2].health_check.timeout_ms: 1000 is more than interval_ms 500"},
        {{{"virtual_services[0].health_check.rise", "0"}},
         "virtual_services[0].health_check.rise: 0 is not in 1..100"},
        {{{"virtual_services[0].health_check.fall", "101"}},
         "virtual_services[0].health_check.fall: 101 is not in 1..100"},
        {{{"virtual_services[0].health_check.fall", "true"}},
         "virtual_services[0].health_check.fall: must be a number"},
        {{{"virtual_services[1].health_check.http_path", "'health'"}},
         "virtual_services[1].health_check.http_path: \"health\" does not start with '/'"},
        {{{"virtual_services[1].health_check.http_path", "'/a b'"}},
         "virtual_services[1].health_check.http_path: \"/a b\" must not contain spaces or control "
         "characters"},
        {{{"virtual_services[1].health_check.http_path", "''"}},
         "virtual_services[1].health_check.http_path: must not be empty"},
        {{{"virtual_services[1].health_check.http_expect", "600"}},
         "virtual_services[1].health_check.http_expect: 600 is not in 100..599"},
        {{{"virtual_services[1].health_check.http_expect", "'200'"}},
         "virtual_services[1].health_check.http_expect: must be a number"},
    };
    RUN(cases);
}

Test(config_errors, tls)
{
    static const struct err_case cases[] = {
        {{{"virtual_services[1].tls", "true"}}, "virtual_services[1].tls: must be an object"},
        {{{"virtual_services[1].tls", "{}"}}, "virtual_services[1].tls.cert: required (or pfx)"},
        {{{"virtual_services[1].tls.pfx", "'/etc/lbd/a.pfx'"}},
         "virtual_services[1].tls.pfx: give either cert (PEM) or pfx, not both"},
        {{{"virtual_services[1].tls", "{'pfx': '/etc/lbd/a.pfx', 'key': '/etc/lbd/a.key'}"}},
         "virtual_services[1].tls.key: a PFX holds its key: only with cert"},
        {{{"virtual_services[1].tls.min_version", "'1.4'"}},
         "virtual_services[1].tls.min_version: \"1.4\" is not one of 1.0, 1.1, 1.2, 1.3"},
        {{{"virtual_services[1].tls.sni_certs", "[{'key': '/k'}]"}},
         "virtual_services[1].tls.sni_certs[0].cert: required (or pfx)"},
        {{{"virtual_services[1].tls.sni_certs", "[{'cert': '/c', 'ciphers': 'x'}]"}},
         "virtual_services[1].tls.sni_certs[0].ciphers: unknown field"},
        {{{"virtual_services[1].tls.ciphersuites", "'A\tB'"}},
         "virtual_services[1].tls.ciphersuites: \"A\\u0009B\" must not contain control characters"},
        {{{"virtual_services[1].real_servers[0].tls", "{'verify': false, 'ca': '/ca.pem'}"}},
         "virtual_services[1].real_servers[0].tls.ca: only with \"verify\": true"},
        {{{"virtual_services[1].real_servers[0].tls", "{'verfy': true}"}},
         "virtual_services[1].real_servers[0].tls.verfy: unknown field"},
        {{{"virtual_services[1].tls.password", "'x'"}},
         "virtual_services[1].tls.password: unknown field"},
        {{{"virtual_services[1].tls.cert", "5"}}, "virtual_services[1].tls.cert: must be a string"},
        {{{"virtual_services[1].tls.cert", "''"}},
         "virtual_services[1].tls.cert: must not be empty"},
        {{{"virtual_services[1].tls.key", "true"}}, "virtual_services[1].tls.key: must be a string"},
        {{{"virtual_services[1].tls.pfx_password_file", "[]"}},
         "virtual_services[1].tls.pfx_password_file: must be a string"},
        {{{"virtual_services[1].tls.ciphers", "'HIGH\\n'"}},
         "virtual_services[1].tls.ciphers: \"HIGH\\u000a\" must not contain control characters"},
    };
    RUN(cases);
}

Test(config_errors, real_servers)
{
    static const struct err_case cases[] = {
        {{{"virtual_services[0].real_servers[0]", "'FE1'"}},
         "virtual_services[0].real_servers[0]: must be an object"},
        {{{"virtual_services[0].real_servers[0].wieght", "1"}},
         "virtual_services[0].real_servers[0].wieght: unknown field"},
        {{{"virtual_services[0].real_servers[0].label", DEL}},
         "virtual_services[0].real_servers[0].label: required"},
        {{{"virtual_services[0].real_servers[0].label", "1"}},
         "virtual_services[0].real_servers[0].label: must be a string"},
        {{{"virtual_services[0].real_servers[0].label", "'FE#1'"}},
         "virtual_services[0].real_servers[0].label: \"FE#1\" may contain only letters, digits, "
         "'.', '_' and '-'"},
        {{{"virtual_services[0].real_servers[0].ip", DEL}},
         "virtual_services[0].real_servers[0].ip: required"},
        {{{"virtual_services[0].real_servers[0].ip", "'192.168.112.051'"}},
         "virtual_services[0].real_servers[0].ip: \"192.168.112.051\" is not an IPv4 address"},
        {{{"virtual_services[0].real_servers[0].ip", "'127.0.0.1'"}},
         "virtual_services[0].real_servers[0].ip: \"127.0.0.1\" is not a unicast host address"},
        {{{"virtual_services[0].real_servers[0].port", "0"}},
         "virtual_services[0].real_servers[0].port: 0 is not a port"},
        {{{"virtual_services[0].real_servers[0].port", "65536"}},
         "virtual_services[0].real_servers[0].port: 65536 is not a port"},
        {{{"virtual_services[0].real_servers[0].port", "''"}},
         "virtual_services[0].real_servers[0].port: must be a number"},
        {{{"virtual_services[0].real_servers[0].weight", "65536"}},
         "virtual_services[0].real_servers[0].weight: 65536 is not in 0..65535"},
        {{{"virtual_services[0].real_servers[0].weight", "-1"}},
         "virtual_services[0].real_servers[0].weight: -1 is not in 0..65535"},
        {{{"virtual_services[0].real_servers[0].weight", "null"}},
         "virtual_services[0].real_servers[0].weight: must be a number"},
        {{{"virtual_services[0].real_servers[0].min_conns", "1.5"}},
         "virtual_services[0].real_servers[0].min_conns: 1.5 is not a whole number"},
        {{{"virtual_services[0].real_servers[0].min_conns", "'0'"}},
         "virtual_services[0].real_servers[0].min_conns: must be a number"},
        {{{"virtual_services[0].real_servers[0].max_conns", "4294967296"}},
         "virtual_services[0].real_servers[0].max_conns: 4294967296 is not in 0..4294967295"},
        {{{"virtual_services[0].real_servers[0].max_conns", "-5"}},
         "virtual_services[0].real_servers[0].max_conns: -5 is not in 0..4294967295"},
        {{{"virtual_services[0].real_servers[0].min_conns", "10"},
          {"virtual_services[0].real_servers[0].max_conns", "5"}},
         "virtual_services[0].real_servers[0].min_conns: 10 is more than max_conns 5"},
        {{{"virtual_services[0].real_servers[0].min_conns", "1"}},
         "virtual_services[0].real_servers[0].min_conns: 1: not supported (only 0): lbd has "
         "no connection queue and no service-wide load (fullconn) for a minimum to scale "
         "from; use max_conns for a limit"},
        {{{"virtual_services[0].real_servers[0].min_conns", "5"},
          {"virtual_services[0].real_servers[0].max_conns", "10"}},
         "virtual_services[0].real_servers[0].min_conns: 5: not supported (only 0): lbd has "
         "no connection queue and no service-wide load (fullconn) for a minimum to scale "
         "from; use max_conns for a limit"},
        {{{"virtual_services[2].real_servers[1].min_conns", "4294967295"}},
         "virtual_services[2].real_servers[1].min_conns: 4294967295: not supported (only 0): "
         "lbd has no connection queue and no service-wide load (fullconn) for a minimum to "
         "scale from; use max_conns for a limit"},
        {{{"virtual_services[0].real_servers[0].state", "'offline'"}},
         "virtual_services[0].real_servers[0].state: \"offline\" is not one of online, drain, halt"},
        {{{"virtual_services[0].real_servers[0].state", "1"}},
         "virtual_services[0].real_servers[0].state: must be a string"},
        {{{"virtual_services[0].real_servers[0].tls", "'yes'"}},
         "virtual_services[0].real_servers[0].tls: must be true or false"},
        {{{"virtual_services[0].real_servers[1].label", "'FE1'"}},
         "virtual_services[0].real_servers[1].label: \"FE1\" is already used by real_servers[0]"},
        {{{"virtual_services[0].real_servers[1].ip", "'192.168.112.51'"}},
         "virtual_services[0].real_servers[1].ip: \"192.168.112.51\" with port null is already "
         "real_servers[0]"},
        {{{"virtual_services[2].real_servers[1].ip", "'172.24.7.1'"}},
         "virtual_services[2].real_servers[1].ip: \"172.24.7.1\" with port 3478 is already "
         "real_servers[0]"},
    };
    RUN(cases);
}

Test(config_errors, across_services)
{
    static const struct err_case cases[] = {
        {{{"virtual_services[1].label", "'FePool'"}},
         "virtual_services[1].label: \"FePool\" is already used by virtual_services[0]"},
        {{{"virtual_services[3]", "{'label': 'FePool', 'ip': '192.168.112.99', 'ports': [1], "
                                  "'layer': 4}"}},
         "virtual_services[3].label: \"FePool\" is already used by virtual_services[0]"},
        {{{"virtual_services[1].ip", "'192.168.112.110'"},
          {"virtual_services[1].ports", "[8080, 443]"}},
         "virtual_services[1].ports: 192.168.112.110 tcp port 443 is already used by "
         "virtual_services[0]"},
        {{{"virtual_services[3]", "{'label': 'Stun2', 'ip': '192.168.112.140', "
                                  "'ports': ['3470-3480'], 'protocol': 'udp', 'layer': 4}"}},
         "virtual_services[3].ports: 192.168.112.140 udp port 3478 is already used by "
         "virtual_services[2]"},
        /* A layer 4 TCP service on the same VIP and port as a layer 7 one. */
        {{{"virtual_services[3]", "{'label': 'Nat', 'ip': '192.168.112.110', 'ports': [5072], "
                                  "'layer': 4}"}},
         "virtual_services[3].ports: 192.168.112.110 tcp port 5072 is already used by "
         "virtual_services[0]"},
    };
    RUN(cases);
}

Test(config_errors, ha)
{
    static const struct err_case cases[] = {
        {{{"ha", "true"}}, "ha: must be an object"},
        {{{"ha", "{}"}}, "ha.peer: required"},
        {{{"ha.peers", "'192.168.112.7'"}}, "ha.peers: unknown field"},
        {{{"ha.peer", DEL}}, "ha.peer: required"},
        {{{"ha.peer", "6"}}, "ha.peer: must be a string"},
        {{{"ha.peer", "'192.168.112.6 '"}}, "ha.peer: \"192.168.112.6 \" is not an IPv4 address"},
        {{{"ha.peer", "'10.9.9.6'"}}, "ha.peer: \"10.9.9.6\" is not on a connected interface subnet"},
        {{{"ha.peer", "'192.168.112.5'"}}, "ha.peer: \"192.168.112.5\" is the self IP of interfaces[0]"},
        {{{"ha.peer", "'192.168.112.110'"}},
         "ha.peer: \"192.168.112.110\" is the VIP of virtual_services[0]"},
        {{{"ha.priority", "0"}}, "ha.priority: 0 is not in 1..254"},
        {{{"ha.priority", "255"}}, "ha.priority: 255 is not in 1..254"},
        {{{"ha.priority", "'high'"}}, "ha.priority: must be a number"},
        {{{"ha.advert_interval_ms", "9"}}, "ha.advert_interval_ms: 9 is not in 10..60000"},
        {{{"ha.advert_interval_ms", "60001"}}, "ha.advert_interval_ms: 60001 is not in 10..60000"},
        {{{"ha.preempt", "1"}}, "ha.preempt: must be true or false"},
        {{{"ha.preempt", "null"}}, "ha.preempt: must be true or false"},
        {{{"ha.auth_key_file", "5"}}, "ha.auth_key_file: must be a string"},
        {{{"ha.auth_key_file", "''"}}, "ha.auth_key_file: must not be empty"},
        {{{"ha.vrid", "0"}}, "ha.vrid: 0 is not in 1..255"},
        {{{"ha.vrid", "256"}}, "ha.vrid: 256 is not in 1..255"},
        {{{"ha.vrid", "1.1"}}, "ha.vrid: 1.1 is not a whole number"},
        {{{"ha.preempt_delay_ms", "-1"}}, "ha.preempt_delay_ms: -1 is not in 0..3600000"},
        {{{"ha.preempt_delay_ms", "3600001"}},
         "ha.preempt_delay_ms: 3600001 is not in 0..3600000"},
        {{{"ha.floating_ips", "'192.168.112.4'"}}, "ha.floating_ips: must be an array"},
        {{{"ha.floating_ips", "[4]"}}, "ha.floating_ips[0]: must be a string"},
        {{{"ha.floating_ips", "['10.9.9.4']"}},
         "ha.floating_ips[0]: \"10.9.9.4\" is not on a connected interface subnet"},
        {{{"ha.floating_ips", "['192.168.112.4', '192.168.112.5']"}},
         "ha.floating_ips[1]: \"192.168.112.5\" is the self IP of interfaces[0]"},
        {{{"ha.floating_ips", "['192.168.112.6']"}},
         "ha.floating_ips[0]: \"192.168.112.6\" is the peer"},
        {{{"ha.floating_ips", "['192.168.112.110']"}},
         "ha.floating_ips[0]: \"192.168.112.110\" is the VIP of virtual_services[0]"},
        {{{"ha.floating_ips", "['192.168.112.4', '192.168.112.4']"}},
         "ha.floating_ips[1]: \"192.168.112.4\" is listed twice"},
        {{{"ha.floating_ips", "['192.168.112.1', '192.168.112.2', '192.168.112.3', "
                              "'192.168.112.4', '192.168.112.7', '192.168.112.8', "
                              "'192.168.112.9', '192.168.112.10', '192.168.112.11', "
                              "'192.168.112.12', '192.168.112.13', '192.168.112.14', "
                              "'192.168.112.15', '192.168.112.16', '192.168.112.17', "
                              "'192.168.112.18', '192.168.112.19']"}},
         "ha.floating_ips: more than 16 floating addresses"},
        {{{"ha.monitor", "'192.168.112.1'"}}, "ha.monitor: must be an array"},
        {{{"ha.monitor", "[1]"}}, "ha.monitor[0]: must be a string"},
        {{{"ha.monitor", "['10.9.9.1']"}},
         "ha.monitor[0]: \"10.9.9.1\" is not on a connected interface subnet"},
        {{{"ha.monitor", "['192.168.112.1', '192.168.112.5']"}},
         "ha.monitor[1]: \"192.168.112.5\" is the self IP of interfaces[0]"},
        {{{"ha.monitor", "['192.168.112.6']"}},
         "ha.monitor[0]: \"192.168.112.6\" is the peer (its adverts already tell whether it "
         "is there)"},
        {{{"ha.monitor", "['192.168.112.110']"}},
         "ha.monitor[0]: \"192.168.112.110\" is the VIP of virtual_services[0]"},
        {{{"ha.monitor", "['192.168.112.4']"}, {"ha.floating_ips", "['192.168.112.4']"}},
         "ha.monitor[0]: \"192.168.112.4\" is a floating address (ours, not a neighbour's)"},
        {{{"ha.monitor", "['192.168.112.1', '192.168.112.1']"}},
         "ha.monitor[1]: \"192.168.112.1\" is listed twice"},
        {{{"ha.monitor", "['192.168.112.1', '192.168.112.2', '192.168.112.3', "
                         "'192.168.112.7', '192.168.112.8', '192.168.112.9', "
                         "'192.168.112.10', '192.168.112.11', '192.168.112.12']"}},
         "ha.monitor: more than 8 monitored addresses"},
        {{{"ha.monitor_interval_ms", "99"}}, "ha.monitor_interval_ms: 99 is not in 100..60000"},
        {{{"ha.monitor_interval_ms", "60001"}},
         "ha.monitor_interval_ms: 60001 is not in 100..60000"},
        {{{"ha.monitor_fall", "0"}}, "ha.monitor_fall: 0 is not in 1..100"},
        {{{"ha.monitor_fall", "101"}}, "ha.monitor_fall: 101 is not in 1..100"},
        {{{"ha.monitor_fall", "'3'"}}, "ha.monitor_fall: must be a number"},
    };
    RUN(cases);
}

Test(config, ha_monitor)
{
    static const struct change set[] = {
        {"ha.monitor", "['192.168.112.1', '192.168.112.2']"},
        {"ha.monitor_interval_ms", "500"},
        {"ha.monitor_fall", "2"},
    };
    struct lbd_config *cfg = load_ok(set, 3);

    cr_assert_eq(cfg->ha.n_monitor, 2);
    cr_assert_eq(cfg->ha.monitor[0], ip4("192.168.112.1"));
    cr_assert_eq(cfg->ha.monitor[1], ip4("192.168.112.2"));
    cr_assert_eq(cfg->ha.monitor_interval_ms, 500);
    cr_assert_eq(cfg->ha.monitor_fall, 2);
    assert_round_trip(cfg);
    config_free(cfg);
    cfg = load_ok(NULL, 0);
    cr_assert_eq(cfg->ha.n_monitor, 0, "none by default");
    cr_assert_eq(cfg->ha.monitor_interval_ms, 1000);
    cr_assert_eq(cfg->ha.monitor_fall, 3);
    config_free(cfg);
}

Test(config, ha_floating_ips_and_preempt_delay)
{
    static const struct change set[] = {
        {"ha.floating_ips", "['192.168.112.4', '192.168.112.3']"},
        {"ha.preempt_delay_ms", "5000"},
    };
    struct lbd_config *cfg = load_ok(set, 2);

    cr_assert_eq(cfg->ha.n_floating_ips, 2);
    cr_assert_eq(cfg->ha.floating_ips[0], ip4("192.168.112.4"));
    cr_assert_eq(cfg->ha.floating_ips[1], ip4("192.168.112.3"));
    cr_assert_eq(cfg->ha.preempt_delay_ms, 5000);
    assert_round_trip(cfg);
    config_free(cfg);
}

/* Appends copies of item (JSON, single quotes; %d is replaced by the index) to the array at
 * key until it has n elements. */
static cJSON *grow(cJSON *arr, size_t n, const char *fmt)
{
    for (size_t i = (size_t)cJSON_GetArraySize(arr); i < n; i++) {
        char buf[512];
        snprintf(buf, sizeof(buf), fmt, (int)i, (int)i);
        cJSON_AddItemToArray(arr, parse_sq(buf));
    }
    return arr;
}

static void expect_json_error(cJSON *root, const char *msg)
{
    struct lbd_config *cfg = NULL;
    char err[512] = "";

    cr_expect_eq(config_from_json(root, &cfg, err, sizeof(err)), LBD_EINVAL);
    cr_expect_str_eq(err, msg);
    cr_expect_null(cfg);
    cJSON_Delete(root);
}

Test(config_errors, table_limits)
{
    cJSON *root;

    root = parse_sq(base_json);
    grow(cJSON_GetObjectItem(root, "interfaces"), 17, "{'port': %d, 'ip': '10.%d.0.5/24'}");
    expect_json_error(root, "interfaces: more than 16 interfaces");

    root = parse_sq(base_json);
    grow(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "routing"), "routes"), 257,
         "{'prefix': '172.16.%d.0/24', 'via': '192.168.112.%d'}");
    expect_json_error(root, "routing.routes: more than 256 routes");

    root = parse_sq(base_json);
    grow(cJSON_GetObjectItem(root, "virtual_services"), 257,
         "{'label': 'vs%d', 'ip': '10.0.0.%d', 'ports': [1], 'layer': 4}");
    expect_json_error(root, "virtual_services: more than 256 virtual services");

    root = parse_sq(base_json);
    grow(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "virtual_services"), 0),
                             "real_servers"),
         257, "{'label': 'rs%d', 'ip': '10.0.1.1', 'port': %d}");
    expect_json_error(root, "virtual_services[0].real_servers: more than 256 real servers");

    /* The limits themselves are fine. */
    root = parse_sq(base_json);
    grow(cJSON_GetObjectItem(root, "interfaces"), 16, "{'port': %d, 'ip': '10.%d.0.5/24'}");
    grow(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "virtual_services"), 0),
                             "real_servers"),
         256, "{'label': 'rs%d', 'ip': '10.0.1.1', 'port': %d}");
    {
        struct lbd_config *cfg = NULL;
        char err[512] = "";
        cr_assert_eq(config_from_json(root, &cfg, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(cfg->n_interfaces, 16);
        cr_assert_eq(cfg->virtual_services[0].n_real_servers, 256);
        assert_round_trip(cfg);
        config_free(cfg);
    }
    cJSON_Delete(root);
}

Test(config_errors, long_messages_are_cut_not_overflowed)
{
    struct lbd_config *cfg = NULL;
    char err[16];
    const struct change set[] = {{"virtual_services[0].ports[1]", "70000"}};

    cr_assert_eq(load_changed(set, 1, &cfg, err, sizeof(err)), LBD_EINVAL);
    cr_assert_str_eq(err, "virtual_service");
    cr_assert_eq(load_changed(set, 1, &cfg, NULL, 0), LBD_EINVAL);
    cr_assert_null(cfg);
}

/* ------------------------------------------------------------------------ */
/* management                                                               */
/* ------------------------------------------------------------------------ */

Test(config, management_absent_is_off_empty_takes_the_defaults)
{
    const struct change none[] = {{"management", DEL}};
    const struct change empty[] = {{"management", "{}"}};
    const struct change all[] = {{"management", "{'address': '0.0.0.0', 'port': 8404,"
                                                " 'max_clients': 4, 'timeout_s': 30}"}};
    const struct change tls[] = {{"management", "{'tls': {'cert': '/etc/lbd/mgmt.pem',"
                                                " 'key': '/etc/lbd/mgmt.key'},"
                                                " 'users_file': '/etc/lbd/mgmt.users'}"}};
    struct lbd_config *cfg = load_ok(none, 1);
    cJSON *j = config_to_json(cfg);

    cr_assert_not(cfg->management.enabled);
    cr_assert_null(cJSON_GetObjectItem(j, "management"), "absent stays absent in the dump");
    cJSON_Delete(j);
    assert_round_trip(cfg);
    config_free(cfg);

    cfg = load_ok(empty, 1);
    cr_assert(cfg->management.enabled);
    cr_assert_eq(cfg->management.address, ip4("127.0.0.1"));
    cr_assert_eq(cfg->management.port, 9100);
    cr_assert_eq(cfg->management.max_clients, 16);
    cr_assert_eq(cfg->management.timeout_s, 10);
    j = config_to_json(cfg);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "management"), "address")
                         ->valuestring, "127.0.0.1");
    cJSON_Delete(j);
    assert_round_trip(cfg);
    config_free(cfg);

    cfg = load_ok(tls, 1);
    cr_assert(cfg->management.tls);
    cr_assert_str_eq(cfg->management.tls_cert, "/etc/lbd/mgmt.pem");
    cr_assert_str_eq(cfg->management.tls_key, "/etc/lbd/mgmt.key");
    cr_assert_str_eq(cfg->management.users_file, "/etc/lbd/mgmt.users");
    assert_round_trip(cfg);
    config_free(cfg);

    cfg = load_ok(all, 1);
    cr_assert_not(cfg->management.tls);
    cr_assert_str_eq(cfg->management.users_file, "");
    cr_assert_eq(cfg->management.address, 0);
    cr_assert_eq(cfg->management.port, 8404);
    cr_assert_eq(cfg->management.max_clients, 4);
    cr_assert_eq(cfg->management.timeout_s, 30);
    assert_round_trip(cfg);
    config_free(cfg);
}

Test(config_errors, management)
{
    static const struct err_case cases[] = {
        {{{"management", "true"}}, "management: must be an object"},
        {{{"management", "{'listen': '127.0.0.1'}"}}, "management.listen: unknown field"},
        {{{"management", "{'address': 127}"}}, "management.address: must be a string"},
        {{{"management", "{'address': null}"}}, "management.address: must be a string"},
        {{{"management", "{'address': 'localhost'}"}},
         "management.address: \"localhost\" is not an IPv4 address"},
        {{{"management", "{'address': '224.0.0.1'}"}},
         "management.address: \"224.0.0.1\" is not a unicast host address (or 0.0.0.0)"},
        {{{"management", "{'address': '0.0.0.1'}"}},
         "management.address: \"0.0.0.1\" is not a unicast host address (or 0.0.0.0)"},
        {{{"management", "{'address': '192.168.112.5'}"}},
         "management.address: \"192.168.112.5\" is the self IP of interfaces[0] (a dataplane "
         "port: the management server listens on the host's own network)"},
        {{{"management", "{'address': '192.168.112.140'}"}},
         "management.address: \"192.168.112.140\" is the VIP of virtual_services[2]"},
        {{{"management", "{'port': 0}"}}, "management.port: 0 is not a port"},
        {{{"management", "{'port': 65536}"}}, "management.port: 65536 is not a port"},
        {{{"management", "{'port': '9100'}"}}, "management.port: must be a number"},
        {{{"management", "{'max_clients': 0}"}}, "management.max_clients: 0 is not in 1..1024"},
        {{{"management", "{'max_clients': 1025}"}},
         "management.max_clients: 1025 is not in 1..1024"},
        {{{"management", "{'timeout_s': 0}"}}, "management.timeout_s: 0 is not in 1..3600"},
        {{{"management", "{'timeout_s': 1.5}"}},
         "management.timeout_s: 1.5 is not a whole number"},
        {{{"management", "{'tls': true}"}}, "management.tls: must be an object"},
        {{{"management", "{'tls': {'cert': '/c.pem'}}"}}, "management.tls.key: required"},
        {{{"management", "{'tls': {'key': '/k.pem'}}"}}, "management.tls.cert: required"},
        {{{"management", "{'tls': {'cert': '/c', 'key': '/k', 'ca': '/x'}}"}},
         "management.tls.ca: unknown field"},
        {{{"management", "{'tls': {'cert': '', 'key': '/k'}}"}},
         "management.tls.cert: must not be empty"},
        {{{"management", "{'users_file': '/etc/lbd/mgmt.users'}"}},
         "management.users_file: needs management.tls (passwords are not sent in the clear)"},
        {{{"management", "{'users_file': 5}"}}, "management.users_file: must be a string"},
    };
    RUN(cases);
}

Test(config, traffic_log_per_service_and_logging_object)
{
    const struct change set[] = {
        {"virtual_services[0].log", "false"},
        {"logging", "{'syslog': false, 'facility': 'local3', 'syslog_socket': '/run/x.sock'}"},
        {"virtual_services[2].log", "true"},
    };
    struct lbd_config *cfg = load_ok(NULL, 0);

    /* Defaults: layer 7 services log, layer 4 ones do not; syslog on local0. */
    cr_assert(cfg->virtual_services[0].log);
    cr_assert(cfg->virtual_services[1].log);
    cr_assert(!cfg->virtual_services[2].log);
    cr_assert(cfg->logging.syslog);
    cr_assert_eq(cfg->logging.facility, CFG_LOG_LOCAL0);
    cr_assert_str_eq(cfg->logging.syslog_socket, "/dev/log");
    assert_round_trip(cfg);
    config_free(cfg);
    cfg = load_ok(set, 3);
    cr_assert(!cfg->virtual_services[0].log);
    cr_assert(cfg->virtual_services[2].log, "a layer 4 service may log");
    cr_assert(!cfg->logging.syslog);
    cr_assert_eq(cfg->logging.facility, CFG_LOG_LOCAL3);
    cr_assert_str_eq(cfg_log_facility_name(cfg->logging.facility), "local3");
    cr_assert_str_eq(cfg->logging.syslog_socket, "/run/x.sock");
    assert_round_trip(cfg);
    config_free(cfg);
}

Test(config, traffic_log_errors)
{
    static const struct err_case cases[] = {
        {{{"virtual_services[0].log", "1"}}, "virtual_services[0].log: must be true or false"},
        {{{"logging", "{'facility': 'kern'}"}},
         "logging.facility: \"kern\" is not one of local0, local1, local2, local3, local4, "
         "local5, local6, local7, user, daemon"},
        {{{"logging", "{'syslog': 'yes'}"}}, "logging.syslog: must be true or false"},
        {{{"logging", "{'syslog_socket': 'dev/log'}"}},
         "logging.syslog_socket: must be an absolute path of at most 107 bytes (a Unix socket)"},
        {{{"logging", "{'file': '/var/log/x'}"}}, "logging.file: unknown field"},
    };

    RUN(cases);
}
