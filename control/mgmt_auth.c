#include "mgmt_auth.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "err.h"

#define NAME_MAX_LEN 64
#define HASH_MAX_LEN 256
#define FILE_MAX (64u * 1024)
#define DIGEST_LEN 32

struct mgmt_user {
    char name[NAME_MAX_LEN];
    char hash[HASH_MAX_LEN];
    bool known;                             /* good[] holds its last good password */
    unsigned char good[DIGEST_LEN];
};

struct mgmt_auth {
    struct mgmt_user users[MGMT_AUTH_MAX_USERS];
    unsigned n;
    unsigned char salt[16];
    uint64_t window_ms;                     /* start of the current second */
    unsigned checks;                        /* crypt checks in it */
};

/* An unknown user is checked against this, so that it takes as long as a known one. */
static const char dummy_hash[] =
    "$6$lbdmgmtdummysalt$0Tj6bAHcsQAm0c6kWjkf0/ww7rTsWLzVQ3TUvxPzM.ckZpoD0jzxNcDLu/ki3qi"
    "tK5GrH1l9d.H0sEYbPmX2E1";

static int load_text(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
    struct stat st;
    ssize_t n;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0)
        return lbd_err_set(err, errlen, LBD_EIO, "users file %s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return lbd_err_set(err, errlen, LBD_EINVAL, "users file %s: not a regular file", path);
    }
    if ((st.st_mode & 077) != 0) {
        close(fd);
        return lbd_err_set(err, errlen, LBD_EINVAL,
                           "users file %s: mode %04o, must be 0600 (no access for group or "
                           "others)", path, (unsigned)(st.st_mode & 07777));
    }
    if (st.st_uid != geteuid()) {
        close(fd);
        return lbd_err_set(err, errlen, LBD_EINVAL,
                           "users file %s: owned by uid %u, must be lbd's own (%u)", path,
                           (unsigned)st.st_uid, (unsigned)geteuid());
    }
    while ((n = read(fd, buf + len, cap - 1 - len)) > 0) {
        len += (size_t)n;
        if (len == cap - 1) {
            close(fd);
            return lbd_err_set(err, errlen, LBD_ERANGE, "users file %s: larger than %zu bytes",
                               path, cap - 1);
        }
    }
    close(fd);
    if (n < 0)
        return lbd_err_set(err, errlen, LBD_EIO, "users file %s: %s", path, strerror(errno));
    buf[len] = '\0';
    return 0;
}

static int parse_line(struct mgmt_auth *a, const char *path, unsigned lineno, char *line,
                      char *err, size_t errlen)
{
    char *colon = strchr(line, ':'), *hash;
    size_t nl;

    if (colon == NULL)
        return lbd_err_set(err, errlen, LBD_EINVAL, "users file %s:%u: not name:hash", path,
                           lineno);
    *colon = '\0';
    hash = colon + 1;
    nl = strlen(line);
    if (nl == 0 || nl >= NAME_MAX_LEN)
        return lbd_err_set(err, errlen, LBD_EINVAL,
                           "users file %s:%u: the name must be 1..%d characters", path,
                           lineno, NAME_MAX_LEN - 1);
    if (hash[0] != '$' || strlen(hash) >= HASH_MAX_LEN || strchr(hash, ':') != NULL)
        return lbd_err_set(err, errlen, LBD_EINVAL,
                           "users file %s:%u: the password must be a crypt(3) hash "
                           "(\"$6$...\": openssl passwd -6), not the password itself", path,
                           lineno);
    for (unsigned i = 0; i < a->n; i++)
        if (strcmp(a->users[i].name, line) == 0)
            return lbd_err_set(err, errlen, LBD_EEXIST, "users file %s:%u: %s given twice",
                               path, lineno, line);
    if (a->n == MGMT_AUTH_MAX_USERS)
        return lbd_err_set(err, errlen, LBD_ERANGE, "users file %s:%u: more than %d users",
                           path, lineno, MGMT_AUTH_MAX_USERS);
    snprintf(a->users[a->n].name, NAME_MAX_LEN, "%s", line);
    snprintf(a->users[a->n].hash, HASH_MAX_LEN, "%s", hash);
    a->n++;
    return 0;
}

