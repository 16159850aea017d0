/* SPDX-License-Identifier: MIT */
/*
 * KDC proxy settings of a credential (SetCredentialsAttributes with
 * SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS) and the MS-KKDCP client behind them.
 *
 * Heimdal 7.8 has no MS-KKDCP transport of its own (its "http" KDCs speak a
 * Heimdal-only protocol, without TLS), but it asks every registered
 * "send_to_kdc" plugin first whether it will carry a realm's request: that
 * hook is registered once, process-wide, and answers only on a thread that
 * runs a step of a credential with a proxy (the thread-local `current`);
 * everybody else's traffic goes on as before. Heimdal's GSS mechanism uses
 * its own krb5 contexts, and they see the plugin too, so the TGS requests of
 * gss_init_sec_context travel the same way as the AS exchange.
 *
 * Windows' semantics: with KDC_PROXY_SETTINGS_FLAGS_FORCEPROXY every
 * request goes to the proxy; without it the KDC is tried directly first and
 * the proxy only when no KDC answers. The proxy is an HTTPS URL
 * ("https://host[:port][/path]") or Windows' own "host[:port][:path]" form
 * (port 443 and path "KdcProxy" by default). The server certificate must
 * chain to [kerberos] kdc-proxy-ca-file (default: the system's roots) and
 * name the host; a proxy that fails is "no KDC reachable".
 *
 * Any local user names the proxy, so a proxy is an attacker's server until
 * it answers: the whole exchange (name lookup, connect, TLS handshake,
 * request, reply) has one deadline, [kerberos] kdc-proxy-timeout, kept by
 * getaddrinfo_a() and poll() on a non-blocking socket (neither a name
 * server that never answers nor a server that drips a byte at a time can
 * stretch it), and exchanges in flight are capped per uid ([daemon]
 * quota-kdc-proxy) and in all (the worker lane's room less one), so that a
 * Kerberos worker is always left for callers whose KDC traffic is direct.
 * A request over a cap is refused at once ("no KDC reachable"): waiting for
 * a slot would hold the very worker the cap keeps free.
 */
#include "packages/kerberos/kerberos-private.h"

#include "packages/kerberos/kerberos.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "util/resolve.h"
#include "util/util.h"

#define KKDCP_MAX_REPLY (256u << 10)
#define KKDCP_MAX_HEADER 8192u
/* Distinct uids with an exchange in flight that are tracked: beyond
 * these, new exchanges wait for none, they are refused (the total cap is
 * smaller in any real configuration). */
#define KKDCP_MAX_UIDS 64

typedef struct KrbKdcProxy {
        char *host;
        char *port;
        char *path;             /* without the leading '/' */
        uint32_t flags;
        char *ca_file;          /* copied from the config for the step's use */
        uid_t uid;              /* the credential's owner: whose quota an exchange takes */
} KrbKdcProxy;

/* The proxy of the step running on this thread, NULL for none; `direct`
 * while this thread tries the KDC itself (no FORCEPROXY). */
static __thread const KrbKdcProxy *current;
static __thread bool direct;

/* The settings of the running config (krb_kdcproxy_setup) and the
 * exchanges in flight, all under `ca_lock`. */
static pthread_mutex_t ca_lock = PTHREAD_MUTEX_INITIALIZER;
static char *ca_file;
static char *allowed_hosts;             /* [kerberos] kdc-proxy-hosts, NULL: any */
static unsigned timeout_ms = 15000;
static unsigned quota_per_uid = 1;      /* 0: none */
static unsigned max_in_flight = 2;
static unsigned in_flight;
/* log_refusal()'s rate limit. */
static uint64_t refusal_logged_ms;
static unsigned refusals_unlogged;
static struct {
        uid_t uid;
        unsigned n;
} flights[KKDCP_MAX_UIDS];

void krb_kdcproxy_free(KrbKdcProxy *p) {
        if (!p)
                return;
        free(p->host);
        free(p->port);
        free(p->path);
        free(p->ca_file);
        free(p);
}

