/*
 * The Layer 4 traffic log (l4/l4_log.h), packet in, record out: frames through the
 * worker's dispatch (worker_burst), the entry's end on the worker's clock, and what
 * the worker's log ring holds then: one record per connection, with its fields.
 */
#include <criterion/criterion.h>

#include <rte_eal.h>
#include <rte_tcp.h>

#include "dp_harness.h"
#include "ha_proto.h"
#include "l4/l4.h"
#include "l4/l4_sync.h"
#include "txlog.h"

static struct harness h;
static uint8_t f[2048], out[2048];
static struct rte_ring *ring;

#define CLIENT "10.200.50.20"
#define VIP "10.200.50.120"

static void setup(void)
{
    h_eal_init();
    cr_assert_eq(h_init(&h, 4096), 0);
    h.w->lc.snap = h.s;
}

TestSuite(l4_log, .init = setup);

/* The worker's log ring, count slots (count - 1 usable), and "log" on service vs. */
static void log_on(unsigned count, int vs, bool on)
{
    ring = rte_ring_create_elem("t_l4_log", sizeof(struct txlog_rec), count, SOCKET_ID_ANY,
                                RING_F_SP_ENQ | RING_F_SC_DEQ);
    cr_assert_not_null(ring);
    h.w->l4.log_ring = ring;
    h.vs[vs].log = on;
    cr_assert_eq(h_publish(&h), 0);
    h.w->lc.snap = h.s;
}

static unsigned recs(struct txlog_rec *r, unsigned max)
{
    return rte_ring_sc_dequeue_burst_elem(ring, r, sizeof(r[0]), max, NULL);
}

/* A UDP datagram of the client from sport to the VIP; returns the server it reached. */
static uint32_t udp_in(uint16_t sport)
{
    uint32_t len = frame_udp(f, ip4(CLIENT), ip4(VIP), sport, 3478, 20);

    h_run(&h, f, len, 1);
    len = h_sent(&h, 0, out, sizeof(out));
    cr_assert_gt(len, 0, "forwarded");
    return h_ip_of(out)->dst_addr;
}

static void udp_back(uint32_t rs, uint16_t dport)
{
    uint32_t len = frame_udp(f, rs, ip4(CLIENT), 3478, dport, 48);

    h_run(&h, f, len, 0);
    cr_assert_gt(h_sent(&h, 1, out, sizeof(out)), 0, "answered from the VIP");
}

/* A TCP segment with flags from src:sport to dst:dport, through the worker. */
static void tcp_run(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t flags)
{
    uint32_t len = frame_tcp(f, src, dst, sport, dport);
    struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(f + 34);

    tcp->tcp_flags = flags;
    tcp->cksum = 0;
    tcp->cksum = rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)(f + 14), tcp);
    h_run(&h, f, len, src == ip4(CLIENT) ? 1 : 0);
}

/* The client opens sport -> VIP:443 and the server answers the handshake; returns the
 * server. */
