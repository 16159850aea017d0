/* SPDX-License-Identifier: MIT */
/*
 * A DIGEST-MD5 peer on Cyrus SASL (libsasl2), for test_digest_sasl: the
 * other side of WDigest's SASL mode is not ours. Test-only.
 *
 *   sasl-peer client SERVICE HOST MINSSF MAXSSF USER PASS REALM
 *   sasl-peer server SERVICE HOST MINSSF MAXSSF USER PASS REALM SASLDB
 *
 * Lines on stdin/stdout, payloads in hex ("-" for empty):
 *   peer -> test: "T hex" (a token to pass on), "OK hex ssf user" (done;
 *                 hex: the last token, the server's rspauth), "ERR rc text"
 *   test -> peer: "T hex" (the other side's token)
 * After OK, the security layer:
 *   "E hex" -> "W hex"  sasl_encode, without the 4-byte length prefix
 *   "D hex" -> "P hex"  sasl_decode of a message given without its prefix
 * The server keeps USER/PASS in a sasldb at SASLDB (the realm is REALM);
 * it reads no system configuration of Cyrus' own beyond its plugins.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sasl/sasl.h>

static const char *g_user, *g_pass, *g_realm, *g_db;

static int cb_log(void *ctx, int level, const char *msg) {
        if (level <= SASL_LOG_NOTE)
                fprintf(stderr, "sasl-peer: %s\n", msg);
        return SASL_OK;
}

static int cb_getopt(void *ctx, const char *plugin, const char *option, const char **result, unsigned *len) {
        if (!strcmp(option, "sasldb_path") && g_db)
                *result = g_db;
        else if (!strcmp(option, "auxprop_plugin"))
                *result = "sasldb";
        else if (!strcmp(option, "mech_list"))
                *result = "DIGEST-MD5";
        else if (!strcmp(option, "pwcheck_method"))
                *result = "auxprop";
        else
                return SASL_FAIL;
        if (len)
                *len = (unsigned) strlen(*result);
        return SASL_OK;
}

static int cb_simple(void *ctx, int id, const char **result, unsigned *len) {
        *result = id == SASL_CB_USER ? "" : g_user; /* no authzid */
        if (len)
                *len = (unsigned) strlen(*result);
        return SASL_OK;
}

static int cb_pass(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret) {
        static sasl_secret_t *s;
        size_t n = strlen(g_pass);

        free(s);
        s = malloc(sizeof(*s) + n);
        if (!s)
                return SASL_NOMEM;
        s->len = n;
        memcpy(s->data, g_pass, n + 1);
        *psecret = s;
        return SASL_OK;
}

static int cb_realm(void *ctx, int id, const char **avail, const char **result) {
        *result = g_realm;
        return SASL_OK;
}

static void put_hex(const char *tag, const unsigned char *d, unsigned n, const char *tail) {
        printf("%s ", tag);
        if (n == 0)
                printf("-");
        for (unsigned i = 0; i < n; i++)
                printf("%02x", d[i]);
        printf("%s\n", tail ? tail : "");
        fflush(stdout);
}

/* "TAG hex" -> bytes (malloc()ed, +4 bytes of room in front). */
static unsigned char *get_line(char *tag, unsigned *ret_len) {
        static char line[1 << 20];
        unsigned char *out;
        size_t hl;
        char *h;

        if (!fgets(line, sizeof(line), stdin))
                return NULL;
        line[strcspn(line, "\r\n")] = '\0';
        if (strlen(line) < 3 || line[1] != ' ')
                return NULL;
        *tag = line[0];
        h = line + 2;
        hl = strcmp(h, "-") ? strlen(h) : 0;
        out = malloc(hl / 2 + 5);
        if (!out || hl % 2)
                return NULL;
        for (size_t i = 0; i < hl / 2; i++) {
                unsigned v;
                if (sscanf(h + 2 * i, "%2x", &v) != 1)
                        return NULL;
                out[4 + i] = (unsigned char) v;
        }
        *ret_len = (unsigned) (hl / 2);
        return out;
}

static void finish(sasl_conn_t *conn, const char *out, unsigned outlen) {
        const void *ssf = NULL, *user = NULL;
        char tail[512];

        sasl_getprop(conn, SASL_SSF, &ssf);
        sasl_getprop(conn, SASL_USERNAME, &user);
        snprintf(tail, sizeof(tail), " %u %s", ssf ? *(const unsigned *) ssf : 0, user ? (const char *) user : "-");
        put_hex("OK", (const unsigned char *) out, outlen, tail);
}

