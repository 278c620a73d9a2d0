#include <criterion/criterion.h>

#include "eal.h"
#include "frames.h"
#include "snapshot/maglev.h"
#include "snapshot/snapshot.h"

static struct cfg_interface ifs[2];
static struct cfg_route routes[2];
static struct cfg_real_server rs_a[3], rs_b[2];
static struct cfg_vs vss[2];
static struct lbd_config cfg;
static uint64_t gen;

static void setup(void)
{
    test_eal_init();
    memset(&cfg, 0, sizeof(cfg));
    ifs[0] = (struct cfg_interface){.port = 0, .ip = ip4("192.168.112.5"), .prefix_len = 24};
    ifs[1] = (struct cfg_interface){.port = 1, .ip = ip4("10.200.50.5"), .prefix_len = 24,
                                    .gateway = ip4("10.200.50.1")};
    cfg.interfaces = ifs;
    cfg.n_interfaces = 2;
    routes[0] = (struct cfg_route){.prefix = ip4("172.24.7.0"), .len = 24, .via = ip4("192.168.112.254")};
    routes[1] = (struct cfg_route){.prefix = ip4("172.24.0.0"), .len = 16, .via = ip4("10.200.50.2")};
    cfg.routing.forward = true;
    cfg.routing.routes = routes;
    cfg.routing.n_routes = 2;

    memset(rs_a, 0, sizeof(rs_a));
    memset(rs_b, 0, sizeof(rs_b));
    for (int i = 0; i < 3; i++) {
        snprintf(rs_a[i].label, sizeof(rs_a[i].label), "a%d", i);
        rs_a[i].ip = rte_cpu_to_be_32(0xc0a87033u + (uint32_t)i);
        rs_a[i].weight = 100;
        rs_a[i].id = (uint32_t)(10 + i);
        rs_a[i].slot = (uint16_t)i;
    }
    for (int i = 0; i < 2; i++) {
        snprintf(rs_b[i].label, sizeof(rs_b[i].label), "b%d", i);
        rs_b[i].ip = rte_cpu_to_be_32(0xc0a87033u + (uint32_t)i);
        rs_b[i].port = 3478;
        rs_b[i].weight = 100;
        rs_b[i].id = (uint32_t)(20 + i);
        rs_b[i].slot = (uint16_t)i;
    }
    memset(vss, 0, sizeof(vss));
    snprintf(vss[0].label, sizeof(vss[0].label), "AvTCP");
    vss[0].ip = ip4("10.200.50.120");
    vss[0].ports[0] = 443;
    vss[0].n_ports = 1;
    vss[0].layer = 4;
    vss[0].scheduler = CFG_SCHED_MAGLEV;
    vss[0].real_servers = rs_a;
    vss[0].n_real_servers = 3;
    snprintf(vss[1].label, sizeof(vss[1].label), "AvUDP");
    vss[1].slot = 5;
    vss[1].ip = ip4("10.200.50.120");
    vss[1].ports[0] = 3478;
    vss[1].n_ports = 1;
    vss[1].protocol = CFG_PROTO_UDP;
    vss[1].layer = 4;
    vss[1].scheduler = CFG_SCHED_WLC;
    vss[1].persistence.type = CFG_PERSIST_SOURCE_IP;
    vss[1].persistence.timeout_s = 1200;
    vss[1].real_servers = rs_b;
    vss[1].n_real_servers = 2;
    cfg.virtual_services = vss;
    cfg.n_virtual_services = 2;
}

TestSuite(snapshot_l4, .init = setup);

static struct snapshot *build(void)
{
    char err[256] = "";
    struct snapshot *s = snapshot_build(&cfg, ++gen, err, sizeof(err));

    cr_assert_not_null(s, "snapshot_build: %s", err);
    return s;
}