static uint32_t tcp_open(uint16_t sport)
{
    uint32_t rs;

    tcp_run(ip4(CLIENT), ip4(VIP), sport, 443, RTE_TCP_SYN_FLAG);
    cr_assert_gt(h_sent(&h, 0, out, sizeof(out)), 0);
    rs = h_ip_of(out)->dst_addr;
    tcp_run(rs, ip4(CLIENT), 443, sport, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
    cr_assert_gt(h_sent(&h, 1, out, sizeof(out)), 0);
    tcp_run(ip4(CLIENT), ip4(VIP), sport, 443, RTE_TCP_ACK_FLAG);
    cr_assert_gt(h_sent(&h, 0, out, sizeof(out)), 0);
    return rs;
}

static const char *rs_label_of(uint32_t rs)
{
    return rs == ip4("192.168.112.51") ? "rs1" : rs == ip4("192.168.112.52") ? "rs2" : "rs3";
}

Test(l4_log, a_udp_flow_is_one_record_when_it_expires_with_every_field)
{
    struct txlog_rec r[4];
    uint32_t rs;
    char line[TXLOG_LINE_MAX], want[TXLOG_LINE_MAX];

    log_on(16, 0, true);
    rs = udp_in(40000);
    h_advance_ms(&h, 250);
    udp_back(rs, 40000);
    h_advance_ms(&h, 500);
    udp_in(40000);
    udp_in(40000);
    cr_assert_eq(recs(r, 4), 0, "nothing while the flow lives: no record per packet");
    /* Idle for the UDP timeout: the entry goes, its record with it. */
    h_advance_ms(&h, (uint64_t)CFG_L4_UDP_TIMEOUT_S * 1000 + 1000);
    cr_assert_eq(conn_count(h.w->l4.conns), 0);
    cr_assert_eq(recs(r, 4), 1, "exactly one record for the flow");
    cr_assert_eq(r[0].mode, TXLOG_MODE_L4_UDP);
    cr_assert_eq(r[0].client_ip, ip4(CLIENT));
    cr_assert_eq(r[0].client_port, 40000, "host order");
    cr_assert_eq(r[0].vip, ip4(VIP));
    cr_assert_eq(r[0].vport, 3478);
    cr_assert_eq(r[0].rs_ip, rs);
    cr_assert_eq(r[0].rs_port, 3478);
    cr_assert_eq(r[0].vs_slot, h.vs[0].slot);
    cr_assert_eq(r[0].rs_id, (uint32_t)(rs == ip4("192.168.112.51")   ? 1
                                        : rs == ip4("192.168.112.52") ? 2
                                                                      : 3));
    cr_assert_eq(r[0].packets[0], 3, "client -> server");
    cr_assert_eq(r[0].packets[1], 1, "server -> client");
    cr_assert_eq(r[0].t_total_ms, 750, "created to the last packet, not to the expiry");
    cr_assert_eq(r[0].end, TXLOG_END_IDLE_TIMEOUT);
    cr_assert_eq(r[0].worker, 0);
    cr_assert_eq(r[0].bytes_in + r[0].bytes_out + r[0].status + r[0].req_len, 0);
    cr_assert_eq(h.w->stats.l4.log_records, 1);
    cr_assert_eq(h.w->stats.l4.log_lost, 0);
    /* The control core's line for it, with the labels of the config. */
    txlog_format(&r[0], "AvUDP", rs_label_of(rs), line, sizeof(line));
    snprintf(want, sizeof(want), "client=10.200.50.20:40000 vip=10.200.50.120:3478 vs=AvUDP "
             "rs=%s server=%s:3478 mode=l4 proto=udp total_ms=750 packets_in=3 "
             "packets_out=1 end=idle_timeout worker=0", rs_label_of(rs),
             rs == ip4("192.168.112.51") ? "192.168.112.51"
             : rs == ip4("192.168.112.52") ? "192.168.112.52" : "192.168.112.57");
    cr_assert_str_eq(line, want);
}

Test(l4_log, k_udp_flows_give_k_records)
{
    struct txlog_rec r[64];
    bool seen[20] = {false};

    log_on(64, 0, true);
    for (uint16_t i = 0; i < 20; i++)
        udp_in((uint16_t)(41000 + i));
    h_advance_ms(&h, (uint64_t)CFG_L4_UDP_TIMEOUT_S * 1000 + 1000);
    cr_assert_eq(recs(r, 64), 20);
    for (int i = 0; i < 20; i++) {
        cr_assert_eq(r[i].packets[0], 1);
        cr_assert_eq(r[i].packets[1], 0);
        cr_assert(r[i].client_port >= 41000 && r[i].client_port < 41020);
        cr_assert(!seen[r[i].client_port - 41000], "one record per flow");
        seen[r[i].client_port - 41000] = true;
    }
    cr_assert_eq(h.w->stats.l4.log_records, 20);
}

Test(l4_log, tcp_ends_by_the_first_fin_or_rst_and_by_who)
{
    static const struct {
        bool client;
        uint8_t flags;
        uint8_t end;
    } cases[] = {
        {true, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, TXLOG_END_CLIENT_CLOSE},
        {false, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, TXLOG_END_SERVER_CLOSE},
        {true, RTE_TCP_RST_FLAG, TXLOG_END_CLIENT_RESET},
        {false, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, TXLOG_END_SERVER_RESET},
    };
    struct txlog_rec r[8];

    log_on(16, 1, true);
    for (unsigned i = 0; i < RTE_DIM(cases); i++) {
        uint16_t sport = (uint16_t)(50000 + i);
        uint32_t rs = tcp_open(sport);
        if (cases[i].client)
            tcp_run(ip4(CLIENT), ip4(VIP), sport, 443, cases[i].flags);
        else
            tcp_run(rs, ip4(CLIENT), 443, sport, cases[i].flags);
        /* The other side's FIN afterwards does not change who closed first. */
        if (cases[i].client)
            tcp_run(rs, ip4(CLIENT), 443, sport, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG);
        else
            tcp_run(ip4(CLIENT), ip4(VIP), sport, 443, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG);
        while (h_sent(&h, 0, out, sizeof(out)) > 0 || h_sent(&h, 1, out, sizeof(out)) > 0)
            ;
    }
    cr_assert_eq(recs(r, 8), 0);
    h_advance_ms(&h, (uint64_t)CFG_L4_TCP_CLOSING_TIMEOUT_S * 1000 + 1000);
    cr_assert_eq(recs(r, 8), RTE_DIM(cases));
    for (unsigned i = 0; i < RTE_DIM(cases); i++) {
        unsigned j = r[i].client_port - 50000;
        cr_assert_lt(j, RTE_DIM(cases));
        cr_assert_eq(r[i].end, cases[j].end, "case %u: %s", j, txlog_end_name(r[i].end));
        cr_assert_eq(r[i].mode, TXLOG_MODE_L4_TCP);
        cr_assert_eq(r[i].vport, 443);
        cr_assert_eq(r[i].rs_port, 443, "port null: the client's port");
        cr_assert_eq(r[i].packets[0], 3, "SYN, ACK, FIN or RST");
        cr_assert_eq(r[i].packets[1], 2, "SYN-ACK, FIN or RST");
    }
}

Test(l4_log, an_unanswered_handshake_is_a_connect_timeout)
{
    struct txlog_rec r[4];

    log_on(16, 1, true);
    tcp_run(ip4(CLIENT), ip4(VIP), 50000, 443, RTE_TCP_SYN_FLAG);
    h_advance_ms(&h, (uint64_t)CFG_L4_TCP_HANDSHAKE_TIMEOUT_S * 1000 + 1000);
    cr_assert_eq(recs(r, 4), 1);
    cr_assert_eq(r[0].end, TXLOG_END_CONNECT_TIMEOUT);
    cr_assert_eq(r[0].packets[0], 1);
    cr_assert_eq(r[0].packets[1], 0);
}

Test(l4_log, a_syn_reopening_a_closed_entry_ends_the_old_connection)
{
    struct txlog_rec r[4];

    log_on(16, 1, true);
    tcp_open(50000);
    tcp_run(ip4(CLIENT), ip4(VIP), 50000, 443, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG);
    h_advance_ms(&h, 2000);
    /* The client's next connection on the same ports, within the closing timeout. */
    tcp_open(50000);
    cr_assert_eq(recs(r, 4), 1, "the first connection is over");
    cr_assert_eq(r[0].end, TXLOG_END_CLIENT_CLOSE);
    cr_assert_eq(r[0].packets[0], 3);
    cr_assert_eq(r[0].packets[1], 1);
    cr_assert_eq(r[0].t_total_ms, 0, "to its last packet, not to the new SYN");
    h_advance_ms(&h, (uint64_t)CFG_L4_TCP_ESTABLISHED_TIMEOUT_S * 1000 + 1000);
    cr_assert_eq(recs(r, 4), 1, "the second one when it idles out");
    cr_assert_eq(r[0].end, TXLOG_END_IDLE_TIMEOUT);
    cr_assert_eq(r[0].packets[0], 2, "its own packets only: SYN, ACK");
    cr_assert_eq(r[0].packets[1], 1);
    cr_assert_eq(h.w->stats.l4.log_records, 2);
}

Test(l4_log, a_halted_server_ends_its_connections_as_halt)
{
    struct txlog_rec r[4];
    uint32_t rs;

    log_on(16, 0, true);
    rs = udp_in(40000);
    for (int i = 0; i < H_RS; i++)
        if (h.rs_udp[i].ip == rs)
            h.rs_udp[i].state = CFG_RS_HALT;
    cr_assert_eq(h_publish(&h), 0);
    h.w->lc.snap = h.s;
    h_advance_ms(&h, 100);
    udp_in(40000);      /* rescheduled: the old entry ends, a new one starts */
    cr_assert_eq(recs(r, 4), 1);
    cr_assert_eq(r[0].end, TXLOG_END_HALT);
    cr_assert_eq(r[0].rs_ip, rs);
    cr_assert_eq(r[0].packets[0], 1);
    cr_assert_eq(h.w->stats.l4.conns_halted, 1);
}

Test(l4_log, a_full_ring_counts_the_record_lost)
{
    struct txlog_rec r[4];

    log_on(2, 0, true);     /* one record fits */
    for (uint16_t i = 0; i < 3; i++)
        udp_in((uint16_t)(40000 + i));
    h_advance_ms(&h, (uint64_t)CFG_L4_UDP_TIMEOUT_S * 1000 + 1000);
    cr_assert_eq(conn_count(h.w->l4.conns), 0, "the traffic is not affected");
    cr_assert_eq(h.w->stats.l4.log_records, 1);
    cr_assert_eq(h.w->stats.l4.log_lost, 2);
    cr_assert_eq(recs(r, 4), 1);
    /* Room again: the next one is taken. */
    udp_in(40010);
    h_advance_ms(&h, (uint64_t)CFG_L4_UDP_TIMEOUT_S * 1000 + 1000);
    cr_assert_eq(recs(r, 4), 1);
    cr_assert_eq(h.w->stats.l4.log_records, 2);
}

Test(l4_log, log_false_gives_nothing)
{
    struct txlog_rec r[4];

    log_on(16, 0, false);      /* and the TCP service as the harness has it: false */
    udp_in(40000);
    tcp_open(50000);
    h_advance_ms(&h, (uint64_t)CFG_L4_TCP_ESTABLISHED_TIMEOUT_S * 1000 + 1000);
    cr_assert_eq(conn_count(h.w->l4.conns), 0);
    cr_assert_eq(h.w->stats.l4.conns_ended, 2);
    cr_assert_eq(recs(r, 4), 0);
    cr_assert_eq(h.w->stats.l4.log_records + h.w->stats.l4.log_lost, 0);
}

/* The HA sync record of the client's TCP connection on cport to rs:443. */
static struct ha_rec sync_rec(uint8_t type, uint16_t cport, uint32_t rs)
{
    return (struct ha_rec){
        .type = type, .proto = IPPROTO_TCP, .state = CONN_TCP_ESTABLISHED,
        .client_ip = ip4(CLIENT), .vip = ip4(VIP), .rs_ip = rs,
        .client_port = rte_cpu_to_be_16(cport), .vport = rte_cpu_to_be_16(443),
        .rs_port = rte_cpu_to_be_16(443),
    };
}

/* The worker as the backup of an HA pair, its service logging into a 16-record ring. */
static void backup_with_log(void)
{
    log_on(16, 1, true);
    h.cfg.ha.enabled = true;
    h.cfg.ha.peer = ip4("192.168.112.6");
    cr_assert_eq(h_publish(&h), 0);
    h.s->ha_standby = true;
    h.w->lc.snap = h.s;
}

Test(l4_log, a_backups_synced_entries_are_not_traffic)
{
    struct txlog_rec r[4];
    struct ha_rec a = sync_rec(HA_REC_CONN, 51000, ip4("192.168.112.52"));
    struct ha_rec b = sync_rec(HA_REC_CONN, 51001, ip4("192.168.112.52"));

    backup_with_log();
    l4_sync_install(&h.w->l4, h.s, &a);
    l4_sync_install(&h.w->l4, h.s, &b);
    cr_assert_eq(h.w->stats.l4.sync_installed, 2);
    /* One is ended by the master's record, the other idles out: neither is logged. */
    a.type = HA_REC_CONN_DEL;
    l4_sync_install(&h.w->l4, h.s, &a);
    cr_assert_eq(h.w->stats.l4.sync_removed, 1);
    h_advance_ms(&h, (uint64_t)CFG_L4_TCP_ESTABLISHED_TIMEOUT_S * 2000);
    cr_assert_eq(conn_count(h.w->l4.conns), 0);
    cr_assert_eq(recs(r, 4), 0, "the backup carried none of their traffic");
    cr_assert_eq(h.w->stats.l4.log_records + h.w->stats.l4.log_lost, 0);
}

Test(l4_log, a_synced_entry_that_carries_traffic_after_a_takeover_is_logged)
{
    struct txlog_rec r[4];
    struct ha_rec a = sync_rec(HA_REC_CONN, 51000, ip4("192.168.112.52"));

    backup_with_log();
    l4_sync_install(&h.w->l4, h.s, &a);
    /* Takeover: this unit carries the connection now. */
    h.s->ha_standby = false;
    h_advance_ms(&h, 1000);
    tcp_run(ip4(CLIENT), ip4(VIP), 51000, 443, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG);
    cr_assert_gt(h_sent(&h, 0, out, sizeof(out)), 0);
    /* The peer, master again, ends it. */
    a.type = HA_REC_CONN_DEL;
    l4_sync_install(&h.w->l4, h.s, &a);
    cr_assert_eq(recs(r, 4), 1);
    cr_assert_eq(r[0].end, TXLOG_END_SYNC_REMOVED);
    cr_assert_eq(r[0].packets[0], 1, "what went through here");
    cr_assert_eq(r[0].packets[1], 0);
    cr_assert_eq(r[0].t_total_ms, 1000, "from the first record to the last packet");
    cr_assert_eq(r[0].rs_ip, ip4("192.168.112.52"));
}