static KrbKdcProxy *proxy_copy(const KrbKdcProxy *p) {
        KrbKdcProxy *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        c->host = strdup(p->host);
        c->port = strdup(p->port);
        c->path = strdup(p->path);
        c->flags = p->flags;
        c->uid = p->uid;
        pthread_mutex_lock(&ca_lock);
        c->ca_file = ca_file ? strdup(ca_file) : NULL;
        pthread_mutex_unlock(&ca_lock);
        if (!c->host || !c->port || !c->path || (ca_file && !c->ca_file)) {
                krb_kdcproxy_free(c);
                return NULL;
        }
        return c;
}

/* ---- the settings ------------------------------------------------------ */

static bool host_ok(const char *s, size_t n) {
        if (n == 0 || n > 253)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
                      s[i] == '-' || s[i] == '.'))
                        return false;
        return true;
}

static bool port_ok(const char *s, size_t n) {
        unsigned long v = 0;

        if (n == 0 || n > 5)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (unsigned long) (s[i] - '0');
        }
        return v >= 1 && v <= 65535;
}

static bool path_ok(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s <= 0x20 || *s == 0x7f || *s == '?' || *s == '#')
                        return false;
        return true;
}

/* "https://host[:port][/path]" or "host[:port][:path]"; -EINVAL for
 * anything else (an IPv6 literal included: neither form can carry one). */
static int parse_server(const char *s, KrbKdcProxy *p) {
        const char *h = s, *end, *colon;
        bool url = strncasecmp(s, "https://", 8) == 0;
        const char *rest;

        if (url)
                h += 8;
        end = h + strcspn(h, url ? ":/" : ":");
        if (!host_ok(h, (size_t) (end - h)))
                return -EINVAL;
        p->host = strndup(h, (size_t) (end - h));
        rest = end;
        if (*rest == ':') {
                rest++;
                colon = rest + strcspn(rest, url ? "/" : ":");
                if (!port_ok(rest, (size_t) (colon - rest)))
                        return -EINVAL;
                p->port = strndup(rest, (size_t) (colon - rest));
                rest = colon;
        } else
                p->port = strdup("443");
        if (*rest == (url ? '/' : ':'))
                rest++;
        else if (*rest)
                return -EINVAL;
        p->path = strdup(url || *rest ? rest : "KdcProxy");
        if (!p->host || !p->port || !p->path)
                return -ENOMEM;
        return path_ok(p->path) ? 0 : -EINVAL;
}

/* Whether [kerberos] kdc-proxy-hosts lets a caller name `host`: each word
 * of the list is a host name or address (case-insensitive), or "*.domain"
 * for any name under domain. Caller holds ca_lock. */
static bool host_allowed(const char *host) {
        size_t hl = strlen(host);

        if (!allowed_hosts)
                return true;
        for (const char *w = allowed_hosts; *w;) {
                size_t n;

                w += strspn(w, " \t,");
                n = strcspn(w, " \t,");
                if (n == 1 && w[0] == '*')
                        return true;
                if (n > 2 && w[0] == '*' && w[1] == '.') {
                        if (hl > n - 1 && !strncasecmp(host + hl - (n - 1), w + 1, n - 1))
                                return true;
                } else if (n > 0 && n == hl && !strncasecmp(host, w, n))
                        return true;
                w += n;
        }
        return false;
}

