/*
 * HA state sync on a worker (l4/l4_sync.h) and the backup's ownership rules, packet
 * in, packet out: what the master streams, what the backup installs, and that a
 * synced TCP entry carries mid-stream segments after a takeover.
 */
#include <criterion/criterion.h>

#include <rte_eal.h>
#include <rte_tcp.h>

#include "dp_harness.h"
#include "ha_proto.h"
#include "l4/l4.h"
#include "l4/l4_sync.h"

static struct harness h;
static uint8_t f[2048], out[2048];
static struct rte_ring *sync_out;

static void setup(void)
{
    char *argv[] = {"test", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
                    "--log-level=error", "-l", "0", "--vdev=net_ring0", "--vdev=net_ring1",
                    NULL};

    cr_assert_geq(rte_eal_init(11, argv), 0);
    cr_assert_eq(h_init(&h, 4096), 0);
    sync_out = rte_ring_create_elem("t_sync_out", sizeof(struct ha_rec), 4096, 0,
                                    RING_F_SC_DEQ);
    cr_assert_not_null(sync_out);
    h.w->lc.sync_out = sync_out;
    h.w->lc.snap = h.s;
}

TestSuite(l4_sync, .init = setup);

/* Publishes the harness config again with the HA flags the dataplane would set. */
static void publish(bool standby, bool sync)
{
    h.cfg.ha.enabled = true;
    h.cfg.ha.peer = ip4("192.168.112.6");
    cr_assert_eq(h_publish(&h), 0);
    h.s->ha_standby = standby;
    h.s->ha_sync = sync;
    h.w->lc.snap = h.s;
}

static uint32_t tcp_seg(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                        uint8_t flags)
{
    uint32_t len = frame_tcp(f, src, dst, sport, dport);
    struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(f + 34);

    tcp->tcp_flags = flags;
    tcp->cksum = 0;
    tcp->cksum = rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)(f + 14), tcp);
    return len;
}

static unsigned drain(struct ha_rec *recs, unsigned max)
{
    return rte_ring_sc_dequeue_burst_elem(sync_out, recs, sizeof(recs[0]), max, NULL);
}

