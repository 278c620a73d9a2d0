/*
 * txlog_sink: where the traffic log's records go on the control core. Every loop,
 * txlog_sink_poll takes a bounded number of records out of the workers' log rings
 * (dataplane.h, dp_log_recv), formats each (common/txlog.h) with the labels of its
 * service and real server from the running config, sends the line to the host's
 * syslog socket without blocking (syslog_out.h; config "logging": on or off, facility,
 * socket; the journal takes syslog in) and keeps it in the tail (txlog_tail.h) that the API's "logs" command reads.
 *
 * Control core only.
 */
#ifndef LBD_TXLOG_SINK_H
#define LBD_TXLOG_SINK_H

#include <stdint.h>

#include "appliance.h"
#include "syslog_out.h"
#include "txlog_tail.h"

#define TXLOG_POLL_BUDGET 1024      /* records per control loop, all workers together */
#define TXLOG_POLL_BURST 64         /* records taken from one ring at a time */

struct txlog_sink {
    struct txlog_tail *tail;
    uint64_t lines;                 /* formatted so far */
    struct syslog_out syslog;       /* the host's syslog socket (sent, dropped) */
    unsigned next_worker;           /* where the next poll starts (fairness) */
};

struct txlog_rec;

/* Start-up: the sink, its tail allocated. 0 or LBD_ENOMEM (err filled). */
int txlog_sink_init(struct txlog_sink *s, char *err, size_t errlen);
void txlog_sink_free(struct txlog_sink *s);

/*
 * Formats r with the labels cfg gives its service slot and real-server id into buf
 * (TXLOG_LINE_MAX bytes); returns the length.
 */
size_t txlog_sink_format(const struct lbd_config *cfg, const struct txlog_rec *r, char *buf);

/* Takes one record to the tail and, when cfg->logging.syslog, to syslog. */
void txlog_sink_put(struct txlog_sink *s, const struct lbd_config *cfg,
                    const struct txlog_rec *r);

/* Control loop: up to TXLOG_POLL_BUDGET records from the workers. Returns how many. */
unsigned txlog_sink_poll(struct txlog_sink *s, struct appliance *a);

#endif
