/* The traffic log's record and line (common/txlog.h). */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <string.h>

#include "txlog.h"

static uint32_t ip4(const char *s)
{
    struct in_addr a;

    cr_assert_eq(inet_pton(AF_INET, s, &a), 1);
    return a.s_addr;
}

static struct txlog_rec http_rec(void)
{
    struct txlog_rec r;

    memset(&r, 0, sizeof(r));
    r.client_ip = ip4("10.1.2.3");
    r.client_port = 40000;
    r.vip = ip4("192.168.112.110");
    r.vport = 80;
    r.rs_ip = ip4("192.168.112.51");
    r.rs_port = 8080;
    r.rs_id = 7;
    r.vs_slot = 2;
    r.t_connect_ms = 1;
    r.t_first_ms = 3;
    r.t_total_ms = 4;
    r.bytes_in = 120;
    r.bytes_out = 4567;
    r.status = 200;
    r.end = TXLOG_END_DONE;
    r.mode = TXLOG_MODE_HTTP;
    r.worker = 1;
    memcpy(r.req, "GET /x HTTP/1.1", 15);
    r.req_len = 15;
    return r;
}

Test(txlog, http_line_carries_every_field)
{
    struct txlog_rec r = http_rec();
    char buf[TXLOG_LINE_MAX];
    size_t n = txlog_format(&r, "FePool", "FE1", buf, sizeof(buf));

    cr_assert_str_eq(buf, "client=10.1.2.3:40000 vip=192.168.112.110:80 vs=FePool rs=FE1 "
                          "server=192.168.112.51:8080 mode=http status=200 connect_ms=1 "
                          "first_byte_ms=3 total_ms=4 bytes_in=120 bytes_out=4567 end=done "
                          "worker=1 req=\"GET /x HTTP/1.1\"");
    cr_assert_eq(n, strlen(buf));
}

Test(txlog, tcp_line_without_server_or_timings)
{
    struct txlog_rec r = http_rec();
    char buf[TXLOG_LINE_MAX];

    r.mode = TXLOG_MODE_TCP;
    r.status = 0;
    r.rs_ip = 0;
    r.t_connect_ms = TXLOG_T_NONE;
    r.t_first_ms = TXLOG_T_NONE;
    r.bytes_out = 0;
    r.end = TXLOG_END_NO_SERVER;
    txlog_format(&r, NULL, NULL, buf, sizeof(buf));
    cr_assert_str_eq(buf, "client=10.1.2.3:40000 vip=192.168.112.110:80 vs=- rs=- server=- "
                          "mode=tcp status=- connect_ms=- first_byte_ms=- total_ms=4 "
                          "bytes_in=120 bytes_out=0 end=no_server worker=1");
}

Test(txlog, request_line_bytes_are_escaped_and_lines_never_overflow)
{
    struct txlog_rec r = http_rec();
    char buf[TXLOG_LINE_MAX], small[40];
    size_t n;

    memset(r.req, 0xff, sizeof(r.req));
    memcpy(r.req, "GET /\"a\\b\x01", 10);
    r.req_len = 255;        /* more than the field: only TXLOG_REQ_MAX are read */
    n = txlog_format(&r, "FePool", "FE1", buf, sizeof(buf));
    cr_assert_lt(n, sizeof(buf));
    cr_assert(strstr(buf, "req=\"GET /\\x22a\\x5cb\\x01\\xff") != NULL, "%s", buf);
    n = txlog_format(&r, "FePool", "FE1", small, sizeof(small));
    cr_assert_eq(n, sizeof(small) - 1);
    cr_assert_eq(strlen(small), sizeof(small) - 1);
}

Test(txlog, every_end_reason_has_a_name)
{
    for (unsigned e = 1; e < TXLOG_END_MAX; e++)
        cr_assert_str_neq(txlog_end_name(e), "-", "end %u", e);
    cr_assert_str_eq(txlog_end_name(TXLOG_END_MAX), "-");
    cr_assert_str_eq(txlog_end_name(TXLOG_END_SERVER_RESET), "server_reset");
}

Test(txlog, layer4_line_has_protocol_packets_and_no_layer7_fields)
{
    struct txlog_rec r = http_rec();
    char buf[TXLOG_LINE_MAX];
    size_t n;

    /* What a layer 7 record would carry is not printed for a layer 4 one. */
    r.mode = TXLOG_MODE_L4_UDP;
    r.packets[0] = 3;
    r.packets[1] = 2;
    r.t_total_ms = 1500;
    r.rs_port = 3478;
    r.vport = 3478;
    r.end = TXLOG_END_IDLE_TIMEOUT;
    n = txlog_format(&r, "AvUDP", "rs1", buf, sizeof(buf));
    cr_assert_str_eq(buf, "client=10.1.2.3:40000 vip=192.168.112.110:3478 vs=AvUDP rs=rs1 "
                          "server=192.168.112.51:3478 mode=l4 proto=udp total_ms=1500 "
                          "packets_in=3 packets_out=2 end=idle_timeout worker=1");
    cr_assert_eq(n, strlen(buf));
    r.mode = TXLOG_MODE_L4_TCP;
    r.end = TXLOG_END_SYNC_REMOVED;
    txlog_format(&r, NULL, NULL, buf, sizeof(buf));
    cr_assert(strstr(buf, " vs=- rs=- server=192.168.112.51:3478 mode=l4 proto=tcp ") != NULL,
              "%s", buf);
    cr_assert(strstr(buf, " end=sync_removed worker=1") != NULL, "%s", buf);
}
