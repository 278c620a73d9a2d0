/*
 * tcp_output: segments out. See tcp_output.h. Hot path: one header mbuf per
 * segment and one indirect mbuf per payload fragment, all from the worker's pool;
 * an empty pool is counted (hdr_alloc_fail) and the retransmission timer recovers.
 */
#define ALLOW_EXPERIMENTAL_API 1
#include "tcp/tcp_output.h"

#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "base/csum.h"
#include "net/tcp_opt.h"
#include "tcp/tcp_cc.h"
#include "tcp/tcp_rack.h"
#include "tcp/tcp_sack.h"
#include "tcp/tcp_tcb.h"
#include "tcp/tcp_timer.h"
#include "tcp/tcp_txwait.h"

#define TCP_HDR_LEN 20
#define IP_HDR_LEN 20

/*
 * Builds and transmits one segment; payload (may be NULL) is consumed. tso_segsz not
 * 0 and a payload longer than it (conf.tso_max, conf.tx_csum_defer): one TSO frame,
 * cut by the port (or lcore_tx) into segments of tso_segsz bytes that repeat this
 * header, options included; the IPv4 checksum and the TCP one (seeded with the
 * pseudo-header sum without the length) are left to it, and every segment takes an
 * IPv4 id of its own.
 */
static void tcp_output_emit(struct tcp_stack *st, const struct tcp_key *k, uint32_t seq,
                            uint32_t ack, uint8_t flags, uint16_t wnd, const uint8_t *opt,
                            unsigned optlen, struct rte_mbuf *payload, uint16_t tso_segsz)
{
    uint32_t plen = payload != NULL ? payload->pkt_len : 0, nseg = 1;
    struct rte_mbuf *h = rte_pktmbuf_alloc(st->conf.pool);
    struct rte_ipv4_hdr *ip;
    struct rte_tcp_hdr *th;
    uint8_t *p;

    if (h == NULL) {
        st->stats.hdr_alloc_fail++;
        tcp_tcb_alloc_failed(st);
        rte_pktmbuf_free(payload);
        return;
    }
    p = (uint8_t *)rte_pktmbuf_append(h, (uint16_t)(IP_HDR_LEN + TCP_HDR_LEN + optlen));
    ip = (struct rte_ipv4_hdr *)p;
    th = (struct rte_tcp_hdr *)(p + IP_HDR_LEN);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->type_of_service = 0;
    ip->packet_id = rte_cpu_to_be_16(st->ip_id++);
    ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_TCP;
    ip->hdr_checksum = 0;
    ip->src_addr = k->laddr;
    ip->dst_addr = k->raddr;
    th->src_port = rte_cpu_to_be_16(k->lport);
    th->dst_port = rte_cpu_to_be_16(k->rport);
    th->sent_seq = rte_cpu_to_be_32(seq);
    th->recv_ack = rte_cpu_to_be_32((flags & TCP_ACK) ? ack : 0);
    th->data_off = (uint8_t)(((TCP_HDR_LEN + optlen) / 4) << 4);
    th->tcp_flags = flags;
    th->rx_win = rte_cpu_to_be_16(wnd);
    th->cksum = 0;
    th->tcp_urp = 0;
    if (optlen != 0)
        memcpy(th + 1, opt, optlen);
    if (payload != NULL && rte_pktmbuf_chain(h, payload) != 0) {
        st->stats.hdr_alloc_fail++;
        rte_pktmbuf_free(payload);
        rte_pktmbuf_free(h);
        return;
    }
    ip->total_length = rte_cpu_to_be_16((uint16_t)h->pkt_len);
    if (tso_segsz != 0 && plen > tso_segsz) {
        nseg = (plen + tso_segsz - 1) / tso_segsz;
        h->l3_len = IP_HDR_LEN;
        h->l4_len = (uint64_t)(TCP_HDR_LEN + optlen);
        h->tso_segsz = tso_segsz;
        h->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_SEG |
                       RTE_MBUF_F_TX_TCP_CKSUM;
        th->cksum = rte_ipv4_phdr_cksum(ip, h->ol_flags);  /* TCP_SEG: without the length */
        st->ip_id = (uint16_t)(st->ip_id + nseg - 1);      /* the ids the segments take */
        st->stats.tso_frames++;
        st->stats.tso_bytes += plen;
    } else if (st->conf.tx_csum_defer) {
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        /* The port computes it, or lcore_tx in software (base/lcore_ctx.h). */
        h->l3_len = IP_HDR_LEN;
        h->l4_len = (uint64_t)(TCP_HDR_LEN + optlen);
        h->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
        th->cksum = rte_ipv4_phdr_cksum(ip, h->ol_flags);
    } else {
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        th->cksum = csum_ipv4_l4_mbuf(h, ip, IP_HDR_LEN);  /* the payload may be split oddly */
    }
    st->stats.segs_out += nseg;
    if (flags & TCP_RST)
        st->stats.rst_sent++;
    st->conf.tx(st->conf.tx_arg, h, k->raddr);
}

