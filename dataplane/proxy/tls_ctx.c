/*
 * tls_ctx: OpenSSL contexts of TLS services and TLS real servers, and the shared
 * session-ticket keys (see tls_ctx.h).
 */
#include "proxy/tls_ctx.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "err.h"

/* ---- session-ticket keys ------------------------------------------------ */

#define TLS_TICKET_KEYS 3

struct tls_ticket_key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
};

static struct {
    atomic_uint cur;                /* index of the key that issues tickets */
    atomic_uint n;                  /* keys filled so far (up to TLS_TICKET_KEYS) */
    struct tls_ticket_key k[TLS_TICKET_KEYS];
} tickets;

static int ticket_fill(struct tls_ticket_key *k)
{
    struct tls_ticket_key n;

    if (RAND_bytes((unsigned char *)&n, sizeof(n)) != 1)
        return LBD_EIO;
    *k = n;
    return 0;
}

int tls_tickets_init(void)
{
    if (atomic_load(&tickets.n) > 0)
        return 0;
    if (ticket_fill(&tickets.k[0]) != 0)
        return LBD_EIO;
    atomic_store(&tickets.cur, 0);
    atomic_store(&tickets.n, 1);
    return 0;
}

int tls_tickets_rotate(void)
{
    unsigned next = (atomic_load(&tickets.cur) + 1) % TLS_TICKET_KEYS;
    unsigned n = atomic_load(&tickets.n);

    if (ticket_fill(&tickets.k[next]) != 0)
        return LBD_EIO;
    if (n < TLS_TICKET_KEYS)
        atomic_store(&tickets.n, n + 1);
    atomic_store(&tickets.cur, next);
    return 0;
}

static int ticket_mac_key(EVP_MAC_CTX *hctx, const struct tls_ticket_key *k)
{
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->hmac, sizeof(k->hmac)),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };

    return EVP_MAC_CTX_set_params(hctx, p);
}

/* OpenSSL's ticket key callback: 1 = use, 2 = use and issue a fresh ticket, 0 = no key
 * (a full handshake), -1 = error. */
static int tls_ticket_cb(SSL *s, unsigned char key_name[16], unsigned char *iv,
                         EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    unsigned cur = atomic_load(&tickets.cur), n = atomic_load(&tickets.n);

    (void)s;
    if (n == 0)
        return enc ? -1 : 0;
    if (enc) {
        const struct tls_ticket_key *k = &tickets.k[cur];
        if (RAND_bytes(iv, 16) != 1)
            return -1;
        memcpy(key_name, k->name, 16);
        if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1 ||
            ticket_mac_key(hctx, k) != 1)
            return -1;
        return 1;
    }
    for (unsigned i = 0; i < n; i++) {
        const struct tls_ticket_key *k = &tickets.k[i];
        if (memcmp(key_name, k->name, 16) != 0)
            continue;
        if (ticket_mac_key(hctx, k) != 1 ||
            EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1)
            return -1;
        return i == cur ? 1 : 2;
    }
    return 0;
}

/* ---- callbacks ------------------------------------------------------------ */

/* ALPN: http/1.1 when the client offers it; otherwise no ALPN (TCP mode carries
 * whatever the client speaks). */
