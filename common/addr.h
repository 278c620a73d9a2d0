/*
 * addr: IPv4 address, prefix and port-list parsing and formatting.
 *
 * Addresses are uint32_t in network byte order everywhere in lbd, so that the
 * dataplane compares them with packet fields without conversion.
 */
#ifndef LBD_ADDR_H
#define LBD_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADDR_STR_MAX 16         /* "255.255.255.255" + NUL */
#define ADDR_PREFIX_STR_MAX 19  /* "255.255.255.255/32" + NUL */

/* Strict dotted quad ("10.0.0.1"; no leading zeros, no trailing junk). 0 or LBD_EINVAL. */
int addr_parse_ipv4(const char *s, uint32_t *ip_be);

/* "a.b.c.d/len" with 0 <= len <= 32. Host bits may be set (an interface address). */
int addr_parse_prefix(const char *s, uint32_t *ip_be, uint8_t *len);

/* Network mask for a prefix length, network byte order. */
uint32_t addr_mask(uint8_t len);

/* True when ip is inside net/len. */
bool addr_in_prefix(uint32_t ip_be, uint32_t net_be, uint8_t len);

/* Formats into buf (at least ADDR_STR_MAX bytes); returns buf. */
char *addr_format_ipv4(uint32_t ip_be, char *buf);

/* Formats "a.b.c.d/len" into buf (at least ADDR_PREFIX_STR_MAX bytes); returns buf. */
char *addr_format_prefix(uint32_t ip_be, uint8_t len, char *buf);

/*
 * A port or an inclusive range "5070-5076". Fills *lo and *hi (1..65535, lo <= hi).
 * Returns 0 or LBD_EINVAL.
 */
int addr_parse_port_range(const char *s, uint16_t *lo, uint16_t *hi);

#endif
