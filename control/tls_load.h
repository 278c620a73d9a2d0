/*
 * tls_load: the control core's side of TLS. Reads the certificates, keys and password
 * files a config names (PEM, or PKCS#12 with OpenSSL 3's legacy provider for the
 * RC2/3DES encryption Windows uses by default), checks them (a password file must be
 * mode 0600, the key must match its certificate, an expired certificate is logged as
 * a warning), and builds the contexts the dataplane uses (proxy/tls_ctx.h), one per
 * service with "tls" and one per real server with "tls". Also rotates the shared
 * session-ticket keys. Control core only; errors name the config field.
 */
#ifndef LBD_TLS_LOAD_H
#define LBD_TLS_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "proxy/tls_ctx.h"

/*
 * Builds the TLS contexts of every service and real server of cfg that asks for TLS,
 * for n_workers workers, into their tls_ctx fields. On error nothing stays built and
 * err says which field ("virtual_services[2].tls.pfx_password_file: ..."); returns
 * LBD_EINVAL (a file refused), LBD_ENOENT (a file missing) or LBD_ENOMEM.
 */
int tls_load_config(struct lbd_config *cfg, unsigned n_workers, char *err, size_t errlen);

/* Drops the config's references on its contexts (connections keep theirs). Call once
 * no worker can see a snapshot made from cfg. */
void tls_load_release(struct lbd_config *cfg);

/*
 * One certificate: fills m (the caller frees it with tls_load_material_free). field is
 * the path of tc in the config, for messages. Exposed for tests.
 */
int tls_load_cert(const struct cfg_tls_cert *tc, const char *field,
                  struct tls_cert_material *m, char *err, size_t errlen);
void tls_load_material_free(struct tls_cert_material *m);

/* The first line of a password file, refused unless only its owner may read it.
 * Exposed for tests. */
int tls_load_password(const char *path, const char *field, char *buf, size_t len, char *err,
                      size_t errlen);

/* Control loop: rotates the ticket keys every TLS_TICKET_ROTATE_S. */
void tls_load_tick(uint64_t now_ms);

#endif