SECURITY_STATUS kerberos_set_cred_attr(void *cred, const PkgSetCredAttr *a) {
        KrbCred *c = cred;
        KrbKdcProxy *p = NULL, *old;
        int r;

        if (a->attr != SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS)
                return SEC_E_UNSUPPORTED_FUNCTION;
        if (a->version != KDC_PROXY_SETTINGS_V1 || (a->flags & ~KDC_PROXY_SETTINGS_FLAGS_FORCEPROXY))
                return SEC_E_INVALID_PARAMETER;
        /* A client TLS certificate for the proxy: not supported (the
         * daemon would have to hold the caller's key for it). */
        if (a->client_tls_cred_len > 0)
                return SEC_E_UNSUPPORTED_FUNCTION;
        /* No server: the credential goes back to the KDCs of krb5.conf. */
        if (a->proxy_server && *a->proxy_server) {
                p = calloc(1, sizeof(*p));
                if (!p)
                        return SEC_E_INSUFFICIENT_MEMORY;
                r = parse_server(a->proxy_server, p);
                if (r < 0) {
                        krb_kdcproxy_free(p);
                        return r == -ENOMEM ? SEC_E_INSUFFICIENT_MEMORY : SEC_E_INVALID_PARAMETER;
                }
                pthread_mutex_lock(&ca_lock);
                r = host_allowed(p->host);
                pthread_mutex_unlock(&ca_lock);
                if (!r) {
                        krb_log("credential %s: KDC proxy %s refused: not in [kerberos] kdc-proxy-hosts",
                                c->client_name ? c->client_name : "-", p->host);
                        krb_kdcproxy_free(p);
                        return SEC_E_INVALID_PARAMETER;
                }
                p->flags = a->flags;
                p->uid = c->owner;
        }
        pthread_mutex_lock(&c->lock);
        old = c->kdc_proxy;
        c->kdc_proxy = p;
        pthread_mutex_unlock(&c->lock);
        krb_kdcproxy_free(old);
        if (p)
                krb_log("credential %s: KDC traffic via https://%s:%s/%s%s", c->client_name ? c->client_name : "-",
                        p->host, p->port, p->path, p->flags & KDC_PROXY_SETTINGS_FLAGS_FORCEPROXY ? " only" : "");
        return SEC_E_OK;
}

/* ---- DER of KDC-PROXY-MESSAGE (MS-KKDCP 2.2.2) --------------------------- */

static size_t der_len_size(size_t n) {
        return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 4;
}

static uint8_t *der_put_header(uint8_t *p, uint8_t tag, size_t n) {
        *p++ = tag;
        if (n < 0x80)
                *p++ = (uint8_t) n;
        else if (n < 0x100) {
                *p++ = 0x81;
                *p++ = (uint8_t) n;
        } else if (n < 0x10000) {
                *p++ = 0x82;
                *p++ = (uint8_t) (n >> 8);
                *p++ = (uint8_t) n;
        } else {
                *p++ = 0x83;
                *p++ = (uint8_t) (n >> 16);
                *p++ = (uint8_t) (n >> 8);
                *p++ = (uint8_t) n;
        }
        return p;
}

/* SEQUENCE { [0] OCTET STRING (4-byte length, message), [1] GeneralString
 * realm }, explicit tags. */
static uint8_t *encode_request(const krb5_data *msg, const char *realm, size_t *ret_len) {
        size_t ml = msg->length + 4, rl = strlen(realm);
        size_t os = 1 + der_len_size(ml) + ml, t0 = 1 + der_len_size(os) + os;
        size_t gs = 1 + der_len_size(rl) + rl, t1 = 1 + der_len_size(gs) + gs;
        size_t body = t0 + t1, total = 1 + der_len_size(body) + body;
        uint8_t *out, *p;

        if (msg->length > 0xffffff - 64)
                return NULL;
        out = malloc(total);
        if (!out)
                return NULL;
        p = der_put_header(out, 0x30, body);
        p = der_put_header(p, 0xa0, os);
        p = der_put_header(p, 0x04, ml);
        *p++ = (uint8_t) (msg->length >> 24);
        *p++ = (uint8_t) (msg->length >> 16);
        *p++ = (uint8_t) (msg->length >> 8);
        *p++ = (uint8_t) msg->length;
        memcpy(p, msg->data, msg->length);
        p += msg->length;
        p = der_put_header(p, 0xa1, gs);
        p = der_put_header(p, 0x1b, rl);
        memcpy(p, realm, rl);
        *ret_len = total;
        return out;
}

