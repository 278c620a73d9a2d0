/*
 * Packet in, packet out: frames through the worker's dispatch (worker_burst) on
 * in-memory ports, checking the frames that come out and the counters.
 */
#include <criterion/criterion.h>

#include <rte_eal.h>
#include <rte_tcp.h>

#include "dp_harness.h"
#include "l4/l4.h"
#include "l4/persist_ctl.h"

static struct harness h;
static uint8_t f[2048], out[2048];

static void setup(void)
{
    h_eal_init();
    cr_assert_eq(h_init(&h, 4096), 0);
}

TestSuite(l4_path, .init = setup);

static const struct rte_udp_hdr *ports_of(const uint8_t *frame)
{
    return (const struct rte_udp_hdr *)(frame + 34);
}

/* The frame in out is a valid IPv4 TCP/UDP packet: header and L4 checksums. */
static void assert_valid(uint32_t len)
{
    h_assert_valid(out, len);
}

/* Client 10.200.50.20:sport sends UDP to the VIP; returns the real server it reached. */
static uint32_t udp_flow(uint16_t sport)
{
    uint32_t len = frame_udp(f, ip4("10.200.50.20"), ip4("10.200.50.120"), sport, 3478, 20);

    h_run(&h, f, len, 1);
    len = h_sent(&h, 0, out, sizeof(out));
    cr_assert_gt(len, 0, "forwarded to a real server on port 0");
    assert_valid(len);
    cr_assert_eq(h_ip_of(out)->src_addr, ip4("10.200.50.20"), "the client's own address");
    cr_assert_eq(ports_of(out)->src_port, rte_cpu_to_be_16(sport));
    cr_assert_eq(ports_of(out)->dst_port, rte_cpu_to_be_16(3478));
    return h_ip_of(out)->dst_addr;
}

Test(l4_path, udp_forward_and_reverse)
{
    const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)out;
    uint32_t rs = udp_flow(40000), len;
    int idx = rs == ip4("192.168.112.51") ? 0 : rs == ip4("192.168.112.52") ? 1 : 2;

    cr_assert(rte_is_same_ether_addr(&eth->dst_addr, &h_mac_rs[idx]), "to the server's MAC");
    cr_assert(rte_is_same_ether_addr(&eth->src_addr, &frame_mac_us));
    cr_assert_eq(h_ip_of(out)->time_to_live, 63, "delivered to a VIP: TTL kept");

    /* The server answers the client directly: the appliance is its gateway. */
    len = frame_udp(f, rs, ip4("10.200.50.20"), 3478, 40000, 48);
    h_run(&h, f, len, 0);
    len = h_sent(&h, 1, out, sizeof(out));
    cr_assert_eq(len, 14 + 20 + 8 + 48);
    assert_valid(len);
    cr_assert_eq(h_ip_of(out)->src_addr, ip4("10.200.50.120"), "from the VIP");
    cr_assert_eq(h_ip_of(out)->dst_addr, ip4("10.200.50.20"));
    cr_assert_eq(ports_of(out)->src_port, rte_cpu_to_be_16(3478));
    cr_assert_eq(ports_of(out)->dst_port, rte_cpu_to_be_16(40000));
    cr_assert_eq(h_ip_of(out)->time_to_live, 62, "routed: TTL decremented");
    cr_assert(rte_is_same_ether_addr(&eth->dst_addr, &h_mac_client));
    cr_assert_eq(h.w->stats.l4.conns_created, 1);
    cr_assert_eq(h.w->stats.l4.forward_packets, 1);
    cr_assert_eq(h.w->stats.l4.reverse_packets, 1);
    cr_assert_eq(h.w->stats.traffic.vs[0].packets_out, 1);
}

Test(l4_path, persistence_keeps_the_client_on_its_server)
{
    /* wrr alone would rotate over the three servers; persistence pins the client. */
    uint32_t first = udp_flow(40000);

    for (uint16_t p = 1; p < 30; p++)
        cr_assert_eq(udp_flow((uint16_t)(40000 + p)), first, "flow %u", p);
    cr_assert_eq(h.w->stats.l4.persist_created, 1);
    cr_assert_eq(h.w->stats.l4.persist_hits, 29);
    cr_assert_eq(persist_count(h.w->l4.persist), 1);
    cr_assert_eq(conn_count(h.w->l4.conns), 30);

    /* Every connection idles out (UDP 300 s); the entry stays 1200 s after that. */
    h.w->lc.now_ms += 300000;
    twheel_advance(&h.w->lc.wheel, h.w->lc.now_ms);
    cr_assert_eq(conn_count(h.w->l4.conns), 0);
    cr_assert_eq(persist_count(h.w->l4.persist), 1);
    h.w->lc.now_ms += 1199000;
    twheel_advance(&h.w->lc.wheel, h.w->lc.now_ms);
    cr_assert_eq(udp_flow(41000), first, "still within the persistence timeout");
    h.w->lc.now_ms += 300000 + 1200000;
    twheel_advance(&h.w->lc.wheel, h.w->lc.now_ms);
    cr_assert_eq(persist_count(h.w->l4.persist), 0, "expired 1200 s after the last use");
}

/* The live connection of the client 10.200.50.20:sport to the UDP service. */
static struct conn *udp_conn(uint16_t sport)
{
    struct pkt_info pi;
    uint32_t len = frame_udp(f, ip4("10.200.50.20"), ip4("10.200.50.120"), sport, 3478, 20);

    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE);
    return l4_client_conn(&h.w->l4, &pi);
}

Test(l4_path, flush_while_connections_hold_the_entry_leaves_no_dangling_reference)
{
    struct persist_table *pt = h.w->l4.persist;
    struct ctl_msg flush = {.type = CTL_MSG_PERSIST_FLUSH, .port = CTL_PERSIST_ANY}, done;
    struct persist_entry *e;
    struct conn *c1;

    h.w->lc.to_ctl = rte_ring_create_elem("l4p_to_ctl", sizeof(struct ctl_msg), 64,
                                          SOCKET_ID_ANY, RING_F_SC_DEQ);
    cr_assert_not_null(h.w->lc.to_ctl);
    udp_flow(40000);
    c1 = udp_conn(40000);
    cr_assert_not_null(c1);
    cr_assert_eq(persist_lookup(pt, ip4("10.200.50.20"), h.vs[0].slot)->n_conns, 1);

    /* persist.flush, as the worker gets it from the control core. */
    flush.preq.req = 5;
    persist_ctl_handle(&h.w->pctl, &flush);
    cr_assert_eq(rte_ring_dequeue_elem(h.w->lc.to_ctl, &done, sizeof(done)), 0);
    cr_assert_eq(done.type, CTL_MSG_PERSIST_DONE);
    cr_assert_eq(done.preq.count, 1, "the held entry is flushed");
    cr_assert_null(persist_lookup(pt, ip4("10.200.50.20"), h.vs[0].slot));
    cr_assert_eq(persist_count(pt), 0);

    /* The client's next connection is scheduled afresh and makes a new entry. */
    udp_flow(40001);
    cr_assert_eq(h.w->stats.l4.persist_created, 2);
    e = persist_lookup(pt, ip4("10.200.50.20"), h.vs[0].slot);
    cr_assert_not_null(e);
    cr_assert_eq(e->n_conns, 1);

    /* The first connection ends: it gives back what it held, not the new entry. */
    conn_delete(h.w->l4.conns, c1, h.w->lc.now_ms, CONN_END_EXPIRED);
    cr_assert_eq(persist_lookup(pt, ip4("10.200.50.20"), h.vs[0].slot), e);
    cr_assert_eq(e->n_conns, 1, "the new entry is still held by the second connection");
    cr_assert_eq(persist_count(pt), 1);
    cr_assert_eq(slot_stack_used(&pt->free), 1, "the flushed entry's slot is free again");

    /* The entry outlives the second connection by its timeout, not less. */
    h.w->lc.now_ms += 1000000;
    twheel_advance(&h.w->lc.wheel, h.w->lc.now_ms);
    cr_assert_eq(conn_count(h.w->l4.conns), 0, "UDP idled out");
    cr_assert_eq(persist_lookup(pt, ip4("10.200.50.20"), h.vs[0].slot), e,
                 "a held entry does not expire");
    cr_assert_eq(e->n_conns, 0);
    h.w->lc.now_ms += 1200000;
    twheel_advance(&h.w->lc.wheel, h.w->lc.now_ms);
    cr_assert_eq(persist_count(pt), 0);
    cr_assert_eq(slot_stack_used(&pt->free), 0, "nothing leaked");
    rte_ring_free(h.w->lc.to_ctl);
    h.w->lc.to_ctl = NULL;
}

