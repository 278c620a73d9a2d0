/*
 * tls_load: certificates, keys and password files of a config, and the TLS contexts
 * built from them (see tls_load.h).
 */
#include "tls_load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "err.h"
#include "log.h"

#define TLS_PASSWORD_MAX 1024

/* The default and legacy providers, loaded once: PKCS#12 files exported from Windows
 * are encrypted with RC2-40 or 3DES and a SHA-1 MAC, which OpenSSL 3 keeps in "legacy". */
static int tls_load_providers(char *err, size_t errlen)
{
    static bool loaded;

    if (loaded)
        return 0;
    if (OSSL_PROVIDER_load(NULL, "default") == NULL) {
        ERR_clear_error();
        return lbd_err_set(err, errlen, LBD_EIO, "tls: cannot load OpenSSL's default provider");
    }
    if (OSSL_PROVIDER_load(NULL, "legacy") == NULL) {
        /* Modern PFX files still import; legacy-encrypted ones will say why not. */
        ERR_clear_error();
        LOG_WARN("tls", "OpenSSL's legacy provider is not available: PFX files with "
                        "legacy (RC2, 3DES) encryption cannot be imported");
    }
    loaded = true;
    return 0;
}

int tls_load_password(const char *path, const char *field, char *buf, size_t len, char *err,
                      size_t errlen)
{
    struct stat st;
    size_t n;
    FILE *f;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return lbd_err_set(err, errlen, errno == ENOENT ? LBD_ENOENT : LBD_EINVAL,
                           "%s: cannot open %s: %s", field, path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return lbd_err_set(err, errlen, LBD_EINVAL, "%s: %s is not a regular file", field, path);
    }
    if ((st.st_mode & 077) != 0) {
        close(fd);
        return lbd_err_set(err, errlen, LBD_EINVAL,
                           "%s: %s is mode %04o; it must be 0600 (readable by its owner only)",
                           field, path, (unsigned)(st.st_mode & 07777));
    }
    f = fdopen(fd, "r");
    if (f == NULL) {
        close(fd);
        return lbd_err_set(err, errlen, LBD_ENOMEM, "%s: out of memory", field);
    }
    if (fgets(buf, (int)len, f) == NULL)
        buf[0] = '\0';
    fclose(f);
    n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return 0;
}

void tls_load_material_free(struct tls_cert_material *m)
{
    X509_free(m->cert);
    EVP_PKEY_free(m->key);
    sk_X509_pop_free(m->chain, X509_free);
    memset(m, 0, sizeof(*m));
}

/* Reads the whole file into a memory BIO (so that it can be tried as PEM, then as
 * PKCS#12). */
static BIO *tls_read_file(const char *path, const char *field, char *err, size_t errlen)
{
    BIO *mem, *f = BIO_new_file(path, "rb");
    char buf[4096];
    int n;

    if (f == NULL) {
        ERR_clear_error();
        lbd_err_set(err, errlen, access(path, F_OK) != 0 ? LBD_ENOENT : LBD_EINVAL,
                    "%s: cannot open %s: %s", field, path, strerror(errno));
        return NULL;
    }
    mem = BIO_new(BIO_s_mem());
    while (mem != NULL && (n = BIO_read(f, buf, sizeof(buf))) > 0)
        BIO_write(mem, buf, n);
    BIO_free(f);
    if (mem == NULL)
        lbd_err_set(err, errlen, LBD_ENOMEM, "%s: out of memory", field);
    return mem;
}

static bool tls_is_pem(BIO *mem)
{
    char *p;
    long n = BIO_get_mem_data(mem, &p);

    return n >= 10 && memmem(p, (size_t)n, "-----BEGIN", 10) != NULL;
}