uint32_t tcp_output_rcv_space(const struct tcp_conn *c)
{
    const struct tcp_stack *st = c->st;
    uint32_t space, max = (uint32_t)65535 << c->rcv_wscale;

    if (c->flags & TCPF_DETACHED)
        space = c->rcvbuf;
    else if (!tcp_tcb_buf_room(st, 1))
        space = 0;
    else
        space = c->rcvq.bytes < c->rcvbuf ? c->rcvbuf - c->rcvq.bytes : 0;
    return space < max ? space : max;
}

uint16_t tcp_output_window(struct tcp_conn *c)
{
    uint32_t wnd = tcp_output_rcv_space(c), cur = 0, field, s = c->rcv_wscale;
    uint32_t sws = c->rcvbuf / 2 < c->st->conf.mss ? c->rcvbuf / 2 : c->st->conf.mss;

    if (SEQ_GT(c->rcv_adv, c->rcv_nxt))
        cur = c->rcv_adv - c->rcv_nxt;
    if (wnd < cur)
        wnd = cur;                      /* never shrink the window (RFC 9293 3.8.6) */
    else if (wnd - cur < sws)
        wnd = cur;                      /* receiver silly-window avoidance */
    field = wnd >> s;
    if ((field << s) < cur)
        field++;
    if (field > 65535)
        field = 65535;
    if (SEQ_GT(c->rcv_nxt + (field << s), c->rcv_adv))
        c->rcv_adv = c->rcv_nxt + (field << s);
    return (uint16_t)field;
}

/* Option bytes of the SACK option for n blocks (two NOPs, kind, length, blocks). */
static inline unsigned tcp_output_sack_optlen(unsigned n)
{
    return n == 0 ? 0 : 4 + 8 * n;
}

/* The SACK blocks that fit beside c's other options: 3 beside the Timestamps option
 * (12 + 4 + 3 x 8 = 40 bytes, as Linux), else 4. */
static inline unsigned tcp_output_sack_max(const struct tcp_conn *c)
{
    return (c->flags & TCPF_TS) ? TCP_SACK_BLOCKS_TS : TCP_SACK_BLOCKS;
}

/* Writes c's SACK option (NOP, NOP, kind 5) to opt; returns its length (0: none). */
static unsigned tcp_output_sack_opt(struct tcp_conn *c, uint8_t *opt)
{
    struct tcp_sack_range blk[TCP_SACK_BLOCKS];
    unsigned n = tcp_sack_blocks(c, blk, tcp_output_sack_max(c)), k = 0;

    if (n == 0)
        return 0;
    opt[k++] = 1;
    opt[k++] = 1;
    opt[k++] = 5;
    opt[k++] = (uint8_t)(2 + 8 * n);
    for (unsigned i = 0; i < n; i++) {
        uint32_t s = rte_cpu_to_be_32(blk[i].start), e = rte_cpu_to_be_32(blk[i].end);
        memcpy(opt + k, &s, 4);
        memcpy(opt + k + 4, &e, 4);
        k += 8;
    }
    c->st->stats.sack_blocks_sent += n;
    return k;
}

