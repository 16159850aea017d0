/* SPDX-License-Identifier: MIT */
/*
 * libfreescan.so: an LD_PRELOAD hook for tests/adversarial/test_secret_residue.
 * free() scans the block it is given for the needles (secrets the test
 * sent) and logs a "free-hit" when one is still there; explicit_bzero()
 * logs a "wipe-seen" when the region it wipes held one (so the test knows
 * the needle reached the process and where it went). Lines go to
 * $FREESCAN_LOG (O_APPEND, one write each); needles are
 * $FREESCAN_NEEDLES, separated by '|'. With FREESCAN_SELFTEST=1 the
 * constructor frees a block holding needle 0 unwiped: the hook's own
 * positive control.
 *
 * No allocation in the hooks (they run inside malloc's callers, on any
 * thread): fixed arrays, write(2).
 */
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_NEEDLES 8

extern void __libc_free(void *p);

static char needles[MAX_NEEDLES][128];
static size_t needle_len[MAX_NEEDLES];
static unsigned n_needles;
static int log_fd = -1;

static void note(const char *what, unsigned i, size_t size) {
        char line[128];
        int n;

        if (log_fd < 0)
                return;
        n = snprintf(line, sizeof(line), "%s pid %d needle %u size %zu\n", what, (int) getpid(), i, size);
        if (n > 0)
                (void) !write(log_fd, line, (size_t) n);
}

static void scan(const void *p, size_t size, const char *what) {
        for (unsigned i = 0; i < n_needles; i++)
                if (size >= needle_len[i] && memmem(p, size, needles[i], needle_len[i]))
                        note(what, i, size);
}

__attribute__((constructor)) static void freescan_init(void) {
        const char *e = getenv("FREESCAN_NEEDLES"), *path = getenv("FREESCAN_LOG");

        while (e && *e && n_needles < MAX_NEEDLES) {
                const char *end = strchr(e, '|');
                size_t n = end ? (size_t) (end - e) : strlen(e);

                if (n > 0 && n < sizeof(needles[0])) {
                        memcpy(needles[n_needles], e, n);
                        needle_len[n_needles++] = n;
                }
                e = end ? end + 1 : NULL;
        }
        if (path)
                log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (getenv("FREESCAN_SELFTEST") && n_needles > 0) {
                char *b = malloc(needle_len[0] + 32);

                if (b) {
                        memset(b, 'x', needle_len[0] + 32);
                        memcpy(b + 16, needles[0], needle_len[0]);
                        /* The compiler would drop the whole malloc/free pair. */
                        __asm__ __volatile__("" : : "r"(b) : "memory");
                        free(b);
                }
        }
}

void free(void *p) {
        if (p && n_needles > 0)
                scan(p, malloc_usable_size(p), "free-hit");
        __libc_free(p);
}

/* Defined under another C name: glibc declares explicit_bzero write-only
 * (its old contents "unread"), and the scan reads them. */
void freescan_bzero(void *s, size_t n) __asm__("explicit_bzero");
void freescan_bzero(void *s, size_t n) {
        if (s && n_needles > 0)
                scan(s, n, "wipe-seen");
        memset(s, 0, n);
        __asm__ __volatile__("" : : "r"(s) : "memory");
}
