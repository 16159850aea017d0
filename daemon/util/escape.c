/* SPDX-License-Identifier: MIT */
/* Included by its own directory, not through -Idaemon: sspictl builds this
 * file without the daemon's include path. */
#include "escape.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

size_t escape_utf8_len(const unsigned char *s, size_t n) {
        size_t len;
        uint32_t cp;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

size_t escape_text(char *out, size_t size, const char *in, size_t max) {
        static const char hex[] = "0123456789abcdef";
        static const char mark[] = ESCAPE_TRUNCATED;
        const unsigned char *s = (const unsigned char *) in;
        size_t n = strlen(in), i = 0, o = 0;

        if (size < sizeof(mark))
                return 0;
        /* Room for the marker stays free until the input is known to fit. */
        while (i < n) {
                size_t k = escape_utf8_len(s + i, n - i), need;
                uint32_t c1 = k == 2 ? (uint32_t) (s[i] & 0x1f) << 6 | (s[i + 1] & 0x3f) : 0;
                bool esc = k == 0 || s[i] < 0x20 || s[i] == 0x7f || s[i] == '\\' || (c1 >= 0x80 && c1 <= 0x9f);

                if (k == 0)
                        k = 1;
                need = esc ? 4 * k : k;
                if (i + k > max || o + need + sizeof(mark) > size) {
                        memcpy(out + o, mark, sizeof(mark));
                        return o + sizeof(mark) - 1;
                }
                for (size_t j = 0; j < k; j++, i++) {
                        if (esc) {
                                out[o++] = '\\';
                                out[o++] = 'x';
                                out[o++] = hex[s[i] >> 4];
                                out[o++] = hex[s[i] & 15];
                        } else
                                out[o++] = (char) s[i];
                }
        }
        out[o] = 0;
        return o;
}