uint32_t tcp_output_tsval(const struct tcp_conn *c)
{
    return (uint32_t)tcp_now(c->st) + c->ts_offset;
}

uint32_t tcp_output_smss(const struct tcp_conn *c)
{
    struct tcp_sack_range blk[TCP_SACK_BLOCKS];
    uint32_t opt = (c->flags & TCPF_TS) ? TCP_TS_OPTLEN : 0;

    if (c->ooo != NULL && (c->flags & TCPF_SACK))
        opt += tcp_output_sack_optlen(tcp_sack_blocks(c, blk, tcp_output_sack_max(c)));
    return c->mss > opt + 8 ? c->mss - opt : 8;
}

/* A segment of c at seq with len bytes from the send queue (offset seq - snd_una):
 * options NOP, NOP, Timestamps first when c uses them (RFC 7323 appendix A, as
 * Linux lays them out), then SACK blocks while c holds out-of-order data. The ACK it
 * carries becomes Last.ACK.sent (RFC 7323 section 4.3). tso_segsz not 0: a TSO frame
 * of len bytes in segments of that many (tcp_output_emit); every one of them carries
 * the same options, TSval included. */
static void tcp_output_seg_tso(struct tcp_conn *c, uint32_t seq, uint32_t len, uint8_t flags,
                               uint16_t tso_segsz)
{
    struct tcp_stack *st = c->st;
    struct rte_mbuf *payload = NULL;
    uint8_t opt[40];
    unsigned optlen = 0;

    if (len != 0) {
        payload = mbufq_clone(&c->sndq, seq - c->snd_una, len, st->conf.pool);
        if (payload == NULL) {
            st->stats.hdr_alloc_fail++;
            tcp_tcb_alloc_failed(st);
            return;
        }
    }
    tcp_timer_delack_stop(c);
    c->flags &= ~TCPF_ACKNOW;
    if (c->flags & TCPF_TS) {
        optlen = tcp_opt_put_nop_ts(opt, tcp_output_tsval(c), c->ts_recent);
    }
    if (c->ooo != NULL && (c->flags & TCPF_SACK))
        optlen += tcp_output_sack_opt(c, opt + optlen);
    c->last_ack_sent = c->rcv_nxt;
    if (c->flags & TCPF_RECOVERY)
        c->prr_out += len;              /* PRR (RFC 6937): sent during recovery */
    /* A record per segment on the wire, as without TSO: RACK marks lost, and the
     * scoreboard repairs, MSS pieces of a frame. */
    for (uint32_t off = 0, step = tso_segsz != 0 ? tso_segsz : len; off < len; off += step)
        tcp_rack_sent(c, seq + off, len - off < step ? len - off : step, SEQ_LT(seq, c->snd_max));
    tcp_output_emit(st, &c->key, seq, c->rcv_nxt, flags, tcp_output_window(c), opt, optlen,
                    payload, tso_segsz);
}

static void tcp_output_seg(struct tcp_conn *c, uint32_t seq, uint32_t len, uint8_t flags)
{
    tcp_output_seg_tso(c, seq, len, flags, 0);
}

/*
 * The payload bytes one TSO frame of c may carry from offset off of the send queue,
 * smss or more: conf.tso_max, and no more than the port's segment limit lets one
 * chain (its header mbuf and one indirect mbuf per queued segment it covers) hold.
 * smss when that limit leaves less: one ordinary segment, as without TSO.
 */
