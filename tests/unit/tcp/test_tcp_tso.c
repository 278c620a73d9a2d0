/*
 * test_tcp_tso: the stack's TSO frames (conf.tso_max). The harness's transmit hook is
 * wrapped by a "device" that checks each TSO frame for what a port needs (the flags,
 * tso_segsz = the connection's MSS less its options, l3/l4 lengths, the IPv4
 * checksum left to it, the pseudo-header sum without the length in the TCP field)
 * and cuts it into segments as the hardware would, so that everything the harness
 * checks of ordinary segments holds for each of them. Without conf.tso_max the stack
 * sends MSS-sized segments; with it, one frame per window's worth of new data, bounded
 * by the port's segment limit; a lost piece is sent again as one MSS.
 */
#include "tcp/tcp_sack.h"
#include "tcp/tcp_tcb.h"

#include "tcp_harness.h"

TestSuite(tcp_tso, .init = h_setup, .fini = h_teardown);

#define ISS 1000000u

static struct {
    unsigned frames;            /* TSO frames the device was given */
    unsigned plain;             /* ordinary segments */
    uint32_t len[64];           /* payload bytes of each frame */
    uint16_t segsz[64];         /* and its tso_segsz */
    uint16_t nb_segs[64];       /* and its mbuf segments */
} D;

static void dev_tx(void *arg, struct rte_mbuf *m, uint32_t dst_ip)
{
    struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
    struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
    uint32_t hl, plen, seq;
    uint16_t id;
    uint8_t flags;

    if (!(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG)) {
        D.plain++;
        h_tx(arg, m, dst_ip);
        return;
    }
    hl = 20u + (uint32_t)(th->data_off >> 4) * 4;
    plen = m->pkt_len - hl;
    cr_assert_lt(D.frames, 64);
    D.len[D.frames] = plen;
    D.segsz[D.frames] = m->tso_segsz;
    D.nb_segs[D.frames++] = m->nb_segs;
    cr_assert(m->ol_flags & RTE_MBUF_F_TX_IPV4);
    cr_assert(m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM, "the IPv4 checksum left to the port");
    cr_assert_eq(m->ol_flags & RTE_MBUF_F_TX_L4_MASK, RTE_MBUF_F_TX_TCP_CKSUM);
    cr_assert_eq(m->l3_len, 20);
    cr_assert_eq(m->l4_len, hl - 20);
    cr_assert_eq(ip->hdr_checksum, 0);
    cr_assert_gt(plen, m->tso_segsz, "a TSO frame carries more than one segment");
    cr_assert_eq(th->cksum, rte_ipv4_phdr_cksum(ip, RTE_MBUF_F_TX_TCP_SEG),
                 "the pseudo-header sum without the length");
    cr_assert_leq(m->pkt_len, 65535);
    seq = rte_be_to_cpu_32(th->sent_seq);
    id = rte_be_to_cpu_16(ip->packet_id);
    flags = th->tcp_flags;
    /* Cut as a device does: the header repeated, ids and sequence numbers counting up,
     * FIN and PSH on the last segment only, each checksum final. */
    for (uint32_t off = 0, i = 0; off < plen; off += m->tso_segsz, i++) {
        uint32_t n = RTE_MIN((uint32_t)m->tso_segsz, plen - off);
        struct rte_mbuf *s = rte_pktmbuf_alloc(H.pool);
        uint8_t *p;
        struct rte_ipv4_hdr *sip;
        struct rte_tcp_hdr *sth;

        cr_assert_not_null(s);
        p = (uint8_t *)rte_pktmbuf_append(s, (uint16_t)(hl + n));
        cr_assert_not_null(p);
        memcpy(p, ip, hl);
        const void *src = rte_pktmbuf_read(m, hl + off, n, p + hl);
        cr_assert_not_null(src);
        if (src != p + hl)
            memcpy(p + hl, src, n);
        sip = (struct rte_ipv4_hdr *)p;
        sth = (struct rte_tcp_hdr *)(sip + 1);
        sip->total_length = rte_cpu_to_be_16((uint16_t)(hl + n));
        sip->packet_id = rte_cpu_to_be_16((uint16_t)(id + i));
        sip->hdr_checksum = 0;
        sip->hdr_checksum = rte_ipv4_cksum(sip);
        sth->sent_seq = rte_cpu_to_be_32(seq + off);
        if (off + n < plen)
            sth->tcp_flags = flags & (uint8_t)~(TCP_FIN | TCP_PSH);
        sth->cksum = 0;
        sth->cksum = rte_ipv4_udptcp_cksum(sip, sth);
        h_tx(arg, s, dst_ip);
    }
    rte_pktmbuf_free(m);
}

