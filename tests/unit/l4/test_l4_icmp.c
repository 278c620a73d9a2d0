/*
 * ICMP errors about Layer 4 flows, packet in / packet out through the worker's
 * dispatch: errors from the server side are sent to the client from the VIP, errors
 * from the client side to the real server, every checksum (outer IP, ICMP, quoted IP,
 * quoted TCP/UDP) right; errors about no flow, truncated or malformed quotes dropped.
 */
#include <criterion/criterion.h>

#include <rte_eal.h>
#include <rte_tcp.h>

#include "dp_harness.h"
#include "l4/l4.h"
#include "net/owner.h"

static struct harness h;
static uint8_t f[2048], out[2048], sent[2048];

static void setup(void)
{
    h_eal_init();
    cr_assert_eq(h_init(&h, 4096), 0);
}

TestSuite(l4_icmp, .init = setup);

#define CLIENT "10.200.50.20"
#define VIP "10.200.50.120"

static const struct rte_ipv4_hdr *ip_at(const uint8_t *p)
{
    return (const struct rte_ipv4_hdr *)p;
}

/* Sum of the IPv4 pseudo-header of ip for an L4 part of len bytes (not folded). */
static uint32_t pseudo(const struct rte_ipv4_hdr *ip, uint16_t len)
{
    uint32_t sum = 0;

    sum += (ip->src_addr & 0xffff) + (ip->src_addr >> 16);
    sum += (ip->dst_addr & 0xffff) + (ip->dst_addr >> 16);
    sum += rte_cpu_to_be_16(ip->next_proto_id) + rte_cpu_to_be_16(len);
    return sum;
}

static uint16_t fold(uint32_t sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/*
 * An ICMP error type/code (rest: the 4 bytes after the checksum, e.g. the MTU) from
 * src to dst, quoting q[0..qlen); returns the frame length.
 */
static uint32_t icmp_err(uint8_t *fr, uint32_t src, uint32_t dst, uint8_t type, uint8_t code,
                         uint32_t rest, const uint8_t *q, uint16_t qlen)
{
    uint32_t off = frame_eth(fr, RTE_ETHER_TYPE_IPV4, &frame_mac_us);
    uint32_t l4 = frame_ipv4(fr, off, IPPROTO_ICMP, src, dst, (uint16_t)(8 + qlen));
    struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(fr + l4);

    icmp->icmp_type = type;
    icmp->icmp_code = code;
    icmp->icmp_cksum = 0;
    memcpy(&icmp->icmp_ident, &rest, 4);
    memcpy(fr + l4 + 8, q, qlen);
    icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, 8u + qlen);
    return l4 + 8 + qlen;
}

/*
 * The ICMP error in out (len bytes): outer IP and ICMP checksums right, the quote's IP
 * header checksum right and, when the quote holds the whole packet (qlen), its L4
 * checksum too. Returns the quote's IP header.
 */
static const struct rte_ipv4_hdr *assert_icmp_valid(uint32_t len, uint16_t qlen)
{
    struct pkt_info pi;
    const struct rte_ipv4_hdr *in;
    uint32_t ihl;

    cr_assert_eq(pkt_parse(out, len, true, &pi), DROP_NONE, "outer IP header valid");
    cr_assert_eq(pi.ip_proto, IPPROTO_ICMP);
    cr_assert_eq(pi.l4_len, 8 + qlen, "ICMP message length kept");
    cr_assert_eq(rte_raw_cksum(out + pi.l4_off, pi.l4_len), 0xffff, "ICMP checksum valid");
    in = ip_at(out + pi.l4_off + 8);
    ihl = (uint32_t)(in->version_ihl & 0xf) * 4;
    cr_assert_eq(rte_raw_cksum(in, ihl), 0xffff, "quoted IP header checksum valid");
    if (rte_be_to_cpu_16(in->total_length) == qlen) {
        uint16_t l4len = (uint16_t)(qlen - ihl);
        cr_assert_eq(fold(pseudo(in, l4len) + rte_raw_cksum((const uint8_t *)in + ihl, l4len)),
                     0xffff, "quoted L4 checksum valid");
    }
    return in;
}

static const struct rte_udp_hdr *ports_at(const struct rte_ipv4_hdr *ip)
{
    return (const struct rte_udp_hdr *)((const uint8_t *)ip + (ip->version_ihl & 0xf) * 4);
}

/* A UDP flow client:sport -> VIP:3478; the forwarded frame is left in sent (IP at 14). */
static uint32_t udp_flow(uint16_t sport, uint32_t *sent_len)
{
    uint32_t len = frame_udp(f, ip4(CLIENT), ip4(VIP), sport, 3478, 20);

    h_run(&h, f, len, 1);
    *sent_len = h_sent(&h, 0, sent, sizeof(sent));
    cr_assert_gt(*sent_len, 0);
    return ip_at(sent + 14)->dst_addr;
}

