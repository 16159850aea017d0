/* SPDX-License-Identifier: MIT */
/* random_bytes (daemon/util/random.c): the page of kernel randomness the
 * daemon hands out a few bytes at a time. Each byte handed out once, never
 * left behind in the page, not shared with a forked child. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/random.h"
#include "tap.h"

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

/* How many times `needle` occurs in this process's writable private
 * mappings, `skip` (the caller's own copy) not counted. */
static __attribute__((unused)) int occurrences(const uint8_t *needle, size_t n, const uint8_t *skip) {
        FILE *maps = fopen("/proc/self/maps", "r");
        char line[512];
        int found = 0;

        if (!maps)
                return -1;
        while (fgets(line, sizeof(line), maps)) {
                unsigned long lo, hi;
                char perms[8];

                /* Sanitizer shadow regions are terabytes of reserved
                 * address space: nothing of ours is in a mapping that big. */
                if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r' || perms[1] != 'w' ||
                    hi - lo > (1ul << 30) || strstr(line, "[vvar]") || strstr(line, "[vsyscall]"))
                        continue;
                for (const uint8_t *p = (const uint8_t *) lo; p + n <= (const uint8_t *) hi; p++) {
                        p = memmem(p, (size_t) ((const uint8_t *) hi - p), needle, n);
                        if (!p)
                                break;
                        if (p != skip && p != needle)
                                found++;
                }
        }
        fclose(maps);
        return found;
}

int main(void) {
        enum { N = 4000 };
        static uint64_t v[N];
        static uint8_t big[8192], zero[sizeof(big)];
        uint8_t key[32], copy[32];
        uint64_t parent_next = 0, child_next = 0, parent_before = 0;
        int pipefd[2], status = 0, dup = 0;
        pid_t pid;

        setvbuf(stdout, NULL, _IOLBF, 0);
        ok(random_bytes(key, 0) == 0, "0 bytes: 0");

        /* 32 KB in 8-byte pieces: eight pages, each byte given once. */
        for (int i = 0; i < N; i++)
                if (random_bytes(&v[i], sizeof(v[i])) < 0)
                        v[i] = 0;
        qsort(v, N, sizeof(v[0]), cmp_u64);
        for (int i = 1; i < N; i++)
                dup += v[i] == v[i - 1];
        ok(v[0] != 0 && dup == 0, "%d 8-byte draws over 8 pages: none zero, %d repeated", N, dup);

        /* Odd sizes across a refill keep handing out fresh bytes. */
        for (int i = 0; i < 300; i++) {
                uint8_t a[13], b[13];
                if (random_bytes(a, sizeof(a)) < 0 || random_bytes(b, sizeof(b)) < 0 || !memcmp(a, b, sizeof(a))) {
                        dup = -1;
                        break;
                }
        }
        ok(dup == 0, "13-byte draws across refills differ pairwise");

        /* Over a quarter of a page: straight from the kernel, all of it. */
        ok(random_bytes(big, sizeof(big)) == 0 && memcmp(big, zero, sizeof(big)) != 0 &&
                   memcmp(big, big + 4096, 4096) != 0,
           "8 KiB in one request");

        /* What was handed out is nowhere else in memory: the page wiped it. */
        ok(random_bytes(key, sizeof(key)) == 0, "a 32-byte key");
        memcpy(copy, key, sizeof(key));
#ifdef __SANITIZE_ADDRESS__
        /* A raw scan of the address space reads ASan's shadow and redzones,
         * which ASan forbids: the normal build runs this check. */
        printf("# ASan build: the memory scan for the key is not run (not counted)\n");
#else
        ok(occurrences(key, sizeof(key), copy) == 0, "the key's bytes are wiped from the page (found %d other copies)",
           occurrences(key, sizeof(key), copy));
#endif
        explicit_bzero(copy, sizeof(copy));

        /* A child and its parent never hand out the same bytes: the child's
         * page starts empty. The parent's next draw after the fork is
         * compared with the child's first. */
        ok(random_bytes(&parent_before, sizeof(parent_before)) == 0, "a draw before the fork");
        if (pipe(pipefd) < 0) {
                ok(0, "pipe: %s", strerror(errno));
                return 1;
        }
        pid = fork();
        if (pid == 0) {
                uint64_t x = 0;
                close(pipefd[0]);
                if (random_bytes(&x, sizeof(x)) < 0)
                        x = 0;
                _exit(write(pipefd[1], &x, sizeof(x)) == sizeof(x) ? 0 : 1);
        }
        close(pipefd[1]);
        ok(pid > 0 && read(pipefd[0], &child_next, sizeof(child_next)) == sizeof(child_next), "the child's draw");
        close(pipefd[0]);
        waitpid(pid, &status, 0);
        ok(random_bytes(&parent_next, sizeof(parent_next)) == 0, "the parent's draw after the fork");
        ok(child_next != 0 && child_next != parent_next && child_next != parent_before,
           "a forked child draws bytes of its own (%016llx vs the parent's %016llx)", (unsigned long long) child_next,
           (unsigned long long) parent_next);

        random_forget();
        ok(random_bytes(key, sizeof(key)) == 0, "a draw after random_forget (the page refills)");

        /* OpenSSL's draws come from the page once it is the RAND method:
         * the page holds exactly that many bytes fewer afterwards. */
        {
                size_t left, after;
                uint8_t r[16];
                int got;
                EVP_PKEY *pk = NULL;

                ok(!random_openssl_is_page(), "before setup: OpenSSL's own DRBG");
                left = random_page_left();
                ok(RAND_bytes(r, sizeof(r)) == 1 && random_page_left() == left,
                   "before setup: RAND_bytes leaves the page alone");
                ok(random_setup_openssl() == 0 && random_openssl_is_page(), "random_setup_openssl installs the page");
                ok(random_setup_openssl() == 0 && random_openssl_is_page(), "a second setup keeps it");
                left = random_page_left();
                got = RAND_bytes(r, sizeof(r));
                after = random_page_left();
                ok(got == 1 && after == left - sizeof(r), "RAND_bytes(16) takes 16 bytes of the page (%zu -> %zu)", left,
                   after);
                left = random_page_left();
                got = RAND_priv_bytes(r, 13);
                after = random_page_left();
                ok(got == 1 && after == left - 13, "RAND_priv_bytes(13) takes 13 (%zu -> %zu)", left, after);
                /* A provider's key generation (libssl's ECDHE share). */
                left = random_page_left();
                pk = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
                after = random_page_left();
                ok(pk && after < left, "an X25519 key from the default provider draws from the page (%zu -> %zu)", left,
                   after);
                EVP_PKEY_free(pk);
        }

        printf("%d passed, %d failed\n", passed, failed);
        return failed ? 1 : 0;
}