Test(l4_sync, master_streams_create_state_change_and_delete)
{
    struct ha_rec r[16];
    unsigned n;
    uint32_t len;

    publish(false, true);
    len = tcp_seg(ip4("10.200.50.20"), ip4("10.200.50.120"), 50000, 443, RTE_TCP_SYN_FLAG);
    h_run(&h, f, len, 1);
    cr_assert_gt(h_sent(&h, 0, out, sizeof(out)), 0);
    n = drain(r, 16);
    cr_assert_eq(n, 1, "one record for the new connection");
    cr_assert_eq(r[0].type, HA_REC_CONN);
    cr_assert_eq(r[0].state, CONN_TCP_HANDSHAKE);
    cr_assert_eq(r[0].client_ip, ip4("10.200.50.20"));
    cr_assert_eq(r[0].vport, rte_cpu_to_be_16(443));
    cr_assert_eq(r[0].client_port, rte_cpu_to_be_16(50000));
    /* The server answers, the client acknowledges: established, one record. */
    len = tcp_seg(r[0].rs_ip, ip4("10.200.50.20"), 443, 50000,
                  RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
    h_run(&h, f, len, 0);
    len = tcp_seg(ip4("10.200.50.20"), ip4("10.200.50.120"), 50000, 443, RTE_TCP_ACK_FLAG);
    h_run(&h, f, len, 1);
    len = tcp_seg(ip4("10.200.50.20"), ip4("10.200.50.120"), 50000, 443,
                  RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG);
    h_run(&h, f, len, 1);
    n = drain(r, 16);
    cr_assert_eq(n, 1, "state changes only: %u records", n);
    cr_assert_eq(r[0].state, CONN_TCP_ESTABLISHED);
    /* The end of the connection. */
    {
        struct conn_key k = {.src_ip = ip4("10.200.50.20"), .dst_ip = ip4("10.200.50.120"),
                             .src_port = rte_cpu_to_be_16(50000),
                             .dst_port = rte_cpu_to_be_16(443), .proto = IPPROTO_TCP};
        enum conn_dir dir;
        struct conn *c = conn_lookup(h.w->l4.conns, &k, &dir);
        cr_assert_not_null(c);
        conn_delete(h.w->l4.conns, c, h.w->lc.now_ms, CONN_END_EXPIRED);
    }
    n = drain(r, 16);
    cr_assert_eq(n, 1);
    cr_assert_eq(r[0].type, HA_REC_CONN_DEL);
    while (h_sent(&h, 0, out, sizeof(out)) || h_sent(&h, 1, out, sizeof(out)))
        ;
}

Test(l4_sync, backup_installs_and_a_midstream_segment_is_carried_after_takeover)
{
    struct ha_rec r = {
        .type = HA_REC_CONN, .proto = IPPROTO_TCP, .state = CONN_TCP_ESTABLISHED,
        .client_ip = ip4("10.200.50.20"), .vip = ip4("10.200.50.120"),
        .rs_ip = ip4("192.168.112.52"), .client_port = rte_cpu_to_be_16(51000),
        .vport = rte_cpu_to_be_16(443), .rs_port = rte_cpu_to_be_16(443),
    };
    uint32_t len;

    publish(true, false);
    l4_sync_install(&h.w->l4, h.s, &r);
    cr_assert_eq(h.w->stats.l4.sync_installed, 1);
    cr_assert_eq(h.w->l4.conns->half_open, 0);
    /* The backup drops the VIP's traffic. */
    len = tcp_seg(ip4("10.200.50.20"), ip4("10.200.50.120"), 51000, 443, RTE_TCP_ACK_FLAG);
    h_run(&h, f, len, 1);
    cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0);
    cr_assert_eq(h.w->stats.lcore.drops[DROP_HA_STANDBY], 1);
    len = tcp_seg(ip4("192.168.112.52"), ip4("10.200.50.20"), 443, 51000, RTE_TCP_ACK_FLAG);
    h_run(&h, f, len, 0);
    cr_assert_eq(h_sent(&h, 1, out, sizeof(out)), 0, "nor the server's answers");
    cr_assert_eq(h.w->stats.lcore.drops[DROP_HA_STANDBY], 2);
    /* Takeover: the same mid-stream ACK goes to the synced real server. */
    publish(false, true);
    len = tcp_seg(ip4("10.200.50.20"), ip4("10.200.50.120"), 51000, 443,
                  RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG);
    h_run(&h, f, len, 1);
    len = h_sent(&h, 0, out, sizeof(out));
    cr_assert_gt(len, 0, "carried without a SYN");
    cr_assert_eq(((const struct rte_ipv4_hdr *)(out + 14))->dst_addr, ip4("192.168.112.52"));
    cr_assert_eq(h.w->stats.lcore.drops[DROP_L4_TCP_NOT_SYN], 0);
    len = tcp_seg(ip4("192.168.112.52"), ip4("10.200.50.20"), 443, 51000, RTE_TCP_ACK_FLAG);
    h_run(&h, f, len, 0);
    len = h_sent(&h, 1, out, sizeof(out));
    cr_assert_gt(len, 0, "and the server's answer back from the VIP");
    cr_assert_eq(((const struct rte_ipv4_hdr *)(out + 14))->src_addr, ip4("10.200.50.120"));
    /* A record deleting it. */
    r.type = HA_REC_CONN_DEL;
    l4_sync_install(&h.w->l4, h.s, &r);
    cr_assert_eq(h.w->stats.l4.sync_removed, 1);
    drain((struct ha_rec[16]){0}, 16);
}

/* A segment from real server rs:443 to the client 10.200.50.20:dport (seq, ACK, data). */
static uint32_t server_seg(uint32_t rs, uint16_t dport, uint8_t flags, uint32_t seq,
                           uint16_t data_len)
{
    return frame_tcp_seg(f, rs, ip4("10.200.50.20"), 443, dport, flags, seq, 1001, data_len);
}

/* The seq of the one RST sent to the client (port 1); the server's (port 0) dropped. */
static uint32_t rst_seq_to_client(void)
{
    uint32_t len = h_sent(&h, 1, out, sizeof(out));
    const struct rte_tcp_hdr *rst = (const struct rte_tcp_hdr *)(out + 34);
    uint32_t seq;

    cr_assert_gt(len, 0, "no RST to the client");
    cr_assert_eq(((const struct rte_ipv4_hdr *)(out + 14))->dst_addr, ip4("10.200.50.20"));
    cr_assert_eq(rst->tcp_flags, RTE_TCP_RST_FLAG);
    seq = rte_be_to_cpu_32(rst->sent_seq);
    cr_assert_eq(h_sent(&h, 1, out, sizeof(out)), 0, "one RST");
    while (h_sent(&h, 0, out, sizeof(out)) > 0)
        ;
    return seq;
}