Test(l4_icmp, port_unreachable_from_the_real_server_reaches_the_client_from_the_vip)
{
    uint32_t slen, rs = udp_flow(40000, &slen), len;
    uint16_t qlen = (uint16_t)(slen - 14);
    const struct rte_ipv4_hdr *in;

    /* The real server quotes the whole datagram lbd sent it (client -> server). */
    len = icmp_err(f, rs, ip4(CLIENT), 3, 3, 0, sent + 14, qlen);
    h_run(&h, f, len, 0);
    len = h_sent(&h, 1, out, sizeof(out));
    cr_assert_eq(len, 14 + 20 + 8 + qlen, "sent to the client");
    cr_assert_eq(ip_at(out + 14)->src_addr, ip4(VIP), "from the VIP");
    cr_assert_eq(ip_at(out + 14)->dst_addr, ip4(CLIENT));
    cr_assert_eq(ip_at(out + 14)->time_to_live, 62, "routed: TTL decremented");
    cr_assert_eq(out[34], 3);
    cr_assert_eq(out[35], 3, "type and code kept");
    in = assert_icmp_valid(len, qlen);
    cr_assert_eq(in->src_addr, ip4(CLIENT));
    cr_assert_eq(in->dst_addr, ip4(VIP), "the quote is what the client sent");
    cr_assert_eq(ports_at(in)->src_port, rte_cpu_to_be_16(40000));
    cr_assert_eq(ports_at(in)->dst_port, rte_cpu_to_be_16(3478));
    cr_assert_eq(h.w->stats.l4.icmp_to_client, 1);
}

Test(l4_icmp, frag_needed_from_a_router_keeps_its_mtu_and_fixes_the_tcp_quote)
{
    uint32_t len = frame_tcp(f, ip4(CLIENT), ip4(VIP), 41000, 443), slen, rs;
    const struct rte_ipv4_hdr *in;
    uint32_t mtu = rte_cpu_to_be_32(1400);  /* unused (16 bits), next-hop MTU */

    h_run(&h, f, len, 1);
    slen = h_sent(&h, 0, sent, sizeof(sent));
    cr_assert_eq(slen, 14 + 20 + 20);
    rs = ip_at(sent + 14)->dst_addr;
    /* A router between lbd and the server (on the server LAN) quotes the whole segment. */
    len = icmp_err(f, ip4("192.168.112.254"), ip4(CLIENT), 3, 4, mtu, sent + 14, 40);
    h_run(&h, f, len, 0);
    len = h_sent(&h, 1, out, sizeof(out));
    cr_assert_eq(len, 14 + 20 + 8 + 40);
    cr_assert_eq(ip_at(out + 14)->src_addr, ip4(VIP));
    cr_assert_eq(out[35], 4, "fragmentation needed");
    cr_assert_eq(memcmp(out + 38, &mtu, 4), 0, "the next-hop MTU passes through");
    in = assert_icmp_valid(len, 40);
    cr_assert_eq(in->dst_addr, ip4(VIP));
    cr_assert_eq(ports_at(in)->dst_port, rte_cpu_to_be_16(443));
    cr_assert_neq(rs, ip4(VIP));

    /* The usual 8-byte quote (no TCP checksum in it): translated all the same. */
    {
        uint8_t q[28];
        memcpy(q, sent + 14, 28);
        len = icmp_err(f, ip4("192.168.112.254"), ip4(CLIENT), 3, 4, mtu, q, 28);
        h_run(&h, f, len, 0);
        len = h_sent(&h, 1, out, sizeof(out));
        cr_assert_eq(len, 14 + 20 + 8 + 28);
        in = assert_icmp_valid(len, 28);
        cr_assert_eq(in->dst_addr, ip4(VIP));
        cr_assert_eq(ports_at(in)->dst_port, rte_cpu_to_be_16(443));
    }
}

