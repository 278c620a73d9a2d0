/*
 * tls_load (control/tls_load.h): password files (mode 0600 or refused), PEM and PKCS#12
 * certificates, a PFX exported with legacy encryption as Windows does (made here with
 * `openssl pkcs12 -export -legacy`), a wrong password, a key that does not match, an
 * expired certificate (a warning only), and the contexts of a whole config.
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

#include "config.h"
#include "err.h"
#include "tls_load.h"
#include "test_certs.h"

static char dir[] = "/tmp/lbd-tls-test-XXXXXX";

static void path_of(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

static void write_file(const char *name, const char *text, mode_t mode)
{
    char p[256];
    FILE *f;

    path_of(p, sizeof(p), name);
    f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    cr_assert_eq(chmod(p, mode), 0);
}

/* A P-256 key and a self-signed certificate valid from +from_s to +to_s, as PEM files. */
static void make_pem(const char *stem, long from_s, long to_s)
{
    EVP_PKEY *k;
    X509 *x;

    tc_make_cert(stem, from_s, to_s, &k, &x);
    tc_write_pem(dir, stem, k, x);
    X509_free(x);
    EVP_PKEY_free(k);
}

static void setup(void)
{
    char cmd[1024];

    cr_assert_not_null(mkdtemp(dir));
    make_pem("vip", -60, 86400);
    make_pem("other", -60, 86400);
    make_pem("old", -86400 * 3, -86400);
    write_file("good.pass", "s3cret pass\n", 0600);
    write_file("open.pass", "s3cret pass\n", 0644);
    write_file("wrong.pass", "nope\n", 0600);
    /* What Windows exports by default: RC2-40/3DES encryption, SHA-1 MAC. */
    snprintf(cmd, sizeof(cmd),
             "openssl pkcs12 -export -legacy -in %s/vip.pem -inkey %s/vip.key "
             "-out %s/vip.pfx -passout file:%s/good.pass 2>/dev/null",
             dir, dir, dir, dir);
    cr_assert_eq(system(cmd), 0, "openssl pkcs12 -export -legacy");
}

static void teardown(void)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    (void)!system(cmd);
}

TestSuite(tls_load, .init = setup, .fini = teardown);

static struct cfg_tls_cert cert_of(const char *cert, const char *key, const char *pfx,
                                   const char *pass)
{
    struct cfg_tls_cert tc = {{0}};

    if (cert != NULL)
        path_of(tc.cert, sizeof(tc.cert), cert);
    if (key != NULL)
        path_of(tc.key, sizeof(tc.key), key);
    if (pfx != NULL)
        path_of(tc.pfx, sizeof(tc.pfx), pfx);
    if (pass != NULL)
        path_of(tc.pfx_password_file, sizeof(tc.pfx_password_file), pass);
    return tc;
}