static void set_rs_state(uint32_t ip, enum cfg_rs_state st)
{
    for (int i = 0; i < H_RS; i++)
        if (h.rs_tcp[i].ip == ip)
            h.rs_tcp[i].state = st;
}

Test(l4_sync, conn_records_carry_where_the_server_got_to)
{
    struct ha_rec r[16];
    uint32_t len, rs;
    unsigned n;

    publish(false, true);
    len = tcp_seg(ip4("10.200.50.20"), ip4("10.200.50.120"), 50100, 443, RTE_TCP_SYN_FLAG);
    h_run(&h, f, len, 1);
    cr_assert_gt(h_sent(&h, 0, out, sizeof(out)), 0);
    n = drain(r, 16);
    cr_assert_eq(n, 1);
    cr_assert_eq(r[0].flags & HA_REC_F_SEQ_REV, 0, "nothing from the server yet");
    rs = r[0].rs_ip;
    /* SYN-ACK at 7999 and the first 100 bytes: the record of the state change (data
     * from the server ends the handshake) carries 8100, the bulk dump too. */
    len = server_seg(rs, 50100, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 7999, 0);
    h_run(&h, f, len, 0);
    len = server_seg(rs, 50100, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 8000, 100);
    h_run(&h, f, len, 0);
    while (h_sent(&h, 1, out, sizeof(out)) > 0)
        ;
    n = drain(r, 16);
    cr_assert_eq(n, 1);
    cr_assert_eq(r[0].state, CONN_TCP_ESTABLISHED);
    cr_assert(r[0].flags & HA_REC_F_SEQ_REV);
    cr_assert_eq(r[0].seq_end_rev, 8000, "the SYN-ACK's end: the record is made before the data is noted");
    len = server_seg(rs, 50100, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 8100, 100);
    h_run(&h, f, len, 0);
    while (h_sent(&h, 1, out, sizeof(out)) > 0)
        ;
    l4_sync_bulk_start(&h.w->l4);
    while (l4_sync_bulk_step(&h.w->l4, h.s))
        ;
    n = drain(r, 16);
    cr_assert_geq(n, 2);
    cr_assert_eq(r[0].type, HA_REC_CONN);
    cr_assert_eq(r[0].seq_end_rev, 8200, "the bulk dump has the latest");
    cr_assert_eq(r[n - 1].type, HA_REC_BULK_END);
    {
        struct conn_key k = {.src_ip = ip4("10.200.50.20"), .dst_ip = ip4("10.200.50.120"),
                             .src_port = rte_cpu_to_be_16(50100),
                             .dst_port = rte_cpu_to_be_16(443), .proto = IPPROTO_TCP};
        enum conn_dir dir;
        conn_delete(h.w->l4.conns, conn_lookup(h.w->l4.conns, &k, &dir), h.w->lc.now_ms,
                    CONN_END_EXPIRED);
    }
    drain(r, 16);
}

