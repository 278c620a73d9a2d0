/*
 * virtio_host: the host side of a virtio-net port, for the lab. A vhost-user port
 * (DPDK's net_vhost, the socket lbd's net_virtio_user connects to) joined to a
 * kernel interface (net_af_packet on the appliance's veth), frames passed as they
 * are both ways, as a hypervisor's switch passes a VM's frames to its uplink.
 *
 * What the host of a virtio-net device owes its guest and lbd relies on: a frame the
 * guest sent with its TCP or UDP checksum left to the device (VIRTIO_NET_HDR_F_NEEDS_CSUM:
 * only the pseudo-header sum in the field) leaves with the checksum completed over
 * the segment. af_packet offloads nothing; net_vhost (its compliant offload flags,
 * legacy-ol-flags=0) completes it in software when, as here, the port's receive
 * checksum offload is not enabled, and flags the frame's checksum good: counted here
 * (csum_completed), and one still flagged partial too (csum_partial, none expected).
 * The device offers TSO (net_vhost's tso=1, as vhost-net offers it): a frame the guest
 * left for segmentation (VIRTIO_NET_HDR_GSO_TCPV4, flagged RTE_MBUF_F_RX_LRO with its
 * segment size) is cut here with librte_gso and each segment's IPv4 and TCP checksums
 * computed, as the host kernel's GSO does (gso_frames, gso_segs; gso_failed when it
 * cannot be, the frame dropped).
 *
 * With "partial" after STATS-FILE, TCP and UDP frames to the guest go as another VM
 * on the same host sends them: the checksum left to offload (the field holds the
 * pseudo-header sum, the frame flagged so that net_vhost marks it
 * VIRTIO_NET_HDR_F_NEEDS_CSUM), which a guest must accept and complete before it
 * sends such a packet on (csum_left_partial counts them).
 *
 * With "reorder", a frame's segments leave before the frames that came before it in
 * the same burst (the host's first version did so by mistake): a path that reorders,
 * by about a TSO frame's worth of segments, for the TCP stack's reordering window.
 *
 * Not product code: a test tool that lets the lab run lbd on DPDK's virtio-net
 * driver (the driver of the appliance's VM image) with no hypervisor. Ports come from
 * the command line: port 0 the vhost-user one, port 1 the kernel one. With several
 * queue pairs on the vhost-user port (its queues=), frames to the guest go on a queue
 * per flow (a hash of addresses and ports, as a multi-queue host spreads them; the
 * guest has no RSS to choose), each queue's count in to_guest_qN.
 *
 *   virtio_host EAL-ARGS -- STATS-FILE [partial] [reorder]
 *
 * Every second, and at SIGTERM/SIGINT before it exits, it writes its counters to
 * STATS-FILE as one line of key=value pairs.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_gso.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>
#include <rte_mbuf.h>

#define BURST 32
#define RING 1024
#define MAX_QUEUES 8

static volatile sig_atomic_t quit;
static uint16_t nq = 1;                 /* the guest's queue pairs (net_vhost's queues) */

static struct {
    uint64_t to_kernel;                 /* frames passed from the guest */
    uint64_t to_guest_q[MAX_QUEUES];    /* and to it, by the guest's queue */
    uint64_t csum_completed;            /* partial checksums made whole (by net_vhost) */
    uint64_t csum_partial;              /* partial checksums left so (none expected) */
    uint64_t csum_left_partial;         /* frames to the guest left with partial checksums */
    uint64_t gso_frames, gso_segs;      /* frames segmented here, segments made */
    uint64_t gso_failed;                /* frames that could not be (dropped) */
    uint64_t tx_dropped;                /* what a port's transmit did not take */
} ctr;

static void on_signal(int sig)
{
    (void)sig;
    quit = 1;
}

