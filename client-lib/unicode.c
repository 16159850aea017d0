/* SPDX-License-Identifier: MIT */
/* UTF-16 (SEC_WCHAR, the W functions) <-> UTF-8 (the wire and A functions). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

size_t utf16_len(const SEC_WCHAR *s) {
        size_t n = 0;
        while (s[n])
                n++;
        return n;
}

int utf16_to_utf8(const SEC_WCHAR *s, size_t n, char **ret) {
        char *out, *p;

        *ret = NULL;
        if (!s)
                return 0;
        if (n == SIZE_MAX)
                n = utf16_len(s);
        if (n > (1u << 20))
                return -E2BIG;
        out = p = malloc(n * 3 + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                uint32_t c = s[i];
                if (c >= 0xd800 && c <= 0xdbff) {
                        if (i + 1 >= n || s[i + 1] < 0xdc00 || s[i + 1] > 0xdfff)
                                goto bad;
                        c = 0x10000 + ((c - 0xd800) << 10) + (s[++i] - 0xdc00);
                } else if (c >= 0xdc00 && c <= 0xdfff)
                        goto bad;
                if (c == 0)
                        goto bad; /* an embedded NUL would truncate the name */
                if (c < 0x80)
                        *p++ = (char) c;
                else if (c < 0x800) {
                        *p++ = (char) (0xc0 | c >> 6);
                        *p++ = (char) (0x80 | (c & 0x3f));
                } else if (c < 0x10000) {
                        *p++ = (char) (0xe0 | c >> 12);
                        *p++ = (char) (0x80 | (c >> 6 & 0x3f));
                        *p++ = (char) (0x80 | (c & 0x3f));
                } else {
                        *p++ = (char) (0xf0 | c >> 18);
                        *p++ = (char) (0x80 | (c >> 12 & 0x3f));
                        *p++ = (char) (0x80 | (c >> 6 & 0x3f));
                        *p++ = (char) (0x80 | (c & 0x3f));
                }
        }
        *p = 0;
        *ret = out;
        return 0;
bad:
        explicit_bzero(out, (size_t) (p - out)); /* may be half a password */
        free(out);
        return -EILSEQ;
}

int utf8_to_utf16(const char *s, SEC_WCHAR **ret) {
        const unsigned char *u = (const unsigned char *) s;
        size_t n, j = 0;
        SEC_WCHAR *out;

        *ret = NULL;
        if (!s)
                return 0;
        for (n = 0; u[n]; n++)
                ;
        if (!wire_utf8_valid(s, n))
                return -EILSEQ;
        out = malloc((n + 1) * sizeof(SEC_WCHAR));
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n;) {
                uint32_t c = u[i];
                unsigned extra = c < 0x80 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
                c &= extra == 0 ? 0x7f : extra == 1 ? 0x1f : extra == 2 ? 0x0f : 0x07;
                for (unsigned k = 1; k <= extra; k++)
                        c = c << 6 | (u[i + k] & 0x3f);
                i += extra + 1;
                if (c >= 0x10000) {
                        c -= 0x10000;
                        out[j++] = (SEC_WCHAR) (0xd800 + (c >> 10));
                        out[j++] = (SEC_WCHAR) (0xdc00 + (c & 0x3ff));
                } else
                        out[j++] = (SEC_WCHAR) c;
        }
        out[j] = 0;
        *ret = out;
        return 0;
}
