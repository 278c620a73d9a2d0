/*
 * icmp: answering ICMP echo requests to our addresses (self IPs and VIPs).
 *
 * Works in place: the request becomes the reply. The ICMP checksum of the request
 * is verified over the whole message unless the port vouched for it (rx_csum.h);
 * the reply's is recomputed.
 */
#ifndef LBD_ICMP_H
#define LBD_ICMP_H

#include <stdint.h>

#include <rte_ether.h>

#include "net/pkt_parse.h"
#include "net/rx_csum.h"

#define ICMP_REPLY_TTL 64

/*
 * frame holds an IPv4 ICMP packet addressed to us, parsed into *pi; csum is what its
 * port said about the ICMP checksum (rx_csum_l4 of the mbuf; RX_CSUM_VERIFY for a
 * frame no port flagged). Returns DROP_NONE when frame now holds the echo reply (its
 * length is pi->l3_off + pi->l3_len: the caller trims any Ethernet padding),
 * DROP_BAD_ICMP_CHECKSUM (flagged bad, or verified and wrong), or DROP_ICMP_UNHANDLED
 * for any other ICMP type.
 */
enum drop_reason icmp_echo_reply_in_place(uint8_t *frame, const struct pkt_info *pi,
                                          const struct rte_ether_addr *our_mac,
                                          enum rx_csum csum);

#endif
