/*
 * tls_ctx: the OpenSSL contexts of a TLS-terminating service (struct tls_svc) and of
 * a real server that lbd re-encrypts to (struct tls_backend), and the session-ticket
 * keys every service shares.
 *
 * Built on the control core when a config is applied (control/tls_load.c reads the
 * files and hands the certificates here), then read-only: the snapshot points at them
 * and the workers only call SSL_new. A service has one SSL_CTX per certificate per
 * worker, so each worker's session-id cache is its own (a client always comes back to
 * the worker that owns its address, owner.h) and no two workers touch one cache lock.
 * Objects are reference counted (atomic): the config holds one reference, each TLS
 * connection another, so a reconfig that drops a certificate frees it once the last
 * connection made with it has ended, on whichever core that happens.
 *
 * Session tickets: one process-wide ring of three keys (AES-256-CBC + HMAC-SHA256,
 * as RFC 5077 suggests). Tickets are issued with the current key and accepted with
 * any of the three; the control core rotates every TLS_TICKET_ROTATE_S, so a ticket
 * stays usable for at least two rotation periods. The workers read the ring without a
 * lock: the slot being rewritten is the oldest one, whose tickets are about to be
 * refused anyway (a read of a torn key fails to decrypt: a full handshake).
 */
#ifndef LBD_TLS_CTX_H
#define LBD_TLS_CTX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "config.h"

#define TLS_SESS_CACHE_SIZE 20000   /* session-id cache entries per certificate per worker */
#define TLS_SESS_TIMEOUT_S 7200     /* session and ticket lifetime */
#define TLS_TICKET_ROTATE_S 3600    /* ticket key rotation period */
#define TLS_MAX_WORKERS 64

/* A certificate, its key and the chain sent after it (owned by the caller). */
struct tls_cert_material {
    X509 *cert;
    EVP_PKEY *key;
    STACK_OF(X509) *chain;          /* may be NULL */
};

struct tls_svc;

/* The SNI callback's argument: which service, which worker. */
struct tls_sni_arg {
    const struct tls_svc *svc;
    unsigned worker;
};

struct tls_svc {
    atomic_uint refs;
    unsigned n_workers;
    unsigned n_certs;                       /* [0] is the default certificate */
    X509 *leaf[1 + CFG_TLS_MAX_SNI];        /* matched against the client's SNI */
    SSL_CTX *ctx[1 + CFG_TLS_MAX_SNI][TLS_MAX_WORKERS];
    struct tls_sni_arg sni_arg[TLS_MAX_WORKERS];
    struct cfg_tls conf;                    /* what it was built from */
};

struct tls_backend {
    atomic_uint refs;
    SSL_CTX *ctx;                   /* shared by the workers: no session cache */
    bool verify;
    char sni[CFG_TLS_NAME_MAX];
    char ca[CFG_PATH_MAX];
};

/*
 * Control core: a service's contexts from its config t and the loaded certificates
 * m[0..n) (m[0] the default, then t->sni in order), for n_workers workers. Takes its
 * own references on the certificates. NULL and err ("<field>: <reason>", field
 * relative to the service's "tls") when a setting is refused (cipher list, key that
 * does not match its certificate).
 */
struct tls_svc *tls_svc_create(const struct cfg_tls *t, const struct tls_cert_material *m,
                               unsigned n, unsigned n_workers, char *err, size_t errlen);

/* Control core: the client context for real server rs (rs->tls). NULL and err when the
 * CA file cannot be read. */
struct tls_backend *tls_backend_create(const struct cfg_real_server *rs, char *err,
                                       size_t errlen);

/* Any core. */
void tls_svc_get(struct tls_svc *s);
void tls_svc_put(struct tls_svc *s);
void tls_backend_get(struct tls_backend *b);
void tls_backend_put(struct tls_backend *b);

/* Owning worker: a server-side SSL of svc for worker w, a client-side SSL towards b.
 * NULL when OpenSSL is out of memory. */
SSL *tls_svc_new_ssl(const struct tls_svc *svc, unsigned w);
SSL *tls_backend_new_ssl(const struct tls_backend *b);

/* Control core: fills the ticket key ring (once, at start-up) / moves it on. 0 or
 * LBD_EIO when the random generator fails. */
int tls_tickets_init(void);
int tls_tickets_rotate(void);

#endif