Test(tls_load, password_file_must_be_0600)
{
    char p[256], buf[64], err[512] = "";

    path_of(p, sizeof(p), "good.pass");
    cr_assert_eq(tls_load_password(p, "f", buf, sizeof(buf), err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(buf, "s3cret pass", "the newline is not part of it");
    path_of(p, sizeof(p), "open.pass");
    cr_assert_eq(tls_load_password(p, "virtual_services[0].tls.pfx_password_file", buf,
                                   sizeof(buf), err, sizeof(err)), LBD_EINVAL);
    cr_assert(strstr(err, "virtual_services[0].tls.pfx_password_file: ") == err, "%s", err);
    cr_assert(strstr(err, "is mode 0644; it must be 0600") != NULL, "%s", err);
}

Test(tls_load, pem_cert_and_key)
{
    struct cfg_tls_cert tc = cert_of("vip.pem", "vip.key", NULL, NULL);
    struct tls_cert_material m;
    char err[512] = "";

    cr_assert_eq(tls_load_cert(&tc, "virtual_services[0].tls", &m, err, sizeof(err)), 0, "%s",
                 err);
    cr_assert(m.cert != NULL && m.key != NULL);
    tls_load_material_free(&m);
}

Test(tls_load, legacy_pfx_with_a_password_file_imports)
{
    struct cfg_tls_cert tc = cert_of(NULL, NULL, "vip.pfx", "good.pass");
    struct tls_cert_material m;
    char err[512] = "", p[256];
    X509 *want;
    FILE *f;

    cr_assert_eq(tls_load_cert(&tc, "virtual_services[0].tls", &m, err, sizeof(err)), 0, "%s",
                 err);
    path_of(p, sizeof(p), "vip.pem");
    cr_assert_not_null(f = fopen(p, "r"));
    want = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    cr_assert_eq(X509_cmp(want, m.cert), 0, "the certificate in the PFX");
    cr_assert_eq(X509_check_private_key(m.cert, m.key), 1);
    X509_free(want);
    tls_load_material_free(&m);
    /* "cert" naming a PFX (the shipped configs do so) works the same. */
    tc = cert_of("vip.pfx", NULL, NULL, "good.pass");
    cr_assert_eq(tls_load_cert(&tc, "x", &m, err, sizeof(err)), 0, "%s", err);
    tls_load_material_free(&m);
}

Test(tls_load, wrong_pfx_password_names_the_password_field)
{
    struct cfg_tls_cert tc = cert_of(NULL, NULL, "vip.pfx", "wrong.pass");
    struct tls_cert_material m;
    char err[512] = "";

    cr_assert_eq(tls_load_cert(&tc, "virtual_services[1].tls", &m, err, sizeof(err)),
                 LBD_EINVAL);
    cr_assert(strstr(err, "virtual_services[1].tls.pfx_password_file: wrong password") == err,
              "%s", err);
    tc = cert_of(NULL, NULL, "vip.pfx", "open.pass");
    cr_assert_eq(tls_load_cert(&tc, "virtual_services[1].tls", &m, err, sizeof(err)),
                 LBD_EINVAL);
    cr_assert(strstr(err, "must be 0600") != NULL, "%s", err);
}

Test(tls_load, key_not_matching_the_certificate_is_refused)
{
    struct cfg_tls_cert tc = cert_of("vip.pem", "other.key", NULL, NULL);
    struct tls_cert_material m;
    char err[512] = "";

    cr_assert_eq(tls_load_cert(&tc, "virtual_services[0].tls.sni_certs[0]", &m, err,
                               sizeof(err)), LBD_EINVAL);
    cr_assert(strstr(err, "virtual_services[0].tls.sni_certs[0].key: the private key does not "
                          "match the certificate") == err, "%s", err);
}

Test(tls_load, missing_file_and_not_a_certificate)
{
    struct cfg_tls_cert tc = cert_of("absent.pem", NULL, NULL, NULL);
    struct tls_cert_material m;
    char err[512] = "";

    cr_assert_eq(tls_load_cert(&tc, "t", &m, err, sizeof(err)), LBD_ENOENT);
    cr_assert(strstr(err, "t.cert: cannot open") == err, "%s", err);
    tc = cert_of("good.pass", NULL, NULL, NULL);
    cr_assert_eq(tls_load_cert(&tc, "t", &m, err, sizeof(err)), LBD_EINVAL);
    cr_assert(strstr(err, "neither PEM nor PKCS#12") != NULL, "%s", err);
}

Test(tls_load, expired_certificate_is_only_a_warning)
{
    struct cfg_tls_cert tc = cert_of("old.pem", "old.key", NULL, NULL);
    struct tls_cert_material m;
    char err[512] = "";

    cr_assert_eq(tls_load_cert(&tc, "t", &m, err, sizeof(err)), 0, "%s", err);
    tls_load_material_free(&m);
}

Test(tls_load, a_config_gets_its_contexts_and_gives_them_back)
{
    struct cfg_real_server rs[2] = {{.tls = true}, {.tls = false}};
    struct cfg_vs vs = {.layer = 7, .real_servers = rs, .n_real_servers = 2};
    struct lbd_config cfg = {.virtual_services = &vs, .n_virtual_services = 1};
    char err[512] = "";

    vs.tls.enabled = true;
    vs.tls.min_version = CFG_TLS_1_2;
    path_of(vs.tls.pfx, sizeof(vs.tls.pfx), "vip.pfx");
    path_of(vs.tls.pfx_password_file, sizeof(vs.tls.pfx_password_file), "good.pass");
    vs.tls.n_sni = 1;
    path_of(vs.tls.sni[0].cert, sizeof(vs.tls.sni[0].cert), "other.pem");
    path_of(vs.tls.sni[0].key, sizeof(vs.tls.sni[0].key), "other.key");
    cr_assert_eq(tls_load_config(&cfg, 2, err, sizeof(err)), 0, "%s", err);
    cr_assert_not_null(vs.tls_ctx);
    cr_assert_eq(vs.tls_ctx->n_certs, 2);
    cr_assert_eq(vs.tls_ctx->n_workers, 2);
    cr_assert_not_null(rs[0].tls_ctx);
    cr_assert_null(rs[1].tls_ctx);
    tls_load_release(&cfg);
    cr_assert_null(vs.tls_ctx);
    cr_assert_null(rs[0].tls_ctx);

    /* A refused cipher list names its field; nothing stays built. */
    snprintf(vs.tls.ciphers, sizeof(vs.tls.ciphers), "NO-SUCH-CIPHER");
    cr_assert_eq(tls_load_config(&cfg, 1, err, sizeof(err)), LBD_EINVAL);
    cr_assert(strstr(err, "virtual_services[0].tls.ciphers: ") == err, "%s", err);
    cr_assert_null(vs.tls_ctx);
    cr_assert_null(rs[0].tls_ctx);
}