static struct tcp_conn *h_accept_quiet(int ws, uint16_t wnd)
{
    struct tcp_conn *c = h_accept(ws, wnd);
    h_skip_out();
    return c;
}

/* The stack as the dataplane sets it up for a port with TSO: checksums deferred, frames
 * up to TCP_TSO_MAX, max_segs mbuf segments a frame (0: no limit). */
static struct tcp_conn *tso_start(uint32_t tso_max, uint16_t max_segs)
{
    memset(&D, 0, sizeof(D));
    H.conf.tx = dev_tx;
    H.conf.tx_csum_defer = true;
    H.conf.tso_max = tso_max;
    H.conf.tso_max_segs = max_segs;
    H.conf.sndbuf = 1u << 20;
    h_start();
    return h_accept_quiet(7, 65535);
}

/* The segments not yet looked at: consecutive from seq, MSS-sized (the last may be
 * shorter), with the payload the test queued. Returns the bytes they carry. */
static uint32_t check_run(uint32_t seq, uint32_t mss)
{
    uint32_t bytes = 0;
    struct h_out *o;

    while ((o = h_next()) != NULL) {
        cr_assert_eq(o->seq, seq + bytes, "consecutive");
        cr_assert_leq(o->len, mss);
        for (uint32_t i = 0; i < o->len; i++) {
            uint8_t want;
            h_pattern(&want, 1, seq + bytes - (ISS + 1) + i);
            cr_assert_eq(o->data[i], want, "byte %u of the stream", seq + bytes - ISS - 1 + i);
        }
        bytes += o->len;
    }
    return bytes;
}

Test(tcp_tso, a_port_without_tso_gets_mss_sized_segments)
{
    struct tcp_conn *c = tso_start(0, 0);

    cr_assert_eq(tcp_send(c, h_payload(20 * 1460, 0, 1460)), 0);
    cr_assert_eq(h_pending_out(), 10, "cwnd-limited: ten segments");
    cr_assert_eq(check_run(ISS + 1, 1460), 10 * 1460);
    cr_assert_eq(D.frames, 0, "no TSO frame");
    cr_assert_eq(D.plain, 10 + 1, "ten and the SYN-ACK");
    cr_assert_eq(H.st->stats.tso_frames, 0);
}

Test(tcp_tso, a_port_with_tso_gets_one_frame_of_the_window)
{
    struct tcp_conn *c = tso_start(TCP_TSO_MAX, 0);
    uint64_t segs = H.st->stats.segs_out;

    cr_assert_eq(tcp_send(c, h_payload(20 * 1460, 0, 1460)), 0);
    cr_assert_eq(D.frames, 1, "one frame: %u", D.frames);
    cr_assert_eq(D.len[0], 10 * 1460, "the initial window, ten segments");
    cr_assert_eq(D.segsz[0], 1460, "tso_segsz: the MSS");
    cr_assert_eq(h_pending_out(), 10);
    cr_assert_eq(check_run(ISS + 1, 1460), 10 * 1460);
    cr_assert_eq(H.st->stats.tso_frames, 1);
    cr_assert_eq(H.st->stats.tso_bytes, 10 * 1460);
    cr_assert_eq(H.st->stats.segs_out - segs, 10, "segs_out counts what goes on the wire");
    /* All acknowledged: cwnd doubles, the rest (ten segments) goes as one frame. */
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1 + 10 * 1460, .flags = TCP_ACK,
                         .wnd = 65535});
    cr_assert_eq(D.frames, 2);
    cr_assert_eq(D.len[1], 10 * 1460);
    cr_assert_eq(check_run(ISS + 1 + 10 * 1460, 1460), 10 * 1460);
}

Test(tcp_tso, the_segment_size_is_the_mss_less_the_options_and_the_tail_may_be_short)
{
    struct tcp_conn *c;

    H.peer_ts = 1;
    H.peer_tsval = 100;
    c = tso_start(TCP_TSO_MAX, 0);
    cr_assert(c->flags & TCPF_TS);
    /* 5,000 bytes: 1448 x 3 and a short tail of 656, one frame, PSH on the last. */
    cr_assert_eq(tcp_send(c, h_payload(5000, 0, 1000)), 0);
    cr_assert_eq(D.frames, 1);
    cr_assert_eq(D.segsz[0], 1460 - 12, "the Timestamps option comes out of each segment");
    cr_assert_eq(D.len[0], 5000);
    cr_assert_eq(h_pending_out(), 4);
    struct h_out *o0 = &H.out[H.seen];
    for (unsigned i = 0; i < 4; i++) {
        struct h_out *o = &H.out[H.seen + i];
        cr_assert(o->ts, "every segment carries the Timestamps option");
        cr_assert_eq(o->tsval, o0->tsval, "the same TSval");
        cr_assert_eq(o->flags, i == 3 ? (TCP_ACK | TCP_PSH) : TCP_ACK);
    }
    cr_assert_eq(check_run(ISS + 1, 1448), 5000);
}