Test(l4_path, drain_moves_new_connections_but_keeps_existing_ones)
{
    uint32_t first = udp_flow(40000), len;
    int idx = first == ip4("192.168.112.51") ? 0 : first == ip4("192.168.112.52") ? 1 : 2;

    h.rs_udp[idx].state = CFG_RS_DRAIN;
    cr_assert_eq(h_publish(&h), 0);
    /* The existing flow carries on to the drained server. */
    len = frame_udp(f, ip4("10.200.50.20"), ip4("10.200.50.120"), 40000, 3478, 20);
    h_run(&h, f, len, 1);
    cr_assert_gt(h_sent(&h, 0, out, sizeof(out)), 0);
    cr_assert_eq(h_ip_of(out)->dst_addr, first);
    /* A new one, persistent client included, goes elsewhere. */
    cr_assert_neq(udp_flow(40001), first);
    cr_assert_eq(h.w->stats.l4.persist_moved, 1);

    /* Halt closes the existing connection: its next packet is rescheduled (UDP). */
    h.rs_udp[idx].state = CFG_RS_HALT;
    cr_assert_eq(h_publish(&h), 0);
    cr_assert_neq(udp_flow(40000), first);
    cr_assert_eq(h.w->stats.l4.conns_halted, 1);
}

Test(l4_path, tcp_port_null_is_the_clients_port_and_multi_port)
{
    uint16_t ports[2] = {443, 5061};

    for (int i = 0; i < 2; i++) {
        uint32_t len = frame_tcp(f, ip4("10.200.50.20"), ip4("10.200.50.120"), 50000, ports[i]);
        h_run(&h, f, len, 1);
        len = h_sent(&h, 0, out, sizeof(out));
        cr_assert_gt(len, 0);
        assert_valid(len);
        cr_assert_eq(ports_of(out)->dst_port, rte_cpu_to_be_16(ports[i]));
    }
    cr_assert_eq(conn_count(h.w->l4.conns), 2);
}

/* The operator halts the TCP service's real server at address rs. */
static void halt_rs(uint32_t rs)
{
    for (int i = 0; i < H_RS; i++)
        if (h.rs_tcp[i].ip == rs)
            h.rs_tcp[i].state = CFG_RS_HALT;
    cr_assert_eq(h_publish(&h), 0);
}

/*
 * The client 10.200.50.20:sport opens a connection to VIP:443 (its SYN is left in f,
 * *len bytes); the real server it reached is halted. Returns that server's address.
 */
static uint32_t halt_server_of(uint16_t sport, uint32_t *len)
{
    uint32_t rs;

    *len = frame_tcp(f, ip4("10.200.50.20"), ip4("10.200.50.120"), sport, 443);   /* SYN */
    h_run(&h, f, *len, 1);
    cr_assert_gt(h_sent(&h, 0, out, sizeof(out)), 0);
    rs = h_ip_of(out)->dst_addr;
    halt_rs(rs);
    return rs;
}

Test(l4_path, tcp_rst_without_connection_and_halt_resets)
{
    uint32_t len = frame_tcp(f, ip4("10.200.50.20"), ip4("10.200.50.120"), 50000, 443);
    struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(f + 34);

    tcp->tcp_flags = RTE_TCP_RST_FLAG;
    tcp->cksum = 0;
    tcp->cksum = rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)(f + 14), tcp);
    h_run(&h, f, len, 1);
    cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0);
    cr_assert_eq(h.w->stats.lcore.drops[DROP_L4_TCP_NO_CONN], 1);

    halt_server_of(50001, &len);
    tcp->tcp_flags = RTE_TCP_ACK_FLAG;
    tcp->cksum = 0;
    tcp->cksum = rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)(f + 14), tcp);
    tcp->sent_seq = rte_cpu_to_be_32(1000);
    tcp->recv_ack = rte_cpu_to_be_32(77777);
    tcp->cksum = 0;
    tcp->cksum = rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)(f + 14), tcp);
    h_run(&h, f, len, 1);
    /* Nothing reaches the halted server; the client gets an RST from the VIP. */
    cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0);
    len = h_sent(&h, 1, out, sizeof(out));
    cr_assert_gt(len, 0, "no RST to the client");
    assert_valid(len);
    {
        const struct rte_ipv4_hdr *ip = h_ip_of(out);
        const struct rte_tcp_hdr *rst = (const struct rte_tcp_hdr *)(ip + 1);
        cr_assert_eq(ip->src_addr, ip4("10.200.50.120"));
        cr_assert_eq(ip->dst_addr, ip4("10.200.50.20"));
        cr_assert_eq(rte_be_to_cpu_16(rst->src_port), 443);
        cr_assert_eq(rte_be_to_cpu_16(rst->dst_port), 50001);
        cr_assert_eq(rst->tcp_flags, RTE_TCP_RST_FLAG, "RST answering an ACK carries no ACK");
        cr_assert_eq(rte_be_to_cpu_32(rst->sent_seq), 77777, "seq = the segment's ACK");
    }
    cr_assert_eq(h.w->stats.l4.halt_resets, 1);
    cr_assert_eq(conn_count(h.w->l4.conns), 0);
}

Test(l4_path, a_servers_own_traffic_is_routed)
{
    /* Not an answer on a connection: rs1 talks to an outside address via the gateway. */
    uint32_t len = frame_udp(f, ip4("192.168.112.51"), ip4("203.0.113.9"), 3478, 5000, 10);
    const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)out;

    h_run(&h, f, len, 0);
    len = h_sent(&h, 1, out, sizeof(out));
    cr_assert_gt(len, 0);
    assert_valid(len);
    cr_assert_eq(h_ip_of(out)->src_addr, ip4("192.168.112.51"), "not NATed");
    cr_assert_eq(h_ip_of(out)->time_to_live, 62);
    cr_assert(rte_is_same_ether_addr(&eth->dst_addr, &h_mac_gw), "to the default gateway");
    cr_assert_eq(h.w->stats.forward.forwarded, 1);

    /* To the client LAN directly. */
    len = frame_tcp(f, ip4("192.168.112.52"), ip4("10.200.50.20"), 443, 5000);
    h_run(&h, f, len, 0);
    cr_assert_gt(h_sent(&h, 1, out, sizeof(out)), 0);
    cr_assert(rte_is_same_ether_addr(&eth->dst_addr, &h_mac_client));
    cr_assert_eq(h.w->stats.forward.forwarded, 2);
}