Test(l4_icmp, error_from_the_client_side_goes_to_the_real_server)
{
    uint32_t slen, rs = udp_flow(40002, &slen), len;
    uint16_t qlen;
    const struct rte_ipv4_hdr *in;
    struct pkt_info pi;

    /* The server's answer, as lbd sends it to the client (VIP -> client). */
    len = frame_udp(f, rs, ip4(CLIENT), 3478, 40002, 30);
    h_run(&h, f, len, 0);
    slen = h_sent(&h, 1, sent, sizeof(sent));
    cr_assert_gt(slen, 0);
    qlen = (uint16_t)(slen - 14);
    /* The client's port is closed by now: it answers the VIP. */
    len = icmp_err(f, ip4(CLIENT), ip4(VIP), 3, 3, 0, sent + 14, qlen);
    /* Whatever worker got it, the error belongs to the client's worker: its quote
     * left a service (VIP:3478/udp), which the worker tells owner_of. */
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE);
    cr_assert_eq(pi.icmp_inner_dst, ip4(CLIENT));
    cr_assert_eq(pi.icmp_inner_proto, IPPROTO_UDP);
    cr_assert_eq(pi.icmp_inner_sport, 3478);
    cr_assert_eq(owner_of(&pi, OWNER_DST_SERVICE, 7), owner_hash_ip(ip4(CLIENT)) % 7);
    h_run(&h, f, len, 1);
    len = h_sent(&h, 0, out, sizeof(out));
    cr_assert_eq(len, 14 + 20 + 8 + qlen, "sent to the real server");
    cr_assert_eq(ip_at(out + 14)->src_addr, ip4(CLIENT));
    cr_assert_eq(ip_at(out + 14)->dst_addr, rs);
    in = assert_icmp_valid(len, qlen);
    cr_assert_eq(in->src_addr, rs, "the quote is what the server sent");
    cr_assert_eq(in->dst_addr, ip4(CLIENT));
    cr_assert_eq(ports_at(in)->src_port, rte_cpu_to_be_16(3478));
    cr_assert_eq(h.w->stats.l4.icmp_to_server, 1);
}

Test(l4_icmp, errors_about_no_flow_are_dropped_or_routed)
{
    uint8_t q[28];
    uint32_t len, fwd = h.w->stats.forward.forwarded;

    /* To the VIP about an answer that no connection sent. */
    frame_udp(f, ip4(VIP), ip4(CLIENT), 3478, 49999, 0);
    memcpy(q, f + 14, 28);
    len = icmp_err(f, ip4(CLIENT), ip4(VIP), 3, 3, 0, q, 28);
    h_run(&h, f, len, 1);
    cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0);
    cr_assert_eq(h.w->stats.lcore.drops[DROP_L4_ICMP_NO_CONN], 1);

    /* Not to us, about a flow lbd only routes: routed unchanged. */
    frame_udp(f, ip4(CLIENT), ip4("192.168.112.51"), 5353, 5353, 0);
    memcpy(q, f + 14, 28);
    len = icmp_err(f, ip4("192.168.112.51"), ip4(CLIENT), 3, 3, 0, q, 28);
    h_run(&h, f, len, 0);
    len = h_sent(&h, 1, out, sizeof(out));
    cr_assert_eq(len, 14 + 20 + 8 + 28);
    cr_assert_eq(ip_at(out + 14)->src_addr, ip4("192.168.112.51"), "not translated");
    cr_assert_eq(h.w->stats.forward.forwarded, fwd + 1);
    cr_assert_eq(h.w->stats.l4.icmp_to_client, 0);
}

Test(l4_icmp, truncated_and_malformed_quotes_are_refused)
{
    uint32_t slen, len;
    uint8_t q[64];
    uint64_t *d = h.w->stats.lcore.drops;

    udp_flow(40003, &slen);
    /* The answer the client would quote. */
    len = frame_udp(f, ip4("192.168.112.51"), ip4(CLIENT), 3478, 40003, 0);
    len = frame_udp(f, ip4(VIP), ip4(CLIENT), 3478, 40003, 0);
    memcpy(q, f + 14, 28);

    /* Only 4 bytes of the UDP header: no ports. */
    len = icmp_err(f, ip4(CLIENT), ip4(VIP), 3, 3, 0, q, 24);
    h_run(&h, f, len, 1);
    cr_assert_eq(d[DROP_ICMP_ERROR_INVALID], 1);

    /* A header length of 24 (options) but only 20 + 8 bytes quoted. */
    q[0] = 0x46;
    len = icmp_err(f, ip4(CLIENT), ip4(VIP), 3, 3, 0, q, 28);
    h_run(&h, f, len, 1);
    cr_assert_eq(d[DROP_ICMP_ERROR_INVALID], 2);
    q[0] = 0x45;

    /* An error about an ICMP packet (ICMP in ICMP): never translated. */
    q[9] = IPPROTO_ICMP;
    len = icmp_err(f, ip4(CLIENT), ip4(VIP), 3, 3, 0, q, 28);
    h_run(&h, f, len, 1);
    cr_assert_eq(d[DROP_ICMP_ERROR_INVALID], 3);
    q[9] = IPPROTO_UDP;

    /* About a non-first fragment: no ports in it. */
    q[6] = 0x00;
    q[7] = 0x10;
    len = icmp_err(f, ip4(CLIENT), ip4(VIP), 3, 3, 0, q, 28);
    h_run(&h, f, len, 1);
    cr_assert_eq(d[DROP_ICMP_ERROR_INVALID], 4);
    q[7] = 0;

    /* A wrong ICMP checksum. */
    len = icmp_err(f, ip4(CLIENT), ip4(VIP), 3, 3, 0, q, 28);
    f[37] ^= 0x55;
    h_run(&h, f, len, 1);
    cr_assert_eq(d[DROP_BAD_ICMP_CHECKSUM], 1);
    cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0, "nothing went to a server");

    /* The same quote, well formed, is translated: the refusals were about the form. */
    len = icmp_err(f, ip4(CLIENT), ip4(VIP), 3, 3, 0, q, 28);
    h_run(&h, f, len, 1);
    cr_assert_gt(h_sent(&h, 0, out, sizeof(out)), 0);
    cr_assert_eq(h.w->stats.l4.icmp_to_server, 1);
}