static void write_stats(const char *path)
{
    char tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL)
        return;
    uint64_t to_guest = 0;

    for (uint16_t q = 0; q < MAX_QUEUES; q++)
        to_guest += ctr.to_guest_q[q];
    fprintf(f,
            "to_kernel=%" PRIu64 " to_guest=%" PRIu64 " csum_completed=%" PRIu64
            " csum_partial=%" PRIu64 " csum_left_partial=%" PRIu64 " gso_frames=%" PRIu64
            " gso_segs=%" PRIu64 " gso_failed=%" PRIu64 " tx_dropped=%" PRIu64,
            ctr.to_kernel, to_guest, ctr.csum_completed, ctr.csum_partial,
            ctr.csum_left_partial, ctr.gso_frames, ctr.gso_segs, ctr.gso_failed, ctr.tx_dropped);
    for (uint16_t q = 0; q < nq; q++)
        fprintf(f, " to_guest_q%u=%" PRIu64, q, ctr.to_guest_q[q]);
    fprintf(f, "\n");
    fclose(f);
    rename(tmp, path);
}

static bool partial;                    /* frames to the guest with partial checksums */
static bool reorder;                    /* a frame's segments before what preceded it */
static struct rte_gso_ctx gso;          /* its pools; gso_size set per frame */

static uint16_t send_out(uint16_t to, uint16_t q, struct rte_mbuf **out, uint16_t k);

/* rte_ipv4_udptcp_cksum_mbuf, an experimental symbol in DPDK 22.11. */
static uint16_t udptcp_cksum_mbuf(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip,
                                  uint16_t l4_off)
{
    uint16_t raw = 0;
    uint32_t sum;

    if (rte_raw_cksum_mbuf(m, l4_off, m->pkt_len - l4_off, &raw) != 0)
        return 0;
    sum = (uint32_t)raw + rte_ipv4_phdr_cksum(ip, 0);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Cuts m, a TCP/IPv4 frame the guest left for segmentation (tso_segsz set), into
 * segments with final checksums and sends them to port to. Frees m. */
static void segment(struct rte_mbuf *m, uint16_t to)
{
    const uint32_t l2 = sizeof(struct rte_ether_hdr);
    struct rte_mbuf *segs[64];
    struct rte_gso_ctx ctx = gso;
    const struct rte_ipv4_hdr *ip;
    const struct rte_tcp_hdr *th;
    int n;

    if (m->data_len < l2 + sizeof(*ip) + sizeof(*th) || m->tso_segsz == 0)
        goto fail;
    ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, l2);
    if (ip->next_proto_id != IPPROTO_TCP)
        goto fail;
    m->l2_len = l2;
    m->l3_len = rte_ipv4_hdr_len(ip);
    th = rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *, l2 + m->l3_len);
    m->l4_len = (th->data_off & 0xf0) >> 2;
    m->ol_flags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4;
    ctx.gso_size = (uint16_t)(m->l2_len + m->l3_len + m->l4_len + m->tso_segsz);
    n = rte_gso_segment(m, &ctx, segs, RTE_DIM(segs));
    rte_pktmbuf_free(m);                /* the segments hold what they need of it */
    if (n < 0) {
        ctr.gso_failed++;
        return;
    }
    if (n == 0)
        return;                         /* cannot happen: it was longer than one */
    for (int i = 0; i < n; i++) {
        struct rte_mbuf *s = segs[i];
        struct rte_ipv4_hdr *sip = rte_pktmbuf_mtod_offset(s, struct rte_ipv4_hdr *, l2);
        struct rte_tcp_hdr *sth =
            rte_pktmbuf_mtod_offset(s, struct rte_tcp_hdr *, l2 + rte_ipv4_hdr_len(sip));

        sip->hdr_checksum = 0;
        sip->hdr_checksum = rte_ipv4_cksum(sip);
        sth->cksum = 0;
        sth->cksum = udptcp_cksum_mbuf(s, sip, l2 + rte_ipv4_hdr_len(sip));
        s->ol_flags = 0;
    }
    ctr.gso_frames++;
    ctr.gso_segs += (uint64_t)n;
    send_out(to, 0, segs, (uint16_t)n);
    return;
fail:
    ctr.gso_failed++;
    rte_pktmbuf_free(m);
}

/* Leaves m's TCP or UDP checksum to the guest's device, as a sender on the host that
 * offloads it: the pseudo-header sum in the field, flagged for net_vhost. Fragments,
 * UDP without a checksum and what is not IPv4 go as they are. */