static uint32_t tcp_output_tso_len(struct tcp_conn *c, uint32_t off, uint32_t smss)
{
    const struct tcp_stack_conf *conf = &c->st->conf;
    uint32_t max = conf->tso_max;

    if (conf->tso_max_segs > 1)
        max = mbufq_span(&c->sndq, off, max, conf->tso_max_segs - 1u);
    else if (conf->tso_max_segs == 1)
        max = 0;
    return max > smss ? max : smss;
}

/* FIN state: true when our FIN is (or is to be) the byte after the send queue. */
static inline bool tcp_output_fin_wanted(const struct tcp_conn *c)
{
    return (c->flags & TCPF_FIN_QUEUED) && c->state != TCP_FIN_WAIT_2 &&
           c->state != TCP_TIME_WAIT && c->state != TCP_CLOSED;
}

/*
 * Sends one segment at snd_nxt: at most smss bytes of the send queue within usable
 * bytes beyond snd_nxt (sender silly-window avoidance), the FIN after the data.
 * During a go-back-N retransmission (snd_nxt < snd_max) SACKed data is skipped.
 * tso (and the stack's conf.tso_max): new data (snd_nxt == snd_max) may go as one TSO
 * frame of whole smss pieces (the last may be short where the queue ends there);
 * what is sent again always goes in smss pieces, so the scoreboard, SACK holes and
 * retransmissions stay in MSS units whatever was sent as one frame.
 * Returns the sequence space sent (0: nothing to send).
 */
static uint32_t tcp_output_one(struct tcp_conn *c, uint32_t usable, uint32_t smss, bool force,
                               bool tso)
{
    struct tcp_stack *st = c->st;
    uint32_t off, avail, len, fin_seq = c->snd_una + c->sndq.bytes;
    uint32_t limit = 0, tseg = smss;
    bool fin, rexmt, capped = false;
    uint8_t flags = TCP_ACK;

    if (c->sack_n > 0 && SEQ_LT(c->snd_nxt, c->snd_max)) {
        uint32_t to = tcp_sack_skip(c, c->snd_nxt, &limit);
        if (to != c->snd_nxt) {
            uint32_t skip = to - c->snd_nxt;
            c->snd_nxt = to;
            usable = usable > skip ? usable - skip : 0;
        }
        capped = SEQ_LT(c->snd_nxt, c->snd_max);
    }
    off = c->snd_nxt - c->snd_una;
    if (off > c->sndq.bytes)
        return 0;                       /* only the FIN is beyond: already sent */
    avail = c->sndq.bytes - off;
    len = avail < usable ? avail : usable;
    if (tso && st->conf.tso_max > smss && c->snd_nxt == c->snd_max && len > smss) {
        uint32_t max = tcp_output_tso_len(c, off, smss);
        if (smss > st->conf.tso_seg_trim)
            tseg = smss - st->conf.tso_seg_trim;    /* the port's quirk (port.h) */
        if (len > max)
            len = max;
        if (len < avail)
            len -= len % tseg;          /* whole segments; the rest goes later */
    } else if (len > smss) {
        len = smss;
    }
    if (capped && len > limit - c->snd_nxt)
        len = limit - c->snd_nxt;       /* stop at the next SACKed range */
    fin = tcp_output_fin_wanted(c) && c->snd_nxt + len == fin_seq;
    if (len == 0 && !fin)
        return 0;
    if (len < avail && len < smss && !capped && !force &&
        !(off == 0 && SEQ_LT(c->snd_nxt, c->snd_max))) {
        /* Sender silly-window avoidance (RFC 9293 3.8.6.2.1). Not for the first
         * unacknowledged byte sent again (else an RTO against a small window would
         * retransmit nothing), nor for the persist timer's override (force: what
         * fits goes, as RFC 9293's override timeout and Linux's tcp_write_wakeup). */
        if (off > 0 || len < c->max_sndwnd / 2)
            return 0;
    }
    if ((c->flags & TCPF_MORE) && len < smss && len == avail && !fin && !force &&
        c->snd_nxt == c->snd_max) {
        /* The user has more at once (tcp_set_more): the tail waits to be filled. */
        st->stats.more_held++;
        return 0;
    }
    rexmt = SEQ_LT(c->snd_nxt, c->snd_max);
    if (fin)
        flags |= TCP_FIN;
    if (len != 0 && len == avail)
        flags |= TCP_PSH;
    tcp_output_seg_tso(c, c->snd_nxt, len, flags, len > smss ? (uint16_t)tseg : 0);
    if (rexmt) {
        st->stats.segs_retrans++;
        st->stats.bytes_retrans += len;
    } else {
        st->stats.bytes_out += len;
        if (len != 0 && !(c->flags & TCPF_RTT)) {
            c->flags |= TCPF_RTT;
            c->rtt_seq = c->snd_nxt;
            c->rtt_start = tcp_now(st);
        }
    }
    c->snd_nxt += len + (fin ? 1 : 0);
    if (fin)
        c->flags |= TCPF_FIN_SENT;
    if (SEQ_GT(c->snd_nxt, c->snd_max))
        c->snd_max = c->snd_nxt;
    return len + (fin ? 1 : 0);
}

