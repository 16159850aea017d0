/* SPDX-License-Identifier: MIT */
/*
 * Heimdal's random bytes (subkeys, confounders, sequence numbers, nonces:
 * hcrypto's RAND_bytes, which libkrb5 and libgssapi call) from the
 * daemon's page of kernel randomness (util/random.c).
 *
 * hcrypto's default method on Linux is its Fortuna generator, which calls
 * getpid() on every request to notice a fork: six system calls in every
 * Kerberos handshake for nothing in a daemon that never forks. The kernel
 * needs no seeding, so seeds offered to the method (Heimdal's seed file)
 * are not used.
 *
 * Installed by kerberos_setup() before any worker thread exists: hcrypto
 * reads its method pointer without a lock.
 */
#include "packages/kerberos/kerberos-private.h"
#include "util/random.h"

#include <hcrypto/rand.h>

static void kernel_seed(const void *data, int len) {
        (void) data;
        (void) len;
}

static int kernel_bytes(unsigned char *out, int len) {
        return len >= 0 && random_bytes(out, (size_t) len) == 0;
}

static void kernel_cleanup(void) {
}

static void kernel_add(const void *data, int len, double entropy) {
        (void) data;
        (void) len;
        (void) entropy;
}

static int kernel_status(void) {
        return 1;
}

static const RAND_METHOD kernel_method = {
        .seed = kernel_seed,
        .bytes = kernel_bytes,
        .cleanup = kernel_cleanup,
        .add = kernel_add,
        .pseudorand = kernel_bytes,
        .status = kernel_status,
};

void krb_random_setup(void) {
        /* Once: a reload runs this again with the workers running. */
        if (RAND_get_rand_method() != &kernel_method)
                (void) RAND_set_rand_method(&kernel_method);
}

bool krb_random_is_kernel(void) {
        return RAND_get_rand_method() == &kernel_method;
}