static void leave_partial(struct rte_mbuf *m)
{
    const uint32_t l2 = sizeof(struct rte_ether_hdr);
    const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
    struct rte_ipv4_hdr *ip;
    uint32_t l3;
    uint16_t *field;
    uint64_t flag;

    if (m->data_len < l2 + sizeof(*ip) ||
        eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
        return;
    ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l2);
    l3 = rte_ipv4_hdr_len(ip);
    if (ip->fragment_offset &
        rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK | RTE_IPV4_HDR_MF_FLAG))
        return;
    if (ip->next_proto_id == IPPROTO_TCP &&
        m->data_len >= l2 + l3 + sizeof(struct rte_tcp_hdr)) {
        field = rte_pktmbuf_mtod_offset(m, uint16_t *,
                                        l2 + l3 + offsetof(struct rte_tcp_hdr, cksum));
        flag = RTE_MBUF_F_TX_TCP_CKSUM;
    } else if (ip->next_proto_id == IPPROTO_UDP &&
               m->data_len >= l2 + l3 + sizeof(struct rte_udp_hdr)) {
        field = rte_pktmbuf_mtod_offset(m, uint16_t *,
                                        l2 + l3 + offsetof(struct rte_udp_hdr, dgram_cksum));
        if (*field == 0)
            return;
        flag = RTE_MBUF_F_TX_UDP_CKSUM;
    } else {
        return;
    }
    *field = rte_ipv4_phdr_cksum(ip, 0);
    m->l2_len = l2;
    m->l3_len = l3;
    m->ol_flags = RTE_MBUF_F_TX_IPV4 | flag;
    ctr.csum_left_partial++;
}

/* Sends out[0..k) to queue q of port to; counts what it did not take as dropped. */
static uint16_t send_out(uint16_t to, uint16_t q, struct rte_mbuf **out, uint16_t k)
{
    uint16_t sent = k != 0 ? rte_eth_tx_burst(to, q, out, k) : 0;

    if (sent < k) {
        ctr.tx_dropped += k - sent;
        rte_pktmbuf_free_bulk(out + sent, k - sent);
    }
    if (to == 1)
        ctr.to_kernel += sent;
    else
        ctr.to_guest_q[q] += sent;
    return sent;
}

/* Passes what the guest sent on its queue q to the kernel, in order, the frames left
 * for segmentation cut first. */
static unsigned to_kernel(uint16_t q)
{
    struct rte_mbuf *pkts[BURST], *out[BURST];
    uint16_t n = rte_eth_rx_burst(0, q, pkts, BURST), k = 0;

    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = pkts[i];

        if (m->ol_flags & RTE_MBUF_F_RX_LRO) {
            if (!reorder) {
                send_out(1, 0, out, k); /* what came before it goes first */
                k = 0;
            }
            segment(m, 1);
            continue;
        }
        /* net_vhost completes a partial checksum in software when the port's receive
         * checksum offload is not enabled (DPDK 22.11), and flags it good. */
        switch (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) {
        case RTE_MBUF_F_RX_L4_CKSUM_GOOD:
            ctr.csum_completed++;
            break;
        case RTE_MBUF_F_RX_L4_CKSUM_NONE:
            ctr.csum_partial++;         /* would leave with only the pseudo-header sum */
            break;
        default:
            break;
        }
        m->ol_flags = 0;
        out[k++] = m;
    }
    send_out(1, 0, out, k);
    return n;
}

/* The guest's queue for m: a hash of its IPv4 addresses and TCP/UDP ports, as a
 * multi-queue host picks one per flow (0 for anything else, ARP). */
static uint16_t guest_queue(const struct rte_mbuf *m)
{
    const uint32_t l2 = sizeof(struct rte_ether_hdr);
    const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
    const struct rte_ipv4_hdr *ip;
    uint32_t h, l3;

    if (nq == 1 || m->data_len < l2 + sizeof(*ip) + 4 ||
        eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
        return 0;
    ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, l2);
    l3 = rte_ipv4_hdr_len(ip);
    h = ip->src_addr ^ ip->dst_addr;
    if ((ip->next_proto_id == IPPROTO_TCP || ip->next_proto_id == IPPROTO_UDP) &&
        m->data_len >= l2 + l3 + 4)
        h ^= *rte_pktmbuf_mtod_offset(m, const uint32_t *, l2 + l3);
    h ^= h >> 16;
    h ^= h >> 8;
    return (uint16_t)(h % nq);
}