/*
 * RFC 6675 section 5 step (C): while cwnd - pipe >= 1 SMSS, send what NextSeg picks:
 * (0) a segment RACK marked lost (RFC 8985: by time, retransmissions included),
 * (1) a lost hole above HighRxt, (2) new data, (3) any hole above HighRxt below the
 * highest SACKed byte; (1) and (3) not where RACK decides (tcp_rack_decides: it saw
 * reordering and holds the hole's record). Returns true when something was sent.
 */
static bool tcp_output_sack_recovery(struct tcp_conn *c, uint32_t smss)
{
    uint32_t pipe = tcp_rack_pipe(c);
    bool sent = false;

    while (pipe + smss <= c->cwnd) {
        uint32_t seq, len, off = c->snd_nxt - c->snd_una;

        if (tcp_txwait_hold(c))
            break;                      /* the rest when the ports took the backlog */
        uint32_t usable = c->cwnd - pipe;
        uint32_t wnd = c->snd_wnd > off ? c->snd_wnd - off : 0;

        if (tcp_rack_next_lost(c, smss, &seq, &len) ||
            (tcp_sack_next_hole(c, true, smss, &seq, &len) && !tcp_rack_decides(c, seq))) {
            tcp_output_rexmt(c, seq, len);
            c->st->stats.sack_rexmits++;
            pipe += len;
            sent = true;
            continue;
        }
        len = tcp_output_one(c, wnd < usable ? wnd : usable, smss, false, false);
        if (len != 0) {
            pipe += len;
            sent = true;
            continue;
        }
        if (tcp_sack_next_hole(c, false, smss, &seq, &len) && !tcp_rack_decides(c, seq)) {
            tcp_output_rexmt(c, seq, len);
            c->st->stats.sack_rexmits++;
            pipe += len;
            sent = true;
            continue;
        }
        break;
    }
    return sent;
}

/*
 * After an RTO (go-back-N from snd_una, no recovery until it reaches recover): a
 * retransmission RACK marked lost (sent again, then lost again) lies below snd_nxt,
 * where go-back-N never returns; without this it waited for the next RTO, backed off.
 * It goes again first, as Linux's loss state retransmits what is marked lost, within
 * cwnd of what is in flight (snd_nxt - snd_una less what RACK says is gone). Returns
 * true when something was sent.
 */
