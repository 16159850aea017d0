/* SPDX-License-Identifier: MIT */
/*
 * A Kerberos acceptor that is not ours, for test_krb_acceptors: plain
 * GSSAPI calls only, built twice, once on MIT krb5 (krb-acceptor-mit) and
 * once on Heimdal (krb-acceptor-heimdal), with the keytab KRB5_KTNAME
 * names. MIT and Heimdal differ where it matters here: a Heimdal SPNEGO
 * acceptor sends a mechListMIC after an RFC 4121 Kerberos exchange, MIT's
 * does not unless required.
 *
 * Argument: "krb5" (raw RFC 4121 tokens) or "spnego". Protocol on
 * stdin/stdout, one hex line each way:
 *   in: a context token        out: the answer (an empty line for none),
 *                              until the context is complete
 *   out: the context's flags (4 bytes, big-endian)
 *   out: gss_wrap("first message from the acceptor")
 *   out: gss_get_mic over the same text
 *   in: a wrap token           out: its plaintext
 *   in: a MIC token || text    out: an empty line when it verifies
 * Any failure: a line "!" and the GSS status on stderr, exit status 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gssapi/gssapi.h>

static gss_OID_desc krb5_oid = { 9, (void *) "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02" };
static gss_OID_desc spnego_oid = { 6, (void *) "\x2b\x06\x01\x05\x05\x02" };
static const char first[] = "first message from the acceptor";

static char line[131072];
static unsigned char bytes[65536];

static long rd(void) {
        size_t n = 0;

        if (!fgets(line, sizeof(line), stdin))
                return -1;
        for (char *s = line; s[0] && s[1] && s[0] != '\n'; s += 2) {
                unsigned v;
                if (n >= sizeof(bytes) || sscanf(s, "%2x", &v) != 1)
                        return -1;
                bytes[n++] = (unsigned char) v;
        }
        return (long) n;
}

static void wr(const void *p, size_t n) {
        const unsigned char *b = p;
        for (size_t i = 0; i < n; i++)
                printf("%02x", b[i]);
        printf("\n");
        fflush(stdout);
}

static int fail(const char *what, OM_uint32 maj, OM_uint32 min) {
        fprintf(stderr, "krb-acceptor: %s: major 0x%x minor %u\n", what, maj, min);
        printf("!\n");
        fflush(stdout);
        return 1;
}

int main(int argc, char **argv) {
        OM_uint32 maj, min, flags = 0;
        gss_OID_set_desc mechs = { 1, &krb5_oid };
        gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
        gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
        gss_buffer_desc in, out = GSS_C_EMPTY_BUFFER, msg = { sizeof(first) - 1, (void *) first };
        unsigned char be[4];
        long n;
        int conf = 0;

        if (argc > 1 && !strcmp(argv[1], "spnego"))
                mechs.elements = &spnego_oid;
        maj = gss_acquire_cred(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs, GSS_C_ACCEPT, &cred, NULL, NULL);
        if (GSS_ERROR(maj))
                return fail("gss_acquire_cred", maj, min);
        do {
                if ((n = rd()) <= 0)
                        return fail("reading a token", GSS_S_DEFECTIVE_TOKEN, 0);
                in = (gss_buffer_desc) { (size_t) n, bytes };
                maj = gss_accept_sec_context(&min, &ctx, cred, &in, GSS_C_NO_CHANNEL_BINDINGS, NULL, NULL, &out,
                                             &flags, NULL, NULL);
                if (GSS_ERROR(maj))
                        return fail("gss_accept_sec_context", maj, min);
                wr(out.value, out.length);
                gss_release_buffer(&min, &out);
        } while (maj == GSS_S_CONTINUE_NEEDED);
        be[0] = (unsigned char) (flags >> 24), be[1] = (unsigned char) (flags >> 16);
        be[2] = (unsigned char) (flags >> 8), be[3] = (unsigned char) flags;
        wr(be, 4);

        maj = gss_wrap(&min, ctx, 1, GSS_C_QOP_DEFAULT, &msg, &conf, &out);
        if (GSS_ERROR(maj) || !conf)
                return fail("gss_wrap", maj, min);
        wr(out.value, out.length);
        gss_release_buffer(&min, &out);
        maj = gss_get_mic(&min, ctx, GSS_C_QOP_DEFAULT, &msg, &out);
        if (GSS_ERROR(maj))
                return fail("gss_get_mic", maj, min);
        wr(out.value, out.length);
        gss_release_buffer(&min, &out);

        if ((n = rd()) < 0)
                return fail("reading a wrap token", GSS_S_DEFECTIVE_TOKEN, 0);
        in = (gss_buffer_desc) { (size_t) n, bytes };
        maj = gss_unwrap(&min, ctx, &in, &out, &conf, NULL);
        if (maj != GSS_S_COMPLETE)
                return fail("gss_unwrap", maj, min);
        wr(out.value, out.length);
        gss_release_buffer(&min, &out);
        if ((n = rd()) < 0)
                return fail("reading a MIC", GSS_S_DEFECTIVE_TOKEN, 0);
        /* The MIC (its length first, one byte) then the text it covers. */
        if (n < 1 || (long) bytes[0] + 1 > n)
                return fail("MIC framing", GSS_S_DEFECTIVE_TOKEN, 0);
        in = (gss_buffer_desc) { bytes[0], bytes + 1 };
        msg = (gss_buffer_desc) { (size_t) n - 1 - bytes[0], bytes + 1 + bytes[0] };
        maj = gss_verify_mic(&min, ctx, &msg, &in, NULL);
        if (maj != GSS_S_COMPLETE)
                return fail("gss_verify_mic", maj, min);
        wr("", 0);
        gss_delete_sec_context(&min, &ctx, GSS_C_NO_BUFFER);
        gss_release_cred(&min, &cred);
        return 0;
}
