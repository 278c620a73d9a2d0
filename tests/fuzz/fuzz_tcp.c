/*
 * fuzz_tcp: arbitrary segments into a live TCP control block. Each input opens a
 * connection to a listener (a real handshake: SYN, SYN-ACK, ACK), then feeds records
 * of the input as segments on it: flags, sequence and acknowledgement numbers relative
 * to the connection's own (so most land in or near the window), window, options and
 * payload chosen by the fuzzer, with correct checksums so that they reach the state
 * machine. The user side reads what arrives and sends a little back; time moves
 * between segments; at the end everything times out and the pool must be whole again.
 *
 * Record: flags(1) dseq(2) dack(2) wnd(2) optlen(1, x4 bytes, at most 40) opts payloadlen(1)
 * payload, the first byte's top bit also moving the clock by up to 2 s. When the input's
 * last byte is odd the handshake negotiates timestamps (RFC 7323), so that the
 * records' Timestamps options meet TS.Recent, PAWS and the RTT from TSecr.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "base/twheel.h"
#include "frames.h"
#include "net/pkt_parse.h"
#include "tcp/tcp.h"
#include "tcp/tcp_input.h"

#define LOCAL "10.0.0.1"
#define PEER "10.0.0.2"

static struct rte_mempool *pool;
static struct twheel wheel;
static struct tcp_stack *st;
static uint32_t last_seq, last_ack;     /* of the last segment the stack sent */
static uint8_t last_flags;
static uint16_t peer_port = 1024;

static void on_tx(void *arg, struct rte_mbuf *m, uint32_t dst)
{
    const struct rte_tcp_hdr *th = rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *, 20);

    last_seq = rte_be_to_cpu_32(th->sent_seq);
    last_ack = rte_be_to_cpu_32(th->recv_ack);
    last_flags = th->tcp_flags;
    rte_pktmbuf_free(m);
}

