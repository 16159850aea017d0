/* SPDX-License-Identifier: MIT */
/*
 * The Kerberos security package on Heimdal's GSSAPI krb5 mechanism.
 *
 * Credentials:
 *  - outbound from an explicit identity: the password is kept (wiped on
 *    free) and the AS exchange happens on the first ISC, as on Windows,
 *    where AcquireCredentialsHandle never talks to the KDC;
 *  - outbound from the caller's own FILE ccache, read by the client
 *    library with the caller's rights and sent as an image, copied into a
 *    MEMORY ccache (proto/PROTOCOL.md says why no owner check is needed);
 *  - inbound from the keytab a config grant names, copied into a MEMORY
 *    keytab restricted to the granted principal.
 * Every Heimdal object the package creates lives in daemon memory; nothing
 * is written to the file system.
 *
 * Library failures become SSPI codes in kerberos-errors.c only.
 */
#include "packages/kerberos/kerberos-private.h"

#include "packages/kerberos/kerberos.h"

/* ---- per-thread krb5 context ---------------------------------------- */

/*
 * A krb5_context is not safe to share between threads without locking,
 * and building one reads krb5.conf: keep one per thread for the thread's
 * life. Heimdal's GSS layer does the same internally.
 */
static pthread_key_t krb_context_key;
static pthread_once_t krb_context_once = PTHREAD_ONCE_INIT;
static __thread krb5_context krb_context_tls;

static void krb_context_destroy(void *p) {
        krb5_free_context(p);
}

static void krb_context_key_init(void) {
        if (pthread_key_create(&krb_context_key, krb_context_destroy) != 0)
                abort();
}

krb5_context krb_context(void) {
        krb5_context k;
        krb5_error_code r;

        if (krb_context_tls)
                return krb_context_tls;
        pthread_once(&krb_context_once, krb_context_key_init);
        r = krb5_init_context(&k);
        if (r != 0) {
                krb_log("krb5_init_context failed: %d", r);
                return NULL;
        }
        if (pthread_setspecific(krb_context_key, k) != 0) {
                krb5_free_context(k);
                return NULL;
        }
        krb_context_tls = k;
        return k;
}

/* ---- small helpers --------------------------------------------------- */

int64_t krb_filetime_in(OM_uint32 seconds) {
        if (seconds == GSS_C_INDEFINITE)
                return FILETIME_NEVER;
        return filetime_from_unix((int64_t) time(NULL) + seconds);
}

PkgBuffer *krb_find_buffer(PkgBuffer *b, size_t n, uint32_t type) {
        for (size_t i = 0; i < n; i++)
                if (pkg_buffer_base_type(&b[i]) == type)
                        return &b[i];
        return NULL;
}

uint32_t krb_get_le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

char *krb_gss_name_to_string(gss_name_t name) {
        OM_uint32 major, minor;
        gss_buffer_desc buf = GSS_C_EMPTY_BUFFER;
        char *s;

        major = gss_display_name(&minor, name, &buf, NULL);
        if (GSS_ERROR(major))
                return NULL;
        s = strndup(buf.value ? buf.value : "", buf.length);
        (void) gss_release_buffer(&minor, &buf);
        return s;
}

void krb_known_targets_clear(KrbCred *c) {
        for (size_t i = 0; i < KNOWN_TARGETS; i++) {
                free(c->known[i].name);
                c->known[i] = (KnownTarget) {};
        }
}

/* Caller holds c->lock. */
bool krb_known_target_valid(KrbCred *c, const char *target, time_t now) {
        for (size_t i = 0; i < KNOWN_TARGETS; i++)
                if (c->known[i].name && strcmp(c->known[i].name, target) == 0)
                        return c->known[i].until > now + TICKET_MARGIN;
        return false;
}

/* Remember that the ccache now holds a ticket for `target`, so the next
 * first leg to it can run inline. A full table forgets the oldest entry. */
void krb_known_target_add(KrbCred *c, const char *target, time_t until) {
        size_t slot = KNOWN_TARGETS;
        char *copy;

        pthread_mutex_lock(&c->lock);
        for (size_t i = 0; i < KNOWN_TARGETS; i++)
                if (c->known[i].name && strcmp(c->known[i].name, target) == 0) {
                        c->known[i].until = until;
                        pthread_mutex_unlock(&c->lock);
                        return;
                }
        copy = strdup(target);
        if (copy) {
                slot = c->known_next++ % KNOWN_TARGETS;
                free(c->known[slot].name);
                c->known[slot].name = copy;
                c->known[slot].until = until;
        }
        pthread_mutex_unlock(&c->lock);
}

