/* SPDX-License-Identifier: MIT */
/*
 * The shape of a FILE ccache image (version 3 or 4), checked before any of
 * Heimdal's decoders sees it. The image comes straight from a client
 * (AcquireCredReq.ccache_image): Heimdal's krb5_ret_principal leaks its
 * component array when the image ends inside a principal, so a caller
 * sending torn images would grow the daemon a few bytes per request. Here
 * every length is checked against what is left, and the records must end
 * exactly at the end of the image; only then is it parsed for real.
 *
 * Layout (big-endian, Heimdal's lib/krb5/store.c and fcache.c):
 *   int8 5, int8 version; v4: int16 header length, header
 *   principal: int32 name type, int32 ncomp, data realm, ncomp x data
 *   then credentials to the end: principal client, principal server,
 *   int16 keytype (twice in v3), data key, 4 x int32 times, int8 is_skey,
 *   int32 flags, int32 n + n x (int16 type, data) addresses, the same for
 *   authorization data, data ticket, data second ticket
 *   data: int32 length, bytes.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "packages/kerberos/kerberos.h"

typedef struct Reader {
        const uint8_t *p;
        size_t left;
} Reader;

static bool skip(Reader *r, size_t n) {
        if (n > r->left)
                return false;
        r->p += n;
        r->left -= n;
        return true;
}

static bool u32(Reader *r, uint32_t *ret) {
        if (r->left < 4)
                return false;
        *ret = (uint32_t) r->p[0] << 24 | (uint32_t) r->p[1] << 16 | (uint32_t) r->p[2] << 8 | r->p[3];
        return skip(r, 4);
}

static bool data(Reader *r) {
        uint32_t n;
        return u32(r, &n) && n <= INT32_MAX && skip(r, n);
}

static bool principal(Reader *r) {
        uint32_t ncomp;

        if (!skip(r, 4) || !u32(r, &ncomp) || ncomp > r->left / 4 || !data(r))
                return false;
        for (uint32_t i = 0; i < ncomp; i++)
                if (!data(r))
                        return false;
        return true;
}

/* Addresses and authorization data: int32 count, (int16 type, data)s. */
static bool typed_list(Reader *r) {
        uint32_t n;

        if (!u32(r, &n) || n > r->left / 6)
                return false;
        for (uint32_t i = 0; i < n; i++)
                if (!skip(r, 2) || !data(r))
                        return false;
        return true;
}

static bool creds(Reader *r, bool v3) {
        return principal(r) && principal(r) && skip(r, v3 ? 4 : 2) && data(r) && skip(r, 4 * 4 + 1 + 4) &&
               typed_list(r) && typed_list(r) && data(r) && data(r);
}

int krb_ccache_image_check(const uint8_t *image, size_t len) {
        Reader r = { image, len };
        uint32_t hlen;

        if (!image || len < 2 || image[0] != 5 || (image[1] != 3 && image[1] != 4))
                return -EBADMSG;
        skip(&r, 2);
        if (image[1] == 4) {
                if (r.left < 2)
                        return -EBADMSG;
                hlen = (uint32_t) r.p[0] << 8 | r.p[1];
                if (!skip(&r, 2) || !skip(&r, hlen))
                        return -EBADMSG;
        }
        if (!principal(&r))
                return -EBADMSG;
        while (r.left > 0)
                if (!creds(&r, image[1] == 3))
                        return -EBADMSG;
        return 0;
}
