#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <string.h>

#include "addr.h"
#include "err.h"

/* Host-order a.b.c.d as the network-order value the functions use. */
static uint32_t be(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    return htonl((uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d);
}

Test(addr, parses_dotted_quads_in_network_order)
{
    uint32_t ip = 0;

    cr_assert_eq(addr_parse_ipv4("192.168.112.5", &ip), 0);
    cr_assert_eq(ip, be(192, 168, 112, 5));
    cr_assert_eq(((const uint8_t *)&ip)[0], 192, "first octet first in memory");
    cr_assert_eq(addr_parse_ipv4("0.0.0.0", &ip), 0);
    cr_assert_eq(ip, 0);
    cr_assert_eq(addr_parse_ipv4("255.255.255.255", &ip), 0);
    cr_assert_eq(ip, 0xffffffffu);
    cr_assert_eq(addr_parse_ipv4("10.0.0.1", &ip), 0);
    cr_assert_eq(ip, be(10, 0, 0, 1));
}

Test(addr, rejects_anything_but_a_strict_dotted_quad)
{
    static const char *const bad[] = {
        "", "1", "1.2.3", "1.2.3.4.5", "1.2.3.", ".1.2.3", "1..2.3", "256.1.1.1",
        "1.2.3.256", "01.2.3.4", "1.2.3.04", "1.2.3.00", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4x",
        "1.2.3.-4", "+1.2.3.4", "1.2.3.4/24", "a.b.c.d", "1.2.3.4\n", "1000.2.3.4",
        "0x1.2.3.4", "1.2.3.4.",
    };
    uint32_t ip = 0x12345678;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_expect_eq(addr_parse_ipv4(bad[i], &ip), LBD_EINVAL, "accepted \"%s\"", bad[i]);
        cr_expect_eq(ip, 0x12345678, "\"%s\" wrote the output", bad[i]);
    }
    cr_expect_eq(addr_parse_ipv4(NULL, &ip), LBD_EINVAL);
}

Test(addr, parses_prefixes_with_host_bits)
{
    uint32_t ip;
    uint8_t len;

    cr_assert_eq(addr_parse_prefix("192.168.112.5/24", &ip, &len), 0);
    cr_assert_eq(ip, be(192, 168, 112, 5));
    cr_assert_eq(len, 24);
    cr_assert_eq(addr_parse_prefix("0.0.0.0/0", &ip, &len), 0);
    cr_assert_eq(ip, 0);
    cr_assert_eq(len, 0);
    cr_assert_eq(addr_parse_prefix("10.1.2.3/32", &ip, &len), 0);
    cr_assert_eq(len, 32);
    cr_assert_eq(addr_parse_prefix("10.1.2.3/8", &ip, &len), 0);
    cr_assert_eq(len, 8);
}

Test(addr, rejects_bad_prefixes)
{
    static const char *const bad[] = {
        "10.0.0.0",    "10.0.0.0/",    "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/08",
        "10.0.0.0/24 ", "10.0.0.0/2x", "10.0.0.300/24", "/24",       "10.0.0.0//24",
        "10.0.0.0/100", "010.0.0.0/8", "10.0.0/8",    "",
    };
    uint32_t ip = 7;
    uint8_t len = 7;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_expect_eq(addr_parse_prefix(bad[i], &ip, &len), LBD_EINVAL, "accepted \"%s\"",
                     bad[i]);
        cr_expect(ip == 7 && len == 7, "\"%s\" wrote the output", bad[i]);
    }
    cr_expect_eq(addr_parse_prefix(NULL, &ip, &len), LBD_EINVAL);
}

Test(addr, masks)
{
    cr_assert_eq(addr_mask(0), 0);
    cr_assert_eq(addr_mask(8), be(255, 0, 0, 0));
    cr_assert_eq(addr_mask(24), be(255, 255, 255, 0));
    cr_assert_eq(addr_mask(25), be(255, 255, 255, 128));
    cr_assert_eq(addr_mask(31), be(255, 255, 255, 254));
    cr_assert_eq(addr_mask(32), 0xffffffffu);
    for (unsigned l = 0; l <= 32; l++)
        cr_assert_eq(__builtin_popcount(addr_mask((uint8_t)l)), (int)l);
}