/* One element with tag `tag` at *p (n bytes left): its contents. */
static int der_take(const uint8_t **p, size_t *n, uint8_t tag, const uint8_t **ret, size_t *ret_len) {
        const uint8_t *q = *p;
        size_t left = *n, len;

        if (left < 2 || q[0] != tag)
                return -EBADMSG;
        len = q[1];
        q += 2;
        left -= 2;
        if (len & 0x80) {
                unsigned k = len & 0x7f;

                if (k == 0 || k > 3 || left < k)
                        return -EBADMSG;
                len = 0;
                for (unsigned i = 0; i < k; i++)
                        len = len << 8 | q[i];
                q += k;
                left -= k;
        }
        if (len > left)
                return -EBADMSG;
        *ret = q;
        *ret_len = len;
        *p = q + len;
        *n = left - len;
        return 0;
}

/* The KDC's reply inside the proxy's KDC-PROXY-MESSAGE (without its
 * 4-byte length, which must match). */
static int decode_reply(const uint8_t *b, size_t n, krb5_data *out) {
        const uint8_t *seq, *t0, *os;
        size_t seq_len, t0_len, os_len;
        uint32_t mlen;

        if (der_take(&b, &n, 0x30, &seq, &seq_len) < 0 || n != 0)
                return -EBADMSG;
        if (der_take(&seq, &seq_len, 0xa0, &t0, &t0_len) < 0)
                return -EBADMSG;
        if (der_take(&t0, &t0_len, 0x04, &os, &os_len) < 0 || t0_len != 0 || os_len < 4)
                return -EBADMSG;
        mlen = (uint32_t) os[0] << 24 | (uint32_t) os[1] << 16 | (uint32_t) os[2] << 8 | os[3];
        if (mlen != os_len - 4 || mlen == 0)
                return -EBADMSG;
        return krb5_data_copy(out, os + 4, mlen) == 0 ? 0 : -ENOMEM;
}

/* ---- HTTPS -------------------------------------------------------------- */

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

/* Milliseconds left before `deadline` (CLOCK_MONOTONIC, ms), 0 when past. */
static int ms_left(uint64_t deadline) {
        uint64_t now = now_ms();

        return now >= deadline ? 0 : (int) (deadline - now > INT_MAX ? INT_MAX : deadline - now);
}

/* Waits until fd is ready for `events` or the deadline passed: 0 or -ETIME. */
static int wait_fd(int fd, short events, uint64_t deadline) {
        for (;;) {
                struct pollfd pfd = { .fd = fd, .events = events };
                int left = ms_left(deadline), r;

                if (left == 0)
                        return -ETIME;
                r = poll(&pfd, 1, left);
                if (r > 0)
                        return 0;
                if (r < 0 && errno != EINTR)
                        return -errno;
        }
}

/* A connected non-blocking socket to the proxy, or -ETIME / -errno. */
static int connect_to(const KrbKdcProxy *p, uint64_t deadline) {
        const struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
        struct addrinfo *ai = NULL;
        int fd = -1, r;

        r = resolve_until(p->host, p->port, &hints, deadline, &ai);
        if (r < 0)
                return r;
        r = -ECONNREFUSED;
        for (struct addrinfo *a = ai; a && fd < 0 && r != -ETIME; a = a->ai_next) {
                int err = 0;
                socklen_t len = sizeof(err);

                fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
                if (fd < 0)
                        continue;
                if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
                        if (errno != EINPROGRESS)
                                err = errno;
                        else if ((r = wait_fd(fd, POLLOUT, deadline)) < 0)
                                err = -r;
                        else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                                err = errno;
                }
                if (err) {
                        r = -err;
                        close(fd);
                        fd = -1;
                }
        }
        freeaddrinfo(ai);
        return fd >= 0 ? fd : r;
}