static bool no_probe(void *arg, uint32_t ip, const struct rte_ether_addr *mac, uint16_t port)
{
    return true;
}

/* ip_out's copy of the neighbours it sent to (ip_out_nh) is the table's answer. */
Test(l4_path, a_routed_packet_follows_a_neighbour_that_moves_or_goes)
{
    static const struct rte_ether_addr moved = {{0x02, 0, 0, 0, 0x01, 0x99}};
    const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)out;
    uint32_t len = frame_udp(f, ip4("192.168.112.51"), ip4("203.0.113.9"), 3478, 5000, 10);
    struct rte_ether_addr mac;
    uint16_t port;

    /* The gateway's MAC, from the table and then from the worker's copy. */
    for (int i = 0; i < 2; i++) {
        h_run(&h, f, len, 0);
        cr_assert_gt(h_sent(&h, 1, out, sizeof(out)), 0);
        cr_assert(rte_is_same_ether_addr(&eth->dst_addr, &h_mac_gw), "packet %d", i);
    }
    /* It moves (a new generation): the next packet goes to the new MAC. */
    cr_assert_eq(neigh_update(h.dp.neigh, ip4("10.200.50.1"), &moved, 1, 0), 1);
    h_run(&h, f, len, 0);
    cr_assert_gt(h_sent(&h, 1, out, sizeof(out)), 0);
    cr_assert(rte_is_same_ether_addr(&eth->dst_addr, &moved), "not the copy of the old MAC");
    /* It goes (every entry, learned at 0, past its grace period): the packet waits for
     * ARP, as with no copy (an ARP request leaves). */
    cr_assert_gt(neigh_age(h.dp.neigh, NEIGH_REACHABLE_MS + NEIGH_GRACE_MS + 1, no_probe, NULL), 0);
    cr_assert_eq(neigh_lookup(h.dp.neigh, ip4("10.200.50.1"), &mac, &port), LBD_ENOENT);
    h_run(&h, f, len, 0);
    cr_assert_eq(h.w->stats.ip_out.arp_requests, 1);
    cr_assert_eq(h.w->io.arpq.n, 1, "queued for the neighbour, not sent to the old MAC");
    ip_out_flush(&h.w->io);
}

Test(l4_path, ttl_expiry_sends_icmp_time_exceeded)
{
    uint32_t len = frame_udp(f, ip4("192.168.112.51"), ip4("203.0.113.9"), 3478, 5000, 10);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);
    struct pkt_info pi;

    ip->time_to_live = 1;
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    h_run(&h, f, len, 0);
    cr_assert_eq(h_sent(&h, 1, out, sizeof(out)), 0, "not forwarded");
    len = h_sent(&h, 0, out, sizeof(out));
    cr_assert_gt(len, 0, "an ICMP error back to the sender");
    cr_assert_eq(pkt_parse(out, len, true, &pi), DROP_NONE);
    cr_assert_eq(pi.ip_proto, IPPROTO_ICMP);
    cr_assert_eq(pi.icmp_type, 11);
    cr_assert_eq(pi.src_ip, ip4("192.168.112.5"));
    cr_assert_eq(pi.dst_ip, ip4("192.168.112.51"));
    cr_assert_eq(rte_raw_cksum(out + pi.l4_off, pi.l4_len), 0xffff, "ICMP checksum");
    cr_assert_eq(memcmp(out + pi.l4_off + 8, f + 14, 28), 0, "quotes header + 8 bytes");
    cr_assert_eq(h.w->stats.lcore.drops[DROP_TTL_EXCEEDED], 1);
    cr_assert_eq(h.w->stats.forward.icmp_errors_sent, 1);
}

Test(l4_path, fragments_and_malformed_packets_are_counted)
{
    uint32_t len = frame_udp(f, ip4("10.200.50.20"), ip4("10.200.50.120"), 40000, 3478, 20);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);

    ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    h_run(&h, f, len, 1);
    /* A fragment to a VIP goes to reassembly (test_l4_frag.c), which refuses this one:
     * 28 bytes, and a fragment that is not the last is in units of 8. */
    cr_assert_eq(h.w->stats.reass.fragments, 1);
    cr_assert_eq(h.w->stats.lcore.drops[DROP_REASS_INVALID], 1);
    cr_assert_eq(h.w->reass.n_entries, 0);
    cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0);

    /* Truncated UDP: length field beyond the packet. */
    len = frame_udp(f, ip4("10.200.50.20"), ip4("10.200.50.120"), 40000, 3478, 20);
    ((struct rte_udp_hdr *)(f + 34))->dgram_len = rte_cpu_to_be_16(200);
    h_run(&h, f, len, 1);
    cr_assert_eq(h.w->stats.lcore.drops[DROP_MALFORMED_UDP], 1);
    /* Every truncation of a valid frame: no crash, everything counted, nothing sent. */
    len = frame_tcp(f, ip4("10.200.50.20"), ip4("10.200.50.120"), 40000, 443);
    for (uint32_t l = 1; l < len; l++)
        h_run(&h, f, l, 1);
    cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0);
    cr_assert_eq(conn_count(h.w->l4.conns), 0);
}

Test(l4_path, forwarding_off_drops_as_not_ours)
{
    uint32_t len = frame_udp(f, ip4("192.168.112.51"), ip4("203.0.113.9"), 3478, 5000, 10);

    h.cfg.routing.forward = false;
    cr_assert_eq(h_publish(&h), 0);
    h_run(&h, f, len, 0);
    cr_assert_eq(h_sent(&h, 1, out, sizeof(out)), 0);
    cr_assert_eq(h.w->stats.lcore.drops[DROP_NOT_OURS], 1);
}

/* A TCP segment with the given flags on (client, sport) -> VIP:443. */
static uint32_t tcp_seg(uint32_t client, uint16_t sport, uint8_t flags)
{
    uint32_t len = frame_tcp(f, client, ip4("10.200.50.120"), sport, 443);
    struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(f + 34);

    tcp->tcp_flags = flags;
    tcp->cksum = 0;
    tcp->cksum = rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)(f + 14), tcp);
    return len;
}

Test(l4_path, only_a_syn_opens_a_tcp_connection)
{
    static const uint8_t not_syn[] = {RTE_TCP_ACK_FLAG, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG,
                                      RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG,
                                      RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 0};
    uint32_t len;

    /* A spoofed-ACK flood from many sources: no entry, no persistence, nothing sent. */
    for (uint32_t i = 0; i < 500; i++) {
        len = tcp_seg(rte_cpu_to_be_32(0xc6120000u + i), (uint16_t)(20000 + i),
                      not_syn[i % sizeof(not_syn)]);
        h_run(&h, f, len, 1);
    }
    cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0, "a flood packet reached a server");
    cr_assert_eq(conn_count(h.w->l4.conns), 0);
    cr_assert_eq(h.w->l4.conns->half_open, 0);
    cr_assert_eq(h.w->stats.lcore.drops[DROP_L4_TCP_NOT_SYN], 500);
    cr_assert_eq(h.w->stats.l4.conns_midstream, 0);
    /* A real client's SYN still opens one. */
    len = tcp_seg(ip4("10.200.50.20"), 50000, RTE_TCP_SYN_FLAG);
    h_run(&h, f, len, 1);
    cr_assert_gt(h_sent(&h, 0, out, sizeof(out)), 0);
    cr_assert_eq(conn_count(h.w->l4.conns), 1);
    cr_assert_eq(h.w->l4.conns->half_open, 1);
}