Test(addr, in_prefix)
{
    uint32_t net = be(192, 168, 112, 0);

    cr_assert(addr_in_prefix(be(192, 168, 112, 51), net, 24));
    cr_assert(addr_in_prefix(be(192, 168, 112, 255), net, 24));
    cr_assert_not(addr_in_prefix(be(192, 168, 113, 1), net, 24));
    cr_assert(addr_in_prefix(be(192, 168, 113, 1), net, 23));
    cr_assert(addr_in_prefix(be(8, 8, 8, 8), net, 0), "everything is in /0");
    cr_assert(addr_in_prefix(be(1, 2, 3, 4), be(1, 2, 3, 4), 32));
    cr_assert_not(addr_in_prefix(be(1, 2, 3, 5), be(1, 2, 3, 4), 32));
    /* Host bits of the network argument do not matter. */
    cr_assert(addr_in_prefix(be(192, 168, 112, 9), be(192, 168, 112, 5), 24));
}

Test(addr, formats)
{
    char b[ADDR_STR_MAX], p[ADDR_PREFIX_STR_MAX];

    cr_assert_str_eq(addr_format_ipv4(be(192, 168, 112, 110), b), "192.168.112.110");
    cr_assert_str_eq(addr_format_ipv4(0, b), "0.0.0.0");
    cr_assert_str_eq(addr_format_ipv4(0xffffffffu, b), "255.255.255.255");
    cr_assert_eq(addr_format_ipv4(0, b), b);
    cr_assert_str_eq(addr_format_prefix(be(255, 255, 255, 255), 32, p), "255.255.255.255/32");
    cr_assert_str_eq(addr_format_prefix(be(172, 24, 7, 0), 24, p), "172.24.7.0/24");
    cr_assert_str_eq(addr_format_prefix(0, 0, p), "0.0.0.0/0");
    cr_assert_eq(addr_format_prefix(0, 0, p), p);
}

Test(addr, format_parse_round_trip)
{
    char b[ADDR_STR_MAX], p[ADDR_PREFIX_STR_MAX];
    uint32_t seed = 12345;

    for (int i = 0; i < 2000; i++) {
        uint32_t ip, back;
        uint8_t len = (uint8_t)(i % 33), blen;
        seed = seed * 1103515245u + 12345u;
        ip = seed;
        cr_assert_eq(addr_parse_ipv4(addr_format_ipv4(ip, b), &back), 0, "%s", b);
        cr_assert_eq(back, ip);
        cr_assert_eq(addr_parse_prefix(addr_format_prefix(ip, len, p), &back, &blen), 0, "%s", p);
        cr_assert(back == ip && blen == len);
    }
}

Test(addr, port_ranges)
{
    uint16_t lo, hi;

    cr_assert_eq(addr_parse_port_range("5070-5076", &lo, &hi), 0);
    cr_assert(lo == 5070 && hi == 5076);
    cr_assert_eq(addr_parse_port_range("443", &lo, &hi), 0);
    cr_assert(lo == 443 && hi == 443);
    cr_assert_eq(addr_parse_port_range("1-65535", &lo, &hi), 0);
    cr_assert(lo == 1 && hi == 65535);
    cr_assert_eq(addr_parse_port_range("80-80", &lo, &hi), 0);
    cr_assert(lo == 80 && hi == 80);
}

Test(addr, rejects_bad_port_ranges)
{
    static const char *const bad[] = {
        "",       "0",         "65536",     "5076-5070", "0-10",      "10-0",   "1-65536",
        "-5",     "5-",        "5--6",      "5-6-7",     " 5",        "5 ",     "5 - 6",
        "05",     "5-06",      "+5",        "5a",        "0x10",      "100000", "99999",
        "1,2",    "-",         "5070-",
    };
    uint16_t lo = 9, hi = 9;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_expect_eq(addr_parse_port_range(bad[i], &lo, &hi), LBD_EINVAL, "accepted \"%s\"",
                     bad[i]);
        cr_expect(lo == 9 && hi == 9, "\"%s\" wrote the output", bad[i]);
    }
    cr_expect_eq(addr_parse_port_range(NULL, &lo, &hi), LBD_EINVAL);
}
