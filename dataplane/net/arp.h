/*
 * arp: answering ARP for our addresses (self IPs and VIPs).
 *
 * Works in place on a parsed frame: the request becomes the reply, so no mbuf is
 * allocated. Deciding whether the target is ours, and learning the sender into the
 * neighbour table, is the caller's business (worker.c).
 */
#ifndef LBD_ARP_H
#define LBD_ARP_H

#include <stdint.h>

#include <rte_ether.h>

#include "net/pkt_parse.h"

/*
 * Rewrites the ARP request in frame (parsed into *pi, target known to be ours)
 * into the reply from our_mac. Returns DROP_NONE when frame now holds the reply to
 * send, or DROP_ARP_NOT_OURS for anything that is not a request.
 */
enum drop_reason arp_reply_in_place(uint8_t *frame, const struct pkt_info *pi,
                                    const struct rte_ether_addr *our_mac);

/*
 * Writes a gratuitous ARP request announcing ip at mac into frame (at least
 * ARP_FRAME_LEN bytes). Returns the frame length.
 */
#define ARP_FRAME_LEN 42
uint32_t arp_build_gratuitous(uint8_t *frame, uint32_t ip, const struct rte_ether_addr *mac);

/*
 * Writes an ARP request from (our_ip, our_mac) asking for target_ip into frame
 * (at least ARP_FRAME_LEN bytes). Returns the frame length.
 */
uint32_t arp_build_request(uint8_t *frame, uint32_t our_ip, const struct rte_ether_addr *our_mac,
                           uint32_t target_ip);

/*
 * As arp_build_request, but sent to target_mac only (a unicast probe of a neighbour
 * whose entry went stale: does it still answer at that MAC?).
 */
uint32_t arp_build_probe(uint8_t *frame, uint32_t our_ip, const struct rte_ether_addr *our_mac,
                         uint32_t target_ip, const struct rte_ether_addr *target_mac);

#endif