/* ---- export / import --------------------------------------------------------- */

static void put_u32(uint8_t *p, uint32_t v) {
        memcpy(p, &v, 4);
}

static void put_i64(uint8_t *p, int64_t v) {
        memcpy(p, &v, 8);
}

static uint32_t take_u32(const uint8_t *p) {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
}

static int64_t take_i64(const uint8_t *p) {
        int64_t v;
        memcpy(&v, p, 8);
        return v;
}

/*
 * The blob: magic, version, initiator flag, req/ret/gss flags, length of
 * the PAC, start, expiry, length of the GSS token, the GSS token, then an
 * acceptor's verified PAC (so the imported context names its client and
 * has its SIDs as the exported one did). gss_export_sec_context
 * always consumes the GSS context; with keep_old the token is imported
 * straight back so the caller's handle stays usable. A delegated
 * credential does not travel.
 */
static SECURITY_STATUS kerberos_export_ctx(void *ctx, bool keep_old, uint8_t **ret_blob, size_t *ret_len,
                                           bool *ctx_consumed) {
        KrbCtx *c = ctx;
        gss_buffer_desc tok = GSS_C_EMPTY_BUFFER;
        OM_uint32 major, minor;
        uint8_t *blob;
        size_t len;

        *ctx_consumed = false;
        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        major = gss_export_sec_context(&minor, &c->gss, &tok);
        if (GSS_ERROR(major))
                return krb_status_gss(KRB_OP_QUERY, major, minor, "gss_export_sec_context");
        if (tok.length > UINT32_MAX - EXPORT_HEADER_SIZE - c->pac_raw_len) {
                explicit_bzero(tok.value, tok.length);
                (void) gss_release_buffer(&minor, &tok);
                return SEC_E_INTERNAL_ERROR;
        }
        len = EXPORT_HEADER_SIZE + tok.length + c->pac_raw_len;
        blob = malloc(len);
        if (blob) {
                memcpy(blob, EXPORT_MAGIC, 4);
                put_u32(blob + 4, EXPORT_VERSION | (c->initiator ? 0x100U : 0));
                put_u32(blob + 8, c->req_flags);
                put_u32(blob + 12, c->ret_flags);
                put_u32(blob + 16, c->gss_flags);
                put_u32(blob + 20, (uint32_t) c->pac_raw_len);
                put_i64(blob + 24, c->start);
                put_i64(blob + 32, c->expiry);
                put_u32(blob + 40, (uint32_t) tok.length);
                memcpy(blob + EXPORT_HEADER_SIZE, tok.value, tok.length);
                if (c->pac_raw_len)
                        memcpy(blob + EXPORT_HEADER_SIZE + tok.length, c->pac_raw, c->pac_raw_len);
        }

        if (keep_old) {
                major = gss_import_sec_context(&minor, &tok, &c->gss);
                if (GSS_ERROR(major)) {
                        /* The old context is gone either way: say so. */
                        c->gss = GSS_C_NO_CONTEXT;
                        kerberos_ctx_free(c);
                        *ctx_consumed = true;
                }
        } else {
                kerberos_ctx_free(c);
                *ctx_consumed = true;
        }
        /* The token holds the session keys. */
        explicit_bzero(tok.value, tok.length);
        (void) gss_release_buffer(&minor, &tok);
        if (!blob)
                return SEC_E_INSUFFICIENT_MEMORY;
        *ret_blob = blob;
        *ret_len = len;
        return SEC_E_OK;
}

