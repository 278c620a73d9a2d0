/*
 * tcp_opt: writing the TCP options that more than one sender builds (the TCP stack's
 * segments and the Layer 4 SYN proxy's). Header only.
 */
#ifndef LBD_NET_TCP_OPT_H
#define LBD_NET_TCP_OPT_H

#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>

#define TCP_OPT_TS_LEN 10           /* kind 8, length 10: TSval, TSecr (RFC 7323) */
#define TCP_OPT_NOP_TS_LEN 12       /* NOP, NOP, Timestamps (RFC 7323 appendix A) */

/* Writes the Timestamps option (tsval, tsecr: host order) at o. */
static inline void tcp_opt_put_ts(uint8_t *o, uint32_t tsval, uint32_t tsecr)
{
    uint32_t v = rte_cpu_to_be_32(tsval), e = rte_cpu_to_be_32(tsecr);

    o[0] = 8;
    o[1] = TCP_OPT_TS_LEN;
    memcpy(o + 2, &v, 4);
    memcpy(o + 6, &e, 4);
}

/* Writes NOP, NOP and the Timestamps option at o; returns TCP_OPT_NOP_TS_LEN. */
static inline uint32_t tcp_opt_put_nop_ts(uint8_t *o, uint32_t tsval, uint32_t tsecr)
{
    o[0] = 1;
    o[1] = 1;
    tcp_opt_put_ts(o + 2, tsval, tsecr);
    return TCP_OPT_NOP_TS_LEN;
}

#endif