Test(l4_icmp, a_quote_with_ip_options_is_translated)
{
    uint32_t slen, rs = udp_flow(40004, &slen), len;
    uint8_t q[64];
    struct rte_ipv4_hdr *qi = (struct rte_ipv4_hdr *)q;
    const struct rte_ipv4_hdr *in;

    /* The packet lbd sent, with 4 bytes of options (NOPs) added to its header. */
    memcpy(q, sent + 14, 20);
    memset(q + 20, 1, 4);
    memcpy(q + 24, sent + 34, 8);
    qi->version_ihl = 0x46;
    qi->total_length = rte_cpu_to_be_16(rte_be_to_cpu_16(qi->total_length) + 4);
    qi->hdr_checksum = 0;
    qi->hdr_checksum = (uint16_t)~rte_raw_cksum(qi, 24);
    len = icmp_err(f, rs, ip4(CLIENT), 11, 0, 0, q, 32);
    h_run(&h, f, len, 0);
    len = h_sent(&h, 1, out, sizeof(out));
    cr_assert_eq(len, 14 + 20 + 8 + 32);
    in = assert_icmp_valid(len, 32);
    cr_assert_eq(in->dst_addr, ip4(VIP));
    cr_assert_eq(ports_at(in)->dst_port, rte_cpu_to_be_16(3478));
}

/*
 * The dispatch of errors to us with two workers (the harness's worker as worker 0):
 * an error about a segment from one of our local ports (a Layer 7 connection to a
 * real server: self:lport -> real server) goes to lport's worker, whatever the
 * router's or the real server's address hashes to; one about a segment from a
 * service (VIP:443 -> client) to the client's worker. Those of worker 1 are staged
 * on the ring to it, the others handled here.
 */
Test(l4_icmp, an_error_goes_to_the_worker_of_the_segment_it_quotes)
{
    struct rte_ring *r = rte_ring_create("t_icmp_handoff", 64, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    struct rte_mbuf *m[32];
    uint32_t len, qlen;
    unsigned n, want = 0;

    cr_assert_not_null(r);
    h.w->lc.n_workers = 2;
    h.w->ring_out[1] = r;
    for (uint16_t lport = 40000; lport < 40016; lport++) {
        qlen = frame_tcp(sent, ip4("192.168.112.5"), ip4("192.168.112.51"), lport, 8080) - 14;
        len = icmp_err(f, ip4("192.168.112.254"), ip4("192.168.112.5"), 3, 4,
                       rte_cpu_to_be_32(1200), sent + 14, (uint16_t)qlen);
        h_run(&h, f, len, 0);
        n = rte_ring_sc_dequeue_burst(r, (void **)m, 32, NULL);
        cr_assert_eq(n, lport % 2, "port %u: on worker %u", lport, lport % 2);
        for (unsigned i = 0; i < n; i++)
            rte_pktmbuf_free(m[i]);
    }
    for (uint32_t c = 1; c <= 32; c++) {
        uint32_t client = rte_cpu_to_be_32(0xc6120000u + c);
        qlen = frame_tcp(sent, ip4(VIP), client, 443, 40000) - 14;
        len = icmp_err(f, ip4("10.200.50.1"), ip4(VIP), 3, 4, rte_cpu_to_be_32(1200),
                       sent + 14, (uint16_t)qlen);
        h_run(&h, f, len, 1);
        n = rte_ring_sc_dequeue_burst(r, (void **)m, 32, NULL);
        cr_assert_eq(n, owner_hash_ip(client) % 2, "the client's worker");
        want += n;
        for (unsigned i = 0; i < n; i++)
            rte_pktmbuf_free(m[i]);
    }
    cr_assert_gt(want, 0, "some clients are worker 1's");
    cr_assert_lt(want, 32, "some are worker 0's");
    cr_assert_eq(h.w->stats.handoff_out, 8 + want);
    h.w->lc.n_workers = 1;
    h.w->ring_out[1] = NULL;
    rte_ring_free(r);
}
