/*
 * tcp_icmp: ICMP errors about the stack's own segments (RFC 5927, RFC 1191).
 *
 * Only "fragmentation needed" (type 3 code 4) acts: it lowers the connection's send
 * MSS to the next-hop MTU it names less 40 (never below TCP_PMTU_MIN - 40, Linux's
 * min_pmtu of 552), and what is in flight is sent again at the new size at once
 * (without a congestion response: the segments were dropped for their size, not for
 * congestion). An error is taken only when it is about a connection of the stack and
 * its quote's sequence number is in the send window (SND.UNA <= SEG.SEQ < SND.MAX,
 * RFC 5927 section 4.1), so an off-path host that does not know the window cannot
 * shrink connections at will; an MTU at or above the current one changes nothing.
 * Every other error (unreachable, time exceeded) is taken and ignored, as RFC 5927
 * and Linux do for established connections (soft errors: the retransmission timer
 * decides). Internal to the stack; the worker calls it for ICMP errors to one of our
 * addresses.
 */
#ifndef LBD_TCP_ICMP_H
#define LBD_TCP_ICMP_H

#include <stdbool.h>
#include <stdint.h>

#include "net/pkt_parse.h"
#include "net/rx_csum.h"
#include "tcp/tcp_types.h"

#define TCP_PMTU_MIN 552            /* the lowest path MTU taken (Linux's min_pmtu) */

/*
 * frame holds an ICMP error (pkt_icmp_is_error) parsed into *pi; csum: the port's
 * verdict on its checksum. Returns true when it is about a connection of st (and was
 * taken or refused, counted: pmtu_reduced, icmp_bad_seq, icmp_ignored), false when it
 * is not (invalid, or about no connection of st: the caller's, e.g. Layer 4 NAT).
 * The caller keeps the frame either way.
 */
bool tcp_icmp_input(struct tcp_stack *st, const uint8_t *frame, const struct pkt_info *pi,
                    enum rx_csum csum);

#endif