/* PKCS#12 from mem with the password in password_file (field pw_field). */
static int tls_load_pfx(BIO *mem, const char *path, const char *field, const char *password_file,
                        const char *pw_field, struct tls_cert_material *m, char *err,
                        size_t errlen)
{
    char pass[TLS_PASSWORD_MAX] = "";
    PKCS12 *p12;
    int rc;

    rc = tls_load_providers(err, errlen);
    if (rc != 0)
        return rc;
    if (password_file[0] != '\0') {
        rc = tls_load_password(password_file, pw_field, pass, sizeof(pass), err, errlen);
        if (rc != 0)
            return rc;
    }
    p12 = d2i_PKCS12_bio(mem, NULL);
    if (p12 == NULL) {
        ERR_clear_error();
        return lbd_err_set(err, errlen, LBD_EINVAL, "%s: %s is neither PEM nor PKCS#12 (PFX)",
                           field, path);
    }
    if (PKCS12_mac_present(p12) && PKCS12_verify_mac(p12, pass, -1) != 1) {
        ERR_clear_error();
        PKCS12_free(p12);
        OPENSSL_cleanse(pass, sizeof(pass));
        return lbd_err_set(err, errlen, LBD_EINVAL, "%s: wrong password for %s", pw_field, path);
    }
    rc = PKCS12_parse(p12, pass, &m->key, &m->cert, &m->chain);
    PKCS12_free(p12);
    OPENSSL_cleanse(pass, sizeof(pass));
    if (rc != 1) {
        char eb[256];
        ERR_error_string_n(ERR_peek_last_error(), eb, sizeof(eb));
        ERR_clear_error();
        return lbd_err_set(err, errlen, LBD_EINVAL,
                           "%s: cannot decrypt %s (%s; a PFX with legacy encryption needs "
                           "OpenSSL's legacy provider)", field, path, eb);
    }
    if (m->cert == NULL || m->key == NULL)
        return lbd_err_set(err, errlen, LBD_EINVAL, "%s: %s holds no %s", field, path,
                           m->cert == NULL ? "certificate" : "private key");
    return 0;
}

/* PEM: the certificate and the chain after it from mem; the key from key_path or from
 * the same file. */
static int tls_load_pem(BIO *mem, const char *path, const char *field, const char *key_path,
                        const char *key_field, struct tls_cert_material *m, char *err,
                        size_t errlen)
{
    X509 *x;

    m->cert = PEM_read_bio_X509(mem, NULL, NULL, NULL);
    if (m->cert == NULL) {
        ERR_clear_error();
        return lbd_err_set(err, errlen, LBD_EINVAL, "%s: no PEM certificate in %s", field,
                           path);
    }
    m->chain = sk_X509_new_null();
    while ((x = PEM_read_bio_X509(mem, NULL, NULL, NULL)) != NULL)
        sk_X509_push(m->chain, x);
    ERR_clear_error();
    if (key_path[0] != '\0') {
        BIO *kb = tls_read_file(key_path, key_field, err, errlen);
        if (kb == NULL)
            return LBD_ENOENT;
        m->key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
        BIO_free(kb);
        if (m->key == NULL) {
            ERR_clear_error();
            return lbd_err_set(err, errlen, LBD_EINVAL,
                               "%s: no unencrypted PEM private key in %s", key_field, key_path);
        }
    } else {
        (void)BIO_reset(mem);
        m->key = PEM_read_bio_PrivateKey(mem, NULL, NULL, NULL);
        ERR_clear_error();
        if (m->key == NULL)
            return lbd_err_set(err, errlen, LBD_EINVAL,
                               "%s: no private key in %s (give \"key\")", field, path);
    }
    return 0;
}

int tls_load_cert(const struct cfg_tls_cert *tc, const char *field,
                  struct tls_cert_material *m, char *err, size_t errlen)
{
    const char *path = tc->pfx[0] != '\0' ? tc->pfx : tc->cert;
    char f_file[256], f_key[256], f_pw[256];
    BIO *mem;
    int rc;

    memset(m, 0, sizeof(*m));
    snprintf(f_file, sizeof(f_file), "%s.%s", field, tc->pfx[0] != '\0' ? "pfx" : "cert");
    snprintf(f_key, sizeof(f_key), "%s.key", field);
    snprintf(f_pw, sizeof(f_pw), "%s.pfx_password_file", field);
    mem = tls_read_file(path, f_file, err, errlen);
    if (mem == NULL)
        return LBD_ENOENT;
    /* "cert" may name a PFX too (what the file holds decides). */
    if (tc->pfx[0] == '\0' && tls_is_pem(mem))
        rc = tls_load_pem(mem, path, f_file, tc->key, f_key, m, err, errlen);
    else
        rc = tls_load_pfx(mem, path, f_file, tc->pfx_password_file, f_pw, m, err, errlen);
    BIO_free(mem);
    if (rc == 0 && X509_check_private_key(m->cert, m->key) != 1) {
        ERR_clear_error();
        rc = lbd_err_set(err, errlen, LBD_EINVAL,
                         "%s: the private key does not match the certificate in %s",
                         tc->key[0] != '\0' ? f_key : f_file, path);
    }
    if (rc == 0) {
        if (X509_cmp_current_time(X509_get0_notAfter(m->cert)) <= 0)
            LOG_WARN("tls", "%s: the certificate in %s has expired; clients will refuse it",
                     f_file, path);
        else if (X509_cmp_current_time(X509_get0_notBefore(m->cert)) >= 0)
            LOG_WARN("tls", "%s: the certificate in %s is not valid yet", f_file, path);
    }
    if (rc != 0)
        tls_load_material_free(m);
    return rc;
}

