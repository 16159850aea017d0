/* SPDX-License-Identifier: MIT */
/*
 * QueryContextAttributes for Kerberos contexts: sizes, names, session key,
 * lifespan, flags.
 */
#include "packages/kerberos/kerberos.h"
#include "packages/kerberos/kerberos-pac.h"
#include "packages/kerberos/kerberos-private.h"

/* ---- attributes ---------------------------------------------------------- */

/*
 * SecPkgContext_Sizes from Heimdal's own size arithmetic, once per
 * context: a sign-only wrap header is the MIC size for RFC 4121 (16-byte
 * header + checksum) and a bound for RC4; the sealed header without a
 * trailer buffer is the Windows "security trailer" (header, confounder
 * and the trailer rotated in front of the data); the padding Heimdal asks
 * for one and two bytes of data tells the block size.
 */
SECURITY_STATUS krb_compute_sizes(KrbCtx *c) {
        gss_iov_buffer_desc iov[3];
        size_t pad[2] = { 0, 0 }, sealed = 0, signed_only = 0;
        /* DCE style: the caller pads, and Heimdal refuses a PADDING
         * buffer (EINVAL) rather than sizing one. */
        bool dce = c->gss_flags & GSS_C_DCE_STYLE;
        OM_uint32 major, minor;

        for (int conf = 1; conf >= 0; conf--)
                for (size_t data = 1; data <= (conf ? 2U : 1U); data++) {
                        memset(iov, 0, sizeof(iov));
                        iov[0].type = GSS_IOV_BUFFER_TYPE_HEADER;
                        iov[1].type = GSS_IOV_BUFFER_TYPE_DATA;
                        iov[1].buffer.length = data;
                        iov[2].type = GSS_IOV_BUFFER_TYPE_PADDING;
                        major = gss_wrap_iov_length(&minor, c->gss, conf, GSS_C_QOP_DEFAULT, NULL, iov,
                                                    dce ? 2 : 3);
                        if (GSS_ERROR(major))
                                return krb_status_gss(KRB_OP_QUERY, major, minor, "gss_wrap_iov_length");
                        if (conf) {
                                sealed = iov[0].buffer.length;
                                pad[data - 1] = iov[2].buffer.length;
                        } else
                                signed_only = iov[0].buffer.length + iov[2].buffer.length;
                }
        c->sizes.cbMaxToken = KRB_MAX_TOKEN;
        c->sizes.cbMaxSignature = (uint32_t) signed_only;
        c->sizes.cbSecurityTrailer = (uint32_t) sealed;
        c->sizes.cbBlockSize = pad[0] == pad[1] ? 1 : (uint32_t) pad[0] + 1;
        c->have_sizes = true;
        return SEC_E_OK;
}

static SECURITY_STATUS context_names(KrbCtx *c, char **ret_client, char **ret_server) {
        gss_name_t src = GSS_C_NO_NAME, targ = GSS_C_NO_NAME;
        OM_uint32 major, minor;
        SECURITY_STATUS st = SEC_E_OK;

        major = gss_inquire_context(&minor, c->gss, &src, &targ, NULL, NULL, NULL, NULL, NULL);
        if (GSS_ERROR(major))
                return krb_status_gss(KRB_OP_QUERY, major, minor, "gss_inquire_context");
        *ret_client = krb_gss_name_to_string(src);
        if (ret_server)
                *ret_server = krb_gss_name_to_string(targ);
        if (!*ret_client || (ret_server && !*ret_server)) {
                free(*ret_client);
                *ret_client = NULL;
                if (ret_server) {
                        free(*ret_server);
                        *ret_server = NULL;
                }
                st = SEC_E_INSUFFICIENT_MEMORY;
        }
        (void) gss_release_name(&minor, &src);
        (void) gss_release_name(&minor, &targ);
        return st;
}

/* GSS_C_INQ_SSPI_SESSION_KEY, 1.2.840.113554.1.2.2.5.5: the header
 * declares it but Debian's libgssapi does not export the symbol, and
 * Heimdal compares OIDs by value. */
static gss_OID_desc inq_sspi_session_key = { 11, (void *) "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x05\x05" };

static SECURITY_STATUS session_key(KrbCtx *c, uint8_t **ret_key, size_t *ret_len) {
        gss_buffer_set_t set = GSS_C_NO_BUFFER_SET;
        OM_uint32 major, minor;
        SECURITY_STATUS st = SEC_E_OK;
        uint8_t *key;

        major = gss_inquire_sec_context_by_oid(&minor, c->gss, &inq_sspi_session_key, &set);
        if (GSS_ERROR(major))
                return krb_status_gss(KRB_OP_QUERY, major, minor, "gss_inquire_sec_context_by_oid");
        if (!set || set->count < 1 || set->elements[0].length == 0) {
                st = SEC_E_INTERNAL_ERROR;
                goto out;
        }
        key = malloc(set->elements[0].length);
        if (!key) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto out;
        }
        memcpy(key, set->elements[0].value, set->elements[0].length);
        *ret_key = key;
        *ret_len = set->elements[0].length;
