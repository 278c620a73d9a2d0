/*
 * pkt_parse: bounds-checked parsing of Ethernet / ARP / IPv4 / ICMP / TCP / UDP.
 *
 * Works on a flat frame (the first mbuf segment, or a test buffer) and never reads
 * past len. It fills a pkt_info with offsets and the fields the dispatcher and the
 * owner function need, or returns the drop reason for a malformed frame. Checksums
 * are verified here only for IPv4 headers (cheap, and a corrupt header would
 * mislead every later stage); payload checksums are the consumer's business.
 */
#ifndef LBD_PKT_PARSE_H
#define LBD_PKT_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/drop.h"

enum pkt_l3 { PKT_L3_NONE = 0, PKT_L3_ARP, PKT_L3_IPV4 };

struct pkt_info {
    uint16_t l3_off;        /* offset of the ARP or IPv4 header */
    uint16_t l4_off;        /* offset of the ICMP/TCP/UDP header (IPv4 only) */
    uint16_t l3_len;        /* IPv4 total length, or ARP header length */
    uint16_t l4_len;        /* IPv4 total length minus the IP header */
    uint8_t l3;             /* enum pkt_l3 */
    uint8_t ip_proto;       /* IPPROTO_* (IPv4 only) */
    uint8_t is_fragment;    /* IPv4 MF set or offset non-zero */
    uint8_t icmp_type;
    uint16_t arp_op;        /* host order */
    uint16_t icmp_id;       /* echo identifier, host order */
    uint32_t src_ip;        /* IPv4 src, or ARP sender IP; network order */
    uint32_t dst_ip;        /* IPv4 dst, or ARP target IP; network order */
    uint16_t src_port;      /* TCP/UDP, host order */
    uint16_t dst_port;      /* TCP/UDP, host order */
    uint32_t icmp_inner_dst;    /* ICMP error (pkt_icmp_is_error) quoting at least an
                                   IPv4 header: the quoted packet's destination
                                   (network order; the owner of the flow it is about),
                                   else 0. Nothing else of the quote is checked here. */
    uint16_t icmp_inner_sport;  /* the same error quoting a TCP or UDP header's first
                                   4 bytes: the quoted packet's source port (host
                                   order; the port of ours it left from), else 0 */
    uint8_t icmp_inner_proto;   /* the quoted packet's protocol when icmp_inner_dst
                                   is set, else 0 */
};

/* ICMP types that carry a quote of the packet they are about (RFC 792). Source quench
 * (deprecated, RFC 6633) and redirect are not among them: nothing is done about those. */
static inline bool pkt_icmp_is_error(uint8_t type)
{
    return type == 3 /* destination unreachable */ || type == 11 /* time exceeded */ ||
           type == 12 /* parameter problem */;
}

/*
 * Parses frame[0..len). verify_ip_csum is false when the NIC already checked it.
 * Returns DROP_NONE and fills *pi, or the reason the frame is malformed or not for
 * the parser (DROP_UNSUPPORTED_ETHERTYPE). IPv4 fragments parse successfully with
 * is_fragment set and no L4 fields (non-first fragments carry no L4 header).
 */
enum drop_reason pkt_parse(const uint8_t *frame, uint32_t len, bool verify_ip_csum,
                           struct pkt_info *pi);

/*
 * For a datagram put together from fragments (ip_reass.h): *pi describes its IPv4
 * header (l3_off, l4_off, l3_len and l4_len of the whole datagram, ip_proto), the
 * first seg_len bytes of which are in frame. Fills the L4 fields as pkt_parse does,
 * requiring the whole ICMP/TCP/UDP header within seg_len. Returns DROP_NONE or the
 * malformed_* reason.
 */
enum drop_reason pkt_parse_l4(const uint8_t *frame, uint32_t seg_len, struct pkt_info *pi);

#endif
