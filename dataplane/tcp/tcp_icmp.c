/*
 * tcp_icmp: ICMP errors about the stack's segments; PMTU discovery. See tcp_icmp.h.
 */
#include "tcp/tcp_icmp.h"

#include <string.h>

#include <rte_icmp.h>

#include "net/icmp_err.h"
#include "tcp/tcp_cc.h"
#include "tcp/tcp_entry.h"
#include "tcp/tcp_tcb.h"
#include "tcp/tcp_timer.h"

/* Lowers c's send MSS to mss and sends what is in flight again at that size. */
static void tcp_icmp_mss(struct tcp_conn *c, uint16_t mss)
{
    c->mss = mss;
    c->st->stats.pmtu_reduced++;
    if (c->snd_una == c->snd_max)
        return;                         /* the next segments use it */
    /* As Linux's tcp_simple_retransmit: everything unacknowledged was too big; it is
     * sent again from snd_una (SACKed data skipped), and the cwnd is not cut. */
    if (c->flags & TCPF_RECOVERY)
        tcp_cc_recovery_end(c);
    c->flags &= ~(TCPF_RECOVERY | TCPF_SACK_RECOVERY | TCPF_RTT | TCPF_TLP | TCPF_TLP_RXT |
                  TCPF_PTO | TCPF_RPROBE);
    c->recover = c->snd_max;
    c->high_rxt = c->snd_una;
    c->dupacks = 0;
    c->snd_nxt = c->snd_una;
    tcp_entry_output_later(c);
    tcp_timer_rexmt_arm(c);
}

bool tcp_icmp_input(struct tcp_stack *st, const uint8_t *frame, const struct pkt_info *pi,
                    enum rx_csum csum)
{
    const struct rte_icmp_hdr *icmp = (const struct rte_icmp_hdr *)(frame + pi->l4_off);
    struct icmp_quote q;
    struct tcp_key k;
    struct tcp_conn *c;
    uint32_t seq;
    uint16_t mtu, mss;

    if (icmp_err_parse(frame, pi, csum, &q) != DROP_NONE || q.proto != IPPROTO_TCP)
        return false;
    k.laddr = q.src_ip;
    k.raddr = q.dst_ip;
    k.lport = rte_be_to_cpu_16(q.src_port);
    k.rport = rte_be_to_cpu_16(q.dst_port);
    c = tcp_tcb_lookup(st, &k);
    if (c == NULL || (c->flags & TCPF_DEAD))
        return false;
    if (icmp->icmp_type != ICMP_ERR_UNREACH || icmp->icmp_code != ICMP_ERR_FRAG_NEEDED) {
        st->stats.icmp_ignored++;       /* a soft error (RFC 5927 section 4.1, 1122) */
        return true;
    }
    memcpy(&seq, frame + q.l4_off + 4, 4);
    seq = rte_be_to_cpu_32(seq);
    if (SEQ_LT(seq, c->snd_una) || !SEQ_LT(seq, c->snd_max)) {
        st->stats.icmp_bad_seq++;       /* not about a segment in flight */
        return true;
    }
    /* RFC 1191 section 4: the next-hop MTU in the low 16 bits after the checksum; 0
     * from a router that predates it: the floor. */
    memcpy(&mtu, (const uint8_t *)icmp + 6, 2);
    mtu = rte_be_to_cpu_16(mtu);
    if (mtu < TCP_PMTU_MIN)
        mtu = TCP_PMTU_MIN;
    mss = (uint16_t)(mtu - 40);
    if (mss >= c->mss || c->state < TCP_ESTABLISHED) {
        /* No smaller than what we send; or in the handshake, whose segments are small
         * and whose MSS the SYN-ACK sets. */
        st->stats.icmp_ignored++;
        return true;
    }
    tcp_entry_begin(st);
    tcp_icmp_mss(c, mss);
    tcp_entry_end(st);
    return true;
}