/* Passes what the kernel sent to the guest, each flow on its queue, in order. */
static unsigned to_guest(void)
{
    struct rte_mbuf *pkts[BURST], *out[MAX_QUEUES][BURST];
    uint16_t n = rte_eth_rx_burst(1, 0, pkts, BURST), k[MAX_QUEUES] = {0};

    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = pkts[i];
        uint16_t q = guest_queue(m);

        m->ol_flags = 0;
        if (partial)
            leave_partial(m);
        out[q][k[q]++] = m;
    }
    for (uint16_t q = 0; q < nq; q++)
        send_out(0, q, out[q], k[q]);
    return n;
}

static int port_up(uint16_t port, uint16_t queues, struct rte_mempool *pool)
{
    struct rte_eth_conf conf;
    uint16_t rxd = RING, txd = RING;

    memset(&conf, 0, sizeof(conf));
    if (rte_eth_dev_configure(port, queues, queues, &conf) != 0 ||
        rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd) != 0)
        return -1;
    for (uint16_t q = 0; q < queues; q++)
        if (rte_eth_rx_queue_setup(port, q, rxd, rte_eth_dev_socket_id(port), NULL, pool) != 0 ||
            rte_eth_tx_queue_setup(port, q, txd, rte_eth_dev_socket_id(port), NULL) != 0)
            return -1;
    if (rte_eth_dev_start(port) != 0)
        return -1;
    rte_eth_promiscuous_enable(port);
    return 0;
}

int main(int argc, char **argv)
{
    struct rte_mempool *pool;
    uint64_t next_write, hz;
    unsigned idle = 0;
    const char *stats;
    int n;

    n = rte_eal_init(argc, argv);
    if (n < 0) {
        fprintf(stderr, "virtio_host: EAL init failed\n");
        return 1;
    }
    argc -= n;
    argv += n;
    if (argc < 2) {
        fprintf(stderr, "usage: virtio_host EAL-ARGS -- STATS-FILE [partial] [reorder]\n");
        return 2;
    }
    stats = argv[1];
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "partial") == 0) {
            partial = true;
        } else if (strcmp(argv[i], "reorder") == 0) {
            reorder = true;
        } else {
            fprintf(stderr, "virtio_host: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (rte_eth_dev_count_avail() != 2) {
        fprintf(stderr, "virtio_host: want 2 ports (net_vhost, then net_af_packet), have %u\n",
                rte_eth_dev_count_avail());
        return 1;
    }
    pool = rte_pktmbuf_pool_create("vh_pool", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                   (int)rte_socket_id());
    gso.direct_pool = pool;
    gso.indirect_pool = rte_pktmbuf_pool_create("vh_indirect", 8191, 256, 0, 0,
                                                (int)rte_socket_id());
    gso.gso_types = RTE_ETH_TX_OFFLOAD_TCP_TSO;
    {
        struct rte_eth_dev_info info;

        if (rte_eth_dev_info_get(0, &info) == 0 && info.max_rx_queues > 1)
            nq = (uint16_t)RTE_MIN(RTE_MIN(info.max_rx_queues, info.max_tx_queues),
                                   MAX_QUEUES);
    }
    if (pool == NULL || gso.indirect_pool == NULL || port_up(0, nq, pool) != 0 ||
        port_up(1, 1, pool) != 0) {
        fprintf(stderr, "virtio_host: port set-up failed\n");
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    hz = rte_get_tsc_hz();
    next_write = rte_get_tsc_cycles();
    printf("virtio_host: ports up\n");
    fflush(stdout);
    while (!quit) {
        unsigned got = to_guest();

        for (uint16_t q = 0; q < nq; q++)
            got += to_kernel(q);

        /* Two shared CPUs in the lab: a host that spins idle would take one. */
        if (got == 0 && ++idle > 64)
            usleep(20);
        else if (got != 0)
            idle = 0;
        if (rte_get_tsc_cycles() >= next_write) {
            write_stats(stats);
            next_write = rte_get_tsc_cycles() + hz;
        }
    }
    write_stats(stats);
    rte_eth_dev_stop(0);
    rte_eth_dev_stop(1);
    rte_eth_dev_close(0);
    rte_eth_dev_close(1);
    rte_eal_cleanup();
    return 0;
}
