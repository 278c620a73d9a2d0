/*
 * config_check (control/config_check.h), what `lbd --check-config` runs: a valid
 * config with every kind of file it can name (a TLS service's certificate and key, the
 * HA key, the management server's certificate and key) passes with nothing reported;
 * a field the loader refuses is one problem naming the field; each group of files that
 * fails (a missing certificate, an HA key others may read, a management users file
 * others may read) is its own problem, all of them reported in one run.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config_check.h"
#include "test_certs.h"

static char dir[] = "/tmp/lbd-check-test-XXXXXX";

struct seen {
    int n;
    char msgs[8][1024];
};

static void on_problem(void *arg, const char *msg)
{
    struct seen *s = arg;

    if (s->n < 8)
        snprintf(s->msgs[s->n], sizeof(s->msgs[0]), "%s", msg);
    s->n++;
}

static void write_file(const char *name, const char *text, mode_t mode)
{
    char p[256];
    FILE *f;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    cr_assert_not_null(f = fopen(p, "w"));
    fputs(text, f);
    fclose(f);
    cr_assert_eq(chmod(p, mode), 0);
}

/* A P-256 key and a self-signed certificate: dir/vip.pem, dir/vip.key (0600). */
static void make_pem(void)
{
    EVP_PKEY *k;
    X509 *x;
    char p[256];

    tc_make_cert("vip", -60, 86400, &k, &x);
    tc_write_pem(dir, "vip", k, x);
    snprintf(p, sizeof(p), "%s/vip.key", dir);
    chmod(p, 0600);
    X509_free(x);
    EVP_PKEY_free(k);
}

/*
 * Writes dir/NAME: a config with a TLS service (certificate CERT), an HA section (key
 * file HAKEY) and a management server over TLS (certificate MCERT, users file USERS or
 * none when NULL). FIRST_PORT is the service's first port (70000 is refused).
 */
static void write_config(const char *name, long first_port, const char *cert,
                         const char *hakey, const char *mcert, const char *users)
{
    char text[4096], users_field[300] = "";

    if (users != NULL)
        snprintf(users_field, sizeof(users_field), ", \"users_file\": \"%s/%s\"", dir, users);
    snprintf(text, sizeof(text),
             "{\"appliance\": {\"name\": \"t\"},\n"
             " \"interfaces\": [{\"port\": 0, \"ip\": \"192.168.112.5/24\"}],\n"
             " \"virtual_services\": [{\"label\": \"web\", \"ip\": \"192.168.112.110\",\n"
             "   \"ports\": [%ld, 8443], \"protocol\": \"tcp\", \"layer\": 7, \"mode\": \"tcp\",\n"
             "   \"tls\": {\"cert\": \"%s/%s\", \"key\": \"%s/vip.key\"},\n"
             "   \"real_servers\": [{\"label\": \"r1\", \"ip\": \"192.168.112.51\", \"port\": 80}]}],\n"
             " \"ha\": {\"peer\": \"192.168.112.6\", \"priority\": 150,\n"
             "        \"auth_key_file\": \"%s/%s\"},\n"
             " \"management\": {\"address\": \"127.0.0.1\", \"port\": 9100,\n"
             "   \"tls\": {\"cert\": \"%s/%s\", \"key\": \"%s/vip.key\"}%s}}\n",
             first_port, dir, cert, dir, dir, hakey, dir, mcert, dir, users_field);
    write_file(name, text, 0644);
}

static int check(const char *name, struct seen *s)
{
    char p[256];

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    memset(s, 0, sizeof(*s));
    return config_check_file(p, on_problem, s);
}

static void setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
    make_pem();
    write_file("ha.key", "0123456789abcdef0123456789abcdef\n", 0600);
    write_file("ha-open.key", "0123456789abcdef0123456789abcdef\n", 0644);
    write_file("users-open", "admin:$y$j9T$abcdefgh$0123456789012345678901234567890123456789012\n",
               0644);
}

static void teardown(void)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(config_check, .init = setup, .fini = teardown);

Test(config_check, valid_config_and_files_pass_with_nothing_reported)
{
    struct seen s;

    write_config("good.json", 443, "vip.pem", "ha.key", "vip.pem", NULL);
    cr_assert_eq(check("good.json", &s), 0, "first problem: %s", s.msgs[0]);
    cr_assert_eq(s.n, 0);
}

Test(config_check, a_refused_field_is_one_problem_naming_the_field)
{
    struct seen s;
    char want[512];

    write_config("bad.json", 70000, "vip.pem", "ha.key", "vip.pem", NULL);
    cr_assert_eq(check("bad.json", &s), 1);
    cr_assert_eq(s.n, 1);
    snprintf(want, sizeof(want), "%s/bad.json: virtual_services[0].ports[0]: 70000 is not a port",
             dir);
    cr_assert_str_eq(s.msgs[0], want);
}

Test(config_check, a_missing_file_is_a_problem)
{
    struct seen s;

    cr_assert_eq(check("nothing-here.json", &s), 1);
    cr_assert(strstr(s.msgs[0], "nothing-here.json") != NULL, "%s", s.msgs[0]);
}

Test(config_check, every_group_of_files_that_fails_is_reported)
{
    struct seen s;
    char prefix[300];

    write_config("files.json", 443, "missing.pem", "ha-open.key", "vip.pem", "users-open");
    cr_assert_eq(check("files.json", &s), 3);
    cr_assert_eq(s.n, 3);
    snprintf(prefix, sizeof(prefix), "%s/files.json: ", dir);
    for (int i = 0; i < 3; i++)
        cr_assert(strncmp(s.msgs[i], prefix, strlen(prefix)) == 0, "%s", s.msgs[i]);
    cr_assert(strstr(s.msgs[0], "virtual_services[0].tls.cert: ") != NULL, "%s", s.msgs[0]);
    cr_assert(strstr(s.msgs[1], "ha.auth_key_file: ") != NULL, "%s", s.msgs[1]);
    cr_assert(strstr(s.msgs[1], "must be 0600") != NULL, "%s", s.msgs[1]);
    cr_assert(strstr(s.msgs[2], "management: users file ") != NULL, "%s", s.msgs[2]);
    cr_assert(strstr(s.msgs[2], "must be 0600") != NULL, "%s", s.msgs[2]);
}

Test(config_check, the_management_certificate_is_read)
{
    struct seen s;

    write_config("mgmt.json", 443, "vip.pem", "ha.key", "missing.pem", NULL);
    cr_assert_eq(check("mgmt.json", &s), 1);
    cr_assert(strstr(s.msgs[0], "management: tls.cert ") != NULL, "%s", s.msgs[0]);
    cr_assert(strstr(s.msgs[0], "missing.pem") != NULL, "%s", s.msgs[0]);
}