Test(l4_path, tcp_midstream_carries_a_flow_as_established)
{
    uint32_t len;

    h.cfg.layer4.tcp_midstream = true;
    cr_assert_eq(h_publish(&h), 0);
    len = tcp_seg(ip4("10.200.50.20"), 50000, RTE_TCP_ACK_FLAG);
    h_run(&h, f, len, 1);
    cr_assert_gt(h_sent(&h, 0, out, sizeof(out)), 0, "the flow is carried");
    cr_assert_eq(conn_count(h.w->l4.conns), 1);
    cr_assert_eq(h.w->l4.conns->half_open, 0, "carried as established");
    cr_assert_eq(h.w->stats.l4.conns_midstream, 1);
}

Test(l4_path, half_open_connections_are_capped_and_leave_the_count_when_established)
{
    uint32_t len, rs;
    const struct rte_tcp_hdr *th;

    h.cfg.layer4.max_half_open_per_worker = 8;
    h.cfg.layer4.syn_proxy = CFG_SYN_PROXY_OFF;     /* the cap alone (synproxy: test_synproxy) */
    cr_assert_eq(h_publish(&h), 0);
    /* One real connection completes its handshake first. */
    len = tcp_seg(ip4("10.200.50.20"), 50000, RTE_TCP_SYN_FLAG);
    h_run(&h, f, len, 1);
    len = h_sent(&h, 0, out, sizeof(out));
    cr_assert_gt(len, 0);
    rs = h_ip_of(out)->dst_addr;
    th = (const struct rte_tcp_hdr *)(h_ip_of(out) + 1);
    cr_assert_eq(h.w->l4.conns->half_open, 1);
    len = frame_tcp(f, rs, ip4("10.200.50.20"), 443, 50000);   /* SYN-ACK from the server */
    ((struct rte_tcp_hdr *)(f + 34))->tcp_flags = RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG;
    ((struct rte_tcp_hdr *)(f + 34))->cksum = 0;
    ((struct rte_tcp_hdr *)(f + 34))->cksum =
        rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)(f + 14), (struct rte_tcp_hdr *)(f + 34));
    h_run(&h, f, len, 0);
    cr_assert_gt(h_sent(&h, 1, out, sizeof(out)), 0, "SYN-ACK to the client");
    len = tcp_seg(ip4("10.200.50.20"), 50000, RTE_TCP_ACK_FLAG);
    h_run(&h, f, len, 1);
    cr_assert_gt(h_sent(&h, 0, out, sizeof(out)), 0);
    cr_assert_eq(h.w->l4.conns->half_open, 0, "established: no longer half-open");
    (void)th;

    /* A SYN flood: 8 half-open entries at most, the rest dropped and counted. */
    for (uint32_t i = 0; i < 100; i++) {
        len = tcp_seg(rte_cpu_to_be_32(0xc6120000u + i), (uint16_t)(20000 + i), RTE_TCP_SYN_FLAG);
        h_run(&h, f, len, 1);
        while (h_sent(&h, 0, out, sizeof(out)) > 0)
            ;
    }
    cr_assert_eq(h.w->l4.conns->half_open, 8);
    cr_assert_eq(conn_count(h.w->l4.conns), 9, "the established connection is kept");
    cr_assert_eq(h.w->stats.lcore.drops[DROP_L4_HALF_OPEN_FULL], 92);
    /* The established connection still flows. */
    len = tcp_seg(ip4("10.200.50.20"), 50000, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG);
    h_run(&h, f, len, 1);
    cr_assert_gt(h_sent(&h, 0, out, sizeof(out)), 0);
    /* The handshake timeout frees the half-open ones; new SYNs are taken again. */
    h.w->lc.now_ms += (uint64_t)CFG_L4_TCP_HANDSHAKE_TIMEOUT_S * 1000 + 1000;
    twheel_advance(&h.w->lc.wheel, h.w->lc.now_ms);
    cr_assert_eq(h.w->l4.conns->half_open, 0);
    len = tcp_seg(ip4("10.200.50.21"), 40000, RTE_TCP_SYN_FLAG);
    h_run(&h, f, len, 1);
    cr_assert_gt(h_sent(&h, 0, out, sizeof(out)), 0);
    cr_assert_eq(h.w->l4.conns->half_open, 1);
}

/*
 * Checksum offload flags. virtio-net and vhost ports hand over packets their sender
 * left for checksum offload flagged RTE_MBUF_F_RX_L4_CKSUM_NONE: the data is sound,
 * the checksum field holds only the pseudo-header sum. What lbd sends on must carry
 * the full checksum.
 */

/* A TCP segment with flags and n payload bytes, checksums final, in f; its length. */
static uint32_t tcp_frame(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                          uint8_t flags, uint16_t n)
{
    uint32_t off = frame_eth(f, RTE_ETHER_TYPE_IPV4, &frame_mac_us);
    uint32_t l4 = frame_ipv4(f, off, IPPROTO_TCP, src, dst, (uint16_t)(20 + n));
    struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(f + l4);

    memset(tcp, 0, sizeof(*tcp));
    tcp->src_port = rte_cpu_to_be_16(sport);
    tcp->dst_port = rte_cpu_to_be_16(dport);
    tcp->sent_seq = rte_cpu_to_be_32(0x12345678);
    tcp->recv_ack = rte_cpu_to_be_32((flags & RTE_TCP_ACK_FLAG) ? 0x0badcafe : 0);
    tcp->data_off = 5 << 4;
    tcp->tcp_flags = flags;
    tcp->rx_win = rte_cpu_to_be_16(29200);
    for (uint16_t i = 0; i < n; i++)
        f[l4 + 20 + i] = (uint8_t)(i * 13 + 7);
    tcp->cksum = rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)(f + off), tcp);
    return l4 + 20 + n;
}

/* The L4 checksum of the packet in f made partial, as virtio-net delivers it. */
static void make_partial(void)
{
    const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + 14);
    uint16_t *field = ip->next_proto_id == IPPROTO_TCP
                          ? &((struct rte_tcp_hdr *)(f + 34))->cksum
                          : &((struct rte_udp_hdr *)(f + 34))->dgram_cksum;

    *field = rte_ipv4_phdr_cksum(ip, 0);
}

/* The frame in f, made partial and flagged NONE, through the worker from port. */
static void run_partial(uint32_t len, uint16_t port)
{
    make_partial();
    h_run_flags(&h, f, len, port, RTE_MBUF_F_RX_L4_CKSUM_NONE);
}

/* A frame came out of port with a valid full checksum and no rx checksum flag left. */
static uint32_t sent_valid(uint16_t port)
{
    uint32_t len = h_sent(&h, port, out, sizeof(out));

    cr_assert_gt(len, 0, "a frame on port %u", port);
    assert_valid(len);
    cr_assert_eq(h.sent_ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, 0, "rx L4 flags cleared");
    return len;
}