out:
        if (set)
                for (size_t i = 0; i < set->count; i++)
                        explicit_bzero(set->elements[i].value, set->elements[i].length);
        (void) gss_release_buffer_set(&minor, &set);
        return st;
}

/*
 * SECPKG_ATTR_KEY_INFO from the key the context's tokens use: the
 * encryption type's name as Windows' Kerberos names its crypto systems
 * (klist: "AES-256-CTS-HMAC-SHA1-96", "RSADSI RC4-HMAC(NT)"), its key
 * size, the enctype number as EncryptAlgorithm and the RFC 3961 checksum
 * type as SignatureAlgorithm (Windows' numbering: the RC4 HMAC checksum is
 * -138, KERB_CHECKSUM_HMAC_MD5). The signature names are the RFC 3962/8009
 * checksum names: Windows' own strings could not be confirmed.
 */
static SECURITY_STATUS key_info(KrbCtx *c, PkgCtxAttr *out) {
        static const struct {
                int32_t etype, cksum;
                uint32_t bits;
                const char *enc, *sig;
        } known[] = {
                { 17, 15, 128, "AES-128-CTS-HMAC-SHA1-96", "HMAC-SHA1-96-AES128" },
                { 18, 16, 256, "AES-256-CTS-HMAC-SHA1-96", "HMAC-SHA1-96-AES256" },
                { 19, 19, 128, "AES-128-CTS-HMAC-SHA256-128", "HMAC-SHA256-128-AES128" },
                { 20, 20, 256, "AES-256-CTS-HMAC-SHA384-192", "HMAC-SHA384-192-AES256" },
                { 23, -138, 128, "RSADSI RC4-HMAC(NT)", "HMAC-MD5" },
        };
        krb5_context k = krb_context();
        krb5_keyblock *kb = NULL;
        OM_uint32 major, minor;
        int32_t etype;
        size_t bits;

        if (!k)
                return SEC_E_INTERNAL_ERROR;
        major = gsskrb5_get_subkey(&minor, c->gss, &kb);
        if (GSS_ERROR(major) || !kb)
                return krb_status_gss(KRB_OP_QUERY, major, minor, "gsskrb5_get_subkey");
        etype = kb->keytype;
        bits = kb->keyvalue.length * 8;
        krb5_free_keyblock(k, kb);
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
                if (known[i].etype == etype)
                        return pkg_key_info(out, known[i].bits, (uint32_t) known[i].cksum, (uint32_t) etype,
                                            known[i].sig, known[i].enc);
        /* Anything else the KDC chose: Heimdal's names for it. */
        {
                char *name = NULL;
                SECURITY_STATUS st;

                if (krb5_enctype_to_string(k, etype, &name) != 0)
                        return SEC_E_UNSUPPORTED_FUNCTION;
                st = pkg_key_info(out, (uint32_t) bits, 0, (uint32_t) etype, name, name);
                free(name);
                return st;
        }
}

/* AUTHORITY: the realm that vouched for the client (its principal's
 * realm). CLIENT_SPECIFIED_TARGET: the service principal the ticket names
 * (the client's SPN), without its realm. */
static SECURITY_STATUS name_attr(KrbCtx *c, uint32_t attr, PkgCtxAttr *out) {
        char *client = NULL, *server = NULL, *at;
        SECURITY_STATUS st = context_names(c, &client, &server);

        if (st != SEC_E_OK)
                return st;
        if (attr == SECPKG_ATTR_AUTHORITY) {
                at = strrchr(client, '@');
                out->name = strdup(at ? at + 1 : "");
        } else {
                at = strrchr(server, '@');
                if (at)
                        *at = 0;
                out->name = strdup(server);
        }
        free(client);
        free(server);
        return out->name ? SEC_E_OK : SEC_E_INSUFFICIENT_MEMORY;
}

/*
 * Before the handshake ends only SIZES (cbMaxToken; the rest depends on
 * the key still being negotiated, so 0 with a block size of 1) and FLAGS
 * answer; everything else gets SEC_E_INVALID_HANDLE, which is what Windows
 * gives for attributes of a partial context and what the dispatcher gives
 * for message calls on one. Attributes Kerberos has no answer for get
 * SEC_E_UNSUPPORTED_FUNCTION.
 */
