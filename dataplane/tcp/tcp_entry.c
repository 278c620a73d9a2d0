/*
 * tcp_entry: entry discipline, deferred output and user callbacks. See tcp_entry.h.
 * Hot path (every segment and call enters once): no allocation, the deferred output
 * list is linked through the control blocks.
 */
#include "tcp/tcp_entry.h"

#include "tcp/tcp_output.h"
#include "tcp/tcp_tcb.h"

void tcp_entry_begin(struct tcp_stack *st)
{
    st->depth++;
}

void tcp_entry_end(struct tcp_stack *st)
{
    if (st->depth > 1) {
        st->depth--;
        return;
    }
    /* Outermost: run deferred output (which may defer more), then release. */
    while (st->out_list != NULL) {
        struct tcp_conn *c = st->out_list;
        st->out_list = c->link;
        c->flags &= ~TCPF_OUTQ;
        if (c->flags & TCPF_DEAD) {
            /* Freed while queued (tcp_tcb_free left it to us): reap it now. */
            c->link = st->reap_list;
            st->reap_list = c;
            continue;
        }
        tcp_output(c);
    }
    st->depth = 0;
    tcp_tcb_reap(st);
}

void tcp_entry_output_later(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;

    if (c->flags & (TCPF_DEAD | TCPF_OUTQ))
        return;
    if (st->depth == 0) {
        tcp_output(c);
        return;
    }
    if (st->in_burst)
        st->stats.burst_outputs_deferred++;
    c->flags |= TCPF_OUTQ;
    c->link = st->out_list;
    st->out_list = c;
}

bool tcp_entry_notify(struct tcp_conn *c, enum tcp_event ev)
{
    if (c->flags & (TCPF_DEAD | TCPF_DETACHED))
        return !(c->flags & TCPF_DEAD);
    if (c->fn != NULL)
        c->fn(c, ev, c->arg);
    return !(c->flags & TCPF_DEAD);
}

void tcp_entry_terminate(struct tcp_conn *c, enum tcp_event ev)
{
    struct tcp_stack *st = c->st;

    if (c->flags & TCPF_DEAD)
        return;
    if (ev == TCP_EV_RESET)
        st->stats.reset++;
    else if (ev == TCP_EV_CLOSED)
        st->stats.closed++;
    tcp_entry_begin(st);
    if (!(c->flags & TCPF_DETACHED) && (c->flags & TCPF_NOTIFIED || !(c->flags & TCPF_PASSIVE))) {
        c->flags |= TCPF_DETACHED;
        if (c->fn != NULL)
            c->fn(c, ev, c->arg);
    }
    tcp_tcb_free(c);
    tcp_entry_end(st);
}