Test(l4_path, partial_checksums_leave_the_nat_path_full)
{
    uint32_t rs, len;

    /* TCP: the client's SYN and data to the VIP, then the real server's answer. */
    len = tcp_frame(ip4("10.200.50.20"), ip4("10.200.50.120"), 50000, 443, RTE_TCP_SYN_FLAG, 0);
    run_partial(len, 1);
    sent_valid(0);
    rs = h_ip_of(out)->dst_addr;
    cr_assert_neq(rs, ip4("10.200.50.120"), "rewritten to a real server");
    len = tcp_frame(ip4("10.200.50.20"), ip4("10.200.50.120"), 50000, 443,
                    RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 333);
    run_partial(len, 1);
    cr_assert_eq(sent_valid(0), 14 + 20 + 20 + 333);
    cr_assert_eq(h_ip_of(out)->dst_addr, rs);
    cr_assert_eq(memcmp(out + 54, f + 54, 333), 0, "payload untouched");
    len = tcp_frame(rs, ip4("10.200.50.20"), 443, 50000, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 501);
    run_partial(len, 0);
    sent_valid(1);
    cr_assert_eq(h_ip_of(out)->src_addr, ip4("10.200.50.120"), "from the VIP");

    /* UDP, odd lengths, both ways. */
    len = frame_udp(f, ip4("10.200.50.20"), ip4("10.200.50.120"), 40000, 3478, 37);
    run_partial(len, 1);
    sent_valid(0);
    rs = h_ip_of(out)->dst_addr;
    len = frame_udp(f, rs, ip4("10.200.50.20"), 3478, 40000, 99);
    run_partial(len, 0);
    sent_valid(1);
    cr_assert_eq(h_ip_of(out)->src_addr, ip4("10.200.50.120"));

    cr_assert_eq(h.w->stats.l4.forward_packets, 3);
    cr_assert_eq(h.w->stats.l4.reverse_packets, 2);
    cr_assert_eq(h.w->stats.lcore.csum_completed, 5);
}

Test(l4_path, a_routed_packet_with_a_partial_checksum_leaves_with_a_full_one)
{
    uint32_t len = frame_udp(f, ip4("192.168.112.51"), ip4("203.0.113.9"), 3478, 5000, 11);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);

    run_partial(len, 0);
    sent_valid(1);
    cr_assert_eq(h_ip_of(out)->time_to_live, 62);
    len = tcp_frame(ip4("192.168.112.52"), ip4("10.200.50.20"), 443, 5000, RTE_TCP_ACK_FLAG, 77);
    run_partial(len, 0);
    sent_valid(1);
    cr_assert_eq(h.w->stats.forward.forwarded, 2);
    cr_assert_eq(h.w->stats.lcore.csum_completed, 2);

    /* A fragment's checksum covers data that is not here: dropped, not sent wrong. (From
     * a host that is no Layer 4 real server: a real server's fragments are reassembled
     * first, test_l4_frag.) */
    len = frame_udp(f, ip4("192.168.112.60"), ip4("203.0.113.9"), 3478, 5000, 11);
    ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    run_partial(len, 0);
    cr_assert_eq(h_sent(&h, 1, out, sizeof(out)), 0);
    cr_assert_eq(h.w->stats.lcore.drops[DROP_PARTIAL_CHECKSUM], 1);
    cr_assert_eq(h.w->stats.forward.forwarded, 2);
}

Test(l4_path, an_ip_header_flagged_none_is_accepted_and_leaves_correct)
{
    uint32_t len = frame_udp(f, ip4("10.200.50.20"), ip4("10.200.50.120"), 40000, 3478, 20);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);

    /* Sound header, untrustworthy checksum field: NATed, with a correct checksum. */
    ip->hdr_checksum ^= 0x5a5a;
    h_run_flags(&h, f, len, 1, RTE_MBUF_F_RX_IP_CKSUM_NONE);
    sent_valid(0);
    /* Routed (TTL decremented): likewise. */
    len = frame_udp(f, ip4("192.168.112.51"), ip4("203.0.113.9"), 3478, 5000, 10);
    ip->hdr_checksum = 0;
    h_run_flags(&h, f, len, 0, RTE_MBUF_F_RX_IP_CKSUM_NONE);
    sent_valid(1);
    cr_assert_eq(h_ip_of(out)->time_to_live, 62);
    cr_assert_eq(h.w->stats.lcore.drops[DROP_BAD_IP_CHECKSUM], 0);

    /* BAD is dropped even with a correct field; no verdict and a wrong field too. */
    len = frame_udp(f, ip4("10.200.50.20"), ip4("10.200.50.120"), 40000, 3478, 20);
    h_run_flags(&h, f, len, 1, RTE_MBUF_F_RX_IP_CKSUM_BAD);
    ip->hdr_checksum ^= 0x5a5a;
    h_run_flags(&h, f, len, 1, RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN);
    cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0);
    cr_assert_eq(h.w->stats.lcore.drops[DROP_BAD_IP_CHECKSUM], 2);
}

Test(l4_path, a_chained_frame_is_dropped_as_rx_multi_segment)
{
    uint32_t len = frame_udp(f, ip4("10.200.50.20"), ip4("10.200.50.120"), 40000, 3478, 100);
    struct rte_mbuf *m = h_mbuf(&h, f, 42, 1), *tail = h_mbuf(&h, f + 42, len - 42, 1);

    cr_assert_eq(rte_pktmbuf_chain(m, tail), 0);
    h_run_mbuf(&h, m);
    cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0);
    cr_assert_eq(h.w->stats.lcore.drops[DROP_RX_MULTI_SEGMENT], 1);
    cr_assert_eq(h.w->stats.lcore.drops[DROP_MALFORMED_IP], 0);
}

Test(l4_path, halt_on_a_servers_packet_resets_both_sides)
{
    uint32_t len, rs;
    struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(f + 34);

    rs = halt_server_of(50002, &len);
    /* Data from the halted server, seq 5000: both ends learn the connection is gone. */
    len = frame_tcp(f, rs, ip4("10.200.50.20"), 443, 50002);
    tcp->tcp_flags = RTE_TCP_ACK_FLAG;
    tcp->sent_seq = rte_cpu_to_be_32(5000);
    tcp->recv_ack = rte_cpu_to_be_32(1001);
    tcp->cksum = 0;
    tcp->cksum = rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)(f + 14), tcp);
    h_run(&h, f, len, 0);
    len = h_sent(&h, 1, out, sizeof(out));
    cr_assert_gt(len, 0, "no RST to the client");
    assert_valid(len);
    {
        const struct rte_ipv4_hdr *ip = h_ip_of(out);
        const struct rte_tcp_hdr *rst = (const struct rte_tcp_hdr *)(ip + 1);
        cr_assert_eq(ip->src_addr, ip4("10.200.50.120"), "from the VIP");
        cr_assert_eq(ip->dst_addr, ip4("10.200.50.20"));
        cr_assert_eq(rte_be_to_cpu_16(rst->src_port), 443);
        cr_assert_eq(rte_be_to_cpu_16(rst->dst_port), 50002);
        cr_assert_eq(rst->tcp_flags, RTE_TCP_RST_FLAG);
        cr_assert_eq(rte_be_to_cpu_32(rst->sent_seq), 5000, "at the server's sequence");
    }
    len = h_sent(&h, 0, out, sizeof(out));
    cr_assert_gt(len, 0, "no RST to the server");
    {
        const struct rte_ipv4_hdr *ip = h_ip_of(out);
        const struct rte_tcp_hdr *rst = (const struct rte_tcp_hdr *)(ip + 1);
        cr_assert_eq(ip->dst_addr, rs);
        cr_assert_eq(ip->src_addr, ip4("10.200.50.20"), "bearing the client's address");
        cr_assert_eq(rst->tcp_flags, RTE_TCP_RST_FLAG);
        cr_assert_eq(rte_be_to_cpu_32(rst->sent_seq), 1001, "seq = the segment's ACK");
    }
    cr_assert_eq(h.w->stats.l4.halt_resets, 2);
    cr_assert_eq(h.w->stats.l4.conns_halted, 1);
    /* The client's next segment (say, a challenge ACK) gets an RST at its ACK. */
    len = tcp_seg(ip4("10.200.50.20"), 50002, RTE_TCP_ACK_FLAG);
    tcp->sent_seq = rte_cpu_to_be_32(1001);
    tcp->recv_ack = rte_cpu_to_be_32(4990);
    tcp->cksum = 0;
    tcp->cksum = rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)(f + 14), tcp);
    h_run(&h, f, len, 1);
    cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0, "nothing more to the halted server");
    len = h_sent(&h, 1, out, sizeof(out));
    cr_assert_gt(len, 0, "no RST for the client's next segment");
    cr_assert_eq(rte_be_to_cpu_32(((const struct rte_tcp_hdr *)(h_ip_of(out) + 1))->sent_seq),
                 4990, "seq = its ACK");
    cr_assert_eq(h.w->stats.l4.conns_halted, 1, "one connection, counted once");
    cr_assert_eq(conn_count(h.w->l4.conns), 0);
}