/* Drives one SSL call (`ret` its result) on the non-blocking socket: 1 to
 * call it again after waiting, 0 when it is done, -1 on failure or at the
 * deadline (`*why` then says which). */
static int tls_wait(SSL *ssl, int fd, int ret, uint64_t deadline, const char **why) {
        switch (SSL_get_error(ssl, ret)) {
        case SSL_ERROR_NONE:
                return 0;
        case SSL_ERROR_WANT_READ:
                if (wait_fd(fd, POLLIN, deadline) == 0)
                        return 1;
                break;
        case SSL_ERROR_WANT_WRITE:
                if (wait_fd(fd, POLLOUT, deadline) == 0)
                        return 1;
                break;
        default:
                return -1;
        }
        *why = "the proxy took too long (kdc-proxy-timeout)";
        return -1;
}

static SSL_CTX *tls_context(const KrbKdcProxy *p, const char **why) {
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

        if (!ctx) {
                *why = "out of memory";
                return NULL;
        }
        (void) SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        if (p->ca_file ? SSL_CTX_load_verify_locations(ctx, p->ca_file, NULL) != 1
                       : SSL_CTX_set_default_verify_paths(ctx) != 1) {
                *why = "cannot load the trusted roots (kdc-proxy-ca-file)";
                SSL_CTX_free(ctx);
                return NULL;
        }
        return ctx;
}

/* The name the certificate must carry: a DNS name, or the IP address. */
static int tls_expect_host(SSL *ssl, const char *host) {
        unsigned char buf[sizeof(struct in6_addr)];

        if (inet_pton(AF_INET, host, buf) == 1)
                return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 ? 0 : -ENOMEM;
        if (SSL_set_tlsext_host_name(ssl, host) != 1 || SSL_set1_host(ssl, host) != 1)
                return -ENOMEM;
        return 0;
}

static int write_all(SSL *ssl, int fd, const void *b, size_t n, uint64_t deadline, const char **why) {
        while (n > 0) {
                int w = SSL_write(ssl, b, n > INT_MAX ? INT_MAX : (int) n), r;

                if (w > 0) {
                        b = (const uint8_t *) b + w;
                        n -= (size_t) w;
                } else if ((r = tls_wait(ssl, fd, w, deadline, why)) <= 0)
                        return r == 0 ? -EIO : -1;
        }
        return 0;
}

/* The body of a "200" reply (Content-Length, or up to the close). */
static int http_body(uint8_t *buf, size_t n, const uint8_t **ret, size_t *ret_len, const char **why) {
        uint8_t *hdr_end = memmem(buf, n, "\r\n\r\n", 4);
        size_t hdr_len, body_len;
        char *cl;

        if (!hdr_end) {
                *why = "no complete HTTP header";
                return -EBADMSG;
        }
        *hdr_end = 0;
        hdr_len = (size_t) (hdr_end - buf) + 4;
        if (strncmp((char *) buf, "HTTP/1.", 7) != 0 || strlen((char *) buf) < 12 || strncmp((char *) buf + 8, " 200", 4)) {
                *why = "the proxy did not answer 200";
                return -EBADMSG;
        }
        body_len = n - hdr_len;
        cl = strcasestr((char *) buf, "\r\ncontent-length:");
        if (cl) {
                char *end;
                unsigned long v = strtoul(cl + 17, &end, 10);

                if (v > body_len) {
                        *why = "the proxy's reply is cut short";
                        return -EBADMSG;
                }
                body_len = v;
        }
        *ret = hdr_end + 4;
        *ret_len = body_len;
        return 0;
}

