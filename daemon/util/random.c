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
#include "util/random.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/random.h>

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

void random_forget(void) {
        pthread_mutex_lock(&lock);
        if (page)
                explicit_bzero(page, sizeof(*page));
        pthread_mutex_unlock(&lock);
}