/* The contexts of service v (its path vp). */
static int tls_load_vs(struct cfg_vs *v, const char *vp, unsigned n_workers, char *err,
                       size_t errlen)
{
    struct tls_cert_material m[1 + CFG_TLS_MAX_SNI];
    struct cfg_tls_cert def = {{0}};
    char field[128], e2[512];
    unsigned n = 0;
    int rc = 0;

    memcpy(def.cert, v->tls.cert, sizeof(def.cert));
    memcpy(def.key, v->tls.key, sizeof(def.key));
    memcpy(def.pfx, v->tls.pfx, sizeof(def.pfx));
    memcpy(def.pfx_password_file, v->tls.pfx_password_file, sizeof(def.pfx_password_file));
    snprintf(field, sizeof(field), "%s.tls", vp);
    rc = tls_load_cert(&def, field, &m[n], err, errlen);
    if (rc == 0)
        n++;
    for (size_t i = 0; rc == 0 && i < v->tls.n_sni; i++) {
        snprintf(field, sizeof(field), "%s.tls.sni_certs[%zu]", vp, i);
        rc = tls_load_cert(&v->tls.sni[i], field, &m[n], err, errlen);
        if (rc == 0)
            n++;
    }
    if (rc == 0) {
        v->tls_ctx = tls_svc_create(&v->tls, m, n, n_workers, e2, sizeof(e2));
        if (v->tls_ctx == NULL)
            rc = lbd_err_set(err, errlen, LBD_EINVAL, "%s.tls.%s", vp, e2);
    }
    while (n-- > 0)
        tls_load_material_free(&m[n]);
    return rc;
}

int tls_load_config(struct lbd_config *cfg, unsigned n_workers, char *err, size_t errlen)
{
    char vp[64], e2[512];
    int rc;

    for (size_t i = 0; i < cfg->n_virtual_services; i++) {
        struct cfg_vs *v = &cfg->virtual_services[i];

        if (v->layer != 7)
            continue;
        snprintf(vp, sizeof(vp), "virtual_services[%zu]", i);
        if (v->tls.enabled) {
            rc = tls_load_vs(v, vp, n_workers, err, errlen);
            if (rc != 0)
                goto err_release;
        }
        for (size_t j = 0; j < v->n_real_servers; j++) {
            struct cfg_real_server *rs = &v->real_servers[j];
            if (!rs->tls)
                continue;
            rs->tls_ctx = tls_backend_create(rs, e2, sizeof(e2));
            if (rs->tls_ctx == NULL) {
                rc = lbd_err_set(err, errlen, LBD_EINVAL, "%s.real_servers[%zu].%s", vp, j, e2);
                goto err_release;
            }
        }
    }
    return 0;

err_release:
    tls_load_release(cfg);
    return rc;
}

void tls_load_release(struct lbd_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->n_virtual_services; i++) {
        struct cfg_vs *v = &cfg->virtual_services[i];
        tls_svc_put(v->tls_ctx);
        v->tls_ctx = NULL;
        for (size_t j = 0; j < v->n_real_servers; j++) {
            tls_backend_put(v->real_servers[j].tls_ctx);
            v->real_servers[j].tls_ctx = NULL;
        }
    }
}

void tls_load_tick(uint64_t now_ms)
{
    static uint64_t last_ms;

    if (last_ms == 0) {
        last_ms = now_ms;
        return;
    }
    if (now_ms - last_ms < (uint64_t)TLS_TICKET_ROTATE_S * 1000u)
        return;
    last_ms = now_ms;
    if (tls_tickets_rotate() != 0)
        LOG_ERR("tls", "cannot rotate the session-ticket keys: no random bytes");
    else
        LOG_INFO("tls", "session-ticket keys rotated");
}