int mgmt_auth_load(const char *path, struct mgmt_auth **out, char *err, size_t errlen)
{
    char *text = malloc(FILE_MAX), *line, *save = NULL;
    struct mgmt_auth *a = calloc(1, sizeof(*a));
    unsigned lineno = 0;
    int rc;

    if (text == NULL || a == NULL) {
        free(text);
        free(a);
        return lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
    }
    rc = load_text(path, text, FILE_MAX, err, errlen);
    /* Lines are counted by hand: strtok_r would skip the empty ones. */
    for (line = text; rc == 0 && line != NULL; line = save) {
        char *nl = strchr(line, '\n');
        size_t len;
        save = nl != NULL ? nl + 1 : NULL;
        if (nl != NULL)
            *nl = '\0';
        lineno++;
        len = strlen(line);
        while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        rc = parse_line(a, path, lineno, line, err, errlen);
    }
    if (rc == 0 && a->n == 0)
        rc = lbd_err_set(err, errlen, LBD_EINVAL, "users file %s: no user", path);
    if (rc == 0 && getrandom(a->salt, sizeof(a->salt), 0) != (ssize_t)sizeof(a->salt))
        rc = lbd_err_set(err, errlen, LBD_EIO, "getrandom: %s", strerror(errno));
    explicit_bzero(text, FILE_MAX);
    free(text);
    if (rc != 0) {
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

static void remembered(const struct mgmt_auth *a, const char *user, const char *password,
                       unsigned char out[DIGEST_LEN])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned len = 0;

    /* Out of memory: an all-zero digest, which no remembered password matches for long
     * (a zero digest is never stored: see mgmt_auth_check). */
    memset(out, 0, DIGEST_LEN);
    if (c == NULL)
        return;
    if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(c, a->salt, sizeof(a->salt)) != 1 ||
        EVP_DigestUpdate(c, user, strlen(user) + 1) != 1 ||
        EVP_DigestUpdate(c, password, strlen(password)) != 1 ||
        EVP_DigestFinal_ex(c, out, &len) != 1)
        memset(out, 0, DIGEST_LEN);
    EVP_MD_CTX_free(c);
}

enum mgmt_auth_result mgmt_auth_check(struct mgmt_auth *a, const char *user,
                                      const char *password, uint64_t now_ms)
{
    unsigned char digest[DIGEST_LEN];
    struct mgmt_user *u = NULL;
    struct crypt_data *cd;
    const char *h;
    bool ok;

    if (a == NULL || user == NULL || password == NULL)
        return MGMT_AUTH_BAD;
    for (unsigned i = 0; i < a->n && u == NULL; i++)
        if (strcmp(a->users[i].name, user) == 0)
            u = &a->users[i];
    if (u != NULL && u->known) {
        remembered(a, user, password, digest);
        if (CRYPTO_memcmp(digest, u->good, sizeof(digest)) == 0)
            return MGMT_AUTH_OK;
    }
    if (now_ms - a->window_ms >= 1000) {
        a->window_ms = now_ms;
        a->checks = 0;
    }
    if (a->checks >= MGMT_AUTH_CHECKS_PER_S)
        return MGMT_AUTH_THROTTLED;
    a->checks++;
    cd = calloc(1, sizeof(*cd));
    if (cd == NULL)
        return MGMT_AUTH_BAD;
    /* crypt_rn (libxcrypt): NULL on failure, never a "*0" string; and unlike crypt_r
     * not intercepted by the sanitizers, whose crypt_r wrapper jumps to NULL here. */
    h = crypt_rn(password, u != NULL ? u->hash : dummy_hash, cd, (int)sizeof(*cd));
    ok = u != NULL && h != NULL && h[0] == '$' && strlen(h) == strlen(u->hash) &&
         CRYPTO_memcmp(h, u->hash, strlen(h)) == 0;
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
    if (!ok)
        return MGMT_AUTH_BAD;
    remembered(a, user, password, u->good);
    u->known = false;
    for (unsigned i = 0; i < DIGEST_LEN; i++)
        u->known |= u->good[i] != 0;
    return MGMT_AUTH_OK;
}

unsigned mgmt_auth_users(const struct mgmt_auth *a)
{
    return a != NULL ? a->n : 0;
}

void mgmt_auth_free(struct mgmt_auth *a)
{
    if (a != NULL) {
        explicit_bzero(a, sizeof(*a));
        free(a);
    }
}
