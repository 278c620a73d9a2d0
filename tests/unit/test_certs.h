/*
 * test_certs: throwaway keys and certificates for the unit tests of TLS (OpenSSL 3):
 * an ECDSA P-256 key with a self-signed certificate for a common name, valid from
 * from_s to to_s seconds around now, and the PEM files of one.
 */
#ifndef LBD_TEST_CERTS_H
#define LBD_TEST_CERTS_H

#include <criterion/criterion.h>

#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static inline void tc_make_cert(const char *cn, long from_s, long to_s, EVP_PKEY **key,
                                X509 **cert)
{
    X509_NAME *n;

    *key = EVP_EC_gen("P-256");
    *cert = X509_new();
    cr_assert(*key != NULL && *cert != NULL);
    ASN1_INTEGER_set(X509_get_serialNumber(*cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(*cert), from_s);
    X509_gmtime_adj(X509_getm_notAfter(*cert), to_s);
    X509_set_pubkey(*cert, *key);
    n = X509_get_subject_name(*cert);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(*cert, n);
    cr_assert(X509_sign(*cert, *key, EVP_sha256()) > 0);
}

/* key and cert as dir/stem.key and dir/stem.pem. */
static inline void tc_write_pem(const char *dir, const char *stem, EVP_PKEY *key, X509 *cert)
{
    char p[512];
    FILE *f;

    snprintf(p, sizeof(p), "%s/%s.pem", dir, stem);
    cr_assert_not_null(f = fopen(p, "w"));
    cr_assert(PEM_write_X509(f, cert) == 1);
    fclose(f);
    snprintf(p, sizeof(p), "%s/%s.key", dir, stem);
    cr_assert_not_null(f = fopen(p, "w"));
    cr_assert(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1);
    fclose(f);
}

#endif