Test(snapshot_l4, routes_connected_static_and_default)
{
    struct snapshot *s = build();
    uint32_t nh;
    uint16_t port;

    cr_assert_eq(snapshot_route(s, ip4("192.168.112.51"), &nh, &port), 0);
    cr_assert_eq(nh, ip4("192.168.112.51"), "connected: the destination itself");
    cr_assert_eq(port, 0);
    cr_assert_eq(snapshot_route(s, ip4("10.200.50.20"), &nh, &port), 0);
    cr_assert_eq(nh, ip4("10.200.50.20"));
    cr_assert_eq(port, 1);
    cr_assert_eq(snapshot_route(s, ip4("172.24.7.1"), &nh, &port), 0);
    cr_assert_eq(nh, ip4("192.168.112.254"), "longest prefix wins");
    cr_assert_eq(port, 0);
    cr_assert_eq(snapshot_route(s, ip4("172.24.9.1"), &nh, &port), 0);
    cr_assert_eq(nh, ip4("10.200.50.2"));
    cr_assert_eq(port, 1);
    cr_assert_eq(snapshot_route(s, ip4("203.0.113.7"), &nh, &port), 0);
    cr_assert_eq(nh, ip4("10.200.50.1"), "default: the interface gateway");
    cr_assert_eq(port, 1);
    /* Our own addresses are /32s of the same table: ours, and never routed. */
    cr_assert_eq(snapshot_addr_kind(s, ip4("10.200.50.5")), SNAP_ADDR_SELF);
    cr_assert_eq(snapshot_addr_kind(s, ip4("192.168.112.5")), SNAP_ADDR_SELF);
    cr_assert_eq(snapshot_addr_kind(s, ip4("10.200.50.120")), SNAP_ADDR_VIP);
    cr_assert_eq(snapshot_addr_kind(s, ip4("10.200.50.121")), 0);
    cr_assert_eq(snapshot_addr_kind(s, ip4("203.0.113.7")), 0);
    cr_assert_eq(snapshot_route(s, ip4("10.200.50.120"), &nh, &port), LBD_ENOENT);
    snapshot_free(s);

    ifs[1].gateway = 0;
    s = build();
    cr_assert_eq(snapshot_route(s, ip4("203.0.113.7"), &nh, &port), LBD_ENOENT);
    snapshot_free(s);
}

Test(snapshot_l4, next_hop_off_link_is_refused)
{
    char err[256] = "";

    routes[1].via = ip4("10.1.1.1");
    cr_assert_null(snapshot_build(&cfg, ++gen, err, sizeof(err)));
    cr_assert(strstr(err, "routing.routes[1].via") != NULL, "%s", err);
}

Test(snapshot_l4, real_servers_and_tables)
{
    struct snapshot *s = build();
    const struct snap_vs *v = snapshot_service(s, ip4("10.200.50.120"), IPPROTO_UDP, 3478);

    cr_assert_not_null(v);
    cr_assert_eq(v->n_rs, 2);
    cr_assert_eq(v->persist, 1);
    cr_assert_eq(v->persist_timeout_ms, 1200000);
    cr_assert_eq(v->rs[1].port, 3478);
    cr_assert_eq(v->rs[1].ip, rs_b[1].ip);
    cr_assert_null(v->maglev, "wlc needs no table");
    cr_assert_eq(snapshot_rs(s, v->rs[0].idx, v->rs[0].id), &v->rs[0]);
    v = snapshot_service(s, ip4("10.200.50.120"), IPPROTO_TCP, 443);
    cr_assert_not_null(v->maglev);
    cr_assert_lt(v->maglev[12345], 3);
    cr_assert_eq(s->l4.udp_ms, 300000, "defaults for an absent layer4 object");
    cr_assert_eq(s->l4.tcp_established_ms, 900000);
    snapshot_free(s);
}

