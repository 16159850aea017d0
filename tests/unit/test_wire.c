/* SPDX-License-Identifier: MIT */
/* The wire codec: framing, the bounded reader, validation rules, UTF-8. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire.h"
#include "tap.h"

static void test_roundtrip(void) {
        Sspiw__Envelope e = SSPIW__ENVELOPE__INIT, *d = NULL;
        Sspiw__QueryPackageReq q = SSPIW__QUERY_PACKAGE_REQ__INIT;
        WireReader r;
        uint8_t *buf = NULL;
        size_t len = 0;
        int sv[2];
        const char *why;

        q.name = "Kerberos";
        e.call_id = 42;
        e.body_case = SSPIW__ENVELOPE__BODY_QUERY_PACKAGE;
        e.query_package = &q;
        ok(wire_pack(&e, &buf, &len) == 0 && len > 4, "pack (%zu bytes)", len);
        ok(buf[0] == 0 && buf[1] == 0 && buf[2] == 0 && buf[3] == len - 4, "big-endian length prefix");
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
        /* Byte by byte: the reader must assemble the frame. */
        wire_reader_init(&r, WIRE_MAX_FRAME_DEFAULT);
        int got = 0;
        for (size_t i = 0; i < len && got == 0; i++) {
                (void) !write(sv[0], buf + i, 1);
                ok(wire_reader_fill(&r, sv[1]) == 1, "fill byte %zu", i);
                got = wire_reader_next(&r, &d);
                if (i + 1 < len)
                        ok(got == 0, "incomplete after %zu bytes", i + 1);
        }
        ok(got == 1 && d && d->call_id == 42 && d->body_case == SSPIW__ENVELOPE__BODY_QUERY_PACKAGE &&
                   !strcmp(d->query_package->name, "Kerberos"),
           "decoded back");
        ok(wire_validate_request(d, WIRE_MAX_FRAME_DEFAULT, &why) == 0, "valid request");
        ok(wire_validate_reply(d, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "a request is not a reply");
        wire_free(d);

        /* Two frames in one read. */
        uint8_t two[512];
        memcpy(two, buf, len);
        memcpy(two + len, buf, len);
        (void) !write(sv[0], two, 2 * len);
        ok(wire_reader_fill(&r, sv[1]) == (int) (2 * len), "two frames read at once");
        ok(wire_reader_next(&r, &d) == 1, "first frame");
        wire_free(d);
        ok(wire_reader_has_frame(&r), "second frame buffered");
        ok(wire_reader_next(&r, &d) == 1, "second frame");
        wire_free(d);
        ok(wire_reader_fill(&r, sv[1]) == -EAGAIN, "nothing more: -EAGAIN");

        /* Oversized length: refused from the header alone. */
        (void) !write(sv[0], "\x00\x10\x00\x01", 4);
        ok(wire_reader_fill(&r, sv[1]) == 4, "header of an oversized frame");
        ok(wire_reader_next(&r, &d) == -EMSGSIZE, "oversized frame refused");
        ok(r.cap <= 65536, "no allocation for it (cap %zu)", r.cap);
        wire_reader_done(&r);

        /* Garbage body. */
        wire_reader_init(&r, WIRE_MAX_FRAME_DEFAULT);
        (void) !write(sv[0], "\x00\x00\x00\x03\xff\xff\xff", 7);
        (void) !wire_reader_fill(&r, sv[1]);
        ok(wire_reader_next(&r, &d) == -EBADMSG, "garbage refused");
        wire_reader_done(&r);

        /* A string with an embedded NUL: protobuf-c would cut it short. */
        wire_reader_init(&r, WIRE_MAX_FRAME_DEFAULT);
        (void) !write(sv[0], "\x00\x00\x00\x09\x08\x01\x72\x05\x0a\x03K\x00r", 13);
        (void) !wire_reader_fill(&r, sv[1]);
        ok(wire_reader_next(&r, &d) == -EBADMSG, "embedded NUL refused (non-canonical)");
        wire_reader_done(&r);

        /* EOF. */
        close(sv[0]);
        wire_reader_init(&r, WIRE_MAX_FRAME_DEFAULT);
        ok(wire_reader_fill(&r, sv[1]) == 0, "EOF");
        wire_reader_done(&r);
        close(sv[1]);
        free(buf);
}

