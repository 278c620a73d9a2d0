#include <criterion/criterion.h>

#include <rte_tcp.h>

#include "eal.h"
#include "frames.h"
#include "l4/conn.h"
#include "snapshot/snapshot.h"

static struct twheel wheel;
static uint32_t active[SNAP_RS_IDS];
static struct conn_table *t;
static unsigned deleted;
static enum conn_end last_why;

static void on_delete(const struct conn *c, uint64_t now, enum conn_end why, void *arg)
{
    (void)c;
    (void)now;
    (void)arg;
    last_why = why;
    deleted++;
}

static void setup(void)
{
    uint32_t ms[CONN_STATE_MAX] = {
        [CONN_TCP_HANDSHAKE] = 30000,
        [CONN_TCP_ESTABLISHED] = 900000,
        [CONN_TCP_CLOSING] = 10000,
        [CONN_UDP] = 300000,
    };

    test_eal_init();
    twheel_init(&wheel, 1000);
    t = conn_table_create("conn_test", 1024, 0, &wheel, active);
    cr_assert_not_null(t);
    conn_table_set_timeouts(t, ms);
    conn_table_on_delete(t, on_delete, NULL);
}

TestSuite(conn, .init = setup);

static struct conn_key key(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                           uint8_t proto)
{
    struct conn_key k = {.src_ip = src, .dst_ip = dst, .src_port = rte_cpu_to_be_16(sport),
                         .dst_port = rte_cpu_to_be_16(dport), .proto = proto};
    return k;
}

Test(conn, found_from_both_directions)
{
    struct conn_key fwd = key(ip4("10.200.50.20"), ip4("10.200.50.120"), 40000, 443, IPPROTO_TCP);
    struct conn_key rev = key(ip4("192.168.112.51"), ip4("10.200.50.20"), 8443, 40000, IPPROTO_TCP);
    struct conn_key other = key(ip4("10.200.50.21"), ip4("10.200.50.120"), 40000, 443, IPPROTO_TCP);
    enum conn_err why;
    enum conn_dir dir;
    struct conn *c;

    c = conn_create(t, &fwd, ip4("192.168.112.51"), rte_cpu_to_be_16(8443), 7, 1, 0,
                    CONN_TCP_HANDSHAKE, 1000, &why);
    cr_assert_not_null(c);
    cr_assert_eq(why, CONN_OK);
    cr_assert_eq(conn_count(t), 1);
    cr_assert_eq(active[7], 1);
    cr_assert_eq(conn_lookup(t, &fwd, &dir), c);
    cr_assert_eq(dir, CONN_DIR_FORWARD);
    cr_assert_eq(conn_lookup(t, &rev, &dir), c);
    cr_assert_eq(dir, CONN_DIR_REVERSE);
    cr_assert_null(conn_lookup(t, &other, &dir));
    cr_assert_eq(c->vip, ip4("10.200.50.120"));
    cr_assert_eq(c->vport, rte_cpu_to_be_16(443));

    conn_delete(t, c, 1000, CONN_END_HALTED);
    cr_assert_eq(last_why, CONN_END_HALTED, "the hook is told why");
    cr_assert_eq(deleted, 1);
    cr_assert_eq(conn_count(t), 0);
    cr_assert_eq(active[7], 0);
    cr_assert_null(conn_lookup(t, &fwd, &dir));
    cr_assert_null(conn_lookup(t, &rev, &dir));
}

Test(conn, reply_key_collision_is_refused)
{
    /* Two clients behind one NAT would map to the same reply key only if the real
     * server, its port and the client's address and port all match. */
    struct conn_key a = key(ip4("10.200.50.20"), ip4("10.200.50.120"), 40000, 443, IPPROTO_TCP);
    struct conn_key b = key(ip4("10.200.50.20"), ip4("10.200.50.121"), 40000, 443, IPPROTO_TCP);
    enum conn_err why;

    cr_assert_not_null(conn_create(t, &a, ip4("192.168.112.51"), rte_cpu_to_be_16(443), 1, 1, 0,
                                   CONN_TCP_HANDSHAKE, 1000, &why));
    cr_assert_null(conn_create(t, &b, ip4("192.168.112.51"), rte_cpu_to_be_16(443), 1, 2, 1,
                               CONN_TCP_HANDSHAKE, 1000, &why));
    cr_assert_eq(why, CONN_COLLISION);
    cr_assert_eq(conn_count(t), 1);
}