static int tls_alpn_cb(SSL *s, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char mine[] = "\x08http/1.1";
    unsigned char *sel;

    (void)s;
    (void)arg;
    if (SSL_select_next_proto(&sel, outlen, mine, sizeof(mine) - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* SNI: the first extra certificate whose names match; the default otherwise. */
static int tls_sni_cb(SSL *s, int *alert, void *arg)
{
    const struct tls_sni_arg *a = arg;
    const struct tls_svc *svc = a->svc;
    const char *name = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);

    (void)alert;
    if (name == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    for (unsigned i = 1; i < svc->n_certs; i++) {
        if (X509_check_host(svc->leaf[i], name, strlen(name), 0, NULL) == 1) {
            SSL_set_SSL_CTX(s, svc->ctx[i][a->worker]);
            return SSL_TLSEXT_ERR_OK;
        }
    }
    return SSL_TLSEXT_ERR_OK;
}

/* ---- services ------------------------------------------------------------- */

static int tls_proto_version(enum cfg_tls_version v)
{
    switch (v) {
    case CFG_TLS_1_0: return TLS1_VERSION;
    case CFG_TLS_1_1: return TLS1_1_VERSION;
    case CFG_TLS_1_2: return TLS1_2_VERSION;
    case CFG_TLS_1_3: return TLS1_3_VERSION;
    }
    return TLS1_2_VERSION;
}

/* The last OpenSSL error as text (the queue is cleared). */
static const char *tls_errstr(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();

    if (e == 0)
        snprintf(buf, len, "rejected by OpenSSL");
    else
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

static SSL_CTX *tls_server_ctx(const struct cfg_tls *t, const struct tls_cert_material *m,
                               unsigned idx, char *err, size_t errlen)
{
    static const unsigned char sid[] = "lbd";
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    char eb[256];

    if (ctx == NULL) {
        lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory for an SSL_CTX");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, tls_proto_version(t->min_version));
    /* Older protocols asked for explicitly also need OpenSSL's security level 0 or 1
     * in Debian; the operator's choice, documented. */
    if (t->min_version < CFG_TLS_1_2)
        SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    /* Idle connections give their read and write buffers back (doc/operator-guide.md). */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (t->ciphers[0] != '\0' && SSL_CTX_set_cipher_list(ctx, t->ciphers) != 1) {
        lbd_err_set(err, errlen, LBD_EINVAL, "ciphers: no usable cipher in \"%s\" (%s)",
                    t->ciphers, tls_errstr(eb, sizeof(eb)));
        goto err_ctx;
    }
    if (t->ciphersuites[0] != '\0' && SSL_CTX_set_ciphersuites(ctx, t->ciphersuites) != 1) {
        lbd_err_set(err, errlen, LBD_EINVAL, "ciphersuites: no usable suite in \"%s\" (%s)",
                    t->ciphersuites, tls_errstr(eb, sizeof(eb)));
        goto err_ctx;
    }
    if (SSL_CTX_use_certificate(ctx, m->cert) != 1) {
        lbd_err_set(err, errlen, LBD_EINVAL, "%scert: certificate refused (%s)",
                    idx == 0 ? "" : "sni_certs: ", tls_errstr(eb, sizeof(eb)));
        goto err_ctx;
    }
    if (SSL_CTX_use_PrivateKey(ctx, m->key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        lbd_err_set(err, errlen, LBD_EINVAL, "%skey: the private key does not match the "
                    "certificate", idx == 0 ? "" : "sni_certs: ");
        goto err_ctx;
    }
    if (m->chain != NULL && sk_X509_num(m->chain) > 0 && SSL_CTX_set1_chain(ctx, m->chain) != 1) {
        lbd_err_set(err, errlen, LBD_EINVAL, "cert: chain refused (%s)",
                    tls_errstr(eb, sizeof(eb)));
        goto err_ctx;
    }
    SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(ctx, TLS_SESS_CACHE_SIZE);
    SSL_CTX_set_timeout(ctx, TLS_SESS_TIMEOUT_S);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tls_ticket_cb);
    SSL_CTX_set_num_tickets(ctx, 1);
    SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_cb, NULL);
    return ctx;

err_ctx:
    SSL_CTX_free(ctx);
    return NULL;
}

static void tls_svc_free(struct tls_svc *s)
{
    for (unsigned i = 0; i < s->n_certs; i++) {
        for (unsigned w = 0; w < s->n_workers; w++)
            SSL_CTX_free(s->ctx[i][w]);
        X509_free(s->leaf[i]);
    }
    free(s);
}

struct tls_svc *tls_svc_create(const struct cfg_tls *t, const struct tls_cert_material *m,
                               unsigned n, unsigned n_workers, char *err, size_t errlen)
{
    struct tls_svc *s;

    if (n == 0 || n > 1 + CFG_TLS_MAX_SNI || n_workers == 0 || n_workers > TLS_MAX_WORKERS) {
        lbd_err_set(err, errlen, LBD_EINVAL, "tls: %u certificates for %u workers", n,
                    n_workers);
        return NULL;
    }
    if (tls_tickets_init() != 0) {
        lbd_err_set(err, errlen, LBD_EIO, "tls: no random bytes for the ticket keys");
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        lbd_err_set(err, errlen, LBD_ENOMEM, "tls: out of memory");
        return NULL;
    }
    atomic_init(&s->refs, 1);
    s->n_workers = n_workers;
    s->conf = *t;
    for (unsigned i = 0; i < n; i++) {
        s->leaf[i] = m[i].cert;
        X509_up_ref(m[i].cert);
        s->n_certs = i + 1;
        for (unsigned w = 0; w < n_workers; w++) {
            s->ctx[i][w] = tls_server_ctx(t, &m[i], i, err, errlen);
            if (s->ctx[i][w] == NULL)
                goto err_free;
        }
    }
    for (unsigned w = 0; w < n_workers; w++) {
        s->sni_arg[w] = (struct tls_sni_arg){.svc = s, .worker = w};
        if (n > 1) {
            SSL_CTX_set_tlsext_servername_callback(s->ctx[0][w], tls_sni_cb);
            SSL_CTX_set_tlsext_servername_arg(s->ctx[0][w], &s->sni_arg[w]);
        }
    }
    return s;

err_free:
    tls_svc_free(s);
    return NULL;
}

void tls_svc_get(struct tls_svc *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void tls_svc_put(struct tls_svc *s)
{
    if (s != NULL && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        tls_svc_free(s);
}

SSL *tls_svc_new_ssl(const struct tls_svc *svc, unsigned w)
{
    SSL *ssl = SSL_new(svc->ctx[0][w % svc->n_workers]);

    if (ssl != NULL)
        SSL_set_accept_state(ssl);
    return ssl;
}

/* ---- real servers --------------------------------------------------------- */

struct tls_backend *tls_backend_create(const struct cfg_real_server *rs, char *err,
                                       size_t errlen)
{
    struct tls_backend *b = calloc(1, sizeof(*b));
    char eb[256];

    if (b == NULL) {
        lbd_err_set(err, errlen, LBD_ENOMEM, "tls: out of memory");
        return NULL;
    }
    atomic_init(&b->refs, 1);
    b->verify = rs->tls_verify;
    snprintf(b->sni, sizeof(b->sni), "%s", rs->tls_sni);
    snprintf(b->ca, sizeof(b->ca), "%s", rs->tls_ca);
    b->ctx = SSL_CTX_new(TLS_client_method());
    if (b->ctx == NULL) {
        free(b);
        lbd_err_set(err, errlen, LBD_ENOMEM, "tls: out of memory for an SSL_CTX");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(b->ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(b->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(b->ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(b->ctx, SSL_SESS_CACHE_OFF);
    if (b->verify) {
        SSL_CTX_set_verify(b->ctx, SSL_VERIFY_PEER, NULL);
        if (b->ca[0] != '\0' ? SSL_CTX_load_verify_file(b->ctx, b->ca) != 1
                             : SSL_CTX_set_default_verify_paths(b->ctx) != 1) {
            lbd_err_set(err, errlen, LBD_EINVAL, "tls.ca: cannot load %s (%s)",
                        b->ca[0] != '\0' ? b->ca : "the system's CA store",
                        tls_errstr(eb, sizeof(eb)));
            SSL_CTX_free(b->ctx);
            free(b);
            return NULL;
        }
    } else {
        SSL_CTX_set_verify(b->ctx, SSL_VERIFY_NONE, NULL);
    }
    return b;
}

void tls_backend_get(struct tls_backend *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
}

void tls_backend_put(struct tls_backend *b)
{
    if (b != NULL && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1) {
        SSL_CTX_free(b->ctx);
        free(b);
    }
}

SSL *tls_backend_new_ssl(const struct tls_backend *b)
{
    SSL *ssl = SSL_new(b->ctx);

    if (ssl == NULL)
        return NULL;
    SSL_set_connect_state(ssl);
    if (b->sni[0] != '\0') {
        SSL_set_tlsext_host_name(ssl, b->sni);
        if (b->verify)
            SSL_set1_host(ssl, b->sni);
    }
    return ssl;
}