/* A segment rs:443 -> 10.200.50.20:dport with data_len bytes of data, in f. */
static uint32_t server_seg(uint32_t rs, uint16_t dport, uint8_t flags, uint32_t seq,
                           uint32_t ack, uint16_t data_len)
{
    return frame_tcp_seg(f, rs, ip4("10.200.50.20"), 443, dport, flags, seq, ack, data_len);
}

/* The sequence number of the RST sent on port, which must be one, to the client. */
static uint32_t rst_seq_to_client(uint16_t port)
{
    uint32_t len = h_sent(&h, port, out, sizeof(out));
    const struct rte_tcp_hdr *rst = (const struct rte_tcp_hdr *)(h_ip_of(out) + 1);

    cr_assert_gt(len, 0, "no RST to the client");
    assert_valid(len);
    cr_assert_eq(h_ip_of(out)->dst_addr, ip4("10.200.50.20"));
    cr_assert_eq(rst->tcp_flags, RTE_TCP_RST_FLAG);
    return rte_be_to_cpu_32(rst->sent_seq);
}

Test(l4_path, halt_resets_the_client_where_the_server_got_to_not_at_a_stale_segment)
{
    uint32_t len = tcp_seg(ip4("10.200.50.20"), 50003, RTE_TCP_SYN_FLAG), rs;

    h_run(&h, f, len, 1);
    cr_assert_gt(h_sent(&h, 0, out, sizeof(out)), 0);
    rs = h_ip_of(out)->dst_addr;
    /* SYN-ACK at 4999, then 100 bytes at 5000 and 100 at 5100, all passed to the client. */
    len = server_seg(rs, 50003, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 4999, 1001, 0);
    h_run(&h, f, len, 0);
    cr_assert_gt(h_sent(&h, 1, out, sizeof(out)), 0);
    for (uint32_t seq = 5000; seq <= 5100; seq += 100) {
        len = server_seg(rs, 50003, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, seq, 1001, 100);
        h_run(&h, f, len, 0);
        cr_assert_gt(h_sent(&h, 1, out, sizeof(out)), 0, "data passed on");
    }
    halt_rs(rs);

    /* The server retransmits the first 100 bytes (the client's ACK was late): an RST at
     * 5000 would be behind the client's window and dropped; it is sent at 5200. */
    len = server_seg(rs, 50003, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 5000, 1001, 100);
    h_run(&h, f, len, 0);
    cr_assert_eq(rst_seq_to_client(1), 5200);
    cr_assert_gt(h_sent(&h, 0, out, sizeof(out)), 0, "the server is reset too");
    /* A zero-window probe (snd_una - 1) gets the same. */
    len = server_seg(rs, 50003, RTE_TCP_ACK_FLAG, 5199, 1001, 0);
    h_run(&h, f, len, 0);
    cr_assert_eq(rst_seq_to_client(1), 5200);
    cr_assert_eq(h.w->stats.l4.conns_halted, 1);
}

Test(l4_path, a_reused_client_port_starts_its_sequence_afresh)
{
    uint32_t len = tcp_seg(ip4("10.200.50.20"), 50004, RTE_TCP_SYN_FLAG), rs;

    h_run(&h, f, len, 1);
    cr_assert_gt(h_sent(&h, 0, out, sizeof(out)), 0);
    rs = h_ip_of(out)->dst_addr;
    len = server_seg(rs, 50004, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 0x90000000u, 1001, 0);
    h_run(&h, f, len, 0);
    len = server_seg(rs, 50004, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, 0x90000001u, 1001, 0);
    h_run(&h, f, len, 0);
    while (h_sent(&h, 1, out, sizeof(out)) > 0)
        ;
    /* The client comes back on the same port (closing entry reused); the server's new
     * ISN is "behind" the old one in serial arithmetic, and still the one that counts. */
    len = tcp_seg(ip4("10.200.50.20"), 50004, RTE_TCP_SYN_FLAG);
    h_run(&h, f, len, 1);
    cr_assert_gt(h_sent(&h, 0, out, sizeof(out)), 0);
    cr_assert_eq(h_ip_of(out)->dst_addr, rs, "the closing entry was reused");
    len = server_seg(rs, 50004, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 0x10000000u, 1001, 0);
    h_run(&h, f, len, 0);
    len = server_seg(rs, 50004, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 0x10000001u, 1001, 10);
    h_run(&h, f, len, 0);
    while (h_sent(&h, 1, out, sizeof(out)) > 0)
        ;
    halt_rs(rs);
    len = server_seg(rs, 50004, RTE_TCP_ACK_FLAG, 0x1000000au, 1001, 0);
    h_run(&h, f, len, 0);
    cr_assert_eq(rst_seq_to_client(1), 0x1000000bu);
}

Test(l4_path, a_halted_clients_rst_is_sent_again_until_the_entry_goes)
{
    uint32_t len = tcp_seg(ip4("10.200.50.20"), 50005, RTE_TCP_SYN_FLAG), rs;

    h_run(&h, f, len, 1);
    cr_assert_gt(h_sent(&h, 0, out, sizeof(out)), 0);
    rs = h_ip_of(out)->dst_addr;
    len = server_seg(rs, 50005, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 7999, 1001, 0);
    h_run(&h, f, len, 0);
    len = server_seg(rs, 50005, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 8000, 1001, 100);
    h_run(&h, f, len, 0);
    while (h_sent(&h, 1, out, sizeof(out)) > 0)
        ;
    halt_rs(rs);
    len = server_seg(rs, 50005, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 8100, 1001, 100);
    h_run(&h, f, len, 0);
    cr_assert_eq(rst_seq_to_client(1), 8100);
    while (h_sent(&h, 0, out, sizeof(out)) > 0)
        ;
    /* The client says nothing (its RST was lost, or drew no challenge ACK): again. */
    for (unsigned i = 1; i <= L4_HALT_TRIES; i++) {
        h_advance_ms(&h, L4_HALT_RETRY_MS);
        cr_assert_eq(rst_seq_to_client(1), 8100, "try %u", i);
        cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0, "nothing to the server");
        cr_assert_eq(h.w->stats.l4.halt_rst_retries, i);
        cr_assert_eq(conn_count(h.w->l4.conns), 1, "the entry waits for an answer");
    }
    h_advance_ms(&h, L4_HALT_RETRY_MS);
    cr_assert_eq(h_sent(&h, 1, out, sizeof(out)), 0, "three tries, then no more");
    cr_assert_eq(conn_count(h.w->l4.conns), 0, "and the entry is gone");
}

