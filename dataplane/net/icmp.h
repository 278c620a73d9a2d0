/*
 * icmp: answering ICMP echo requests to our addresses (self IPs and VIPs).
 *
 * Works in place: the request becomes the reply. The ICMP checksum of the request
 * is verified over the whole message; the reply's is updated incrementally.
 */
#ifndef LBD_ICMP_H
#define LBD_ICMP_H

#include <stdint.h>

#include <rte_ether.h>

#include "net/pkt_parse.h"

#define ICMP_REPLY_TTL 64

/*
 * frame holds an IPv4 ICMP packet addressed to us, parsed into *pi. Returns DROP_NONE
 * when frame now holds the echo reply (its length is pi->l3_off + pi->l3_len: the
 * caller trims any Ethernet padding), DROP_BAD_ICMP_CHECKSUM, or DROP_ICMP_UNHANDLED
 * for any other ICMP type.
 */
enum drop_reason icmp_echo_reply_in_place(uint8_t *frame, const struct pkt_info *pi,
                                          const struct rte_ether_addr *our_mac);

#endif