static SECURITY_STATUS kerberos_import_ctx(const uint8_t *blob, size_t len, void **ret_ctx) {
        gss_buffer_desc tok;
        OM_uint32 major, minor, version, pac_len;
        SECURITY_STATUS st;
        KrbCtx *c;

        if (!blob || len < EXPORT_HEADER_SIZE || memcmp(blob, EXPORT_MAGIC, 4) != 0)
                return SEC_E_INVALID_TOKEN;
        version = take_u32(blob + 4);
        pac_len = take_u32(blob + 20);
        if ((version & 0xff) != EXPORT_VERSION || pac_len > len - EXPORT_HEADER_SIZE ||
            take_u32(blob + 40) != len - EXPORT_HEADER_SIZE - pac_len || (pac_len && (version & 0x100U)))
                return SEC_E_INVALID_TOKEN;
        c = krb_ctx_new(version & 0x100U, take_u32(blob + 8));
        if (!c)
                return SEC_E_INSUFFICIENT_MEMORY;
        c->ret_flags = take_u32(blob + 12);
        c->gss_flags = take_u32(blob + 16);
        c->start = take_i64(blob + 24);
        c->expiry = take_i64(blob + 32);
        tok.value = (void *) (blob + EXPORT_HEADER_SIZE);
        tok.length = len - EXPORT_HEADER_SIZE - pac_len;
        st = krb_pac_import(c, blob + EXPORT_HEADER_SIZE + tok.length, pac_len);
        if (st != SEC_E_OK) {
                kerberos_ctx_free(c);
                return st;
        }
        major = gss_import_sec_context(&minor, &tok, &c->gss);
        if (GSS_ERROR(major)) {
                kerberos_ctx_free(c);
                return krb_status_gss(KRB_OP_QUERY, major, minor, "gss_import_sec_context");
        }
        c->established = true;
        krb_window_from_token(c, tok.value, tok.length);
        *ret_ctx = c;
        return SEC_E_OK;
}

static int kerberos_setup(const struct Config *config) {
        krb_random_setup();
        if (krb_replay_setup(config->replay_cache) < 0)
                return -ENOMEM;
        if (krb_kdcproxy_setup(config) < 0)
                return -ENOMEM;
        /* Fail early on a krb5.conf Heimdal cannot read rather than on the
         * first call. */
        return krb_context() ? 0 : -EINVAL;
}

const Provider provider_kerberos = {
        .name = "Kerberos",
        .comment = "Microsoft Kerberos V1.0",
        .aliases = NULL,
        .capabilities = SECPKG_FLAG_INTEGRITY | SECPKG_FLAG_PRIVACY | SECPKG_FLAG_TOKEN_ONLY | SECPKG_FLAG_DATAGRAM |
                        SECPKG_FLAG_CONNECTION | SECPKG_FLAG_MULTI_REQUIRED | SECPKG_FLAG_EXTENDED_ERROR |
                        SECPKG_FLAG_IMPERSONATION | SECPKG_FLAG_ACCEPT_WIN32_NAME | SECPKG_FLAG_NEGOTIABLE |
                        SECPKG_FLAG_GSS_COMPATIBLE | SECPKG_FLAG_LOGON | SECPKG_FLAG_MUTUAL_AUTH |
                        SECPKG_FLAG_DELEGATION | SECPKG_FLAG_READONLY_WITH_CHECKSUM | SECPKG_FLAG_RESTRICTED_TOKENS |
                        SECPKG_FLAG_APPCONTAINER_CHECKS, /* what Windows 8.1/10 report */
        .version = 1,
        .rpcid = 16, /* RPC_C_AUTHN_GSS_KERBEROS */
        .max_token = KRB_MAX_TOKEN,
        .setup = kerberos_setup,
        .acquire = kerberos_acquire,
        .cred_free = kerberos_cred_free,
        .cred_name = kerberos_cred_name,
        .step_may_block = kerberos_step_may_block,
        .waits_outside = true,
        .init_ctx = kerberos_init_ctx_proxied,
        .accept_ctx = kerberos_accept_ctx,
        .complete = kerberos_complete,
        .query_ctx = kerberos_query_ctx,
        .sign = kerberos_sign,
        .verify = kerberos_verify,
        .seal = kerberos_seal,
        .unseal = kerberos_unseal,
        .msg_keys = kerberos_msg_keys,
        .msg_keys_update = kerberos_msg_keys_update,
        .export_ctx = kerberos_export_ctx,
        .import_ctx = kerberos_import_ctx,
        .ctx_free = kerberos_ctx_free,
        .change_password = kerberos_change_password,
        .set_cred_attr = kerberos_set_cred_attr,
        .add_cred = kerberos_add_cred,
};
