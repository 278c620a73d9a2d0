#include "addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

/*
 * Reads a decimal number of at most max_digits digits at *s, without sign, spaces or
 * leading zeros ("0" itself is fine), and advances *s past it. Returns 0 or LBD_EINVAL.
 */
static int addr_read_decimal(const char **s, unsigned max_digits, unsigned long *out)
{
    const char *p = *s;
    unsigned long v = 0;
    unsigned n = 0;

    while (*p >= '0' && *p <= '9') {
        if (++n > max_digits)
            return LBD_EINVAL;
        v = v * 10 + (unsigned long)(*p - '0');
        p++;
    }
    if (n == 0 || (n > 1 && **s == '0'))
        return LBD_EINVAL;
    *s = p;
    *out = v;
    return 0;
}

/* Reads a dotted quad at *s and advances past it; the caller checks what follows. */
static int addr_read_ipv4(const char **s, uint32_t *ip_be)
{
    uint32_t host = 0;

    for (int i = 0; i < 4; i++) {
        unsigned long part;
        if (i > 0) {
            if (**s != '.')
                return LBD_EINVAL;
            (*s)++;
        }
        if (addr_read_decimal(s, 3, &part) < 0 || part > 255)
            return LBD_EINVAL;
        host = (host << 8) | (uint32_t)part;
    }
    *ip_be = htonl(host);
    return 0;
}

int addr_parse_ipv4(const char *s, uint32_t *ip_be)
{
    uint32_t ip;

    if (s == NULL || addr_read_ipv4(&s, &ip) < 0 || *s != '\0')
        return LBD_EINVAL;
    *ip_be = ip;
    return 0;
}

int addr_parse_prefix(const char *s, uint32_t *ip_be, uint8_t *len)
{
    uint32_t ip;
    unsigned long l;

    if (s == NULL || addr_read_ipv4(&s, &ip) < 0 || *s++ != '/')
        return LBD_EINVAL;
    if (addr_read_decimal(&s, 2, &l) < 0 || l > 32 || *s != '\0')
        return LBD_EINVAL;
    *ip_be = ip;
    *len = (uint8_t)l;
    return 0;
}

uint32_t addr_mask(uint8_t len)
{
    if (len == 0)
        return 0;
    if (len >= 32)
        return 0xffffffffu;
    return htonl(0xffffffffu << (32 - len));
}

bool addr_in_prefix(uint32_t ip_be, uint32_t net_be, uint8_t len)
{
    uint32_t m = addr_mask(len);
    return (ip_be & m) == (net_be & m);
}

char *addr_format_ipv4(uint32_t ip_be, char *buf)
{
    const uint8_t *b = (const uint8_t *)&ip_be;
    snprintf(buf, ADDR_STR_MAX, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    return buf;
}

char *addr_format_prefix(uint32_t ip_be, uint8_t len, char *buf)
{
    const uint8_t *b = (const uint8_t *)&ip_be;
    snprintf(buf, ADDR_PREFIX_STR_MAX, "%u.%u.%u.%u/%u", b[0], b[1], b[2], b[3],
             len > 32 ? 32u : (unsigned)len);
    return buf;
}

/* Reads one port number 1..65535 at *s and advances past it. */
static int addr_read_port(const char **s, uint16_t *port)
{
    unsigned long v;

    if (addr_read_decimal(s, 5, &v) < 0 || v < 1 || v > 65535)
        return LBD_EINVAL;
    *port = (uint16_t)v;
    return 0;
}

int addr_parse_port_range(const char *s, uint16_t *lo, uint16_t *hi)
{
    uint16_t a, b;

    if (s == NULL || addr_read_port(&s, &a) < 0)
        return LBD_EINVAL;
    b = a;
    if (*s == '-') {
        s++;
        if (addr_read_port(&s, &b) < 0)
            return LBD_EINVAL;
    }
    if (*s != '\0' || a > b)
        return LBD_EINVAL;
    *lo = a;
    *hi = b;
    return 0;
}
