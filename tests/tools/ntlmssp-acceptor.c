/* SPDX-License-Identifier: MIT */
/*
 * An NTLM acceptor that is not ours, for the interop test: MIT GSSAPI with
 * the gss-ntlmssp mechanism (OID 1.3.6.1.4.1.311.2.2.10), which checks the
 * AUTHENTICATE message against the file named by NTLM_USER_FILE
 * ("DOMAIN:user:password" lines). Built only with MIT's headers and
 * libraries (pkg-config mit-krb5-gssapi), never Heimdal's.
 *
 * Protocol on stdin/stdout, one hex line each way:
 *   in: NEGOTIATE        out: CHALLENGE
 *   in: AUTHENTICATE     out: an empty line (the handshake is complete)
 *                        out: the client's name, as hex of its text
 *   in: signature || sealed data (EncryptMessage's two buffers)
 *                        out: the unsealed text
 *                        out: gss_wrap("reply from gss-ntlmssp")
 * Any failure: a line "!" and the GSS status on stderr, exit status 1.
 *
 * With the argument "spnego" the tokens are MIT's SPNEGO (RFC 4178)
 * around gss-ntlmssp: NegTokenInit in, NegTokenResp out, mechListMIC
 * checked and sent; the rest is the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>

static gss_OID_desc ntlmssp_oid = { 10, (void *) "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a" };
static gss_OID_desc spnego_oid = { 6, (void *) "\x2b\x06\x01\x05\x05\x02" };

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
        OM_uint32 m, ctx = 0;
        gss_buffer_desc s;

        fprintf(stderr, "ntlmssp-acceptor: %s: major 0x%x minor %u", what, maj, min);
        if (min) {
                do {
                        if (gss_display_status(&m, min, GSS_C_MECH_CODE, &ntlmssp_oid, &ctx, &s) != GSS_S_COMPLETE)
                                break;
                        fprintf(stderr, " (%.*s)", (int) s.length, (char *) s.value);
                        gss_release_buffer(&m, &s);
                } while (ctx);
        }
        fprintf(stderr, "\n");
        printf("!\n");
        fflush(stdout);
        return 1;
}

int main(int argc, char **argv) {
        OM_uint32 maj = GSS_S_CONTINUE_NEEDED, min;
        gss_OID_set_desc mechs = { 1, &ntlmssp_oid };
        gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
        gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
        gss_name_t src = GSS_C_NO_NAME;
        gss_buffer_desc in, out = GSS_C_EMPTY_BUFFER, name;
        gss_OID mech = GSS_C_NO_OID;
        long n;
        int conf = 0;

        if (argc > 1 && !strcmp(argv[1], "spnego")) {
                /* SPNEGO offering NTLMSSP only (no keytab here). */
                gss_OID_set_desc neg = { 1, &ntlmssp_oid };
                mechs.elements = &spnego_oid;
                maj = gss_acquire_cred(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs, GSS_C_ACCEPT, &cred, NULL, NULL);
                if (GSS_ERROR(maj))
                        return fail("gss_acquire_cred(spnego)", maj, min);
                maj = gss_set_neg_mechs(&min, cred, &neg);
                if (GSS_ERROR(maj))
                        return fail("gss_set_neg_mechs", maj, min);
        } else
                maj = gss_acquire_cred(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs, GSS_C_ACCEPT, &cred, NULL, NULL);
        if (GSS_ERROR(maj))
                return fail("gss_acquire_cred", maj, min);
        do {
                if ((n = rd()) <= 0)
                        return fail("reading a token", GSS_S_DEFECTIVE_TOKEN, 0);
                in = (gss_buffer_desc) { (size_t) n, bytes };
                maj = gss_accept_sec_context(&min, &ctx, cred, &in, GSS_C_NO_CHANNEL_BINDINGS, &src, &mech, &out, NULL,
                                             NULL, NULL);
                if (GSS_ERROR(maj))
                        return fail("gss_accept_sec_context", maj, min);
                wr(out.value, out.length);
                gss_release_buffer(&min, &out);
        } while (maj == GSS_S_CONTINUE_NEEDED);
        if (!mech || mech->length != ntlmssp_oid.length || memcmp(mech->elements, ntlmssp_oid.elements, mech->length))
                return fail("the mechanism is not NTLMSSP", GSS_S_BAD_MECH, 0);
        maj = gss_display_name(&min, src, &name, NULL);
        if (GSS_ERROR(maj))
                return fail("gss_display_name", maj, min);
        wr(name.value, strnlen(name.value, name.length)); /* gss-ntlmssp counts the NUL */
        gss_release_buffer(&min, &name);

        if ((n = rd()) < 0)
                return fail("reading a sealed message", GSS_S_DEFECTIVE_TOKEN, 0);
        in = (gss_buffer_desc) { (size_t) n, bytes };
        maj = gss_unwrap(&min, ctx, &in, &out, &conf, NULL);
        if (GSS_ERROR(maj) || !conf)
                return fail("gss_unwrap", maj, min);
        wr(out.value, out.length);
        gss_release_buffer(&min, &out);
        in = (gss_buffer_desc) { 22, (void *) "reply from gss-ntlmssp" };
        maj = gss_wrap(&min, ctx, 1, GSS_C_QOP_DEFAULT, &in, &conf, &out);
        if (GSS_ERROR(maj) || !conf)
                return fail("gss_wrap", maj, min);
        wr(out.value, out.length);
        gss_release_buffer(&min, &out);
        gss_release_name(&min, &src);
        gss_delete_sec_context(&min, &ctx, GSS_C_NO_BUFFER);
        gss_release_cred(&min, &cred);
        return 0;
}
