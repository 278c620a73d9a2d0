#include <criterion/criterion.h>

#include "frames.h"
#include "net/owner.h"

static struct pkt_info parsed(uint8_t *f, uint32_t len)
{
    struct pkt_info pi;
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE);
    return pi;
}

Test(owner, one_worker_owns_everything)
{
    uint8_t f[256];
    struct pkt_info pi = parsed(f, frame_tcp(f, ip4("1.2.3.4"), ip4("5.6.7.8"), 1, 2));

    cr_assert_eq(owner_of(&pi, OWNER_DST_SERVICE, 1), 0);
    cr_assert_eq(owner_of(&pi, OWNER_DST_FOREIGN, 1), 0);
}

Test(owner, service_traffic_follows_the_client_ip)
{
    uint8_t f[256];

    for (unsigned n = 2; n <= 8; n++) {
        for (uint32_t c = 1; c < 200; c++) {
            uint32_t client = rte_cpu_to_be_32(0x0a000000 | c);
            struct pkt_info a = parsed(f, frame_tcp(f, client, ip4("192.168.112.110"), 1000 + c, 443));
            struct pkt_info b = parsed(f, frame_udp(f, client, ip4("192.168.112.140"), 7, 3478, 4));
            unsigned oa = owner_of(&a, OWNER_DST_SERVICE, n);
            cr_assert_lt(oa, n);
            /* Every flow of one client, to any VIP, meets on one worker. */
            cr_assert_eq(oa, owner_of(&b, OWNER_DST_SERVICE, n));
            cr_assert_eq(oa, owner_hash_ip(client) % n);
        }
    }
}

Test(owner, layer4_reply_goes_to_the_clients_worker)
{
    uint8_t f[256];
    uint32_t client = ip4("203.0.113.9");
    struct pkt_info fwd = parsed(f, frame_udp(f, client, ip4("10.200.50.120"), 5000, 3478, 4));
    struct pkt_info rev = parsed(f, frame_udp(f, ip4("10.200.50.121"), client, 3478, 5000, 4));

    for (unsigned n = 2; n <= 8; n++)
        cr_assert_eq(owner_of(&fwd, OWNER_DST_SERVICE, n), owner_of(&rev, OWNER_DST_FOREIGN, n));
}

Test(owner, local_port_encodes_the_worker)
{
    uint8_t f[256];

    for (unsigned n = 2; n <= 8; n++) {
        for (uint16_t lport = 32768; lport < 32768 + 64; lport++) {
            struct pkt_info pi = parsed(f, frame_tcp(f, ip4("192.168.112.51"),
                                                     ip4("192.168.112.110"), 5061, lport));
            cr_assert_eq(owner_of(&pi, OWNER_DST_LOCAL, n), lport % n);
        }
    }
}

Test(owner, echo_reply_id_encodes_the_worker)
{
    uint8_t f[256];
    uint32_t len = frame_icmp_echo(f, ip4("172.24.7.1"), ip4("192.168.112.5"), 13, 1, 8);
    struct pkt_info pi;

    ((struct rte_icmp_hdr *)(f + 34))->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
    pi = parsed(f, len);
    cr_assert_eq(owner_of(&pi, OWNER_DST_LOCAL, 4), 13 % 4);
    /* An echo request to us belongs to the asker's worker. */
    len = frame_icmp_echo(f, ip4("172.24.7.1"), ip4("192.168.112.5"), 13, 1, 8);
    pi = parsed(f, len);
    cr_assert_eq(owner_of(&pi, OWNER_DST_LOCAL, 4), owner_hash_ip(ip4("172.24.7.1")) % 4);
}

Test(owner, arp_follows_the_sender)
{
    uint8_t f[256];
    struct pkt_info pi = parsed(f, frame_arp(f, 1, ip4("192.168.112.10"), ip4("192.168.112.5")));

    cr_assert_eq(owner_of(&pi, OWNER_DST_LOCAL, 3), owner_hash_ip(ip4("192.168.112.10")) % 3);
}