static bool tcp_output_loss_rexmt(struct tcp_conn *c, uint32_t smss)
{
    bool sent = false;
    uint32_t seq, len;

    while (tcp_rack_next_lost(c, smss, &seq, &len) && SEQ_LT(seq, c->snd_nxt)) {
        uint32_t off = c->snd_nxt - c->snd_una, lost = tcp_rack_lost_below(c, c->snd_nxt);
        uint32_t flight = off > lost ? off - lost : 0;

        if (tcp_txwait_hold(c))
            break;
        if (flight + len > c->cwnd)
            break;
        if (SEQ_GT(seq + len, c->snd_nxt))
            len = c->snd_nxt - seq;
        tcp_output_rexmt(c, seq, len);
        c->st->stats.rto_lost_rexmits++;
        sent = true;
    }
    return sent;
}

uint32_t tcp_output_probe_new(struct tcp_conn *c, uint32_t smss)
{
    return tcp_output_one(c, smss, smss, false, false);
}

uint32_t tcp_output_window_probe(struct tcp_conn *c)
{
    uint32_t off = c->snd_nxt - c->snd_una;
    uint32_t wnd = c->snd_wnd > off ? c->snd_wnd - off : 0;
    uint32_t n;

    if (wnd == 0)
        return 0;
    n = tcp_output_one(c, wnd, tcp_output_smss(c), true, false);
    if (n != 0)
        tcp_timer_rexmt_arm(c);
    return n;
}

void tcp_output(struct tcp_conn *c)
{
    bool sent = false;

    if (c->flags & TCPF_DEAD)
        return;
    if (c->state == TCP_SYN_RECEIVED) {
        if (c->flags & TCPF_ACKNOW) {
            c->flags &= ~TCPF_ACKNOW;
            tcp_output_syn(c);
        }
        return;
    }
    if (c->state < TCP_SYN_RECEIVED)
        return;
    if (c->state != TCP_TIME_WAIT) {
        uint32_t smss = tcp_output_smss(c);
        if (c->flags & TCPF_SACK_RECOVERY) {
            sent = tcp_output_sack_recovery(c, smss);
        } else {
            if (SEQ_LT(c->snd_una, c->recover) && !(c->flags & TCPF_RECOVERY))
                sent = tcp_output_loss_rexmt(c, smss);
            for (;;) {
                uint32_t off = c->snd_nxt - c->snd_una;
                uint32_t wnd = c->snd_wnd < c->cwnd ? c->snd_wnd : c->cwnd;
                uint32_t n;

                /* The ports have a backlog: new data waits for it to go
                 * (tcp_txwait.h), as the queue would drop it. */
                if (tcp_output_unsent(c) != 0 && tcp_txwait_hold(c))
                    break;
                n = tcp_output_one(c, wnd > off ? wnd - off : 0, smss, false, true);
                if (n == 0)
                    break;
                sent = true;
            }
        }
    }
    if (sent) {
        /* A loss probe is timed from the last segment sent (RFC 8985 section 7.2). */
        if (!twheel_pending(&c->t_rexmt) || (c->flags & (TCPF_PERSIST | TCPF_PTO)))
            tcp_timer_rexmt_arm(c);
    } else if (c->flags & TCPF_ACKNOW) {
        tcp_output_ack(c);
    }
    if (c->snd_una == c->snd_max && c->sndq.bytes > 0 && c->state != TCP_TIME_WAIT &&
        !(c->flags & TCPF_TXWAIT) && !twheel_pending(&c->t_rexmt))
        tcp_timer_persist_arm(c);
}

