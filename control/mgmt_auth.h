/*
 * mgmt_auth: the logins of the management server's actions (management.users_file).
 *
 * The file holds one "name:hash" per line (blank lines and lines starting with '#'
 * aside), hash in crypt(3)'s form ("$6$...", from `openssl passwd -6`, or "$y$...",
 * from `mkpasswd`); it must be a regular file of the daemon's own user that nobody
 * else may read or write (mode 0600 or stricter). It is read once, at start-up.
 *
 * A password is checked with crypt(3), which is slow on purpose: to keep that off the
 * control loop's back, at most MGMT_AUTH_CHECKS_PER_S checks that are not already
 * known run per second (more answer "throttled" without checking), and a user's last
 * good password is remembered (its salted SHA-256), so that a browser sending the
 * same credentials with every click costs one hash, not one crypt.
 *
 * Control core only.
 */
#ifndef LBD_MGMT_AUTH_H
#define LBD_MGMT_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define MGMT_AUTH_MAX_USERS 64
#define MGMT_AUTH_CHECKS_PER_S 4

enum mgmt_auth_result {
    MGMT_AUTH_OK,
    MGMT_AUTH_BAD,          /* unknown user or wrong password */
    MGMT_AUTH_THROTTLED,    /* too many checks this second: not checked */
};

struct mgmt_auth;

/* Reads path (see above); err names the file and the line or the mode at fault. */
int mgmt_auth_load(const char *path, struct mgmt_auth **out, char *err, size_t errlen);

/* Checks user and password at monotonic time now_ms. */
enum mgmt_auth_result mgmt_auth_check(struct mgmt_auth *a, const char *user,
                                      const char *password, uint64_t now_ms);

/* Users loaded. */
unsigned mgmt_auth_users(const struct mgmt_auth *a);

void mgmt_auth_free(struct mgmt_auth *a);

#endif