Test(owner, clients_spread_over_workers)
{
    unsigned counts[4] = {0};

    for (uint32_t c = 0; c < 40000; c++)
        counts[owner_hash_ip(rte_cpu_to_be_32(0xc0a80000 + c)) % 4]++;
    for (int w = 0; w < 4; w++)
        cr_assert(counts[w] > 9000 && counts[w] < 11000, "worker %d: %u", w, counts[w]);
}

/* An ICMP error from router to our address dst quoting q (the first qlen bytes). */
static uint32_t icmp_quoting(uint8_t *f, uint32_t router, uint32_t dst, const uint8_t *q,
                             uint16_t qlen)
{
    uint32_t off = frame_eth(f, RTE_ETHER_TYPE_IPV4, &frame_mac_us);
    uint32_t l4 = frame_ipv4(f, off, IPPROTO_ICMP, router, dst, (uint16_t)(8 + qlen));

    memset(f + l4, 0, 8);
    f[l4] = 3;
    f[l4 + 1] = 4;
    memcpy(f + l4 + 8, q, qlen);
    return l4 + 8 + qlen;
}

Test(owner, an_icmp_error_meets_the_connection_it_quotes)
{
    uint8_t f[256], seg[256];
    uint32_t vip = ip4("192.168.112.110"), client = ip4("203.0.113.9");
    uint32_t self = ip4("192.168.112.5"), rs = ip4("10.200.50.121"), router = ip4("10.0.0.254");

    for (unsigned n = 2; n <= 8; n++) {
        for (uint16_t lport = 32768; lport < 32768 + 32; lport++) {
            struct pkt_info seg_in, err;
            uint32_t len;

            /* A Layer 7 connection to a real server (self:lport -> rs:8080): its
             * answers come to lport's worker, and so does an error about its segments. */
            seg_in = parsed(f, frame_tcp(f, rs, self, 8080, lport));
            len = frame_tcp(seg, self, rs, lport, 8080);
            err = parsed(f, icmp_quoting(f, router, self, seg + 14, (uint16_t)(len - 14)));
            cr_assert_eq(err.icmp_inner_proto, IPPROTO_TCP);
            cr_assert_eq(err.icmp_inner_sport, lport);
            cr_assert_eq(owner_of(&err, OWNER_DST_LOCAL, n), owner_of(&seg_in, OWNER_DST_LOCAL, n));
            cr_assert_eq(owner_of(&err, OWNER_DST_LOCAL, n), lport % n);

            /* A Layer 7 VIP connection's segment (vip:443 -> client): the client's
             * worker, which the worker asks for by naming the quote's source a service. */
            seg_in = parsed(f, frame_tcp(f, client, vip, lport, 443));
            len = frame_tcp(seg, vip, client, 443, lport);
            err = parsed(f, icmp_quoting(f, router, vip, seg + 14, (uint16_t)(len - 14)));
            cr_assert_eq(err.icmp_inner_sport, 443);
            cr_assert_eq(owner_of(&err, OWNER_DST_SERVICE, n), owner_of(&seg_in, OWNER_DST_SERVICE, n));
        }
    }
}

Test(owner, an_icmp_error_with_a_short_quote_follows_its_destination)
{
    uint8_t f[256], seg[256];
    uint32_t self = ip4("192.168.112.5"), rs = ip4("10.200.50.121");
    struct pkt_info err;

    frame_tcp(seg, self, rs, 40001, 8080);
    /* The IP header only (no ports): nothing but the destination to go by. */
    err = parsed(f, icmp_quoting(f, ip4("10.0.0.254"), self, seg + 14, 20));
    cr_assert_eq(err.icmp_inner_dst, rs);
    cr_assert_eq(err.icmp_inner_sport, 0);
    cr_assert_eq(owner_of(&err, OWNER_DST_LOCAL, 5), owner_hash_ip(rs) % 5);
    cr_assert_eq(owner_of(&err, OWNER_DST_SERVICE, 5), owner_hash_ip(rs) % 5);
}
