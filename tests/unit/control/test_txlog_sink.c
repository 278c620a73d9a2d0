/* The traffic log's sink (control/txlog_sink.h): labels from the running config, the
 * tail, and the syslog switch. */
#include <criterion/criterion.h>

#include <string.h>

#include "txlog.h"
#include "txlog_sink.h"

static struct cfg_real_server rs[2];
static struct cfg_vs vs;
static struct lbd_config cfg;

static void setup(void)
{
    memset(rs, 0, sizeof(rs));
    memset(&vs, 0, sizeof(vs));
    memset(&cfg, 0, sizeof(cfg));
    snprintf(rs[0].label, sizeof(rs[0].label), "FE1");
    rs[0].id = 100;
    snprintf(rs[1].label, sizeof(rs[1].label), "FE2");
    rs[1].id = 101;
    snprintf(vs.label, sizeof(vs.label), "FePool");
    vs.slot = 3;
    vs.real_servers = rs;
    vs.n_real_servers = 2;
    cfg.virtual_services = &vs;
    cfg.n_virtual_services = 1;
    cfg.logging.syslog = false;
}

TestSuite(txlog_sink, .init = setup);

struct got {
    char line[TXLOG_LINE_MAX];
    unsigned n;
};

static void take(void *arg, uint64_t seq, const char *line)
{
    struct got *g = arg;

    (void)seq;
    snprintf(g->line, sizeof(g->line), "%s", line);
    g->n++;
}

Test(txlog_sink, records_become_lines_with_the_labels_of_the_running_config)
{
    struct txlog_sink s;
    struct txlog_rec r;
    struct got g = {0};
    char err[128];
    uint64_t next;

    cr_assert_eq(txlog_sink_init(&s, err, sizeof(err)), 0, "%s", err);
    memset(&r, 0, sizeof(r));
    r.vs_slot = 3;
    r.rs_id = 101;
    r.rs_ip = 0x0100000a;
    r.t_connect_ms = r.t_first_ms = TXLOG_T_NONE;
    txlog_sink_put(&s, &cfg, &r);
    txlog_tail_read(s.tail, 0, 10, take, &g, &next);
    cr_assert_eq(g.n, 1);
    cr_assert(strstr(g.line, " vs=FePool rs=FE2 server=10.0.0.1:0 ") != NULL, "%s", g.line);
    cr_assert_eq(s.lines, 1);
    cr_assert_eq(s.syslog.sent + s.syslog.dropped, 0, "logging.syslog false: the tail only");
    /* The server was removed since (or the service): "-", never another's label. */
    r.rs_id = 999;
    txlog_sink_put(&s, &cfg, &r);
    r.vs_slot = 4;
    r.rs_id = 100;
    txlog_sink_put(&s, &cfg, &r);
    g.n = 0;
    txlog_tail_read(s.tail, 1, 1, take, &g, &next);
    cr_assert(strstr(g.line, " vs=FePool rs=- ") != NULL, "%s", g.line);
    txlog_tail_read(s.tail, 2, 1, take, &g, &next);
    cr_assert(strstr(g.line, " vs=- rs=- ") != NULL, "%s", g.line);
    cfg.logging.syslog = true;
    snprintf(cfg.logging.syslog_socket, sizeof(cfg.logging.syslog_socket),
             "/nonexistent/lbd-test-log");
    txlog_sink_put(&s, &cfg, &r);
    cr_assert_eq(s.syslog.sent, 0);
    cr_assert_eq(s.syslog.dropped, 1, "no socket there: dropped and counted");
    cr_assert_eq(s.lines, 4);
    txlog_sink_free(&s);
}

Test(txlog_sink, a_layer4_record_becomes_its_line_with_the_labels)
{
    struct txlog_sink s;
    struct txlog_rec r;
    struct got g = {0};
    char err[128];
    uint64_t next;

    cr_assert_eq(txlog_sink_init(&s, err, sizeof(err)), 0, "%s", err);
    memset(&r, 0, sizeof(r));
    r.mode = TXLOG_MODE_L4_TCP;
    r.vs_slot = 3;
    r.rs_id = 100;
    r.rs_ip = 0x0100000a;
    r.rs_port = 443;
    r.vport = 443;
    r.packets[0] = 7;
    r.packets[1] = 5;
    r.t_total_ms = 3;
    r.end = TXLOG_END_SERVER_RESET;
    txlog_sink_put(&s, &cfg, &r);
    txlog_tail_read(s.tail, 0, 10, take, &g, &next);
    cr_assert_eq(g.n, 1);
    cr_assert(strstr(g.line, " vs=FePool rs=FE1 server=10.0.0.1:443 mode=l4 proto=tcp "
                             "total_ms=3 packets_in=7 packets_out=5 end=server_reset ") != NULL,
              "%s", g.line);
    txlog_sink_free(&s);
}