int main(int argc, char **argv) {
        static sasl_callback_t cbs[] = {
                { SASL_CB_LOG, (int (*)(void)) (void (*)(void)) cb_log, NULL },
                { SASL_CB_GETOPT, (int (*)(void)) (void (*)(void)) cb_getopt, NULL },
                { SASL_CB_AUTHNAME, (int (*)(void)) (void (*)(void)) cb_simple, NULL },
                { SASL_CB_USER, (int (*)(void)) (void (*)(void)) cb_simple, NULL },
                { SASL_CB_PASS, (int (*)(void)) (void (*)(void)) cb_pass, NULL },
                { SASL_CB_GETREALM, (int (*)(void)) (void (*)(void)) cb_realm, NULL },
                { SASL_CB_LIST_END, NULL, NULL },
        };
        sasl_security_properties_t props = { 0 };
        sasl_conn_t *conn = NULL;
        const char *out = NULL, *mech = NULL;
        unsigned outlen = 0, len;
        bool server;
        int r;
        char tag;
        unsigned char *in;

        if (argc < 9 || (strcmp(argv[1], "client") && strcmp(argv[1], "server")) ||
            (!strcmp(argv[1], "server") && argc < 10)) {
                fprintf(stderr, "usage: see the header of tests/tools/sasl-peer.c\n");
                return 2;
        }
        server = !strcmp(argv[1], "server");
        g_user = argv[6];
        g_pass = argv[7];
        g_realm = argv[8];
        g_db = server ? argv[9] : NULL;
        props.min_ssf = (sasl_ssf_t) atoi(argv[4]);
        props.max_ssf = (sasl_ssf_t) atoi(argv[5]);
        props.maxbufsize = 65536;

        if (server) {
                r = sasl_server_init(cbs, "sspid-sasl-peer");
                if (r == SASL_OK)
                        r = sasl_server_new(argv[2], argv[3], g_realm, NULL, NULL, cbs, 0, &conn);
                if (r == SASL_OK)
                        r = sasl_setpass(conn, g_user, g_pass, (unsigned) strlen(g_pass), NULL, 0, SASL_SET_CREATE);
        } else {
                r = sasl_client_init(cbs);
                if (r == SASL_OK)
                        r = sasl_client_new(argv[2], argv[3], NULL, NULL, cbs, 0, &conn);
        }
        if (r == SASL_OK)
                r = sasl_setprop(conn, SASL_SEC_PROPS, &props);
        if (r == SASL_OK)
                r = server ? sasl_server_start(conn, "DIGEST-MD5", NULL, 0, &out, &outlen)
                           : sasl_client_start(conn, "DIGEST-MD5", NULL, &out, &outlen, &mech);
        while (r == SASL_CONTINUE) {
                put_hex("T", (const unsigned char *) out, outlen, NULL);
                in = get_line(&tag, &len);
                if (!in || tag != 'T') {
                        printf("ERR 0 bad input line\n");
                        return 1;
                }
                r = server ? sasl_server_step(conn, (const char *) in + 4, len, &out, &outlen)
                           : sasl_client_step(conn, (const char *) in + 4, len, NULL, &out, &outlen);
                free(in);
        }
        if (r != SASL_OK) {
                printf("ERR %d %s\n", r, sasl_errdetail(conn));
                fflush(stdout);
                return 1;
        }
        finish(conn, out, outlen);

        while ((in = get_line(&tag, &len))) {
                if (tag == 'E') {
                        r = sasl_encode(conn, (const char *) in + 4, len, &out, &outlen);
                        if (r == SASL_OK && outlen >= 4)
                                put_hex("W", (const unsigned char *) out + 4, outlen - 4, NULL);
                } else if (tag == 'D') {
                        in[0] = (unsigned char) (len >> 24), in[1] = (unsigned char) (len >> 16);
                        in[2] = (unsigned char) (len >> 8), in[3] = (unsigned char) len;
                        r = sasl_decode(conn, (const char *) in, len + 4, &out, &outlen);
                        if (r == SASL_OK)
                                put_hex("P", (const unsigned char *) out, outlen, NULL);
                } else
                        r = SASL_BADPARAM;
                if (r != SASL_OK) {
                        printf("ERR %d %s\n", r, sasl_errdetail(conn));
                        fflush(stdout);
                }
                free(in);
        }
        sasl_dispose(&conn);
        return 0;
}
