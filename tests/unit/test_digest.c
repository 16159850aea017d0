/* SPDX-License-Identifier: MIT */
/*
 * The Digest package's parser and hash formulas in-process: the worked
 * examples of RFC 2617 §3.5 and RFC 7616 §3.9.1, URI checks, and the
 * parser over every prefix of a valid header and over hostile inputs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packages/digest/digest.h"

static int passed, failed;

static void ok(bool c, const char *what) {
        printf("%s - %s\n", c ? "ok" : "not ok", what);
        if (c)
                passed++;
        else
                failed++;
}

static bool response_is(DigestAlg alg, const char *user, const char *realm, const char *pw, const char *nonce,
                        const char *cnonce, const char *uri, const char *want) {
        char ha1[DIGEST_HEX_MAX + 1], out[DIGEST_HEX_MAX + 1];
        const char *p[3] = { user, realm, pw };
        size_t l[3] = { strlen(user), strlen(realm), strlen(pw) };
        DigestInput in = {
                .alg = alg, .ha1 = ha1, .nonce = nonce, .nc = "00000001", .cnonce = cnonce, .qop = "auth",
                .method = "GET", .uri = uri,
        };

        if (digest_hash_hex(alg, p, l, 3, ha1) < 0 || digest_response(&in, out) < 0)
                return false;
        return !strcmp(out, want);
}

static void test_vectors(void) {
        ok(response_is(DIGEST_MD5, "Mufasa", "testrealm@host.com", "Circle Of Life",
                       "dcd98b7102dd2f0e8b11d0f600bfb0c093", "0a4f113b", "/dir/index.html",
                       "6629fae49393a05397450978507c4ef1"),
           "RFC 2617 §3.5 MD5 example");
        ok(response_is(DIGEST_MD5, "Mufasa", "http-auth@example.org", "Circle of Life",
                       "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
                       "/dir/index.html", "8ca523f5e9506fed4657c9700eebdbec"),
           "RFC 7616 §3.9.1 MD5 example");
        ok(response_is(DIGEST_SHA256, "Mufasa", "http-auth@example.org", "Circle of Life",
                       "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
                       "/dir/index.html", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
           "RFC 7616 §3.9.1 SHA-256 example");
}

static void test_algorithms(void) {
        DigestAlg a;
        bool sess;

        ok(digest_alg_parse("SHA-512-256-sess", 16, &a, &sess) == 0 && a == DIGEST_SHA512_256 && sess,
           "SHA-512-256-sess");
        ok(digest_alg_parse("md5", 3, &a, &sess) == 0 && a == DIGEST_MD5 && !sess, "md5, any case");
        ok(digest_alg_parse("SHA-1", 5, &a, &sess) == -EINVAL, "SHA-1 is unknown");
        ok(digest_alg_parse("SHA-256-ses", 11, &a, &sess) == -EINVAL, "truncated -sess");
}

static void test_uris(void) {
        ok(digest_uri_valid("/dir/index.html?a=1&b=%2F#frag"), "ordinary URI");
        ok(digest_uri_valid("http://[::1]:80/x;y=z"), "absolute URI with IPv6 literal");
        ok(!digest_uri_valid(""), "empty");
        ok(!digest_uri_valid(NULL), "NULL");
        ok(!digest_uri_valid("/a b"), "space");
        ok(!digest_uri_valid("/\"q\""), "double quote");
        ok(!digest_uri_valid("/a\\b"), "backslash");
        ok(!digest_uri_valid("/{x}"), "braces");
        ok(!digest_uri_valid("/caf\xc3\xa9"), "raw UTF-8");
        ok(!digest_uri_valid("/%"), "lone percent");
        ok(!digest_uri_valid("/%4"), "short percent-encoding");
        ok(!digest_uri_valid("/%g0"), "non-hex percent-encoding");
        ok(!digest_uri_valid("/\x7f"), "DEL");
}

static void test_parser(void) {
        static const char good[] = "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", "
                                   "algorithm=SHA-256, nonce=\"7ypf/xlj9XX\\\"wfDP\", nc=00000001, cnonce=\"f2/wE4\", "
                                   "qop=auth, response=\"7539\", opaque=\"FQhe\", x-ext=\"ignored\"";
        DigestParams p;
        int r;
        bool prefixes_ok = true;

        r = digest_params_parse((const uint8_t *) good, strlen(good), &p);
        ok(r == 0, "a full response parses");
        if (r == 0) {
                ok(p.v[DP_USERNAME] && !strcmp(p.v[DP_USERNAME], "Mufasa") && p.len[DP_USERNAME] == 6, "username");
                ok(p.v[DP_NONCE] && !strcmp(p.v[DP_NONCE], "7ypf/xlj9XX\"wfDP"), "quoted-pair unescaped");
                ok(p.v[DP_QOP] && !strcmp(p.v[DP_QOP], "auth") && p.v[DP_NC] && !strcmp(p.v[DP_NC], "00000001"),
                   "token values");
                ok(!p.v[DP_STALE], "absent parameter is NULL");
                digest_params_done(&p);
        }
        /* Every prefix parses or fails cleanly (ASan build checks bounds). */
        for (size_t n = 0; n < strlen(good); n++) {
                char *copy = malloc(n ? n : 1);
                memcpy(copy, good, n);
                r = digest_params_parse((const uint8_t *) copy, n, &p);
                if (r == 0)
                        digest_params_done(&p);
                else if (r != -EBADMSG)
                        prefixes_ok = false;
                free(copy);
        }
        ok(prefixes_ok, "every prefix: 0 or -EBADMSG");

        {
                static const char *const bad[] = {
                        "Digest realm=\"a\", realm=\"b\"", /* duplicate */
                        "Digest realm=\"unterminated",
                        "Digest realm",
                        "Digest =x",
                        "Digest realm=\"a\x01\"",
                        "Digest realm=a b",
                        "Digest realm=\"a\\",
                };
                for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                        char what[64];
                        r = digest_params_parse((const uint8_t *) bad[i], strlen(bad[i]), &p);
                        snprintf(what, sizeof(what), "malformed input #%zu refused", i);
                        ok(r == -EBADMSG, what);
                        if (r == 0)
                                digest_params_done(&p);
                }
        }
        {
                size_t n = DIGEST_MAX_TOKEN + 1;
                char *big = malloc(n);
                memset(big, 'a', n);
                ok(digest_params_parse((const uint8_t *) big, n, &p) == -EBADMSG, "over DIGEST_MAX_TOKEN refused");
                free(big);
        }
        {
                char many[2048] = "Digest ";
                for (int i = 0; i < 70; i++)
                        strcat(many, "a=b,");
                ok(digest_params_parse((const uint8_t *) many, strlen(many), &p) == -EBADMSG,
                   "more than 64 parameters refused");
        }
        {
                static const uint8_t nul[] = "Digest realm=\"a\0b\"";
                ok(digest_params_parse(nul, sizeof(nul) - 1, &p) == -EBADMSG, "NUL inside a value refused");
        }
}

int main(void) {
        test_vectors();
        test_algorithms();
        test_uris();
        test_parser();
        printf("# %d passed, %d failed\n", passed, failed);
        return failed ? 1 : 0;
}