static void test_validation(void) {
        Sspiw__Envelope e = SSPIW__ENVELOPE__INIT;
        Sspiw__InitCtxReq i = SSPIW__INIT_CTX_REQ__INIT;
        Sspiw__Handle h = SSPIW__HANDLE__INIT;
        Sspiw__Buffer b[20], *bp[20];
        const char *why = NULL;
        char longname[2000];

        for (int k = 0; k < 20; k++) {
                sspiw__buffer__init(&b[k]);
                b[k].type = 2;
                bp[k] = &b[k];
        }
        e.body_case = SSPIW__ENVELOPE__BODY_INIT_CTX;
        e.init_ctx = &i;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "ISC without cred or ctx: %s", why);
        i.cred = &h;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == 0, "ISC with a credential");
        i.n_input = 17;
        i.input = bp;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "17 buffers: %s", why);
        i.n_input = 2;
        b[0].type = 0x80000000u | 99;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "unknown buffer type: %s", why);
        b[0].type = 0x80000000u | 2;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == 0, "READONLY token");
        i.n_output = 1;
        i.output = bp + 5;
        b[5].has_data = 1;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "output slot with data: %s", why);
        b[5].has_data = 0;
        b[5].has_size = 1;
        b[5].size = 64u << 20;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "64 MiB output capacity: %s", why);
        b[5].size = 12000;
        memset(longname, 'a', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = 0;
        i.target = longname;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "2000-byte target: %s", why);
        i.target = "HTTP/\xc3\x28";
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "invalid UTF-8 target: %s", why);
        i.target = "HTTP/h\xc3\xa9te";
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == 0, "UTF-8 target");
        {
                /* SetContextAttributes: the caller's bytes, at most 4096. */
                Sspiw__SetCtxAttrReq sa = SSPIW__SET_CTX_ATTR_REQ__INIT;
                static uint8_t big[WIRE_MAX_SET_CTX_ATTR + 1];
                sa.ctx = &h;
                sa.attr = 34;
                sa.data.data = big;
                sa.data.len = WIRE_MAX_SET_CTX_ATTR;
                e.body_case = SSPIW__ENVELOPE__BODY_SET_CTX_ATTR;
                e.set_ctx_attr = &sa;
                ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == 0, "SetCtxAttr with 4096 bytes");
                sa.data.len++;
                ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "SetCtxAttr with 4097 bytes: %s",
                   why);
                e.body_case = SSPIW__ENVELOPE__BODY_SET_CTX_ATTR_REP;
                ok(wire_validate_reply(&e, WIRE_MAX_FRAME_DEFAULT, &why) == 0, "SetCtxAttrRep");
                /* SetCredentialsAttributes(SUPPORTED_ALGS): at most 256 ALG_IDs. */
                Sspiw__SetCredAttrReq ca = SSPIW__SET_CRED_ATTR_REQ__INIT;
                uint32_t words[257] = { 0 };
                ca.cred = &h;
                ca.words = words;
                ca.n_words = 256;
                e.body_case = SSPIW__ENVELOPE__BODY_SET_CRED_ATTR;
                e.set_cred_attr = &ca;
                ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == 0, "256 words");
                ca.n_words = 257;
                ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "257 words: %s", why);
        }
        e.body_case = SSPIW__ENVELOPE__BODY__NOT_SET;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "no body: %s", why);
        ok(wire_validate_reply(&e, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "empty reply without status");
        e.has_status = 1;
        e.status = (int32_t) 0x80090301;
        ok(wire_validate_reply(&e, WIRE_MAX_FRAME_DEFAULT, &why) == 0, "empty reply with a failure status");
}

/* ExportCtxReq.keys (issue 17): the library's message state, each field
 * bounded before the daemon looks at it. */
static void test_export_keys(void) {
        Sspiw__Envelope e = SSPIW__ENVELOPE__INIT;
        Sspiw__ExportCtxReq x = SSPIW__EXPORT_CTX_REQ__INIT;
        Sspiw__MsgKeys k = SSPIW__MSG_KEYS__INIT;
        Sspiw__Handle h = SSPIW__HANDLE__INIT;
        static uint8_t big[1025];
        const char *why = NULL;

        x.ctx = &h;
        e.body_case = SSPIW__ENVELOPE__BODY_EXPORT_CTX;
        e.export_ctx = &x;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == 0, "export without keys");
        x.keys = &k;
        k.send_sign = (ProtobufCBinaryData) { 16, big };
        k.recv_sign = (ProtobufCBinaryData) { 16, big };
        k.send_rc4 = (ProtobufCBinaryData) { 258, big };
        k.recv_rc4 = (ProtobufCBinaryData) { 258, big };
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == 0, "export with NTLM-sized keys");
        k.recv_rc4 = (ProtobufCBinaryData) { sizeof(big), big };
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "a 1025-byte key field: %s", why);
}

