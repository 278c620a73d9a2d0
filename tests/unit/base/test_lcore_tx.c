/*
 * test_lcore_tx: transmit through an lcore context onto an in-memory port (net_ring,
 * whose tx comes back on its own rx). A chained packet goes out as it is where the
 * port takes multi-segment packets, and in one segment where it does not (a port
 * without RTE_ETH_TX_OFFLOAD_MULTI_SEGS, or with a lower segment limit): linearized in
 * place when the first segment allows, copied otherwise, the bytes unchanged. A TCP
 * checksum left to the transmit path is computed in software for a port without
 * TCP checksum offload, and handed to one with it (lcore_ctx.tx_csum: the seam that
 * stands for what the port reported, as tx_max_segs does for its segment limit).
 */
#define ALLOW_EXPERIMENTAL_API 1
#include <criterion/criterion.h>

#include <string.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "base/csum.h"
#include "base/lcore_ctx.h"

static struct lcore_ctx lc;
static struct lcore_stats lstats;
static uint8_t pattern[3000];

static void setup(void)
{
    char *argv[] = {"test", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
                    "--log-level=error", "-l", "0", "--vdev=net_ring0", NULL};
    struct rte_eth_conf conf = {0};

    cr_assert_geq(rte_eal_init(10, argv), 0);
    memset(&lc, 0, sizeof(lc));
    memset(&lstats, 0, sizeof(lstats));
    lc.stats = &lstats;
    lc.pool = rte_pktmbuf_pool_create("t_pool", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    cr_assert_not_null(lc.pool);
    cr_assert_eq(rte_eth_dev_configure(0, 1, 1, &conf), 0);
    cr_assert_eq(rte_eth_rx_queue_setup(0, 0, 1024, 0, NULL, lc.pool), 0);
    cr_assert_eq(rte_eth_tx_queue_setup(0, 0, 1024, 0, NULL), 0);
    cr_assert_eq(rte_eth_dev_start(0), 0);
    lc.txb[0] = rte_zmalloc("txb", RTE_ETH_TX_BUFFER_SIZE(DP_BURST), 0);
    cr_assert_not_null(lc.txb[0]);
    rte_eth_tx_buffer_init(lc.txb[0], DP_BURST);
    rte_eth_tx_buffer_set_err_callback(lc.txb[0], lcore_tx_error, &lc);
    for (unsigned i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)(i * 31 + (i >> 7));
}

TestSuite(lcore_tx, .init = setup);

/* A packet of pattern[0..sum of lens) in n segments of lens[i] bytes each, on port 0. */
static struct rte_mbuf *chain(const uint16_t *lens, unsigned n)
{
    struct rte_mbuf *head = NULL;
    uint32_t off = 0;

    for (unsigned i = 0; i < n; i++) {
        struct rte_mbuf *m = rte_pktmbuf_alloc(lc.pool);
        cr_assert_not_null(m);
        memcpy(rte_pktmbuf_append(m, lens[i]), pattern + off, lens[i]);
        off += lens[i];
        if (head == NULL)
            head = m;
        else
            cr_assert_eq(rte_pktmbuf_chain(head, m), 0);
    }
    head->port = 0;
    return head;
}

/* Sends m through lc and returns what came out of the port (the caller frees it). */
static struct rte_mbuf *through(struct rte_mbuf *m)
{
    struct rte_mbuf *got = NULL;

    lcore_tx(&lc, m);
    rte_eth_tx_buffer_flush(0, 0, lc.txb[0]);
    cr_assert_eq(rte_eth_rx_burst(0, 0, &got, 1), 1, "a packet came out");
    return got;
}

static void assert_bytes(const struct rte_mbuf *m, uint32_t len)
{
    uint8_t buf[3000];

    cr_assert_eq(rte_pktmbuf_pkt_len(m), len);
    cr_assert_eq(memcmp(rte_pktmbuf_read(m, 0, len, buf), pattern, len), 0, "same bytes");
}

Test(lcore_tx, chained_packets_go_out_as_they_are_without_a_limit)
{
    static const uint16_t lens[] = {54, 700, 706};
    struct rte_mbuf *got = through(chain(lens, 3));

    cr_assert_eq(got->nb_segs, 3);
    assert_bytes(got, 1460);
    cr_assert_eq(lstats.tx_linearized, 0);
    rte_pktmbuf_free(got);
}

Test(lcore_tx, a_port_without_multi_segment_tx_gets_one_segment)
{
    static const uint16_t lens[] = {54, 700, 706};
    struct rte_mbuf *m, *got;

    lc.tx_max_segs[0] = 1;
    /* A header mbuf of our own with room for the payload: linearized in place. */
    m = chain(lens, 3);
    got = through(m);
    cr_assert_eq(got, m, "the same mbuf");
    cr_assert_eq(got->nb_segs, 1);
    assert_bytes(got, 1460);
    rte_pktmbuf_free(got);
    /* A first segment shared with someone else: copied, the original left intact. */
    m = chain(lens, 3);
    rte_pktmbuf_refcnt_update(m, 1);
    got = through(m);
    cr_assert_neq(got, m, "a copy");
    cr_assert_eq(got->nb_segs, 1);
    assert_bytes(got, 1460);
    cr_assert_eq(m->nb_segs, 3, "the shared packet is untouched");
    assert_bytes(m, 1460);
    rte_pktmbuf_free(got);
    rte_pktmbuf_free(m);
    cr_assert_eq(lstats.tx_linearized, 2);
    cr_assert_eq(lstats.tx_bytes, 2 * 1460);
    cr_assert_eq(lstats.drops[DROP_TX_SEGMENTS], 0);
    cr_assert_eq(rte_mempool_in_use_count(lc.pool), 0, "nothing leaked");
}

Test(lcore_tx, a_segment_limit_is_kept)
{
    static const uint16_t lens[] = {54, 300, 300, 300, 506};
    struct rte_mbuf *got;

    lc.tx_max_segs[0] = 4;
    got = through(chain(lens, 4));
    cr_assert_eq(got->nb_segs, 4, "within the limit: as it is");
    rte_pktmbuf_free(got);
    got = through(chain(lens, 5));
    cr_assert_eq(got->nb_segs, 1, "over the limit: one segment");
    assert_bytes(got, 1460);
    rte_pktmbuf_free(got);
    cr_assert_eq(lstats.tx_linearized, 1);
}

Test(lcore_tx, a_packet_that_cannot_be_made_to_fit_is_dropped_and_counted)
{
    static const uint16_t lens[] = {54, 700, 706};
    struct rte_mbuf *m = chain(lens, 3), *got = NULL;
    struct rte_mempool *all = lc.pool;

    /* Shared (no linearizing in place) and a pool of small mbufs to copy into. */
    rte_pktmbuf_refcnt_update(m, 1);
    lc.pool = rte_pktmbuf_pool_create("t_small", 63, 0, 0, 512 + RTE_PKTMBUF_HEADROOM, 0);
    cr_assert_not_null(lc.pool);
    lc.tx_max_segs[0] = 1;
    lcore_tx(&lc, m);
    rte_eth_tx_buffer_flush(0, 0, lc.txb[0]);
    cr_assert_eq(rte_eth_rx_burst(0, 0, &got, 1), 0, "nothing sent");
    cr_assert_eq(lstats.drops[DROP_TX_SEGMENTS], 1);
    cr_assert_eq(lstats.tx_linearized, 0);
    cr_assert_eq(rte_mempool_in_use_count(lc.pool), 0, "the copy was freed");
    cr_assert_eq(rte_mbuf_refcnt_read(m), 1, "our reference is left");
    rte_pktmbuf_free(m);
    cr_assert_eq(rte_mempool_in_use_count(all), 0);
}

/*
 * A TCP segment whose checksum is left to the transmit path (the stack's
 * conf.tx_csum_defer): Ethernet, IPv4 and TCP headers in the first mbuf, the payload
 * cut at odd lengths after it, the TCP field holding the pseudo-header sum.
 */
/* A header mbuf: Ethernet, IPv4 10.0.0.1 -> 10.0.0.2 (TCP, TTL 64) and a TCP header
 * 80 -> 40000 of tcp_len bytes (options zeroed), the rest of the fields 0. */
static struct rte_mbuf *tcp_headers(uint16_t tcp_len, struct rte_ipv4_hdr **ip,
                                    struct rte_tcp_hdr **th)
{
    struct rte_mbuf *h = rte_pktmbuf_alloc(lc.pool);
    uint8_t *f;

    cr_assert_not_null(h);
    f = (uint8_t *)rte_pktmbuf_append(h, 14 + 20 + tcp_len);
    cr_assert_not_null(f);
    memset(f, 0, 14 + 20 + tcp_len);
    f[12] = 0x08;
    *ip = (struct rte_ipv4_hdr *)(f + 14);
    *th = (struct rte_tcp_hdr *)(f + 34);
    (*ip)->version_ihl = RTE_IPV4_VHL_DEF;
    (*ip)->time_to_live = 64;
    (*ip)->next_proto_id = IPPROTO_TCP;
    (*ip)->src_addr = rte_cpu_to_be_32(0x0a000001);
    (*ip)->dst_addr = rte_cpu_to_be_32(0x0a000002);
    (*th)->src_port = rte_cpu_to_be_16(80);
    (*th)->dst_port = rte_cpu_to_be_16(40000);
    (*th)->data_off = (uint8_t)((tcp_len / 4) << 4);
    return h;
}

static struct rte_mbuf *deferred_tcp(void)
{
    static const uint16_t lens[] = {701, 333, 400};
    struct rte_ipv4_hdr *ip;
    struct rte_tcp_hdr *th;
    struct rte_mbuf *h = tcp_headers(20, &ip, &th), *p;

    th->tcp_flags = 0x18;
    th->rx_win = rte_cpu_to_be_16(1000);
    p = chain(lens, 3);
    cr_assert_eq(rte_pktmbuf_chain(h, p), 0);
    ip->total_length = rte_cpu_to_be_16((uint16_t)(h->pkt_len - 14));
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    h->l3_len = 20;
    h->l4_len = 20;
    h->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
    th->cksum = rte_ipv4_phdr_cksum(ip, h->ol_flags);
    h->port = 0;
    return h;
}

static const struct rte_ipv4_hdr *ip_of(const struct rte_mbuf *m)
{
    return rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, 14);
}

