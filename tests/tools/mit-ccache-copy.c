/* SPDX-License-Identifier: MIT */
/*
 * mit-ccache-copy SRC DST: copies every credential of the ccache SRC into
 * DST with MIT krb5's own ccache code (KCM: through MIT's KCM client,
 * KEYRING: through MIT's keyring layout), and makes DST its collection's
 * primary cache. How test_ccache_kcm puts a ticket Heimdal's kinit got
 * into sssd-kcm or a kernel keyring exactly as MIT's kinit would (MIT's
 * kinit itself conflicts with Heimdal's). Linked with MIT's libraries only.
 * Exit status 0 on success; the error is printed otherwise.
 */
#include <krb5.h>
#include <stdio.h>

static int fail(krb5_context k, krb5_error_code r, const char *what) {
        const char *m = krb5_get_error_message(k, r);
        fprintf(stderr, "mit-ccache-copy: %s: %s\n", what, m);
        krb5_free_error_message(k, m);
        return 1;
}

int main(int argc, char **argv) {
        krb5_context k;
        krb5_ccache src, dst;
        krb5_principal p;
        krb5_error_code r;

        if (argc != 3) {
                fprintf(stderr, "usage: mit-ccache-copy SRC DST\n");
                return 2;
        }
        if (krb5_init_context(&k) != 0)
                return 1;
        if ((r = krb5_cc_resolve(k, argv[1], &src)) != 0)
                return fail(k, r, argv[1]);
        if ((r = krb5_cc_get_principal(k, src, &p)) != 0)
                return fail(k, r, "reading the source principal");
        if ((r = krb5_cc_resolve(k, argv[2], &dst)) != 0)
                return fail(k, r, argv[2]);
        if ((r = krb5_cc_initialize(k, dst, p)) != 0)
                return fail(k, r, "initializing the destination");
        if ((r = krb5_cc_copy_creds(k, src, dst)) != 0)
                return fail(k, r, "copying");
        if ((r = krb5_cc_switch(k, dst)) != 0)
                return fail(k, r, "making it the primary cache");
        printf("%s:%s\n", krb5_cc_get_type(k, dst), krb5_cc_get_name(k, dst));
        krb5_free_principal(k, p);
        krb5_cc_close(k, src);
        krb5_cc_close(k, dst);
        krb5_free_context(k);
        return 0;
}
