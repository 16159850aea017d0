/* SPDX-License-Identifier: MIT */
/*
 * A page of the kernel's random bytes, handed out a few at a time.
 *
 * Why: Heimdal's own generator (hcrypto's Fortuna) makes a getpid() system
 * call on every request to notice a fork, and every handle id was a
 * getrandom() of 8 bytes. A Kerberos handshake asked ~8 times; on the
 * measuring VM a system call costs over a microsecond, and the loop
 * without them ran 8% more handshakes a second (bench/krb_handshake,
 * pinned). Here one getrandom() fills 4 KiB, enough for ~40 handshakes.
 *
 * What the page is: bytes the kernel's CSPRNG produced, given out in
 * order from the end and wiped as they go, so nothing handed out stays
 * behind. Bytes not yet handed out are key material to come: the page is
 * out of core dumps (MADV_DONTDUMP; the daemon is not dumpable either),
 * and zeroed in a forked child (MADV_WIPEONFORK where the kernel has it,
 * and a pthread_atfork handler in any case), where `left` is then 0 and
 * the child fills its own: parent and child never share a byte.
 * Requests over a quarter of the page go to the kernel directly.
 */
/* RAND_set_rand_method() is deprecated in OpenSSL 3.0 in favour of a
 * provider of its own; it is kept in 3.x and is all this needs. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "util/random.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/random.h>

#include <openssl/rand.h>

#define PAGE_BYTES 4096
#define DIRECT_ABOVE (PAGE_BYTES / 4)

typedef struct Page {
        size_t left; /* bytes not yet handed out, at the start of bytes[] */
        uint8_t bytes[PAGE_BYTES - sizeof(size_t)];
} Page;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static Page *page;

static void atfork_prepare(void) {
        pthread_mutex_lock(&lock);
}

static void atfork_parent(void) {
        pthread_mutex_unlock(&lock);
}

static void atfork_child(void) {
        if (page)
                explicit_bzero(page, sizeof(*page));
        pthread_mutex_unlock(&lock);
}

static void setup(void) {
        void *p = mmap(NULL, sizeof(Page), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (p == MAP_FAILED)
                return; /* every request goes to the kernel */
        (void) madvise(p, sizeof(Page), MADV_DONTDUMP);
#ifdef MADV_WIPEONFORK
        (void) madvise(p, sizeof(Page), MADV_WIPEONFORK);
#endif
        page = p;
        pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* All of `n` bytes from the kernel: getrandom() may return fewer when a
 * signal comes during a request over 256 bytes. */
static int kernel_bytes(uint8_t *out, size_t n) {
        size_t got = 0;

        while (got < n) {
                ssize_t k = getrandom(out + got, n - got, 0);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        int r = k < 0 ? -errno : -EIO;

                        explicit_bzero(out, n);
                        return r;
                }
                got += (size_t) k;
        }
        return 0;
}

int random_bytes(void *buf, size_t n) {
        uint8_t *from;
        int r = 0;

        if (n == 0)
                return 0;
        pthread_once(&once, setup);
        if (!page || n > DIRECT_ABOVE)
                return kernel_bytes(buf, n);
        pthread_mutex_lock(&lock);
        if (page->left < n) {
                r = kernel_bytes(page->bytes, sizeof(page->bytes));
                page->left = r < 0 ? 0 : sizeof(page->bytes);
        }
        if (r == 0) {
                page->left -= n;
                from = page->bytes + page->left;
                memcpy(buf, from, n);
                explicit_bzero(from, n);
        } else
                explicit_bzero(buf, n);
        pthread_mutex_unlock(&lock);
        return r;
}

size_t random_page_left(void) {
        size_t n;

        pthread_mutex_lock(&lock);
        n = page ? page->left : 0;
        pthread_mutex_unlock(&lock);
        return n;
}

void random_forget(void) {
        pthread_mutex_lock(&lock);
        if (page)
                explicit_bzero(page, sizeof(*page));
        pthread_mutex_unlock(&lock);
}

/*
 * OpenSSL's random bytes (TLS randoms, ECDHE and DH keys, signature
 * nonces, session tickets; the NTLM, Digest and CredSSP nonces) from the
 * page too. OpenSSL 3.0's DRBG calls getpid() on every request to notice a
 * fork: ten system calls in a full TLS 1.3 handshake. Seeds offered to the
 * method are not used (the kernel needs none).
 */
static int openssl_seed(const void *data, int len) {
        (void) data;
        (void) len;
        return 1;
}

static int openssl_bytes(unsigned char *out, int len) {
        return len >= 0 && random_bytes(out, (size_t) len) == 0;
}

static int openssl_add(const void *data, int len, double entropy) {
        (void) data;
        (void) len;
        (void) entropy;
        return 1;
}

static int openssl_status(void) {
        return 1;
}

static const RAND_METHOD openssl_method = {
        .seed = openssl_seed,
        .bytes = openssl_bytes,
        .add = openssl_add,
        .pseudorand = openssl_bytes,
        .status = openssl_status,
};

int random_setup_openssl(void) {
        if (RAND_get_rand_method() == &openssl_method)
                return 0;
        return RAND_set_rand_method(&openssl_method) == 1 ? 0 : -EINVAL;
}

bool random_openssl_is_page(void) {
        return RAND_get_rand_method() == &openssl_method;
}