Test(lcore_tx, a_port_without_tcp_checksum_offload_gets_it_computed_in_software)
{
    struct rte_mbuf *got = through(deferred_tcp());

    cr_assert(csum_ipv4_l4_mbuf_ok(got, ip_of(got), 34), "a final checksum over the chain");
    cr_assert_eq(got->ol_flags & (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_IPV4), 0,
                 "nothing asked of the port");
    cr_assert_eq(got->nb_segs, 4);
    cr_assert_eq(lstats.tx_csum_sw, 1);
    cr_assert_eq(lstats.tx_csum_offloaded, 0);
    rte_pktmbuf_free(got);
    /* And with a port that takes one segment only: computed, then linearized. */
    lc.tx_max_segs[0] = 1;
    got = through(deferred_tcp());
    cr_assert_eq(got->nb_segs, 1);
    cr_assert(csum_ipv4_l4_mbuf_ok(got, ip_of(got), 34));
    cr_assert_eq(lstats.tx_csum_sw, 2);
    rte_pktmbuf_free(got);
    cr_assert_eq(rte_mempool_in_use_count(lc.pool), 0, "nothing leaked");
}

Test(lcore_tx, a_port_with_tcp_checksum_offload_gets_the_pseudo_header_sum_and_flags)
{
    struct rte_mbuf *got;

    lc.tx_csum[0] = LCORE_TX_CSUM_TCP;
    got = through(deferred_tcp());
    const struct rte_tcp_hdr *th = rte_pktmbuf_mtod_offset(got, const struct rte_tcp_hdr *, 34);
    cr_assert_eq(got->ol_flags & RTE_MBUF_F_TX_L4_MASK, RTE_MBUF_F_TX_TCP_CKSUM,
                 "left to the port");
    cr_assert(got->ol_flags & RTE_MBUF_F_TX_IPV4);
    cr_assert_eq(got->l2_len, 14);
    cr_assert_eq(got->l3_len, 20);
    cr_assert_eq(got->l4_len, 20);
    cr_assert_eq(th->cksum, rte_ipv4_phdr_cksum(ip_of(got), got->ol_flags),
                 "the pseudo-header sum, as the port wants it");
    cr_assert_eq(lstats.tx_csum_offloaded, 1);
    cr_assert_eq(lstats.tx_csum_sw, 0);
    /* What the port would compute is what software computes. */
    lcore_tx_csum_sw(got, 14);
    cr_assert(csum_ipv4_l4_mbuf_ok(got, ip_of(got), 34));
    rte_pktmbuf_free(got);
    /* A packet without the request is left alone. */
    static const uint16_t lens[] = {54, 700};
    got = through(chain(lens, 2));
    assert_bytes(got, 754);
    cr_assert_eq(lstats.tx_csum_offloaded, 1);
    rte_pktmbuf_free(got);
    lc.tx_csum[0] = 0;
}

