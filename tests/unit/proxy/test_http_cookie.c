/*
 * The persistence cookie (http_cookie.h): values encoded and decoded, forged and
 * stale ones refused, the cookie found in and taken out of Cookie fields.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "proxy/cookie_pairs.h"
#include "proxy/http_cookie.h"
#include "proxy/http_msg.h"

static const struct siphash_key key = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
static const struct siphash_key other = {1, 2};

Test(http_cookie, session_value_round_trip)
{
    struct http_cookie_val cv = {.id = 0x0123456789abcdefull}, back;
    char v[HTTP_COOKIE_VALUE_MAX];

    cr_assert_eq(http_cookie_encode(&key, &cv, v), 16);
    cr_assert_str_eq(v, "0123456789abcdef");
    cr_assert(http_cookie_decode(&key, v, 16, &back));
    cr_assert_eq(back.id, cv.id);
    cr_assert(!back.timed);
    cr_assert(http_cookie_fresh(&back, 0, 0, 12345));
}

Test(http_cookie, timed_value_round_trip_and_tag)
{
    struct http_cookie_val cv = {.id = 42, .timed = true, .first_s = 1000, .last_s = 1500}, back;
    char v[HTTP_COOKIE_VALUE_MAX], t[HTTP_COOKIE_VALUE_MAX];
    size_t n = http_cookie_encode(&key, &cv, v);

    cr_assert_eq(n, 43);
    cr_assert(http_cookie_decode(&key, v, n, &back));
    cr_assert(back.timed && back.id == 42 && back.first_s == 1000 && back.last_s == 1500);
    /* Another key, a stretched time, a changed server: refused. */
    cr_assert(!http_cookie_decode(&other, v, n, &back));
    memcpy(t, v, sizeof(t));
    t[33] = t[33] == '0' ? '1' : '0';
    cr_assert(!http_cookie_decode(&key, t, n, &back));
    memcpy(t, v, sizeof(t));
    t[15] = t[15] == '0' ? '1' : '0';
    cr_assert(!http_cookie_decode(&key, t, n, &back));
}

Test(http_cookie, malformed_values)
{
    static const char *const bad[] = {"", "0123", "0123456789ABCDEF", "0123456789abcdeg",
                                      "0123456789abcdef0", "0123456789abcdef.00000001.00000002",
                                      "192.168.112.51:8080"};
    struct http_cookie_val cv;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert(!http_cookie_decode(&key, bad[i], strlen(bad[i]), &cv), "%s", bad[i]);
}

Test(http_cookie, freshness)
{
    struct http_cookie_val s = {.id = 1}, t = {.id = 1, .timed = true, .first_s = 100,
                                               .last_s = 200};

    cr_assert(http_cookie_fresh(&s, 0, 0, 1u << 30));
    cr_assert(!http_cookie_fresh(&s, 600, 0, 300), "limits need the timed form");
    cr_assert(http_cookie_fresh(&t, 600, 0, 700));
    cr_assert(!http_cookie_fresh(&t, 600, 0, 801), "idle too long");
    cr_assert(http_cookie_fresh(&t, 0, 1000, 1100));
    cr_assert(!http_cookie_fresh(&t, 0, 1000, 1101), "lived too long");
    cr_assert(!http_cookie_fresh(&t, 600, 0, 150), "refreshed in the future");
}

static struct http_head hd;

static const char *parse_req(const char *r)
{
    struct http_msg m;

    http_msg_init(&m, HTTP_REQUEST, false);
    cr_assert_eq(http_msg_head(&m, r, (uint32_t)strlen(r), &hd), HTTP_V_OK, "%s", r);
    return r;
}

Test(http_cookie, find_in_cookie_fields)
{
    struct http_span v;
    const char *r;

    r = parse_req("GET / HTTP/1.1\r\nHost: a\r\nCookie: MS-WSMANX=1; a=2\r\n"
                  "Cookie: b=3;  MS-WSMAN=\"abc\" ; c=4\r\n\r\n");
    cr_assert(http_cookie_find(r, &hd, "MS-WSMAN", 8, &v));
    cr_assert_eq(v.len, 3);
    cr_assert(memcmp(r + v.off, "abc", 3) == 0);
    cr_assert(!http_cookie_find(r, &hd, "d", 1, &v));
    cr_assert(http_cookie_find(r, &hd, "c", 1, &v));
    cr_assert(memcmp(r + v.off, "4", 1) == 0);
    r = parse_req("GET / HTTP/1.1\r\nHost: a\r\nX-Cookie: MS-WSMAN=1\r\n\r\n");
    cr_assert(!http_cookie_find(r, &hd, "MS-WSMAN", 8, &v), "only in Cookie fields");
}

Test(http_cookie, strip)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"MS-WSMAN=1", ""},
        {"a=1; MS-WSMAN=1", "a=1"},
        {"MS-WSMAN=1; a=1", "a=1"},
        {"a=1;MS-WSMAN=1;b=2", "a=1; b=2"},
        {"a=1; MS-WSMAN=1; MS-WSMAN=2; b=2", "a=1; b=2"},
        {"MS-WSMANX=1; a", "MS-WSMANX=1; a"},
        {"a=1 ; b=2", "a=1; b=2"},
    };
    char out[128];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int n = cookie_pairs_strip(cases[i].in, strlen(cases[i].in), "MS-WSMAN", 8, out,
                                  sizeof(out));
        cr_assert_geq(n, 0);
        out[n] = 0;
        cr_assert_str_eq(out, cases[i].out, "%s", cases[i].in);
    }
    cr_assert_eq(cookie_pairs_strip("aaaa=1; b=2", 11, "x", 1, out, 4), -1);
}