/* The worker asks this of every TCP/UDP fragment routed through lbd (snapshot_is_l4_rs). */
Test(snapshot_l4, layer4_real_server_addresses_are_one_look_up)
{
    struct snapshot *s;

    vss[1].layer = 7;                   /* rs_b[0] and [1] are also rs_a[0] and [1] */
    s = build();
    for (int i = 0; i < 3; i++)
        cr_assert(snapshot_is_l4_rs(s, rs_a[i].ip), "a%d", i);
    cr_assert_not(snapshot_is_l4_rs(s, ip4("192.168.112.5")), "our self IP");
    cr_assert_not(snapshot_is_l4_rs(s, ip4("10.200.50.120")), "the VIP");
    cr_assert_not(snapshot_is_l4_rs(s, rte_cpu_to_be_32(0xc0a87033u + 3)), "no server");
    snapshot_free(s);

    /* A server only of a Layer 7 service is not one. */
    vss[0].n_real_servers = 1;
    s = build();
    cr_assert(snapshot_is_l4_rs(s, rs_a[0].ip));
    cr_assert_not(snapshot_is_l4_rs(s, rs_a[1].ip), "rs_b[1] serves Layer 7 only");
    snapshot_free(s);
}

Test(snapshot_l4, real_server_identities_come_from_the_config)
{
    struct snapshot *s1 = build(), *s2;
    const struct snap_vs *v = snapshot_service(s1, ip4("10.200.50.120"), IPPROTO_UDP, 3478);

    cr_assert_eq(v->slot, 5);
    cr_assert_eq(v->rs[1].id, 21);
    cr_assert_eq(v->rs[1].idx, 5 * CFG_MAX_RS + 1, "counter index: service slot, rs slot");
    cr_assert_eq(snapshot_rs(s1, v->rs[1].idx, 21), &v->rs[1]);
    cr_assert_null(snapshot_rs(s1, v->rs[1].idx, 99), "same slot, other server");

    /* The control core gives b1's slot to a new server: old references see it gone. */
    rs_b[1].id = 30;
    snprintf(rs_b[1].label, sizeof(rs_b[1].label), "b-new");
    s2 = build();
    cr_assert_null(snapshot_rs(s2, 5 * CFG_MAX_RS + 1, 21));
    cr_assert_not_null(snapshot_rs(s2, 5 * CFG_MAX_RS + 1, 30));
    cr_assert_not_null(snapshot_rs(s2, 5 * CFG_MAX_RS + 0, 20), "b0 unchanged");
    snapshot_free(s1);
    snapshot_free(s2);
}

Test(snapshot_l4, drained_servers_leave_the_maglev_table)
{
    struct snapshot *s;
    const struct snap_vs *v;

    rs_a[1].state = CFG_RS_DRAIN;
    s = build();
    v = snapshot_service(s, ip4("10.200.50.120"), IPPROTO_TCP, 443);
    for (uint32_t i = 0; i < MAGLEV_SIZE; i++)
        cr_assert_neq(v->maglev[i], 1);
    snapshot_free(s);
}

/* A health flap or reconfig computes only the Maglev tables whose inputs changed; the
 * others are the previous snapshot's, shared, and outlive it. */