/*
 * A TSO frame as the TCP stack sends one (conf.tso_max): Ethernet, IPv4 and TCP headers
 * (with 12 bytes of options, NOP NOP Timestamps, that every segment repeats) in the
 * first mbuf, 3,000 bytes of payload cut at odd lengths after it, tso_segsz 1,000: the
 * IPv4 checksum left to the port (0), the TCP field holding the pseudo-header sum
 * without the length, FIN and PSH set (for the last segment only).
 */
#define TSO_SEGSZ 1000
#define TSO_SEQ 0x10000000u
#define TSO_ID 0x1234
static struct rte_mbuf *tso_frame(void)
{
    static const uint16_t lens[] = {701, 1299, 1000};
    static const uint8_t opt[12] = {1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9};
    struct rte_ipv4_hdr *ip;
    struct rte_tcp_hdr *th;
    struct rte_mbuf *h = tcp_headers(32, &ip, &th), *p;

    ip->packet_id = rte_cpu_to_be_16(TSO_ID);
    ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
    th->sent_seq = rte_cpu_to_be_32(TSO_SEQ);
    th->recv_ack = rte_cpu_to_be_32(77);
    th->tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG | RTE_TCP_FIN_FLAG;
    th->rx_win = rte_cpu_to_be_16(1000);
    memcpy(th + 1, opt, sizeof(opt));
    p = chain(lens, 3);
    cr_assert_eq(rte_pktmbuf_chain(h, p), 0);
    ip->total_length = rte_cpu_to_be_16((uint16_t)(h->pkt_len - 14));
    h->l3_len = 20;
    h->l4_len = 32;
    h->tso_segsz = TSO_SEGSZ;
    h->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_SEG |
                   RTE_MBUF_F_TX_TCP_CKSUM;
    th->cksum = rte_ipv4_phdr_cksum(ip, h->ol_flags);
    h->port = 0;
    return h;
}