/* A SYN (or SYN-ACK) with an MSS option of mss in f; its length. */
static uint32_t syn_mss(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                        uint8_t flags, uint16_t mss)
{
    uint32_t off = frame_eth(f, RTE_ETHER_TYPE_IPV4, &frame_mac_us);
    uint32_t l4 = frame_ipv4(f, off, IPPROTO_TCP, src, dst, 28);
    struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(f + l4);
    const uint8_t opt[8] = {1, 2, 4, (uint8_t)(mss >> 8), (uint8_t)mss, 1, 3, 7};

    memset(tcp, 0, sizeof(*tcp));
    tcp->src_port = rte_cpu_to_be_16(sport);
    tcp->dst_port = rte_cpu_to_be_16(dport);
    tcp->sent_seq = rte_cpu_to_be_32(0x12345678);
    tcp->recv_ack = rte_cpu_to_be_32((flags & RTE_TCP_ACK_FLAG) ? 0x0badcafe : 0);
    tcp->data_off = 7 << 4;
    tcp->tcp_flags = flags;
    tcp->rx_win = rte_cpu_to_be_16(29200);
    memcpy(tcp + 1, opt, sizeof(opt));
    tcp->cksum = rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)(f + off), tcp);
    return l4 + 28;
}

/* The MSS value of the SYN in out (its option behind one NOP). */
static uint16_t out_mss(void)
{
    return (uint16_t)(out[34 + 23] << 8 | out[34 + 24]);
}

Test(l4_path, syn_mss_is_clamped_to_the_narrowest_port_both_ways)
{
    uint32_t len, rs;

    /* Every port at 1500: 1460 passes as it is. */
    len = syn_mss(ip4("10.200.50.20"), ip4("10.200.50.120"), 50000, 443, RTE_TCP_SYN_FLAG, 1460);
    h_run(&h, f, len, 1);
    len = h_sent(&h, 0, out, sizeof(out));
    assert_valid(len);
    cr_assert_eq(out_mss(), 1460);
    cr_assert_eq(h.w->stats.l4.mss_clamped, 0);
    /* A port of 1400: a new client's 1460 reaches the server as 1360, and the server's
     * SYN-ACK offering 8960 reaches the client as 1360. */
    h.w->lc.tx_mtu[0] = 1400;
    h.w->lc.mtu_min = 1400;
    len = syn_mss(ip4("10.200.50.20"), ip4("10.200.50.120"), 50001, 443, RTE_TCP_SYN_FLAG, 1460);
    h_run(&h, f, len, 1);
    len = h_sent(&h, 0, out, sizeof(out));
    assert_valid(len);
    cr_assert_eq(out_mss(), 1360);
    cr_assert_eq(out[34 + 27], 7, "the window scale behind it untouched");
    rs = h_ip_of(out)->dst_addr;
    len = syn_mss(rs, ip4("10.200.50.20"), 443, 50001, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 8960);
    h_run(&h, f, len, 0);
    len = h_sent(&h, 1, out, sizeof(out));
    cr_assert_gt(len, 0, "the SYN-ACK reached the client");
    assert_valid(len);
    cr_assert_eq(h_ip_of(out)->src_addr, ip4("10.200.50.120"));
    cr_assert_eq(out_mss(), 1360);
    cr_assert_eq(h.w->stats.l4.mss_clamped, 2);
    /* Smaller offers pass untouched. */
    len = syn_mss(ip4("10.200.50.20"), ip4("10.200.50.120"), 50002, 443, RTE_TCP_SYN_FLAG, 1200);
    h_run(&h, f, len, 1);
    len = h_sent(&h, 0, out, sizeof(out));
    assert_valid(len);
    cr_assert_eq(out_mss(), 1200);
    cr_assert_eq(h.w->stats.l4.mss_clamped, 2);
}

/* Runs frames fr[0..n) (lengths len[], on port) through the worker as one burst. */
static void run_burst(uint8_t (*fr)[128], const uint32_t *len, unsigned n, uint16_t port)
{
    struct rte_mbuf *m[32];

    cr_assert_leq(n, 32);
    for (unsigned i = 0; i < n; i++) {
        m[i] = h_mbuf(&h, fr[i], len[i], port);
        cr_assert_not_null(m[i]);
    }
    worker_burst(h.w, h.s, m, n, false);
    for (uint16_t p = 0; p < H_PORTS; p++)
        rte_eth_tx_buffer_flush(p, 0, h.w->lc.txb[p]);
}

/*
 * A burst looks its connections up in bulk: 8 new UDP flows twice each in one burst
 * (the second packet of each finds the entry its first made), then their answers, more
 * client packets and routed packets in one burst: every packet where it belongs, each
 * flow on one server, and the worker's cycles counted by stage.
 */
Test(l4_path, a_burst_of_mixed_packets_goes_where_each_would_alone)
{
    static uint8_t fr[32][128];
    uint32_t len[32], rs[8] = {0};
    const uint64_t *cyc = h.w->stats.cycles.stage;
    unsigned n = 0;

    for (unsigned i = 0; i < 16; i++, n++)
        len[n] = frame_udp(fr[n], ip4("10.200.50.20"), ip4("10.200.50.120"),
                           (uint16_t)(41000 + i % 8), 3478, 20);
    run_burst(fr, len, n, 1);
    cr_assert_eq(h.w->stats.l4.conns_created, 8);
    cr_assert_eq(h.w->stats.l4.forward_packets, 16);
    for (unsigned i = 0; i < 16; i++) {
        uint32_t l = h_sent(&h, 0, out, sizeof(out));
        unsigned fl = rte_be_to_cpu_16(ports_of(out)->src_port) - 41000u;
        cr_assert_gt(l, 0, "packet %u forwarded", i);
        cr_assert_lt(fl, 8);
        if (rs[fl] == 0)
            rs[fl] = h_ip_of(out)->dst_addr;
        cr_assert_eq(h_ip_of(out)->dst_addr, rs[fl], "flow %u stays on its server", fl);
    }
    cr_assert(cyc[WORKER_STAGE_DISPATCH] > 0 && cyc[WORKER_STAGE_L4] > 0);
    cr_assert_eq(cyc[WORKER_STAGE_FORWARD], 0, "no packet was routed");
    cr_assert_eq(cyc[WORKER_STAGE_TCP], 0);

    /* The servers answer (port 0), interleaved with routed packets of rs1. */
    n = 0;
    for (unsigned i = 0; i < 8; i++) {
        len[n] = frame_udp(fr[n], rs[i], ip4("10.200.50.20"), 3478, (uint16_t)(41000 + i), 20);
        n++;
        if (i % 2 == 0) {
            len[n] = frame_udp(fr[n], ip4("192.168.112.51"), ip4("10.200.50.20"), 3478,
                               (uint16_t)(42000 + i), 10);
            n++;
        }
    }
    run_burst(fr, len, n, 0);
    cr_assert_eq(h.w->stats.l4.reverse_packets, 8);
    cr_assert_eq(h.w->stats.forward.forwarded, 4);
    for (unsigned i = 0; i < 12; i++) {
        uint32_t l = h_sent(&h, 1, out, sizeof(out));
        uint16_t dport = rte_be_to_cpu_16(ports_of(out)->dst_port);
        cr_assert_gt(l, 0, "packet %u sent to the client LAN", i);
        assert_valid(l);
        if (dport < 42000)
            cr_assert_eq(h_ip_of(out)->src_addr, ip4("10.200.50.120"), "answer from the VIP");
        else
            cr_assert_eq(h_ip_of(out)->src_addr, ip4("192.168.112.51"), "routed, not NATed");
    }
    cr_assert_eq(h_sent(&h, 1, out, sizeof(out)), 0);
    cr_assert(cyc[WORKER_STAGE_FORWARD] > 0, "the routed packets' stage counted");
    cr_assert_eq(h.w->stats.cycles.busy, 0, "busy is the loop's: worker_burst counts stages");
}