/* SECPKG_ATTR_KEYING_MATERIAL's input in a query: bounded (issue 17). */
static void test_keying_input(void) {
        Sspiw__Envelope e = SSPIW__ENVELOPE__INIT;
        Sspiw__QueryCtxAttrReq q = SSPIW__QUERY_CTX_ATTR_REQ__INIT;
        Sspiw__Handle h = SSPIW__HANDLE__INIT;
        static uint8_t big[WIRE_MAX_KM_CONTEXT + 1];
        const char *why = NULL;

        q.ctx = &h;
        q.attr = 0x6b;
        e.body_case = SSPIW__ENVELOPE__BODY_QUERY_CTX_ATTR;
        e.query_ctx_attr = &q;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == 0, "query without keying input");
        q.has_km_label = q.has_km_context = q.has_km_length = 1;
        q.km_label = (ProtobufCBinaryData) { 12, big };
        q.km_context = (ProtobufCBinaryData) { WIRE_MAX_KM_CONTEXT, big };
        q.km_length = WIRE_MAX_KM_LENGTH;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == 0, "keying input at its bounds");
        q.km_label.len = WIRE_MAX_KM_LABEL + 1;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "label too long: %s", why);
        q.km_label.len = 12;
        q.km_context.len = WIRE_MAX_KM_CONTEXT + 1;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "context too long: %s", why);
        q.km_context.len = 0;
        q.km_length = WIRE_MAX_KM_LENGTH + 1;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "length too large: %s", why);
}

/* The ccache image a client sends: 1 byte to WIRE_MAX_CCACHE. */
static void test_ccache_image(void) {
        Sspiw__Envelope e = SSPIW__ENVELOPE__INIT;
        Sspiw__AcquireCredReq a = SSPIW__ACQUIRE_CRED_REQ__INIT;
        static uint8_t image[WIRE_MAX_CCACHE + 1];
        const char *why = NULL;

        e.body_case = SSPIW__ENVELOPE__BODY_ACQUIRE_CRED;
        e.acquire_cred = &a;
        a.package = "Kerberos";
        a.use = 2;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == 0, "acquire without a ccache image");
        a.has_ccache_image = 1;
        a.ccache_image.data = image;
        a.ccache_image.len = WIRE_MAX_CCACHE;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == 0, "ccache image of WIRE_MAX_CCACHE bytes");
        a.ccache_image.len = WIRE_MAX_CCACHE + 1;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "ccache image one byte too big: %s",
           why);
        a.ccache_image.len = 0;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "empty ccache image: %s", why);
}

/* ExportCtxReq.keys (the library's sequence state) and ImportCtxRep.keys:
 * a receive window of at most 20 numbers (Heimdal's), keys of at most
 * 258 bytes (NTLM's RC4 state). */
static void test_msg_keys(void) {
        Sspiw__Envelope e = SSPIW__ENVELOPE__INIT;
        Sspiw__ExportCtxReq x = SSPIW__EXPORT_CTX_REQ__INIT;
        Sspiw__ImportCtxRep r = SSPIW__IMPORT_CTX_REP__INIT;
        Sspiw__MsgKeys k = SSPIW__MSG_KEYS__INIT;
        Sspiw__Handle h = SSPIW__HANDLE__INIT;
        static uint8_t big[259];
        uint32_t window[21] = { 0 };
        const char *why = NULL;

        e.body_case = SSPIW__ENVELOPE__BODY_EXPORT_CTX;
        e.export_ctx = &x;
        x.ctx = &h;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == 0, "export without message state");
        x.keys = &k;
        k.mech = 2;
        k.has_window_len = 1;
        k.window_len = 20;
        k.n_window = 20;
        k.window = window;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == 0, "export with a 20-number window");
        k.n_window = 21;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "21 window numbers: %s", why);
        k.n_window = 20;
        k.window_len = 21;
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "window length 21: %s", why);
        k.window_len = 20;
        k.send_rc4.data = big;
        k.send_rc4.len = sizeof(big);
        ok(wire_validate_request(&e, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "a 259-byte key: %s", why);
        e.body_case = SSPIW__ENVELOPE__BODY_IMPORT_CTX_REP;
        e.import_ctx_rep = &r;
        r.ctx = &h;
        r.keys = &k;
        ok(wire_validate_reply(&e, WIRE_MAX_FRAME_DEFAULT, &why) == -EBADMSG, "import reply with a 259-byte key: %s",
           why);
        k.send_rc4.len = 258;
        ok(wire_validate_reply(&e, WIRE_MAX_FRAME_DEFAULT, &why) == 0, "import reply with a 258-byte RC4 state");
}

static void test_utf8(void) {
        ok(wire_utf8_valid("abc", 3), "ASCII");
        ok(wire_utf8_valid("\xf0\x9f\x98\x80", 4), "4-byte sequence");
        ok(!wire_utf8_valid("\xc0\xaf", 2), "overlong");
        ok(!wire_utf8_valid("\xed\xa0\x80", 3), "surrogate");
        ok(!wire_utf8_valid("\xf4\x90\x80\x80", 4), "above U+10FFFF");
        ok(!wire_utf8_valid("a\0b", 3), "embedded NUL");
        ok(!wire_utf8_valid("\xe2\x82", 2), "truncated");
}

int main(void) {
        test_roundtrip();
        test_validation();
        test_export_keys();
        test_keying_input();
        test_ccache_image();
        test_msg_keys();
        test_utf8();
        printf("# %d passed, %d failed\n", passed, failed);
        return failed ? 1 : 0;
}
