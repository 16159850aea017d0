/* SPDX-License-Identifier: MIT */
/*
 * CompleteAuthToken for Digest's HTTP mode. An auth-int step without the
 * entity body (no H(entity-body) PKG_PARAMS, no SECBUFFER_DATA) is not
 * finished: the client's InitializeSecurityContext returns its token with a
 * placeholder response and SEC_I_COMPLETE_NEEDED (SEC_I_COMPLETE_AND_CONTINUE
 * when it asked for ISC_REQ_MUTUAL_AUTH: Authentication-Info follows), the
 * server's AcceptSecurityContext checks all but the response and returns
 * SEC_I_COMPLETE_NEEDED; CompleteAuthToken with the body (a SECBUFFER_DATA,
 * or the hex H(entity-body) as a SECBUFFER_PKG_PARAMS) writes the response
 * into the client's token, or verifies the server's (SEC_E_MESSAGE_ALTERED,
 * SEC_E_OUT_OF_SEQUENCE as the CompleteAuthToken page lists them).
 */
#include "packages/digest/digest-private.h"

void digest_pending_free(PkgBuffer *b) {
        if (!b)
                return;
        for (int i = 0; i < 6; i++)
                free(b[i].data);
        free(b);
}

/* The client's token, finished: the response for the body in `b`. */
static SECURITY_STATUS complete_client(DigestCtx *c, PkgBuffer *b, size_t n) {
        char body[DIGEST_HEX_MAX + 1], resp[DIGEST_HEX_MAX + 1];
        PkgBuffer *tok = digest_nth_buffer(b, n, SECBUFFER_TOKEN, 0);
        DigestInput in = {
                .alg = c->alg, .sess = c->sess, .ha1 = c->ha1, .nonce = c->nonce, .nc = c->last_nc,
                .cnonce = c->last_cnonce, .qop = "auth-int", .method = c->pending_method, .uri = c->last_uri,
                .body_hex = body,
        };
        SECURITY_STATUS st;
        uint8_t *out;

        if (!tok || (!digest_nth_buffer(b, n, SECBUFFER_DATA, 0) && !digest_nth_buffer(b, n, SECBUFFER_PKG_PARAMS, 0)))
                return SEC_E_INVALID_TOKEN;
        /* The token ISC gave, as it gave it. */
        if (tok->len != c->pending_len || memcmp(tok->data, c->pending_token, c->pending_len) != 0)
                return SEC_E_INVALID_TOKEN;
        st = digest_body_hash(b, n, 0, c->alg, body);
        if (st != SEC_E_OK)
                return st == SEC_E_INVALID_PARAMETER ? SEC_E_INVALID_TOKEN : st;
        if (digest_response(&in, resp) < 0)
                return SEC_E_INTERNAL_ERROR;
        out = malloc(c->pending_len);
        if (!out)
                return SEC_E_INSUFFICIENT_MEMORY;
        memcpy(out, c->pending_token, c->pending_len);
        memcpy(out + c->pending_off, resp, digest_alg_hexlen(c->alg));
        tok->data = out;
        tok->owned = true;
        memcpy(c->last_body, body, sizeof(body));
        free(c->pending_token);
        c->pending_token = NULL;
        free(c->pending_method);
        c->pending_method = NULL;
        return SEC_E_OK;
}

/* The server's check, run again with the body CompleteAuthToken brings:
 * its DATA buffer or its hex H(entity-body) PKG_PARAMS. */
static SECURITY_STATUS complete_server(DigestCtx *c, PkgBuffer *b, size_t n) {
        PkgBuffer *hex = digest_nth_buffer(b, n, SECBUFFER_PKG_PARAMS, 0), *data = digest_nth_buffer(b, n, SECBUFFER_DATA, 0);
        PkgBuffer in[6];
        PkgStep s = { .in = in, .n_in = 5, .req_flags = ASC_REQ_HTTP };
        SECURITY_STATUS st;

        if (!hex && !data)
                return SEC_E_INVALID_TOKEN;
        memcpy(in, c->pending_in, 5 * sizeof(*in));
        if (hex)
                in[3] = *hex;
        if (data)
                in[s.n_in++] = *data;
        st = digest_http_verify(&s, c, &in[0]);
        if (st == SEC_E_LOGON_DENIED)
                st = SEC_E_MESSAGE_ALTERED; /* the body, or the password, is not what the response hashed */
        else if (st == SEC_E_INVALID_PARAMETER)
                st = SEC_E_INVALID_TOKEN;
        if (st != SEC_I_COMPLETE_NEEDED) { /* one try: the response is used up */
                digest_pending_free(c->pending_in);
                c->pending_in = NULL;
        }
        return st;
}

/* CompleteAuthToken: finishes a token left by SEC_I_COMPLETE_NEEDED /
 * SEC_I_COMPLETE_AND_CONTINUE; otherwise a no-op on a finished context
 * (HTTP mode's token is final when ISC returns). */
SECURITY_STATUS digest_complete(void *ctx, PkgBuffer *b, size_t n) {
        DigestCtx *c = ctx;

        if (c && c->server && c->pending_in)
                return complete_server(c, b, n);
        if (c && !c->server && c->pending_token)
                return complete_client(c, b, n);
        return c && c->done ? SEC_E_OK : SEC_E_OUT_OF_SEQUENCE;
}
