/* SPDX-License-Identifier: MIT */
/*
 * The caller's KEYRING: ccache (MIT krb5's layout in the kernel's keyrings),
 * read with the caller's own rights (the kernel checks them on every key)
 * and turned into a FILE version 4 image, which is what the daemon gets:
 * it never sees a keyring (client-lib/ccache.h).
 *
 * MIT's layout (src/lib/krb5/ccache/cc_keyring.c, for facts only): a
 * residual is ANCHOR:COLLECTION[:SUBSIDIARY] or COLLECTION (anchor
 * "legacy"). The collection is the keyring "_krb_COLLECTION" found from
 * the anchor (process, thread, session, user; legacy = session), or for
 * "persistent" the keyring "_krb" in the persistent keyring of the uid
 * COLLECTION names (empty: the euid). Without a subsidiary, the user key
 * "krb_ccache:primary" of the collection names it (be32 version 1, be32
 * length, name). The cache is the keyring named SUBSIDIARY in the
 * collection: its user key "__krb5_princ__" holds the principal, every
 * other user or big_key key but "__krb5_time_offsets__" one credential,
 * both in the FILE version 4 encoding.
 *
 * Raw keyctl(2) calls: the library links nothing beyond libc.
 */
#include <errno.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ccache.h"
#include "wire.h"

#define KEYRING_MAX_KEYS 128u   /* keys in one cache keyring */

typedef int32_t KeySerial;

static long kctl(int op, unsigned long a, unsigned long b, unsigned long c, unsigned long d) {
        return syscall(SYS_keyctl, op, a, b, c, d);
}

/* keyctl_search in `ring` (and the keyrings it links, as MIT does). */
static KeySerial key_search(KeySerial ring, const char *type, const char *desc) {
        long k = kctl(KEYCTL_SEARCH, (unsigned long) ring, (unsigned long) type, (unsigned long) desc, 0);
        return k < 0 ? -1 : (KeySerial) k;
}

/* The payload of a key (or a keyring's list of serials) into a malloc()ed
 * buffer of at most `max` bytes; -EFBIG above that. */
static int key_read(KeySerial key, size_t max, uint8_t **ret, size_t *ret_len) {
        uint8_t *buf = NULL;
        long n, size = 0;

        /* The payload may change between two reads: ask again until the
         * size fits what was allocated. */
        for (int tries = 0; tries < 4; tries++) {
                n = kctl(KEYCTL_READ, (unsigned long) key, (unsigned long) buf, (unsigned long) size, 0);
                if (n < 0) {
                        n = -errno;
                        break;
                }
                if (buf && n <= size) {
                        *ret = buf;
                        *ret_len = (size_t) n;
                        return 0;
                }
                if ((unsigned long) n > max) {
                        n = -EFBIG;
                        break;
                }
                if (buf) {
                        explicit_bzero(buf, (size_t) size);
                        free(buf);
                }
                size = n > 0 ? n : 1;
                buf = malloc((size_t) size);
                if (!buf)
                        return -ENOMEM;
        }
        if (buf) {
                explicit_bzero(buf, (size_t) size);
                free(buf);
        }
        return n < 0 ? (int) n : -EAGAIN;
}

/* "type;uid;gid;perm;description": whether the type is one of `a`, `b`. */
static bool key_type_is(KeySerial key, const char *a, const char *b, char *desc, size_t desc_size) {
        char buf[512];
        long n = kctl(KEYCTL_DESCRIBE, (unsigned long) key, (unsigned long) buf, sizeof(buf), 0);
        const char *semi, *d;

        if (n <= 0 || (size_t) n > sizeof(buf))
                return false;
        buf[sizeof(buf) - 1] = '\0';
        semi = strchr(buf, ';');
        if (!semi)
                return false;
        d = strrchr(buf, ';');
        snprintf(desc, desc_size, "%s", d + 1);
        return ((size_t) (semi - buf) == strlen(a) && !strncmp(buf, a, strlen(a))) ||
               (b && (size_t) (semi - buf) == strlen(b) && !strncmp(buf, b, strlen(b)));
}

static KeySerial find_collection(const char *anchor, const char *collection) {
        KeySerial ring;
        char name[WIRE_MAX_KCM_NAME + 8];

        if (!strcmp(anchor, "persistent")) {
                unsigned long uid = geteuid();
                char *end;
                long k;

                if (*collection) {
                        errno = 0;
                        uid = strtoul(collection, &end, 10);
                        if (errno || *end)
                                return -1;
                }
                /* Only the caller's own: another uid's persistent keyring
                 * is not this caller's identity. */
                if (uid != geteuid())
                        return -1;
                k = kctl(KEYCTL_GET_PERSISTENT, uid, (unsigned long) KEY_SPEC_PROCESS_KEYRING, 0, 0);
                if (k < 0)
                        return -1;
                return key_search((KeySerial) k, "keyring", "_krb");
        }
        if (!strcmp(anchor, "process"))
                ring = KEY_SPEC_PROCESS_KEYRING;
        else if (!strcmp(anchor, "thread"))
                ring = KEY_SPEC_THREAD_KEYRING;
        else if (!strcmp(anchor, "session") || !strcmp(anchor, "legacy"))
                ring = KEY_SPEC_SESSION_KEYRING;
        else if (!strcmp(anchor, "user"))
                ring = KEY_SPEC_USER_KEYRING;
        else
                return -1;
        snprintf(name, sizeof(name), "_krb_%s", collection);
        return key_search(ring, "keyring", name);
}