/*
 * Sends a TSO frame through lc to a port that does not take it as it is and checks
 * what came out: segments of TSO_SEGSZ bytes of the payload in order, each a whole
 * TCP/IPv4 packet with both checksums final, the options repeated, sequence numbers
 * and IPv4 ids counting up, FIN and PSH on the last only; each in at most max_segs
 * mbufs. Returns the segments seen.
 */
static unsigned tso_cut_in_software(unsigned max_segs)
{
    struct rte_mbuf *got[8];
    unsigned n;

    lcore_tx(&lc, tso_frame());
    rte_eth_tx_buffer_flush(0, 0, lc.txb[0]);
    n = rte_eth_rx_burst(0, 0, got, 8);
    cr_assert_eq(n, 3, "3,000 bytes in segments of 1,000: %u", n);
    for (unsigned i = 0; i < n; i++) {
        uint8_t buf[1100];
        const uint8_t *f = rte_pktmbuf_read(got[i], 0, got[i]->pkt_len, buf);
        const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + 14);
        const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)(f + 34);

        cr_assert_eq(got[i]->pkt_len, 14 + 20 + 32 + TSO_SEGSZ);
        cr_assert_leq(got[i]->nb_segs, max_segs);
        cr_assert_eq(rte_be_to_cpu_16(ip->total_length), 20 + 32 + TSO_SEGSZ);
        cr_assert_eq(rte_ipv4_cksum(ip), 0, "IPv4 checksum final");
        cr_assert_eq(rte_ipv4_udptcp_cksum_verify(ip, th), 0, "TCP checksum final");
        cr_assert_eq(rte_be_to_cpu_16(ip->packet_id), TSO_ID + i);
        cr_assert_eq(rte_be_to_cpu_32(th->sent_seq), TSO_SEQ + i * TSO_SEGSZ);
        cr_assert_eq(th->tcp_flags, i + 1 == n ? (RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG |
                                                  RTE_TCP_FIN_FLAG)
                                               : RTE_TCP_ACK_FLAG);
        cr_assert_eq(f[54], 1, "options repeated");
        cr_assert_eq(f[56], 8);
        cr_assert_eq(memcmp(f + 66, pattern + i * TSO_SEGSZ, TSO_SEGSZ), 0, "payload %u", i);
        cr_assert_eq(got[i]->ol_flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IP_CKSUM), 0);
        rte_pktmbuf_free(got[i]);
    }
    return n;
}

