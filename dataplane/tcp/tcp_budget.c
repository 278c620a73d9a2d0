/*
 * tcp_budget: the worker's buffer budget and its fair share. See tcp_budget.h.
 */
#include "tcp/tcp_budget.h"

uint32_t tcp_budget_share(const struct tcp_stack *st, uint32_t floor)
{
    uint64_t share = st->rcv_conns > 0 ? st->buf_budget / st->rcv_conns : st->buf_budget;

    if (share < floor)
        share = floor;
    return share > UINT32_MAX ? UINT32_MAX : (uint32_t)share;
}

uint64_t tcp_budget_room(const struct tcp_stack *st, uint64_t own)
{
    uint64_t others = st->rcvbuf_bytes + st->sndbuf_grown_bytes - own;

    return st->buf_budget > others ? st->buf_budget - others : 0;
}
