/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The caller's FILE ccache, read by the library with the caller's own
 * rights, so that the daemon never opens a path for a caller (DESIGN §4,
 * proto/PROTOCOL.md "Credentials from a ccache").
 *
 * For `uid` the calling process's euid: KRB5CCNAME (secure_getenv: ignored
 * in a setuid program), else /tmp/krb5cc_<uid>; for another uid (pvLogonId)
 * always /tmp/krb5cc_<uid>. Only a regular file owned by `uid`, 1 byte to
 * WIRE_MAX_CCACHE, opened without following a final symlink and without
 * blocking. Returns 0 and a malloc()ed image (wipe it with ccache_free);
 * KRB5CCNAME=KEYRING:... goes to ccache_keyring_read().
 * -EPROTONOSUPPORT for another ccache type (KCM:, DIR:, MEMORY:,
 * a relative path), -EPERM for a file that is not a regular file of `uid`,
 * -EFBIG for a size out of bounds, another negative errno when it cannot
 * be opened or read.
 */
int ccache_read(uid_t uid, uint8_t **ret, size_t *ret_len) __attribute__((warn_unused_result));

/* KRB5CCNAME=KEYRING:<residual> of the calling process (ccache_read does
 * the dispatch): MIT's keyring layout read with keyctl(2) into a FILE
 * version 4 image (client-lib/keyring.c). Only the caller's own keyrings
 * (process, thread, session, user, legacy, persistent of its euid).
 * Returns 0 and the image; -ENOENT when there is no such cache, -EBADMSG
 * for a primary-name key out of shape, -EFBIG above WIRE_MAX_CCACHE,
 * another negative errno from keyctl. */
int ccache_keyring_read(const char *residual, uint8_t **ret, size_t *ret_len) __attribute__((warn_unused_result));

/* Wipe (it holds session keys) and free; NULL is fine. */
void ccache_free(uint8_t *image, size_t len);

/*
 * The caller's KCM cache (sssd-kcm, Heimdal's kcm): KRB5CCNAME `KCM:` or
 * `KCM:<name>` (`KCM:1000`, `KCM:1000:2`), or, without KRB5CCNAME and
 * without /tmp/krb5cc_<uid>, KCM's default cache. The library connects to
 * the KCM socket (SSPI_KCM_SOCKET, secure_getenv, else
 * /var/run/.heim_org.h5l.kcm-socket) so that KCM sees the caller, and the
 * daemon reads the cache through the connected socket it is passed
 * (proto/PROTOCOL.md "Credentials from KCM"). Only for `uid` the calling
 * process's euid. Returns 0 with the socket and the malloc()ed cache name
 * ("" for KCM's default); -EPERM for another uid, -EPROTONOSUPPORT when
 * KRB5CCNAME names another type, -EEXIST when a FILE ccache is the
 * default, another negative errno when KCM cannot be reached.
 */
int ccache_kcm_connect(uid_t uid, int *ret_fd, char **ret_name) __attribute__((warn_unused_result));

/* The last default, after FILE and KCM: without KRB5CCNAME and without
 * /tmp/krb5cc_<uid>, the euid's KEYRING:persistent: collection (RHEL 7's
 * default_ccache_name). -EPERM for another uid or with KRB5CCNAME set,
 * -EEXIST when a FILE ccache is the default, else as ccache_keyring_read. */
int ccache_default_keyring(uid_t uid, uint8_t **ret, size_t *ret_len) __attribute__((warn_unused_result));