Test(lcore_tx, a_port_with_tso_gets_one_frame_with_the_flags_segment_size_and_lengths)
{
    struct rte_mbuf *got;

    lc.tx_csum[0] = LCORE_TX_CSUM_TCP | LCORE_TX_TSO | LCORE_TX_TSO_IP;
    got = through(tso_frame());
    const struct rte_ipv4_hdr *ip = ip_of(got);
    const struct rte_tcp_hdr *th = rte_pktmbuf_mtod_offset(got, const struct rte_tcp_hdr *, 34);
    cr_assert_eq(got->pkt_len, 14 + 20 + 32 + 3000, "one frame of three segments' payload");
    cr_assert_eq(got->nb_segs, 4);
    cr_assert(got->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
    cr_assert(got->ol_flags & RTE_MBUF_F_TX_IPV4);
    cr_assert(got->ol_flags & RTE_MBUF_F_TX_IP_CKSUM);
    cr_assert_eq(got->ol_flags & RTE_MBUF_F_TX_L4_MASK, RTE_MBUF_F_TX_TCP_CKSUM);
    cr_assert_eq(got->tso_segsz, TSO_SEGSZ);
    cr_assert_eq(got->l2_len, 14);
    cr_assert_eq(got->l3_len, 20);
    cr_assert_eq(got->l4_len, 32);
    cr_assert_eq(th->cksum, rte_ipv4_phdr_cksum(ip, RTE_MBUF_F_TX_TCP_SEG),
                 "the pseudo-header sum without the length");
    cr_assert_neq(th->cksum, rte_ipv4_phdr_cksum(ip, 0));
    cr_assert_eq(lstats.tx_tso_offloaded, 1);
    cr_assert_eq(lstats.tx_tso_sw, 0);
    cr_assert_eq(lstats.tx_csum_sw, 0);
    rte_pktmbuf_free(got);
    cr_assert_eq(rte_mempool_in_use_count(lc.pool), 0, "nothing leaked");
    lc.tx_csum[0] = 0;
}

/* virtio-net: TSO and the TCP checksum offloaded, no IPv4 checksum offload (the host
 * writes each segment's header): the frame goes as one, its own IPv4 header checksum
 * final and not left to the port. */
Test(lcore_tx, a_port_with_tso_but_no_ipv4_checksum_offload_gets_the_frame_with_its_header_checksum)
{
    struct rte_mbuf *got;

    lc.tx_csum[0] = LCORE_TX_CSUM_TCP | LCORE_TX_TSO;
    got = through(tso_frame());
    const struct rte_ipv4_hdr *ip = ip_of(got);
    const struct rte_tcp_hdr *th = rte_pktmbuf_mtod_offset(got, const struct rte_tcp_hdr *, 34);
    cr_assert_eq(got->pkt_len, 14 + 20 + 32 + 3000, "one frame of three segments' payload");
    cr_assert(got->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
    cr_assert(got->ol_flags & RTE_MBUF_F_TX_IPV4);
    cr_assert_eq(got->ol_flags & RTE_MBUF_F_TX_IP_CKSUM, 0, "no IPv4 checksum asked of it");
    cr_assert_eq(rte_ipv4_cksum(ip), 0, "the frame's IPv4 checksum final");
    cr_assert_eq(got->ol_flags & RTE_MBUF_F_TX_L4_MASK, RTE_MBUF_F_TX_TCP_CKSUM);
    cr_assert_eq(got->tso_segsz, TSO_SEGSZ);
    cr_assert_eq(th->cksum, rte_ipv4_phdr_cksum(ip, RTE_MBUF_F_TX_TCP_SEG),
                 "the pseudo-header sum without the length");
    cr_assert_eq(lstats.tx_tso_offloaded, 1);
    cr_assert_eq(lstats.tx_tso_sw, 0);
    rte_pktmbuf_free(got);
    cr_assert_eq(rte_mempool_in_use_count(lc.pool), 0, "nothing leaked");
    lc.tx_csum[0] = 0;
}

Test(lcore_tx, a_port_without_tso_or_checksum_offload_gets_segments_with_software_checksums)
{
    cr_assert_eq(tso_cut_in_software(UINT16_MAX), 3);
    cr_assert_eq(lstats.tx_tso_sw, 1);
    cr_assert_eq(lstats.tx_tso_sw_segs, 3);
    cr_assert_eq(lstats.tx_tso_offloaded, 0);
    cr_assert_eq(lstats.tx_csum_sw, 3, "each segment's TCP checksum in software");
    cr_assert_eq(lstats.tx_bytes, 3 * (66 + TSO_SEGSZ), "counted as three packets sent");
    cr_assert_eq(rte_mempool_in_use_count(lc.pool), 0, "nothing leaked");
}

Test(lcore_tx, a_tso_frame_longer_than_the_port_takes_is_cut_and_the_pieces_linearized)
{
    /* A port with TSO but one segment per packet: the 4-segment frame is cut in
     * software (the port could not take it), each piece copied into one segment. */
    lc.tx_csum[0] = LCORE_TX_TSO;
    lc.tx_max_segs[0] = 1;
    cr_assert_eq(tso_cut_in_software(1), 3);
    cr_assert_eq(lstats.tx_tso_offloaded, 0);
    cr_assert_eq(lstats.tx_tso_sw, 1);
    cr_assert_eq(lstats.tx_linearized, 3);
    cr_assert_eq(lstats.tx_csum_sw, 3);
    cr_assert_eq(rte_mempool_in_use_count(lc.pool), 0, "nothing leaked");
    lc.tx_csum[0] = 0;
    lc.tx_max_segs[0] = 0;
}

Test(lcore_tx, a_port_with_checksum_offload_but_no_tso_gets_segments_with_the_pseudo_header_sum)
{
    struct rte_mbuf *got[8];
    unsigned n;

    lc.tx_csum[0] = LCORE_TX_CSUM_TCP;
    lcore_tx(&lc, tso_frame());
    rte_eth_tx_buffer_flush(0, 0, lc.txb[0]);
    n = rte_eth_rx_burst(0, 0, got, 8);
    cr_assert_eq(n, 3);
    for (unsigned i = 0; i < n; i++) {
        const struct rte_ipv4_hdr *ip = ip_of(got[i]);
        const struct rte_tcp_hdr *th =
            rte_pktmbuf_mtod_offset(got[i], const struct rte_tcp_hdr *, 34);
        cr_assert_eq(rte_ipv4_cksum(ip), 0, "IPv4 checksum final (software)");
        cr_assert_eq(got[i]->ol_flags & RTE_MBUF_F_TX_L4_MASK, RTE_MBUF_F_TX_TCP_CKSUM);
        cr_assert_eq(got[i]->ol_flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IP_CKSUM), 0);
        cr_assert_eq(got[i]->l2_len, 14);
        cr_assert_eq(got[i]->l3_len, 20);
        cr_assert_eq(got[i]->l4_len, 32);
        cr_assert_eq(th->cksum, rte_ipv4_phdr_cksum(ip, got[i]->ol_flags),
                     "the pseudo-header sum with this segment's length");
        lcore_tx_csum_sw(got[i], 14);
        cr_assert(csum_ipv4_l4_mbuf_ok(got[i], ip, 34));
        rte_pktmbuf_free(got[i]);
    }
    cr_assert_eq(lstats.tx_tso_sw, 1);
    cr_assert_eq(lstats.tx_csum_offloaded, 3);
    cr_assert_eq(rte_mempool_in_use_count(lc.pool), 0, "nothing leaked");
    lc.tx_csum[0] = 0;
}

/* A one-segment packet of 64 bytes on port 0 whose first 4 bytes are seq. */
static struct rte_mbuf *numbered(uint32_t seq)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(lc.pool);

    cr_assert_not_null(m);
    memset(rte_pktmbuf_append(m, 64), 0, 64);
    memcpy(rte_pktmbuf_mtod(m, void *), &seq, sizeof(seq));
    m->port = 0;
    return m;
}