Test(conn, full_table_is_refused_and_recovers)
{
    enum conn_err why;

    for (uint32_t i = 0; i < 1024; i++) {
        struct conn_key k = key(rte_cpu_to_be_32(0x0a000000 + i), ip4("10.200.50.120"), 5000, 3478,
                                IPPROTO_UDP);
        cr_assert_not_null(conn_create(t, &k, ip4("192.168.112.51"), rte_cpu_to_be_16(3478), 1, 1, 0,
                                       CONN_UDP, 1000, &why), "entry %u", i);
    }
    struct conn_key k = key(ip4("10.9.9.9"), ip4("10.200.50.120"), 5000, 3478, IPPROTO_UDP);
    cr_assert_null(conn_create(t, &k, ip4("192.168.112.51"), rte_cpu_to_be_16(3478), 1, 1, 0,
                               CONN_UDP, 1000, &why));
    cr_assert_eq(why, CONN_FULL);
    cr_assert_eq(active[1], 1024);
    /* All expire after the UDP timeout; then there is room again. */
    twheel_advance(&wheel, 1000 + 300000);
    cr_assert_eq(conn_count(t), 0);
    cr_assert_eq(t->expired, 1024);
    cr_assert_not_null(conn_create(t, &k, ip4("192.168.112.51"), rte_cpu_to_be_16(3478), 1, 1, 0,
                                   CONN_UDP, 301000, &why));
}

Test(conn, udp_expires_after_its_timeout_unless_used)
{
    struct conn_key a = key(ip4("10.200.50.20"), ip4("10.200.50.120"), 40000, 3478, IPPROTO_UDP);
    struct conn_key b = key(ip4("10.200.50.21"), ip4("10.200.50.120"), 40000, 3478, IPPROTO_UDP);
    enum conn_err why;
    enum conn_dir dir;
    struct conn *ca, *cb;

    ca = conn_create(t, &a, ip4("192.168.112.51"), rte_cpu_to_be_16(3478), 1, 1, 0, CONN_UDP, 1000, &why);
    cb = conn_create(t, &b, ip4("192.168.112.52"), rte_cpu_to_be_16(3478), 2, 1, 0, CONN_UDP, 1000, &why);
    cr_assert(ca && cb);
    twheel_advance(&wheel, 200000);
    conn_update(cb, CONN_DIR_REVERSE, 0, 200000);     /* b is used, a is not */
    twheel_advance(&wheel, 300999);
    cr_assert_eq(conn_count(t), 2, "nothing expires early");
    twheel_advance(&wheel, 301000);
    cr_assert_null(conn_lookup(t, &a, &dir), "idle a expired at 1000 + 300 s");
    cr_assert_eq(conn_lookup(t, &b, &dir), cb, "b, used at 200 s, lives on");
    twheel_advance(&wheel, 499999);
    cr_assert_eq(conn_lookup(t, &b, &dir), cb);
    twheel_advance(&wheel, 500000);
    cr_assert_null(conn_lookup(t, &b, &dir), "b expired 300 s after its last use");
    cr_assert_eq(deleted, 2);
}

Test(conn, tcp_states_and_their_timeouts)
{
    struct conn_key a = key(ip4("10.200.50.20"), ip4("10.200.50.120"), 40000, 443, IPPROTO_TCP);
    enum conn_err why;
    enum conn_dir dir;
    struct conn *c;

    /* Handshake that never completes: gone after 30 s. */
    c = conn_create(t, &a, ip4("192.168.112.51"), rte_cpu_to_be_16(443), 1, 1, 0,
                    CONN_TCP_HANDSHAKE, 1000, &why);
    twheel_advance(&wheel, 30999);
    cr_assert_not_null(conn_lookup(t, &a, &dir));
    twheel_advance(&wheel, 31000);
    cr_assert_null(conn_lookup(t, &a, &dir));

    /* SYN, SYN-ACK, ACK: established, lives 900 s idle. */
    c = conn_create(t, &a, ip4("192.168.112.51"), rte_cpu_to_be_16(443), 1, 1, 0,
                    CONN_TCP_HANDSHAKE, 40000, &why);
    conn_update(c, CONN_DIR_FORWARD, RTE_TCP_SYN_FLAG, 40000);
    conn_update(c, CONN_DIR_REVERSE, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 40001);
    cr_assert_eq(c->state, CONN_TCP_HANDSHAKE);
    conn_update(c, CONN_DIR_FORWARD, RTE_TCP_ACK_FLAG, 40002);
    cr_assert_eq(c->state, CONN_TCP_ESTABLISHED);
    twheel_advance(&wheel, 40002 + 899999);
    cr_assert_eq(conn_lookup(t, &a, &dir), c, "established survives the handshake timeout");

    /* FIN: closing, 10 s from now, not 900. */
    conn_update(c, CONN_DIR_REVERSE, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, 940001);
    cr_assert_eq(c->state, CONN_TCP_CLOSING);
    twheel_advance(&wheel, 950000);
    cr_assert_not_null(conn_lookup(t, &a, &dir));
    twheel_advance(&wheel, 950001);
    cr_assert_null(conn_lookup(t, &a, &dir));
}