/* The KDC's reply in the proxy's whole HTTP answer (fuzz_kkdcp feeds it). */
int krb_kkdcp_reply(uint8_t *buf, size_t n, krb5_data *out, const char **why) {
        const uint8_t *body;
        size_t body_len;

        if (http_body(buf, n, &body, &body_len, why) < 0)
                return -EBADMSG;
        if (decode_reply(body, body_len, out) < 0) {
                *why = "the proxy's reply is not a KDC-PROXY-MESSAGE";
                return -EBADMSG;
        }
        return 0;
}

/* Takes a slot for an exchange of `uid`: false (and nothing taken) when
 * the uid or everybody is at the cap. */
static bool flight_take(uid_t uid, const char **why) {
        unsigned free_slot = KKDCP_MAX_UIDS, i;
        bool ok = false;

        pthread_mutex_lock(&ca_lock);
        for (i = 0; i < KKDCP_MAX_UIDS; i++) {
                if (flights[i].n > 0 && flights[i].uid == uid)
                        break;
                if (flights[i].n == 0 && free_slot == KKDCP_MAX_UIDS)
                        free_slot = i;
        }
        if (in_flight >= max_in_flight)
                *why = "every KDC proxy exchange the workers can spare is in flight";
        else if (i < KKDCP_MAX_UIDS && quota_per_uid > 0 && flights[i].n >= quota_per_uid)
                *why = "this uid's KDC proxy exchanges are all in flight (quota-kdc-proxy)";
        else if (i == KKDCP_MAX_UIDS && free_slot == KKDCP_MAX_UIDS)
                *why = "too many uids with a KDC proxy exchange in flight";
        else {
                if (i == KKDCP_MAX_UIDS) {
                        i = free_slot;
                        flights[i].uid = uid;
                }
                flights[i].n++;
                in_flight++;
                ok = true;
        }
        pthread_mutex_unlock(&ca_lock);
        return ok;
}

static void flight_drop(uid_t uid) {
        pthread_mutex_lock(&ca_lock);
        for (unsigned i = 0; i < KKDCP_MAX_UIDS; i++)
                if (flights[i].n > 0 && flights[i].uid == uid) {
                        flights[i].n--;
                        in_flight--;
                        break;
                }
        pthread_mutex_unlock(&ca_lock);
}

/* A refused exchange, logged once a second at most (with the number of
 * refusals not logged): refusals are cheap, a caller can make thousands. */
static void log_refusal(const KrbKdcProxy *p, krb5_const_realm realm, const char *why) {
        uint64_t now = now_ms();
        unsigned unlogged = 0;
        bool log_it = false;

        pthread_mutex_lock(&ca_lock);
        if (refusal_logged_ms == 0 || now - refusal_logged_ms >= 1000) {
                log_it = true;
                unlogged = refusals_unlogged;
                refusals_unlogged = 0;
                refusal_logged_ms = now;
        } else
                refusals_unlogged++;
        pthread_mutex_unlock(&ca_lock);
        if (log_it)
                krb_log("KDC proxy https://%s:%s/%s for realm %s (uid %u): refused: %s (%u more refused since the "
                        "last line)",
                        p->host, p->port, p->path, realm, (unsigned) p->uid, why, unlogged);
}