/* Fills the port's queue (net_ring's ring: nothing reads it) and returns how many it
 * took. */
static unsigned fill_port(uint32_t *seq)
{
    unsigned n = 0;

    for (;;) {
        struct rte_mbuf *m = numbered(*seq);
        if (rte_eth_tx_burst(0, 0, &m, 1) == 0) {
            rte_pktmbuf_free(m);
            return n;
        }
        (*seq)++;
        n++;
    }
}

/* Reads what the port sent and checks it is seq, seq + 1, ... Returns the count. */
static unsigned drain_port(uint32_t *seq)
{
    struct rte_mbuf *got[32];
    unsigned total = 0, n;

    while ((n = rte_eth_rx_burst(0, 0, got, 32)) != 0) {
        for (unsigned i = 0; i < n; i++) {
            uint32_t v;
            memcpy(&v, rte_pktmbuf_mtod(got[i], void *), sizeof(v));
            cr_assert_eq(v, *seq, "packet %u in order (got %u)", *seq, v);
            (*seq)++;
            rte_pktmbuf_free(got[i]);
        }
        total += n;
    }
    return total;
}

/* A pool that holds a full queue and a full backlog. */
static void big_pool(void)
{
    lc.pool = rte_pktmbuf_pool_create("t_big", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    cr_assert_not_null(lc.pool);
}

static void attach_backlog(void)
{
    big_pool();
    lc.txq[0] = rte_zmalloc("txq", sizeof(struct lcore_txq), 0);
    cr_assert_not_null(lc.txq[0]);
}

/* A port whose queue takes fewer packets than offered: the rest wait in its backlog,
 * what comes after joins them, and all leave in order once the queue has room. */
Test(lcore_tx, what_a_full_queue_does_not_take_waits_in_order_in_the_backlog)
{
    uint32_t seq = 0, want = 0;
    unsigned room;

    attach_backlog();
    room = fill_port(&seq);
    cr_assert_gt(room, 0);
    for (unsigned i = 0; i < 100; i++)
        lcore_tx(&lc, numbered(seq++));
    cr_assert_eq(lcore_tx_flush(&lc, 0), 0, "the queue is full");
    cr_assert_eq(lc.tx_backlog, 100, "all 100 wait (%u)", lc.tx_backlog);
    cr_assert_eq(lstats.tx_backlogged, 100);
    cr_assert_eq(lstats.drops[DROP_TX_FULL], 0, "nothing dropped");
    /* The queue drains; half the room comes back before the next flush. */
    for (unsigned i = 0; i < 50; i++) {
        struct rte_mbuf *m;
        cr_assert_eq(rte_eth_rx_burst(0, 0, &m, 1), 1);
        rte_pktmbuf_free(m);
        want++;
    }
    lcore_tx(&lc, numbered(seq++));
    cr_assert_eq(lc.tx_backlog, 101, "joins the backlog, behind it");
    cr_assert_eq(lcore_tx_flush(&lc, 0), 50);
    cr_assert_eq(lc.tx_backlog, 51);
    cr_assert_eq(drain_port(&want), room);
    cr_assert_eq(lcore_tx_flush(&lc, 0), 51);
    cr_assert_eq(lc.tx_backlog, 0);
    /* Empty again: a packet goes through the tx buffer as before. */
    lcore_tx(&lc, numbered(seq++));
    cr_assert_eq(lcore_tx_flush(&lc, 0), 1);
    cr_assert_eq(drain_port(&want), 52);
    cr_assert_eq(want, seq, "every packet came out once, in order");
    cr_assert_eq(lstats.drops[DROP_TX_FULL], 0);
    cr_assert_eq(lstats.tx_packets, 101 + 1, "counted as sent once (%lu)",
                 (unsigned long)lstats.tx_packets);
}

/* The backlog has a cap (the rest is dropped as tx_full), and a backlog the port takes
 * nothing of for LCORE_TX_STALL_MS is dropped whole. */
Test(lcore_tx, a_full_backlog_drops_and_a_stuck_one_ages_out)
{
    uint32_t seq = 0;

    attach_backlog();
    fill_port(&seq);
    lc.now_ms = 1000;
    for (unsigned i = 0; i < DP_TX_BACKLOG + 10; i++)
        lcore_tx(&lc, numbered(seq++));
    cr_assert_eq(lc.tx_backlog, DP_TX_BACKLOG);
    cr_assert_eq(lstats.drops[DROP_TX_FULL], 10, "beyond the cap: dropped");
    lc.now_ms = 1000 + LCORE_TX_HEAD_MS - 1;
    cr_assert_eq(lcore_tx_flush(&lc, 0), 0);
    cr_assert_eq(lc.tx_backlog, DP_TX_BACKLOG, "not yet stale");
    lc.now_ms = 1000 + LCORE_TX_HEAD_MS;
    cr_assert_eq(lcore_tx_flush(&lc, 0), 0);
    cr_assert_eq(lc.tx_backlog, DP_TX_BACKLOG - 1, "no progress: the oldest dropped");
    cr_assert_eq(lstats.tx_backlog_aged, 1);
    lc.now_ms = 1000 + LCORE_TX_HEAD_MS + 1;
    cr_assert_eq(lcore_tx_flush(&lc, 0), 0);
    cr_assert_eq(lc.tx_backlog, DP_TX_BACKLOG - 1, "one a LCORE_TX_HEAD_MS");
    lc.now_ms = 1000 + LCORE_TX_STALL_MS;
    cr_assert_eq(lcore_tx_flush(&lc, 0), 0);
    cr_assert_eq(lc.tx_backlog, 0, "stale: dropped");
    cr_assert_eq(lstats.tx_backlog_aged, DP_TX_BACKLOG);
    cr_assert_eq(lstats.drops[DROP_TX_FULL], 10 + DP_TX_BACKLOG);
    cr_assert_eq(rte_mempool_in_use_count(lc.pool), seq - DP_TX_BACKLOG - 10,
                 "the dropped packets' mbufs are back in the pool");
}

/* A packet the port never takes (as net_tap refuses an oversized TSO frame and stops
 * its burst there) holds the backlog LCORE_TX_HEAD_MS at most: then it alone is
 * dropped, and what follows goes on in order. */
Test(lcore_tx, an_oldest_packet_the_port_never_takes_is_dropped_alone)
{
    uint32_t seq = 0, want = 0;
    unsigned room;

    attach_backlog();
    room = fill_port(&seq);
    lc.now_ms = 500;
    for (unsigned i = 0; i < 5; i++)
        lcore_tx(&lc, numbered(seq++));
    lcore_tx_flush(&lc, 0);
    cr_assert_eq(lc.tx_backlog, 5);
    lc.now_ms = 500 + LCORE_TX_HEAD_MS;
    cr_assert_eq(lcore_tx_flush(&lc, 0), 0);
    cr_assert_eq(lc.tx_backlog, 4, "the oldest dropped alone");
    cr_assert_eq(lstats.drops[DROP_TX_FULL], 1);
    cr_assert_eq(drain_port(&want), room);
    want++;                             /* the one dropped */
    cr_assert_eq(lcore_tx_flush(&lc, 0), 4);
    cr_assert_eq(drain_port(&want), 4, "the others, in order");
    cr_assert_eq(want, seq);
}

/* Without a backlog (lcore_ctx.txq NULL), what the queue does not take is dropped. */
Test(lcore_tx, without_a_backlog_a_full_queue_drops)
{
    uint32_t seq = 0;

    big_pool();
    fill_port(&seq);
    for (unsigned i = 0; i < 40; i++)
        lcore_tx(&lc, numbered(seq++));
    rte_eth_tx_buffer_flush(0, 0, lc.txb[0]);
    cr_assert_eq(lstats.drops[DROP_TX_FULL], 40);
    cr_assert_eq(lc.tx_backlog, 0);
}