/*
 * PKG_ATTR_TOKEN_SIDS from the PAC's logon info, as a Windows server's LSA
 * builds the token of a network logon (MS-PAC 2.5, 4.1.2): the user's SID,
 * then the primary group's, then GroupIds, ExtraSids and the resource
 * groups with the attributes the DC gave them (a SID listed twice counts
 * once). No PAC (a non-AD realm): no SIDs.
 */
static SECURITY_STATUS pac_sids(const KrbPac *p, PkgCtxAttr *out) {
        PkgSid *v;
        size_t n = 0;

        if (!p)
                return SEC_E_OK;
        v = calloc(p->n_sids + 2, sizeof(*v));
        if (!v)
                return SEC_E_INSUFFICIENT_MEMORY;
        v[n].sid = strdup(p->user_sid);
        v[n++].attributes = 0;
        v[n].sid = strdup(p->primary_group_sid);
        v[n++].attributes = SE_GROUP_DEFAULT_ATTRS;
        for (size_t i = 0; i < p->n_sids; i++) {
                bool seen = false;
                for (size_t j = 0; j < n && !seen; j++)
                        seen = v[j].sid && !strcmp(v[j].sid, p->sids[i].sid);
                if (seen) {
                        if (!strcmp(p->sids[i].sid, p->primary_group_sid))
                                v[1].attributes = p->sids[i].attributes;
                        continue;
                }
                v[n].sid = strdup(p->sids[i].sid);
                v[n++].attributes = p->sids[i].attributes;
        }
        for (size_t i = 0; i < n; i++)
                if (!v[i].sid) {
                        pkg_sids_free(v, n);
                        return SEC_E_INSUFFICIENT_MEMORY;
                }
        out->sids = v;
        out->n_sids = n;
        return SEC_E_OK;
}

SECURITY_STATUS kerberos_query_ctx(void *ctx, uint32_t attr, PkgCtxAttr *out) {
        KrbCtx *c = ctx;
        SECURITY_STATUS st;

        if (!c)
                return SEC_E_INVALID_HANDLE;
        if (attr == SECPKG_ATTR_SIZES) {
                if (!c->established) {
                        out->sizes = (SecPkgContext_Sizes) { .cbMaxToken = KRB_MAX_TOKEN, .cbBlockSize = 1 };
                        out->has_sizes = true;
                        return SEC_E_OK;
                }
                if (!c->have_sizes) {
                        st = krb_compute_sizes(c);
                        if (st != SEC_E_OK)
                                return st;
                }
                out->sizes = c->sizes;
                out->has_sizes = true;
                return SEC_E_OK;
        }
        if (attr == SECPKG_ATTR_KEY_INFO)
                return c->established ? key_info(c, out) : SEC_E_INVALID_HANDLE;
        if (attr == PKG_ATTR_TOKEN_SIDS)
                return c->established && !c->initiator ? pac_sids(c->pac, out) : SEC_E_INVALID_HANDLE;
        switch (attr) {
        case SECPKG_ATTR_LAST_CLIENT_TOKEN_STATUS:
                /* The AP-REQ is the client's only token, but in DCE style
                 * (a third leg answers the AP-REP). */
                out->words[0] = c->established || (c->initiator && !(c->req_flags & ISC_REQ_USE_DCE_STYLE))
                                        ? SecPkgAttrLastClientTokenYes
                                        : SecPkgAttrLastClientTokenNo;
                out->n_words = 1;
                return SEC_E_OK;
        case SECPKG_ATTR_AUTHORITY:
        case SECPKG_ATTR_CLIENT_SPECIFIED_TARGET:
                return c->established ? name_attr(c, attr, out) : SEC_E_INVALID_HANDLE;
        default:
                break;
        }
        if (pkg_query_common(attr, c->established, c->ret_flags, out, &st))
                return st;
        switch (attr) {
        case SECPKG_ATTR_NAMES:
                /* With a PAC, Windows names the client as its logon
                 * session does: NetBIOS domain \ sAMAccountName (the
                 * same account over NTLM shows the same name); the
                 * principal stays in NATIVE_NAMES. */
                if (c->pac) {
                        out->user_name = krb_pac_account_name(c->pac);
                        return out->user_name ? SEC_E_OK : SEC_E_INSUFFICIENT_MEMORY;
                }
                return context_names(c, &out->user_name, NULL);
        case SECPKG_ATTR_NATIVE_NAMES:
                return context_names(c, &out->client_name, &out->server_name);
        case SECPKG_ATTR_LIFESPAN:
                out->start = c->start;
                out->expiry = c->expiry;
                out->has_lifespan = true;
                return SEC_E_OK;
        default:
                return session_key(c, &out->session_key, &out->session_key_len);
        }
}