static krb5_error_code kkdcp_exchange(const KrbKdcProxy *p, krb5_const_realm realm, const krb5_data *msg,
                                      krb5_data *out) {
        _cleanup_(freep) uint8_t *req = NULL, *buf = NULL;
        _cleanup_(freep) char *head = NULL;
        const char *why = NULL;
        SSL_CTX *ctx = NULL;
        SSL *ssl = NULL;
        size_t req_len = 0, n = 0, cap = KKDCP_MAX_REPLY + KKDCP_MAX_HEADER;
        uint64_t deadline;
        bool slot = false;
        int fd = -1, r;
        krb5_error_code ret = KRB5_KDC_UNREACH;

        if (!flight_take(p->uid, &why)) {
                log_refusal(p, realm, why);
                return KRB5_KDC_UNREACH;
        }
        slot = true;
        pthread_mutex_lock(&ca_lock);
        deadline = now_ms() + timeout_ms;
        pthread_mutex_unlock(&ca_lock);
        req = encode_request(msg, realm, &req_len);
        buf = malloc(cap);
        if (!req || !buf || asprintf(&head,
                                     "POST /%s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/kerberos\r\n"
                                     "Content-Length: %zu\r\nCache-Control: no-cache\r\nPragma: no-cache\r\n"
                                     "Connection: close\r\n\r\n",
                                     p->path, p->host, p->port, req_len) < 0) {
                head = NULL;
                why = "out of memory";
                goto out;
        }
        fd = connect_to(p, deadline);
        if (fd < 0) {
                why = fd == -ETIME          ? "the proxy's name or connection took too long (kdc-proxy-timeout)"
                      : fd == -EHOSTUNREACH ? "cannot resolve its name"
                                            : "cannot connect";
                fd = -1;
                goto out;
        }
        ctx = tls_context(p, &why);
        if (!ctx)
                goto out;
        ssl = SSL_new(ctx);
        if (!ssl || tls_expect_host(ssl, p->host) < 0 || SSL_set_fd(ssl, fd) != 1) {
                why = "out of memory";
                goto out;
        }
        while ((r = SSL_connect(ssl)) != 1)
                if (tls_wait(ssl, fd, r, deadline, &why) <= 0) {
                        if (!why)
                                why = SSL_get_verify_result(ssl) != X509_V_OK
                                              ? "the proxy's certificate is not trusted for its name"
                                              : "the TLS handshake failed";
                        goto out;
                }
        if (write_all(ssl, fd, head, strlen(head), deadline, &why) < 0 ||
            write_all(ssl, fd, req, req_len, deadline, &why) < 0) {
                if (!why)
                        why = "cannot send the request";
                goto out;
        }
        /* Up to the proxy's close (we asked for "Connection: close"; many
         * servers close without a close_notify, which OpenSSL 3 reports as
         * an error: what arrived is judged by its HTTP framing). */
        while (n < cap) {
                int e;

                r = SSL_read(ssl, buf + n, (int) (cap - n));
                if (r > 0) {
                        n += (size_t) r;
                        continue;
                }
                e = SSL_get_error(ssl, r);
                if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                        break;
                if (tls_wait(ssl, fd, r, deadline, &why) <= 0)
                        goto out;
        }
        if (n == cap) {
                why = "the proxy's reply is too large";
                goto out;
        }
        if (krb_kkdcp_reply(buf, n, out, &why) < 0)
                goto out;
        ret = 0;
out:
        if (ret != 0)
                krb_log("KDC proxy https://%s:%s/%s for realm %s (uid %u): %s", p->host, p->port, p->path, realm,
                        (unsigned) p->uid, why ? why : "failed");
        if (ssl)
                SSL_free(ssl);
        SSL_CTX_free(ctx);
        if (fd >= 0)
                close(fd);
        if (slot)
                flight_drop(p->uid);
        ERR_clear_error();
        return ret;
}

/* ---- the hook ------------------------------------------------------------ */

typedef struct SendToKdcTable {
        int minor_version;
        krb5_error_code (*init)(krb5_context, void **);
        void (*fini)(void *);
        krb5_error_code (*send_to_kdc)(krb5_context, void *, krb5_krbhst_info *, time_t, const krb5_data *,
                                       krb5_data *);
        krb5_error_code (*send_to_realm)(krb5_context, void *, krb5_const_realm, time_t, const krb5_data *,
                                         krb5_data *);
} SendToKdcTable;

static krb5_error_code hook_init(krb5_context k, void **ret) {
        *ret = NULL;
        return 0;
}

static void hook_fini(void *p) {
}