Test(snapshot_l4, maglev_tables_are_reused_when_unchanged)
{
    char err[256] = "";
    struct snapshot *a, *b, *c, *d;
    uint16_t copy[64];

    vss[1].scheduler = CFG_SCHED_SH;    /* two table services: AvTCP (maglev), AvUDP (sh) */
    a = build();
    cr_assert_eq(a->maglev_built, 2);
    cr_assert_eq(a->maglev_reused, 0);

    /* Nothing changed: both tables shared with a. */
    b = snapshot_rebuild(&cfg, a, ++gen, err, sizeof(err));
    cr_assert_not_null(b, "%s", err);
    cr_assert_eq(b->maglev_built, 0);
    cr_assert_eq(b->maglev_reused, 2);
    cr_assert_eq(b->vs[0].maglev, a->vs[0].maglev);
    cr_assert_eq(b->vs[1].maglev, a->vs[1].maglev);

    /* a goes (as dp_publish frees the old snapshot): b's tables stay whole. */
    memcpy(copy, b->vs[0].maglev, sizeof(copy));
    snapshot_free(a);
    cr_assert_arr_eq(copy, b->vs[0].maglev, sizeof(copy));

    /* One server of AvTCP fails its check: that table only is computed again, and it
     * is the table a fresh build makes. */
    rs_a[1].health_down = true;
    c = snapshot_rebuild(&cfg, b, ++gen, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    cr_assert_eq(c->maglev_built, 1);
    cr_assert_eq(c->maglev_reused, 1);
    cr_assert_neq(c->vs[0].maglev, b->vs[0].maglev);
    cr_assert_eq(c->vs[1].maglev, b->vs[1].maglev);
    d = build();
    cr_assert_arr_eq(c->vs[0].maglev, d->vs[0].maglev, MAGLEV_SIZE * sizeof(uint16_t));
    for (uint32_t k = 0; k < MAGLEV_SIZE; k++)
        cr_assert_neq(c->vs[0].maglev[k], 1, "entry %u names the failed server", k);
    snapshot_free(d);

    /* A changed weight is a change; the same servers in another service's list would be
     * the same inputs (tables index the list, so order counts). */
    rs_a[1].health_down = false;
    rs_a[2].weight = 50;
    snapshot_free(b);
    d = snapshot_rebuild(&cfg, c, ++gen, err, sizeof(err));
    cr_assert_not_null(d, "%s", err);
    cr_assert_eq(d->maglev_built, 1);
    cr_assert_eq(d->maglev_reused, 1);
    snapshot_free(c);
    snapshot_free(d);
    rs_a[2].weight = 100;
}

/* The route table (an rte_lpm: 64 MB) is shared while no address or route changes. */
Test(snapshot_l4, route_table_shared_until_an_address_changes)
{
    char err[256] = "";
    struct snapshot *a, *b, *c;
    uint32_t nh;
    uint16_t port;

    a = build();
    cr_assert_not(a->routes_reused);
    rs_a[0].health_down = true;     /* a health change moves no address */
    b = snapshot_rebuild(&cfg, a, ++gen, err, sizeof(err));
    cr_assert_not_null(b, "%s", err);
    cr_assert(b->routes_reused);
    cr_assert_eq(b->routes, a->routes);
    snapshot_free(a);
    cr_assert_eq(snapshot_route(b, ip4("172.24.7.1"), &nh, &port), 0, "outlives a");
    cr_assert_eq(nh, ip4("192.168.112.254"));
    cr_assert_eq(snapshot_addr_kind(b, ip4("10.200.50.120")), SNAP_ADDR_VIP);

    /* A new VIP is a new table, with the new address local. */
    vss[1].ip = ip4("10.200.50.121");
    c = snapshot_rebuild(&cfg, b, ++gen, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    cr_assert_not(c->routes_reused);
    cr_assert_neq(c->routes, b->routes);
    cr_assert_eq(snapshot_addr_kind(c, ip4("10.200.50.121")), SNAP_ADDR_VIP);
    cr_assert_eq(snapshot_addr_kind(b, ip4("10.200.50.121")), 0, "b's table untouched");
    snapshot_free(b);
    /* A changed route, likewise; a bad next hop is still refused. */
    routes[0].via = ip4("192.168.112.253");
    b = snapshot_rebuild(&cfg, c, ++gen, err, sizeof(err));
    cr_assert_not_null(b, "%s", err);
    cr_assert_not(b->routes_reused);
    cr_assert_eq(snapshot_route(b, ip4("172.24.7.1"), &nh, &port), 0);
    cr_assert_eq(nh, ip4("192.168.112.253"));
    routes[1].via = ip4("10.1.1.1");
    cr_assert_null(snapshot_rebuild(&cfg, b, ++gen, err, sizeof(err)));
    cr_assert(strstr(err, "routing.routes[1].via") != NULL, "%s", err);
    snapshot_free(b);
    snapshot_free(c);
}