void tcp_output_syn(struct tcp_conn *c)
{
    uint8_t opt[24];
    unsigned n = 0;
    uint32_t space = tcp_output_rcv_space(c);
    uint16_t wnd = space > 65535 ? 65535 : (uint16_t)space;
    uint8_t flags = TCP_SYN;
    bool active = c->state == TCP_SYN_SENT;
    bool sack = active || (c->flags & TCPF_SACK);
    bool ts = active ? c->st->conf.timestamps : (c->flags & TCPF_TS) != 0;

    opt[n++] = 2;
    opt[n++] = 4;
    opt[n++] = (uint8_t)(c->st->conf.mss >> 8);
    opt[n++] = (uint8_t)c->st->conf.mss;
    if (ts) {
        /* Linux's layout: MSS, SACK-permitted and Timestamps (or NOP, NOP and
         * Timestamps), NOP and window scale: 20 bytes. TSecr is TS.Recent in a
         * SYN-ACK, 0 in a SYN (RFC 7323 section 3.2). */
        if (sack) {
            opt[n++] = 4;
            opt[n++] = 2;
        } else {
            opt[n++] = 1;
            opt[n++] = 1;
        }
        tcp_opt_put_ts(opt + n, tcp_output_tsval(c), active ? 0 : c->ts_recent);
        n += TCP_OPT_TS_LEN;
        sack = false;
    }
    if (active || (c->flags & TCPF_WSCALE)) {
        opt[n++] = 1;
        opt[n++] = 3;
        opt[n++] = 3;
        opt[n++] = c->rcv_wscale;
    }
    if (sack) {
        opt[n++] = 1;                   /* SACK-permitted (RFC 2018 section 2) */
        opt[n++] = 1;
        opt[n++] = 4;
        opt[n++] = 2;
    }
    if (c->state == TCP_SYN_RECEIVED) {
        flags |= TCP_ACK;
        c->rcv_adv = c->rcv_nxt + wnd;
        c->last_ack_sent = c->rcv_nxt;
    }
    c->flags &= ~TCPF_ACKNOW;
    tcp_output_emit(c->st, &c->key, c->iss, c->rcv_nxt, flags, wnd, opt, n, NULL, 0);
    if (SEQ_LT(c->snd_nxt, c->iss + 1))
        c->snd_nxt = c->iss + 1;
    if (SEQ_LT(c->snd_max, c->snd_nxt))
        c->snd_max = c->snd_nxt;
}

/* [seq, seq + len) again, with flags (a FIN after it: flags has TCP_FIN). */
static void tcp_output_rexmt_flags(struct tcp_conn *c, uint32_t seq, uint32_t len,
                                   uint8_t flags)
{
    struct tcp_stack *st = c->st;

    c->flags &= ~TCPF_RTT;          /* Karn: no sample across a retransmission */
    st->stats.segs_retrans++;
    st->stats.bytes_retrans += len;
    tcp_output_seg(c, seq, len, flags);
    if (SEQ_GT(seq + len, c->high_rxt))
        c->high_rxt = seq + len;
    if (seq == c->snd_una)
        c->rxt_mark = c->snd_max;
}

void tcp_output_rexmt(struct tcp_conn *c, uint32_t seq, uint32_t len)
{
    if (len != 0)
        tcp_output_rexmt_flags(c, seq, len, TCP_ACK);
}

uint32_t tcp_output_rexmt_tail(struct tcp_conn *c, uint32_t smss)
{
    uint32_t data_end = c->snd_una + c->sndq.bytes, top, len;
    uint8_t flags = TCP_ACK;

    if (SEQ_LEQ(c->snd_max, c->snd_una))
        return 0;
    top = SEQ_LT(data_end, c->snd_max) ? data_end : c->snd_max;     /* data sent */
    len = top - c->snd_una < smss ? top - c->snd_una : smss;
    /* The FIN went out after the data (it is the byte at data_end): it goes with it. */
    if ((c->flags & TCPF_FIN_SENT) && tcp_output_fin_wanted(c) && top == data_end &&
        SEQ_GT(c->snd_max, data_end))
        flags |= TCP_FIN;
    if (len == 0 && !(flags & TCP_FIN))
        return 0;
    tcp_output_rexmt_flags(c, top - len, len, flags);
    return len + ((flags & TCP_FIN) != 0);
}

bool tcp_output_sack_can_recover(const struct tcp_conn *c)
{
    return (c->flags & TCPF_SACK) && !(c->flags & TCPF_RECOVERY) && c->sack_n > 0 &&
           c->snd_nxt == c->snd_max && SEQ_GEQ(c->snd_una, c->recover);
}