static krb5_error_code hook_send_to_realm(krb5_context k, void *data, krb5_const_realm realm, time_t timeout,
                                          const krb5_data *msg, krb5_data *out) {
        const KrbKdcProxy *p = current;
        krb5_error_code r;

        (void) timeout; /* the exchange keeps kdc-proxy-timeout, whatever Heimdal's kdc_timeout */
        if (!p || direct)
                return KRB5_PLUGIN_NO_HANDLE;
        if (!(p->flags & KDC_PROXY_SETTINGS_FLAGS_FORCEPROXY)) {
                krb5_realm rr = (krb5_realm) realm;

                direct = true;
                r = krb5_sendto_kdc(k, msg, &rr, out);
                direct = false;
                if (r == 0)
                        return 0;
        }
        return kkdcp_exchange(p, realm, msg, out);
}

static SendToKdcTable hook = {
        .minor_version = 2, /* with send_to_realm */
        .init = hook_init,
        .fini = hook_fini,
        .send_to_realm = hook_send_to_realm,
};

static int hook_result;
static pthread_once_t hook_once = PTHREAD_ONCE_INIT;

static void hook_register(void) {
        krb5_context k = krb_context();

        /* Heimdal keeps registered plugins process-wide: every context,
         * GSS' included, sees this one. */
        hook_result = k && krb5_plugin_register(k, PLUGIN_TYPE_DATA, "send_to_kdc", &hook) == 0 ? 0 : -ENOMEM;
}

int krb_kdcproxy_setup(const Config *config) {
        char *copy = NULL, *hosts = NULL;

        pthread_once(&hook_once, hook_register);
        if (hook_result < 0)
                return hook_result;
        if (config->kdc_proxy_ca_file && !(copy = strdup(config->kdc_proxy_ca_file)))
                return -ENOMEM;
        if (config->kdc_proxy_hosts && !(hosts = strdup(config->kdc_proxy_hosts))) {
                free(copy);
                return -ENOMEM;
        }
        pthread_mutex_lock(&ca_lock);
        free(ca_file);
        ca_file = copy;
        free(allowed_hosts);
        allowed_hosts = hosts;
        timeout_ms = config->kdc_proxy_timeout * 1000u;
        quota_per_uid = config->quota_kdc_proxy;
        /* The Kerberos lane runs on all workers but one (workers.c); of
         * those, one more stays for direct KDC traffic. */
        max_in_flight = config->workers > 2 ? config->workers - 2 : 1;
        pthread_mutex_unlock(&ca_lock);
        return 0;
}

/* ISC with the credential's KDC proxy (if any) for this thread's KDC
 * traffic. Later legs name no credential: the first did the KDC work. */
SECURITY_STATUS kerberos_init_ctx_proxied(PkgStep *s) {
        KrbCred *c = s->cred;
        KrbKdcProxy *p = NULL;
        bool want = false;
        SECURITY_STATUS st;

        if (c) {
                pthread_mutex_lock(&c->lock);
                if (c->kdc_proxy) {
                        want = true;
                        p = proxy_copy(c->kdc_proxy);
                }
                pthread_mutex_unlock(&c->lock);
                if (want && !p)
                        return SEC_E_INSUFFICIENT_MEMORY;
        }
        current = p;
        st = kerberos_init_ctx(s);
        current = NULL;
        krb_kdcproxy_free(p);
        return st;
}

/* AddCredentials: the added identity logs on through the KDC proxy of the
 * credential it is added to (if any), as that credential's own would. */
SECURITY_STATUS krb_logon_via(KrbCred *via, KrbCred *c) {
        KrbKdcProxy *p = NULL;
        gss_cred_id_t g;
        bool want = false;
        SECURITY_STATUS st;

        pthread_mutex_lock(&via->lock);
        if (via->kdc_proxy) {
                want = true;
                p = proxy_copy(via->kdc_proxy);
        }
        pthread_mutex_unlock(&via->lock);
        if (want && !p)
                return SEC_E_INSUFFICIENT_MEMORY;
        current = p;
        st = krb_cred_initiator(c, &g);
        current = NULL;
        krb_kdcproxy_free(p);
        return st;
}