Test(tcp_tso, a_frame_holds_no_more_mbuf_segments_than_the_port_takes)
{
    /* Four segments a packet: the header mbuf and three payload fragments. Queued in
     * pieces of 1,000 bytes, a frame carries 3,000, not whole MSS multiples of more. */
    struct tcp_conn *c = tso_start(TCP_TSO_MAX, 4);

    cr_assert_eq(tcp_send(c, h_payload(6000, 0, 1000)), 0);
    cr_assert_geq(D.frames, 1);
    for (unsigned i = 0; i < D.frames; i++)
        cr_assert_leq(D.nb_segs[i], 4, "frame %u: %u mbufs", i, D.nb_segs[i]);
    cr_assert_eq(D.len[0], 2 * 1460, "the most whole segments 3 fragments hold");
    cr_assert_eq(check_run(ISS + 1, 1460), 6000, "everything, in order");
}

Test(tcp_tso, a_lost_piece_of_a_frame_is_sent_again_as_one_mss)
{
    struct tcp_conn *c = tso_start(TCP_TSO_MAX, 0);
    uint32_t una = ISS + 1;
    struct h_out *o;

    cr_assert_eq(tcp_send(c, h_payload(10 * 1460, 0, 1460)), 0);
    cr_assert_eq(D.frames, 1);
    h_skip_out();
    /* The first three pieces arrive; the fourth is lost: the retransmission timer
     * sends one MSS from snd_una, not the frame again. */
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = una + 3 * 1460, .flags = TCP_ACK,
                         .wnd = 65535});
    h_skip_out();
    unsigned frames = D.frames;
    h_wait_out(10000);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->seq, una + 3 * 1460, "from the first byte not acknowledged");
    cr_assert_eq(o->len, 1460, "one MSS");
    cr_assert_eq(D.frames, frames, "no TSO frame for a retransmission");
    cr_assert_eq(h_pending_out(), 0);
    cr_assert_eq(c->snd_max, una + 10 * 1460);
    /* Acknowledged: what follows is sent again (go-back-N below snd_max) in MSS
     * pieces, still no frame. */
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = una + 4 * 1460, .flags = TCP_ACK,
                         .wnd = 65535});
    cr_assert_geq(h_pending_out(), 1);
    cr_assert_eq(check_run(una + 4 * 1460, 1460) % 1460, 0);
    cr_assert_eq(D.frames, frames);
}

/* A port that counts its Ethernet header against the IP MTU (net_tap: the dataplane
 * sets tso_seg_trim 14): frames of whole 1,446-byte segments, cut at that size. */
Test(tcp_tso, a_trimmed_port_gets_segments_below_the_mss)
{
    struct tcp_conn *c;

    H.conf.tso_seg_trim = 14;
    c = tso_start(TCP_TSO_MAX, 0);
    cr_assert_eq(tcp_send(c, h_payload(20 * 1460, 0, 1460)), 0);
    cr_assert_geq(D.frames, 1);
    cr_assert_eq(D.segsz[0], 1460 - 14, "tso_segsz: the MSS less the trim");
    cr_assert_eq(D.len[0] % (1460 - 14), 0, "whole segments of that size: %u", D.len[0]);
    cr_assert_eq(check_run(ISS + 1, 1460 - 14) % (1460 - 14), 0);
}

/* RACK keeps a transmit record per segment on the wire, not per frame, so that a lost
 * piece of a frame is marked lost (and repaired) alone. */
Test(tcp_tso, a_frame_takes_a_transmit_record_per_segment)
{
    struct tcp_conn *c;

    H.peer_sack = 1;
    c = tso_start(TCP_TSO_MAX, 0);
    cr_assert(c->flags & TCPF_SACK);
    cr_assert_eq(tcp_send(c, h_payload(10 * 1460, 0, 1460)), 0);
    cr_assert_eq(D.frames, 1);
    cr_assert_not_null(c->rack.q);
    cr_assert_eq(c->rack.q->n, 10, "ten records for a frame of ten segments: %u",
                 c->rack.q->n);
    for (unsigned i = 0; i < 10; i++) {
        const struct tcp_rack_seg *s = &c->rack.q->s[c->rack.q->head + i];
        cr_assert_eq(s->end - s->start, 1460, "record %u: one segment", i);
    }
}