void tcp_output_sack_enter(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;
    uint32_t flight = c->snd_max - c->snd_una;
    uint32_t len = tcp_output_smss(c), hole = c->sack[0].start - c->snd_una;

    tcp_rack_undo_start(c, true);
    tcp_cc_loss(c, flight);
    tcp_cc_prr_start(c, flight);
    c->recover = c->snd_max;
    c->high_rxt = c->snd_una;
    c->flags |= TCPF_RECOVERY | TCPF_SACK_RECOVERY;
    st->stats.fast_retrans++;
    st->stats.sack_recoveries++;
    if (hole < len)
        len = hole;
    if (len != 0) {
        st->stats.sack_rexmits++;
        tcp_output_rexmt(c, c->snd_una, len);
    }
    tcp_timer_rexmt_arm(c);
}

void tcp_output_rexmt_first(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;
    uint32_t smss = tcp_output_smss(c);     /* the options come out of the MSS */
    uint32_t len = c->sndq.bytes < smss ? c->sndq.bytes : smss;
    uint8_t flags = TCP_ACK;

    if ((c->flags & TCPF_FIN_SENT) && len == c->sndq.bytes && tcp_output_fin_wanted(c))
        flags |= TCP_FIN;
    if (len == 0 && !(flags & TCP_FIN))
        return;
    c->flags &= ~TCPF_RTT;          /* Karn: no sample across a retransmission */
    st->stats.segs_retrans++;
    st->stats.bytes_retrans += len;
    tcp_output_seg(c, c->snd_una, len, flags);
}

void tcp_output_ack(struct tcp_conn *c)
{
    tcp_output_seg(c, c->snd_nxt, 0, TCP_ACK);
}

void tcp_output_probe(struct tcp_conn *c)
{
    tcp_output_seg(c, c->snd_una - 1, 0, TCP_ACK);
}

void tcp_output_rst(struct tcp_conn *c)
{
    if (c->state < TCP_SYN_RECEIVED || c->state == TCP_TIME_WAIT)
        return;
    tcp_output_emit(c->st, &c->key, c->snd_max, c->rcv_nxt, TCP_RST | TCP_ACK, 0, NULL, 0,
                    NULL, 0);
}

void tcp_output_tw_ack(struct tcp_stack *st, const struct tcp_tw_entry *e)
{
    uint8_t opt[TCP_TS_OPTLEN];
    unsigned n = 0;

    if (e->flags & TCP_TWF_TS)
        n = tcp_opt_put_nop_ts(opt, (uint32_t)tcp_now(st) + e->ts_offset, e->ts_recent);
    tcp_output_emit(st, &e->key, e->snd_nxt, e->rcv_nxt, TCP_ACK, e->wnd, opt, n, NULL, 0);
}

void tcp_output_raw(struct tcp_stack *st, const struct tcp_key *k, uint32_t seq, uint32_t ack,
                    uint8_t flags, uint16_t mss, uint8_t wscale, const uint32_t *ts)
{
    uint8_t opt[20];
    unsigned n = 0;
    uint16_t wnd = 0;

    if (mss != 0) {
        opt[n++] = 2;
        opt[n++] = 4;
        opt[n++] = (uint8_t)(mss >> 8);
        opt[n++] = (uint8_t)mss;
        if (ts != NULL)
            n += tcp_opt_put_nop_ts(opt + n, ts[0], ts[1]);
        if (wscale != 0xff) {
            opt[n++] = 1;
            opt[n++] = 3;
            opt[n++] = 3;
            opt[n++] = wscale;
        }
        wnd = st->conf.rcvbuf_init > 65535 ? 65535 : (uint16_t)st->conf.rcvbuf_init;
    }
    tcp_output_emit(st, k, seq, ack, flags, wnd, opt, n, NULL, 0);
}