/*
 * A packet that closes its connection (the client's ACK to a halted server) is followed
 * in the same burst by another of the flow: the bulk look-up's result is stale, and the
 * second packet is taken as one without a connection (not a SYN: dropped), never on the
 * deleted entry.
 */
Test(l4_path, a_connection_deleted_in_a_burst_is_not_used_by_a_later_packet)
{
    static uint8_t fr[2][128];
    uint32_t len[2], l;

    halt_server_of(50010, &l);
    for (unsigned i = 0; i < 2; i++) {
        struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(fr[i] + 34);
        len[i] = frame_tcp(fr[i], ip4("10.200.50.20"), ip4("10.200.50.120"), 50010, 443);
        tcp->tcp_flags = RTE_TCP_ACK_FLAG;
        tcp->sent_seq = rte_cpu_to_be_32(1000 + i);
        tcp->recv_ack = rte_cpu_to_be_32(77777);
        tcp->cksum = 0;
        tcp->cksum = rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)(fr[i] + 14), tcp);
    }
    run_burst(fr, len, 2, 1);
    cr_assert_eq(h.w->stats.l4.conns_halted, 1, "closed once");
    cr_assert_eq(h.w->stats.l4.halt_resets, 1);
    cr_assert_eq(h.w->stats.lcore.drops[DROP_L4_TCP_NOT_SYN], 1, "the second: no connection");
    cr_assert_eq(conn_count(h.w->l4.conns), 0);
    cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0, "nothing to the halted server");
}

/*
 * The hand-off with two workers: the harness's worker plays both. Client packets of 32
 * addresses as worker 0: those of worker 1's clients are staged, with their parse, on
 * the ring to it; taken from the ring as worker 1, they go to their real servers on
 * that parse like the others (every packet forwarded once, one connection each).
 */
Test(l4_path, a_handed_off_packet_goes_on_with_the_parse_it_came_with)
{
    static uint8_t fr[32][128];
    struct rte_ring *r = rte_ring_create("t_handoff", 64, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    struct rte_mbuf *m[32];
    uint32_t len[32];
    unsigned n;

    cr_assert_not_null(r);
    h.w->lc.n_workers = 2;
    h.w->ring_out[1] = r;
    for (unsigned i = 0; i < 32; i++)
        len[i] = frame_udp(fr[i], rte_cpu_to_be_32(0xc6120000u + i), ip4("10.200.50.120"),
                           40000, 3478, 20);
    run_burst(fr, len, 32, 1);
    n = rte_ring_sc_dequeue_burst(r, (void **)m, 32, NULL);
    cr_assert_gt(n, 0, "some clients are worker 1's");
    cr_assert_lt(n, 32, "some are worker 0's");
    cr_assert_eq(h.w->stats.handoff_out, n);
    cr_assert_eq(h.w->stats.l4.forward_packets, 32 - n, "worker 0 forwarded its own");
    h.w->lc.id = 1;
    worker_burst(h.w, h.s, m, n, true);
    for (uint16_t p = 0; p < H_PORTS; p++)
        rte_eth_tx_buffer_flush(p, 0, h.w->lc.txb[p]);
    cr_assert_eq(h.w->stats.l4.forward_packets, 32);
    cr_assert_eq(h.w->stats.l4.conns_created, 32);
    for (unsigned i = 0; i < 32; i++) {
        uint32_t l = h_sent(&h, 0, out, sizeof(out));
        cr_assert_gt(l, 0, "packet %u forwarded", i);
        assert_valid(l);
        cr_assert_eq(rte_be_to_cpu_16(ports_of(out)->dst_port), 3478);
    }
    h.w->lc.id = 0;
    h.w->lc.n_workers = 1;
    h.w->ring_out[1] = NULL;
    rte_ring_free(r);
}

/*
 * A real server's answer in the burst that opened its connection: before the burst no
 * connection has that server as its source, so the worker skips the answer's bulk
 * look-up (conn_may_reverse); the connection the client's packet created moves the
 * table's generation, and the answer is looked up again and gets the reverse NAT. The
 * client's packet (port 1) is followed by one answer from each real server (port 0):
 * the one from the server it went to comes back from the VIP, the others are routed.
 */
Test(l4_path, an_answer_in_the_burst_that_opened_its_connection_is_reverse_natted)
{
    static const char *rs_ips[3] = {"192.168.112.51", "192.168.112.52", "192.168.112.57"};
    static uint8_t fr[4][128];
    struct rte_mbuf *m[4];
    uint32_t len, rs = 0;
    unsigned natted = 0, routed = 0;

    cr_assert_eq(conn_count(h.w->l4.conns), 0);
    for (unsigned i = 0; i < 3; i++)
        cr_assert_not(conn_may_reverse(h.w->l4.conns, ip4(rs_ips[i]), rte_cpu_to_be_16(3478)),
                      "no connection yet");
    len = frame_udp(fr[0], ip4("10.200.50.20"), ip4("10.200.50.120"), 40000, 3478, 20);
    m[0] = h_mbuf(&h, fr[0], len, 1);
    for (unsigned i = 0; i < 3; i++) {
        len = frame_udp(fr[i + 1], ip4(rs_ips[i]), ip4("10.200.50.20"), 3478, 40000, 30);
        m[i + 1] = h_mbuf(&h, fr[i + 1], len, 0);
    }
    for (unsigned i = 0; i < 4; i++)
        cr_assert_not_null(m[i]);
    worker_burst(h.w, h.s, m, 4, false);
    for (uint16_t p = 0; p < H_PORTS; p++)
        rte_eth_tx_buffer_flush(p, 0, h.w->lc.txb[p]);

    cr_assert_eq(h.w->stats.l4.conns_created, 1);
    len = h_sent(&h, 0, out, sizeof(out));
    cr_assert_gt(len, 0, "the client's packet went to a real server");
    rs = h_ip_of(out)->dst_addr;
    for (unsigned i = 0; i < 3; i++) {
        len = h_sent(&h, 1, out, sizeof(out));
        cr_assert_gt(len, 0, "answer %u sent to the client LAN", i);
        assert_valid(len);
        if (h_ip_of(out)->src_addr == ip4("10.200.50.120")) {
            natted++;
            cr_assert_eq(ports_of(out)->src_port, rte_cpu_to_be_16(3478));
        } else {
            routed++;
            cr_assert_neq(h_ip_of(out)->src_addr, rs, "the connection's server is NATed");
        }
    }
    cr_assert_eq(natted, 1, "the answer of the connection's server comes from the VIP");
    cr_assert_eq(routed, 2, "the others are routed as they are");
    cr_assert_eq(h.w->stats.l4.reverse_packets, 1);
    cr_assert_eq(h.w->stats.forward.forwarded, 2);
}