static void on_event(struct tcp_conn *c, enum tcp_event ev, void *arg)
{
    struct rte_mbuf *m;

    if (ev == TCP_EV_READABLE || ev == TCP_EV_PEER_FIN) {
        while ((m = tcp_recv(c, 1 << 16)) != NULL)
            rte_pktmbuf_free(m);
        if (ev == TCP_EV_PEER_FIN)
            tcp_close(c);
        else if ((m = rte_pktmbuf_alloc(pool)) != NULL) {
            memcpy(rte_pktmbuf_append(m, 16), "0123456789abcdef", 16);
            if (tcp_send(c, m) != 0)
                rte_pktmbuf_free(m);
        }
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct tcp_stack_conf c;
    char err[256];
    char *eal[] = {"fuzz_tcp", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
                   "--no-telemetry", "--log-level=error", "-l", "0", NULL};

    if (rte_eal_init(10, eal) < 0)
        abort();
    pool = rte_pktmbuf_pool_create("f_pool", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    twheel_init(&wheel, 1000000);
    tcp_stack_conf_default(&c);
    c.name = "f";
    c.wheel = &wheel;
    c.pool = pool;
    c.tx = on_tx;
    c.max_conns = 64;
    c.idle_ms = 5000;
    st = tcp_stack_create(&c, err, sizeof(err));
    if (pool == NULL || st == NULL || tcp_listen(st, 0, 80, 0, on_event, NULL) != 0)
        abort();
    return 0;
}

/* Sends one segment from the peer: TCP header (with opts) and payload. */
static void peer_segment(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd,
                         const uint8_t *opts, uint32_t optlen, const uint8_t *pl, uint32_t plen)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
    uint32_t thl = 20 + optlen, len = 14 + 20 + thl + plen;
    uint8_t *f;
    struct rte_ipv4_hdr *ip;
    struct rte_tcp_hdr *th;
    struct pkt_info pi;
    enum drop_reason r;

    if (m == NULL)
        return;
    f = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
    if (f == NULL) {
        rte_pktmbuf_free(m);
        return;
    }
    frame_ipv4(f, frame_eth(f, RTE_ETHER_TYPE_IPV4, &frame_mac_us), IPPROTO_TCP, ip4(PEER),
               ip4(LOCAL), (uint16_t)(thl + plen));
    ip = (struct rte_ipv4_hdr *)(f + 14);
    th = (struct rte_tcp_hdr *)(f + 34);
    memset(th, 0, sizeof(*th));
    th->src_port = rte_cpu_to_be_16(peer_port);
    th->dst_port = rte_cpu_to_be_16(80);
    th->sent_seq = rte_cpu_to_be_32(seq);
    th->recv_ack = rte_cpu_to_be_32(ack);
    th->data_off = (uint8_t)((thl / 4) << 4);
    th->tcp_flags = flags;
    th->rx_win = rte_cpu_to_be_16(wnd);
    if (optlen != 0)
        memcpy(th + 1, opts, optlen);
    if (plen != 0)
        memcpy((uint8_t *)(th + 1) + optlen, pl, plen);
    th->cksum = rte_ipv4_udptcp_cksum(ip, th);
    r = pkt_parse(f, len, true, &pi);
    if (r == DROP_NONE)
        r = tcp_input(st, m, &pi);
    if (r != DROP_NONE)
        rte_pktmbuf_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t syn_opts[] = {2, 4, 0x05, 0xb4, 4, 2, 3, 3, 7, 1, 1, 1};
    static const uint8_t syn_ts_opts[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0x10, 0,
                                          0, 0, 0, 0, 1, 3, 3, 7};
    /* The handshake's ACK: TSval 4097, TSecr 0 (no RTT sample from it). */
    static const uint8_t ack_ts_opts[] = {1, 1, 8, 10, 0, 0, 0x10, 1, 0, 0, 0, 0};
    uint32_t iss = 7000000, isn, i = 0;
    int ts = size > 0 && (data[size - 1] & 1);

    peer_port = (uint16_t)(peer_port == 65535 ? 1024 : peer_port + 1);
    last_flags = 0;
    peer_segment(RTE_TCP_SYN_FLAG, iss, 0, 65535, ts ? syn_ts_opts : syn_opts,
                 ts ? sizeof(syn_ts_opts) : sizeof(syn_opts), NULL, 0);
    if (!(last_flags & RTE_TCP_SYN_FLAG))
        return 0;
    isn = last_seq;
    peer_segment(RTE_TCP_ACK_FLAG, iss + 1, isn + 1, 65535, ts ? ack_ts_opts : NULL,
                 ts ? sizeof(ack_ts_opts) : 0, NULL, 0);
    while (i + 9 <= size) {
        uint8_t flags = data[i], optlen = (uint8_t)((data[i + 7] & 0x0f) * 4 % 44), plen;
        uint32_t seq = iss + 1 + (uint32_t)(int16_t)((data[i + 1] << 8) | data[i + 2]);
        uint32_t ack = last_seq + (uint32_t)(int16_t)((data[i + 3] << 8) | data[i + 4]);
        uint16_t wnd = (uint16_t)((data[i + 5] << 8) | data[i + 6]);

        i += 8;
        if (i + optlen + 1 > size)
            break;
        const uint8_t *opts = data + i;
        i += optlen;
        plen = data[i++];
        if (i + plen > size)
            plen = (uint8_t)(size - i);
        peer_segment(flags & 0x3f, seq, ack, wnd, opts, optlen, data + i, plen);
        i += plen;
        if (flags & 0x80)
            twheel_advance(&wheel, twheel_now(&wheel) + (flags & 0x40 ? 2000 : 50));
        (void)isn;
    }
    /* Everything ends: idle timeout, retransmissions, TIME_WAIT. */
    for (int t = 0; t < 1000; t++)
        twheel_advance(&wheel, twheel_now(&wheel) + 1000);
    if (rte_mempool_in_use_count(pool) != 0)
        abort(); /* an mbuf was lost */
    return 0;
}