Test(l4_sync, halt_after_a_takeover_resets_the_client_from_the_synced_end)
{
    struct ha_rec r = {
        .type = HA_REC_CONN, .proto = IPPROTO_TCP, .state = CONN_TCP_ESTABLISHED,
        .flags = HA_REC_F_SEQ_REV, .client_ip = ip4("10.200.50.20"),
        .vip = ip4("10.200.50.120"), .rs_ip = ip4("192.168.112.52"),
        .client_port = rte_cpu_to_be_16(52000), .vport = rte_cpu_to_be_16(443),
        .rs_port = rte_cpu_to_be_16(443), .seq_end_rev = 5200,
    };
    uint32_t len;

    publish(true, false);
    l4_sync_install(&h.w->l4, h.s, &r);             /* the server had sent up to 5200 */
    r.client_port = rte_cpu_to_be_16(52001);
    l4_sync_install(&h.w->l4, h.s, &r);
    r.seq_end_rev = 5100;                           /* an older record: not taken */
    l4_sync_install(&h.w->l4, h.s, &r);
    r.client_port = rte_cpu_to_be_16(52002);
    r.flags = 0;                                    /* a master that had seen nothing */
    l4_sync_install(&h.w->l4, h.s, &r);
    cr_assert_eq(h.w->stats.l4.sync_installed, 4);

    /* Takeover, then the server is halted. */
    set_rs_state(ip4("192.168.112.52"), CFG_RS_HALT);
    publish(false, true);
    /* A retransmission of data the client has (behind the synced end): the RST goes at
     * 5200, inside the client's window, not at 5000 behind it. */
    len = server_seg(ip4("192.168.112.52"), 52000, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 5000,
                     100);
    h_run(&h, f, len, 0);
    cr_assert_eq(rst_seq_to_client(), 5200);
    /* The server had sent more since the master's last record: this segment is ahead
     * of the synced end, and its seq is the better guess. */
    len = server_seg(ip4("192.168.112.52"), 52001, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 5400,
                     100);
    h_run(&h, f, len, 0);
    cr_assert_eq(rst_seq_to_client(), 5400);
    /* No end synced: the segment's seq, as before. */
    len = server_seg(ip4("192.168.112.52"), 52002, RTE_TCP_ACK_FLAG, 9000, 0);
    h_run(&h, f, len, 0);
    cr_assert_eq(rst_seq_to_client(), 9000);
    cr_assert_eq(h.w->stats.l4.conns_halted, 3);
    /* The client says nothing: each RST is sent again at the same place. */
    h_advance_ms(&h, L4_HALT_RETRY_MS);
    {
        uint32_t seqs[3], n = 0;
        while (n < 3 && h_sent(&h, 1, out, sizeof(out)) > 0)
            seqs[n++] = rte_be_to_cpu_32(((const struct rte_tcp_hdr *)(out + 34))->sent_seq);
        cr_assert_eq(n, 3, "every halted entry tried again");
        cr_assert_eq(seqs[0] + seqs[1] + seqs[2], 5200 + 5400 + 9000);
    }
    cr_assert_eq(h.w->stats.l4.halt_rst_retries, 3);
    set_rs_state(ip4("192.168.112.52"), CFG_RS_ONLINE);
    publish(false, true);
    for (int i = 0; i < L4_HALT_TRIES + 1; i++) {
        h_advance_ms(&h, L4_HALT_RETRY_MS);
        while (h_sent(&h, 1, out, sizeof(out)) > 0)
            ;
    }
    cr_assert_eq(conn_count(h.w->l4.conns), 0);
}

Test(l4_sync, records_naming_nothing_of_ours_are_counted)
{
    struct ha_rec r = {
        .type = HA_REC_CONN, .proto = IPPROTO_TCP, .state = CONN_TCP_ESTABLISHED,
        .client_ip = ip4("10.200.50.21"), .vip = ip4("10.200.50.120"),
        .rs_ip = ip4("192.168.112.99"), .client_port = rte_cpu_to_be_16(51000),
        .vport = rte_cpu_to_be_16(443), .rs_port = rte_cpu_to_be_16(443),
    };
    uint32_t before = conn_count(h.w->l4.conns);

    publish(true, false);
    l4_sync_install(&h.w->l4, h.s, &r);           /* unknown real server */
    r.rs_ip = ip4("192.168.112.51");
    r.vport = rte_cpu_to_be_16(444);
    l4_sync_install(&h.w->l4, h.s, &r);           /* no such service */
    r.vport = rte_cpu_to_be_16(443);
    r.state = CONN_UDP;
    l4_sync_install(&h.w->l4, h.s, &r);           /* a UDP state for TCP */
    r.type = 77;
    l4_sync_install(&h.w->l4, h.s, &r);
    cr_assert_eq(h.w->stats.l4.sync_no_service, 4);
    cr_assert_eq(conn_count(h.w->l4.conns), before);
}

