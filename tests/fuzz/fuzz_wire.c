/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for everything the daemon parses from a socket before a
 * handler sees it: framing (WireReader), protobuf decoding, and both
 * validation passes. Input bytes are fed as a socket stream in two chunks.
 *
 *   clang -fsanitize=fuzzer,address,undefined ... (see the Makefile: make fuzz)
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire.h"

static void consume(WireReader *r) {
        for (;;) {
                Sspiw__Envelope *e = NULL;
                const char *why;
                int k = wire_reader_next(r, &e);
                if (k <= 0)
                        return;
                (void) wire_validate_request(e, r->max_frame, &why);
                (void) wire_validate_reply(e, r->max_frame, &why);
                wire_free(e);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        WireReader r;
        int sv[2];
        size_t half = size / 2;

        if (size > 200000 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
                return 0;
        wire_reader_init(&r, 65536);
        for (int part = 0; part < 2; part++) {
                const uint8_t *p = part ? data + half : data;
                size_t n = part ? size - half : half;
                if (n && write(sv[0], p, n) != (ssize_t) n)
                        break;
                while (wire_reader_fill(&r, sv[1]) > 0)
                        consume(&r);
                consume(&r);
        }
        wire_reader_done(&r);
        close(sv[0]);
        close(sv[1]);
        return 0;
}
