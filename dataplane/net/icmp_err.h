/*
 * icmp_err: reading and rewriting the packet an ICMP error quotes (RFC 792: the
 * offending packet's IP header and at least its first 8 bytes), for the Layer 4 NAT
 * of errors about its flows (l4.h), as IPVS does it.
 *
 * icmp_err_parse validates strictly, so that a rewrite never touches a byte outside
 * the ICMP message: the error is not in a fragment, its checksum is right, the quote
 * holds a whole IPv4 header (options included) and the 8 bytes after it, the quoted
 * packet is TCP or UDP (an error about an ICMP packet is never translated: RFC 1122
 * 3.2.2 forbids answering errors with errors, and Layer 4 carries no ICMP flows) and
 * is not a non-first fragment (which carries no ports). Worker, hot path: no
 * allocation; pure functions of the frame.
 */
#ifndef LBD_ICMP_ERR_H
#define LBD_ICMP_ERR_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "base/lcore_ctx.h"

#include "net/pkt_parse.h"
#include "net/rx_csum.h"

/* Where the quote is, and the quoted packet's addresses (network order). */
struct icmp_quote {
    uint16_t ip_off;            /* frame offset of the quoted IPv4 header */
    uint16_t l4_off;            /* of its TCP or UDP header */
    uint16_t end;               /* frame offset just past the ICMP message */
    uint8_t proto;
    uint32_t src_ip;
    uint32_t dst_ip;
    uint16_t src_port;
    uint16_t dst_port;
};

/*
 * frame holds an IPv4 ICMP error (pkt_icmp_is_error) parsed into *pi; csum: what its
 * port said of the ICMP checksum. Fills *q and returns DROP_NONE, or
 * DROP_BAD_ICMP_CHECKSUM, or DROP_ICMP_ERROR_INVALID (in a fragment, quote truncated
 * or malformed, about ICMP or another protocol, about a non-first fragment).
 */
enum drop_reason icmp_err_parse(const uint8_t *frame, const struct pkt_info *pi,
                                enum rx_csum csum, struct icmp_quote *q);

/*
 * Rewrites the quoted packet's source (src true) or destination address and port to
 * ip:port (network order): its header checksum incrementally, and its TCP or UDP
 * checksum incrementally when the quote holds that field (RFC 1624; a zero UDP
 * checksum stays zero), so the quote stays what the packet was on the other side of
 * the NAT. Then the ICMP checksum over the whole message (pi->l4_len bytes).
 */
void icmp_err_rewrite_quote(uint8_t *frame, const struct pkt_info *pi,
                            const struct icmp_quote *q, bool src, uint32_t ip, uint16_t port);

#define ICMP_ERR_TTL 64
#define ICMP_ERR_UNREACH 3
#define ICMP_ERR_FRAG_NEEDED 4          /* code of type 3 (RFC 1191) */

/*
 * True when the packet at ip (an IPv4 header with at least its first 8 bytes of
 * payload, or a fragment) may be answered with an ICMP error (RFC 1812 4.3.2.7): not
 * an ICMP error itself, not a non-first fragment, not from a broadcast, multicast or
 * zero source.
 */
bool icmp_err_may_answer(const struct rte_ipv4_hdr *ip, uint32_t avail);

/*
 * An ICMP error type/code with the 4 bytes after the checksum `rest` (network order;
 * the next-hop MTU of fragmentation needed is its low 16 bits), from src to dst,
 * quoting the IP header at ip and the 8 bytes after it (at most avail bytes), built in
 * an mbuf of lc's pool, data at its IP header, every checksum final: for ip_out.
 * NULL when no mbuf (counted as mbuf_alloc_failed).
 */
struct rte_mbuf *icmp_err_build(struct lcore_ctx *lc, const struct rte_ipv4_hdr *ip,
                                uint32_t avail, uint8_t type, uint8_t code, uint32_t rest,
                                uint32_t src, uint32_t dst);

#endif