static int add(uint8_t **img, size_t *len, const uint8_t *p, size_t n) {
        uint8_t *b;

        if (n > WIRE_MAX_CCACHE - *len)
                return -EFBIG;
        b = malloc(*len + n);
        if (!b)
                return -ENOMEM;
        if (*len)
                memcpy(b, *img, *len);
        memcpy(b + *len, p, n);
        ccache_free(*img, *len);
        *img = b;
        *len += n;
        return 0;
}

int ccache_keyring_read(const char *residual, uint8_t **ret, size_t *ret_len) {
        static const uint8_t header[] = { 5, 4, 0, 0 };
        char anchor[32], collection[WIRE_MAX_KCM_NAME + 1], sub[WIRE_MAX_KCM_NAME + 1];
        const char *c1, *c2;
        KeySerial coll, cache, princ, offsets;
        uint8_t *img = NULL, *list = NULL, *p = NULL;
        size_t len = 0, list_len = 0, plen = 0;
        int r;

        if (strlen(residual) > WIRE_MAX_KCM_NAME)
                return -ENAMETOOLONG;
        c1 = strchr(residual, ':');
        if (!c1) {
                strcpy(anchor, "legacy");
                c1 = residual - 1;
        } else if ((size_t) (c1 - residual) < sizeof(anchor))
                snprintf(anchor, sizeof(anchor), "%.*s", (int) (c1 - residual), residual);
        else
                return -EINVAL;
        c2 = strchr(c1 + 1, ':');
        snprintf(collection, sizeof(collection), "%.*s", (int) (c2 ? (size_t) (c2 - c1 - 1) : strlen(c1 + 1)), c1 + 1);
        coll = find_collection(anchor, collection);
        if (coll < 0)
                return -ENOENT;
        if (c2)
                snprintf(sub, sizeof(sub), "%s", c2 + 1);
        else {
                KeySerial primary = key_search(coll, "user", "krb_ccache:primary");
                uint32_t n;

                if (primary < 0)
                        return -ENOENT;
                r = key_read(primary, 8 + WIRE_MAX_KCM_NAME, &p, &plen);
                if (r < 0)
                        return r;
                n = plen >= 8 ? (uint32_t) p[4] << 24 | (uint32_t) p[5] << 16 | (uint32_t) p[6] << 8 | p[7] : 0;
                if (plen < 8 || p[0] || p[1] || p[2] || p[3] != 1 || n > plen - 8 || n == 0) {
                        ccache_free(p, plen);
                        return -EBADMSG;
                }
                snprintf(sub, sizeof(sub), "%.*s", (int) n, (const char *) p + 8);
                ccache_free(p, plen);
                p = NULL;
        }
        cache = key_search(coll, "keyring", sub);
        if (cache < 0)
                return -ENOENT;
        princ = key_search(cache, "user", "__krb5_princ__");
        if (princ < 0)
                return -ENOENT;
        offsets = key_search(cache, "user", "__krb5_time_offsets__");

        r = key_read(princ, WIRE_MAX_CCACHE, &p, &plen);
        if (r >= 0)
                r = add(&img, &len, header, sizeof(header));
        if (r >= 0)
                r = add(&img, &len, p, plen);
        ccache_free(p, plen);
        if (r >= 0)
                r = key_read(cache, KEYRING_MAX_KEYS * sizeof(KeySerial), &list, &list_len);
        for (size_t i = 0; r >= 0 && i + sizeof(KeySerial) <= list_len; i += sizeof(KeySerial)) {
                KeySerial k;
                char desc[256];

                memcpy(&k, list + i, sizeof(k));
                if (k == princ || k == offsets || !key_type_is(k, "user", "big_key", desc, sizeof(desc)))
                        continue;
                p = NULL;
                plen = 0;
                r = key_read(k, WIRE_MAX_CCACHE, &p, &plen);
                if (r == -EACCES || r == -ENOKEY || r == -EKEYEXPIRED || r == -EKEYREVOKED) {
                        r = 0; /* unreadable or gone meanwhile: skipped, as MIT does */
                        continue;
                }
                if (r >= 0)
                        r = add(&img, &len, p, plen);
                ccache_free(p, plen);
        }
        free(list);
        if (r < 0) {
                ccache_free(img, len);
                return r;
        }
        *ret = img;
        *ret_len = len;
        return 0;
}
