/*
 * tcp_input: segments in (RFC 9293 section 3.10.7 with RFC 5961, 6298, 5681/6582
 * and 7323). The worker hands every TCP segment for one of our addresses that it
 * owns to tcp_input.
 */
#ifndef LBD_TCP_INPUT_H
#define LBD_TCP_INPUT_H

#include <rte_mbuf.h>

#include "base/drop.h"
#include "net/pkt_parse.h"
#include "tcp/tcp_types.h"

/*
 * Processes one segment. m holds the frame that pi describes (pkt_parse). Returns
 * DROP_NONE when the stack took m (queued its payload or freed it, counting the
 * outcome in its own counters), or the drop reason, leaving m to the caller:
 * DROP_TCP_BAD_CHECKSUM (flagged bad by the port, or not flagged and wrong; a
 * checksum the port flagged good or partial is accepted, net/rx_csum.h),
 * DROP_MALFORMED_TCP (options), DROP_TCP_NO_SOCKET (no connection or listener; a
 * RST was sent when the rules ask for one).
 */
enum drop_reason tcp_input(struct tcp_stack *st, struct rte_mbuf *m, const struct pkt_info *pi);

#endif