Test(conn, rst_closes_and_a_new_syn_reopens)
{
    struct conn_key a = key(ip4("10.200.50.20"), ip4("10.200.50.120"), 40000, 443, IPPROTO_TCP);
    enum conn_err why;
    struct conn *c = conn_create(t, &a, ip4("192.168.112.51"), rte_cpu_to_be_16(443), 1, 1, 0,
                                 CONN_TCP_ESTABLISHED, 1000, &why);

    conn_update(c, CONN_DIR_FORWARD, RTE_TCP_RST_FLAG, 2000);
    cr_assert_eq(c->state, CONN_TCP_CLOSING);
    conn_update(c, CONN_DIR_FORWARD, RTE_TCP_SYN_FLAG, 3000);
    cr_assert_eq(c->state, CONN_TCP_HANDSHAKE);
}

Test(conn, many_connections_come_and_go)
{
    enum conn_err why;
    enum conn_dir dir;
    uint64_t now = 1000;

    /* Churn through the pool several times over with random lifetimes. */
    srand(7);
    for (uint32_t round = 0; round < 8; round++) {
        for (uint32_t i = 0; i < 1000; i++) {
            struct conn_key k = key(rte_cpu_to_be_32(0x0a000000 + round * 1000 + i),
                                    ip4("10.200.50.120"), 5000, 3478, IPPROTO_UDP);
            struct conn *c = conn_create(t, &k, ip4("192.168.112.51"), rte_cpu_to_be_16(3478),
                                         (uint16_t)(i % 4), 1, 0, CONN_UDP, now, &why);
            cr_assert_not_null(c);
            cr_assert_eq(conn_lookup(t, &k, &dir), c);
            if (rand() % 2)
                conn_delete(t, c, now, CONN_END_SYNC);
        }
        now += 300000;
        twheel_advance(&wheel, now);
        cr_assert_eq(conn_count(t), 0);
        for (int i = 0; i < 4; i++)
            cr_assert_eq(active[i], 0);
    }
}

/* The bulk look-up finds what conn_lookup finds, key by key; the generation moves on
 * every insertion and deletion, and only then. */
Test(conn, bulk_lookup_matches_single_lookups_and_the_generation_moves_on_changes)
{
    struct conn_key k[CONN_LOOKUP_BULK_MAX];
    const struct conn_key *kp[CONN_LOOKUP_BULK_MAX];
    struct conn *c[8], *out[CONN_LOOKUP_BULK_MAX];
    uint8_t dir[CONN_LOOKUP_BULK_MAX];
    enum conn_err why;
    uint32_t gen = conn_table_gen(t);

    for (unsigned i = 0; i < 8; i++) {
        struct conn_key fwd = key(ip4("10.200.50.20"), ip4("10.200.50.120"),
                                  (uint16_t)(40000 + i), 3478, IPPROTO_UDP);
        c[i] = conn_create(t, &fwd, ip4("192.168.112.51"), rte_cpu_to_be_16(3478), 1, 1, 0,
                           CONN_UDP, 1000, &why);
        cr_assert_not_null(c[i]);
    }
    cr_assert_eq(conn_table_gen(t), gen + 8, "one step per insertion");
    /* Forward keys, reverse keys and misses, interleaved: all 32 the bulk takes. */
    for (unsigned i = 0; i < CONN_LOOKUP_BULK_MAX; i++) {
        uint16_t port = (uint16_t)(40000 + i / 3 % 8 + (i % 3 == 2 ? 100 : 0));
        k[i] = i % 3 == 1 ? key(ip4("192.168.112.51"), ip4("10.200.50.20"), 3478, port,
                                IPPROTO_UDP)
                          : key(ip4("10.200.50.20"), ip4("10.200.50.120"), port, 3478,
                                IPPROTO_UDP);
        kp[i] = &k[i];
    }
    conn_lookup_bulk(t, kp, CONN_LOOKUP_BULK_MAX, out, dir);
    for (unsigned i = 0; i < CONN_LOOKUP_BULK_MAX; i++) {
        enum conn_dir d = CONN_DIR_FORWARD;
        struct conn *one = conn_lookup(t, &k[i], &d);
        cr_assert_eq(out[i], one, "key %u: the same entry as conn_lookup", i);
        if (i % 3 == 2)
            cr_assert_null(out[i], "key %u: a miss", i);
        else
            cr_assert_eq(out[i], c[i / 3 % 8], "key %u: its connection", i);
        if (one != NULL)
            cr_assert_eq(dir[i], d, "key %u: the direction", i);
    }
    gen = conn_table_gen(t);
    conn_update(c[0], CONN_DIR_FORWARD, 0, 2000);
    cr_assert_eq(conn_table_gen(t), gen, "a packet on an entry changes nothing");
    conn_delete(t, c[0], 2000, CONN_END_EXPIRED);
    cr_assert_eq(conn_table_gen(t), gen + 1, "a deletion moves it");
    conn_lookup_bulk(t, kp, 2, out, dir);
    cr_assert_null(out[0]);
    cr_assert_null(out[1]);
}