Test(l4_sync, persistence_record_keeps_the_client_on_its_server)
{
    struct ha_rec r = {
        .type = HA_REC_PERSIST, .proto = IPPROTO_UDP, .client_ip = ip4("10.200.50.30"),
        .vip = ip4("10.200.50.120"), .rs_ip = ip4("192.168.112.57"),
        .vport = rte_cpu_to_be_16(3478), .rs_port = rte_cpu_to_be_16(3478),
        .timeout_ms = 600000,
    };
    uint32_t len;

    publish(true, false);
    l4_sync_install(&h.w->l4, h.s, &r);
    cr_assert_not_null(persist_lookup(h.w->l4.persist, ip4("10.200.50.30"), 0));
    publish(false, true);
    for (uint16_t p = 0; p < 5; p++) {
        len = frame_udp(f, ip4("10.200.50.30"), ip4("10.200.50.120"), (uint16_t)(41000 + p),
                        3478, 20);
        h_run(&h, f, len, 1);
        len = h_sent(&h, 0, out, sizeof(out));
        cr_assert_gt(len, 0);
        cr_assert_eq(((const struct rte_ipv4_hdr *)(out + 14))->dst_addr,
                     ip4("192.168.112.57"), "new flows of the client: its synced server");
    }
    drain((struct ha_rec[16]){0}, 16);
}

Test(l4_sync, bulk_dump_sends_every_entry_then_the_end)
{
    struct ha_rec r[64];
    unsigned n, conns = 0, persist = 0, ends = 0;
    uint32_t len;

    publish(false, true);
    for (uint16_t p = 0; p < 3; p++) {
        len = frame_udp(f, ip4("10.200.50.40"), ip4("10.200.50.120"), (uint16_t)(42000 + p),
                        3478, 20);
        h_run(&h, f, len, 1);
        h_sent(&h, 0, out, sizeof(out));
    }
    drain(r, 64);
    l4_sync_bulk_start(&h.w->l4);
    while (l4_sync_bulk_step(&h.w->l4, h.s))
        ;
    while ((n = drain(r, 64)) > 0)
        for (unsigned i = 0; i < n; i++) {
            conns += r[i].type == HA_REC_CONN;
            persist += r[i].type == HA_REC_PERSIST;
            ends += r[i].type == HA_REC_BULK_END;
        }
    cr_assert_eq(conns, conn_count(h.w->l4.conns));
    cr_assert_geq(conns, 3);
    cr_assert_eq(persist, persist_count(h.w->l4.persist));
    cr_assert_eq(ends, 1);
}

Test(l4_sync, backup_answers_no_arp_for_a_vip_and_ha_datagrams_go_by_sender)
{
    struct rte_ring *ha_rx = rte_ring_create("t_ha_rx", 64, 0, RING_F_SC_DEQ);
    struct rte_mbuf *m;
    uint32_t len;

    cr_assert_not_null(ha_rx);
    publish(true, false);
    len = frame_arp(f, RTE_ARP_OP_REQUEST, ip4("10.200.50.20"), ip4("10.200.50.120"));
    h_run(&h, f, len, 1);
    cr_assert_eq(h_sent(&h, 1, out, sizeof(out)), 0, "the VIP is the master's");
    len = frame_arp(f, RTE_ARP_OP_REQUEST, ip4("10.200.50.20"), ip4("10.200.50.5"));
    h_run(&h, f, len, 1);
    cr_assert_gt(h_sent(&h, 1, out, sizeof(out)), 0, "the self IP still answers");

    h.w->links.ha_rx = ha_rx;
    len = frame_udp(f, ip4("192.168.112.6"), ip4("192.168.112.5"), HA_UDP_PORT, HA_UDP_PORT, 68);
    h_run(&h, f, len, 0);
    cr_assert_eq(rte_ring_count(ha_rx), 1, "from the peer: to the control core");
    cr_assert_eq(rte_ring_dequeue(ha_rx, (void **)&m), 0);
    cr_assert_eq(rte_pktmbuf_data_len(m), 68, "the UDP payload only");
    cr_assert_eq(m->hash.usr, ip4("192.168.112.6"));
    rte_pktmbuf_free(m);
    len = frame_udp(f, ip4("192.168.112.20"), ip4("192.168.112.5"), HA_UDP_PORT, HA_UDP_PORT, 68);
    h_run(&h, f, len, 0);
    cr_assert_eq(rte_ring_count(ha_rx), 0);
    cr_assert_eq(h.w->stats.lcore.drops[DROP_HA_NOT_PEER], 1, "anyone else: dropped, counted");
    h.w->links.ha_rx = NULL;
    rte_ring_free(ha_rx);
}