/* A port of rs_a (network order) whose reverse-source slot (conn_rev_src_slot) is
 * neither of a's nor b's. */
static uint16_t other_slot_port(uint32_t ip, uint32_t a, uint16_t pa, uint32_t b, uint16_t pb)
{
    for (uint32_t i = 1; i < 65535; i++) {
        uint16_t port = rte_cpu_to_be_16((uint16_t)i);
        uint32_t slot = conn_rev_src_slot(ip, port);
        if (slot != conn_rev_src_slot(a, pa) && slot != conn_rev_src_slot(b, pb))
            return port;
    }
    cr_assert_fail("no port of another slot");
    return 0;
}

/*
 * conn_may_reverse says "maybe" for the real server (address and port) of every live
 * connection and "no" for a source no connection's real server shares a slot with:
 * another port of the same server, its own traffic, is told apart too. The counts
 * follow creation, conn_delete and expiry, so that a source goes back to "no" with its
 * last connection; a refused creation counts nothing.
 */
Test(conn, reverse_sources_follow_creation_deletion_and_expiry)
{
    uint32_t rs_a = ip4("192.168.112.51"), rs_b = ip4("192.168.112.52");
    uint16_t pa = rte_cpu_to_be_16(8443), pb = rte_cpu_to_be_16(53);
    uint16_t other = other_slot_port(rs_a, rs_a, pa, rs_b, pb);
    struct conn_key k1 = key(ip4("10.200.50.20"), ip4("10.200.50.120"), 40000, 443, IPPROTO_TCP);
    struct conn_key k2 = key(ip4("10.200.50.20"), ip4("10.200.50.120"), 40001, 443, IPPROTO_TCP);
    struct conn_key k3 = key(ip4("10.200.50.21"), ip4("10.200.50.120"), 40000, 53, IPPROTO_UDP);
    struct conn_key k4 = key(ip4("10.200.50.20"), ip4("10.200.50.121"), 40000, 443, IPPROTO_TCP);
    enum conn_err why;
    struct conn *c1, *c2, *c3;

    cr_assert_neq(conn_rev_src_slot(rs_a, pa), conn_rev_src_slot(rs_b, pb),
                  "the test's servers are in two slots");
    cr_assert_not(conn_may_reverse(t, rs_a, pa), "an empty table has no reverse source");
    c1 = conn_create(t, &k1, rs_a, pa, 0, 1, 0, CONN_TCP_ESTABLISHED, 1000, &why);
    c2 = conn_create(t, &k2, rs_a, pa, 0, 1, 0, CONN_TCP_ESTABLISHED, 1000, &why);
    c3 = conn_create(t, &k3, rs_b, pb, 1, 2, 0, CONN_UDP, 1000, &why);
    cr_assert(c1 != NULL && c2 != NULL && c3 != NULL);
    cr_assert(conn_may_reverse(t, rs_a, pa));
    cr_assert(conn_may_reverse(t, rs_b, pb));
    cr_assert_not(conn_may_reverse(t, rs_a, other), "the server's other port");

    conn_delete(t, c1, 2000, CONN_END_EXPIRED);
    cr_assert(conn_may_reverse(t, rs_a, pa), "one connection to rs_a left");
    conn_delete(t, c2, 2000, CONN_END_EXPIRED);
    cr_assert_not(conn_may_reverse(t, rs_a, pa), "its last connection gone");
    cr_assert(conn_may_reverse(t, rs_b, pb));

    /* UDP idles out after 300 s: the timer's deletion counts too. */
    twheel_advance(&wheel, 1000 + 300000 + 1000);
    cr_assert_eq(conn_count(t), 0);
    cr_assert_not(conn_may_reverse(t, rs_b, pb), "expired");

    /* The reply key of k4 (another VIP, the same client and server) is c1's. */
    c1 = conn_create(t, &k1, rs_a, pa, 0, 1, 0, CONN_TCP_ESTABLISHED, 3000, &why);
    cr_assert_not_null(c1);
    cr_assert_null(conn_create(t, &k4, rs_a, pa, 0, 1, 0, CONN_TCP_ESTABLISHED, 3000, &why));
    cr_assert_eq(why, CONN_COLLISION);
    conn_delete(t, c1, 4000, CONN_END_EXPIRED);
    cr_assert_not(conn_may_reverse(t, rs_a, pa), "the refused one left no count behind");
}
