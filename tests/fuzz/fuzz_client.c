/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for what libsspi writes into the caller's buffers from a
 * reply (client-lib/buffers.c): the reply comes from another process, so
 * every type, size, offset and count in it must be checked against the
 * caller's descriptor before anything is written.
 *
 * Input: byte 0 picks the call (0 MakeSignature, 1 VerifySignature,
 * 2 EncryptMessage, 3 DecryptMessage, 4 ISC/ASC output, 5 the same with
 * ISC_REQ_ALLOCATE_MEMORY, 6 ISC/ASC input counts); byte 1 the number of
 * caller buffers; then 2 bytes per buffer (type: low 5 bits the base type,
 * bit 7 SECBUFFER_READONLY, bit 6 SECBUFFER_READONLY_WITH_CHECKSUM; size in
 * units of 4 bytes); the rest is a packed MessageRep (calls 0-3) or
 * CtxStepRep (4-6), passed through the client's reply validation first.
 *
 * Beyond ASan's bounds checks, the properties the library promises are
 * checked and abort() when broken: nothing written on failure; read-only
 * buffers and buffers the call does not change are never written; a buffer
 * never grows past its memory (in place: never leaves the first DATA
 * buffer); EXTRA counts stay within the caller's input.
 *
 * SSPID_FUZZ_SEEDS=DIR build/fuzz/fuzz_client -runs=0 writes seeds made of
 * honest replies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAXB WIRE_MAX_BUFFERS

typedef struct Desc {
        SecBuffer b[MAXB];
        SecBufferDesc d;
        uint8_t *mem[MAXB];
        size_t len[MAXB];
} Desc;

static const CopyBack *const rules[] = { &copy_sign, &copy_verify, &copy_seal, &copy_unseal,
                                         &copy_step, &copy_step_alloc, &copy_step };

static uint32_t base(uint32_t t) {
        return t & ~(uint32_t) SECBUFFER_ATTRMASK;
}

/* A broken promise: say which, then crash for libFuzzer. */
#define check(ok)                                                                       \
        do {                                                                            \
                if (!(ok)) {                                                            \
                        fprintf(stderr, "fuzz_client: broken: %s (line %d)\n", #ok, __LINE__); \
                        abort();                                                        \
                }                                                                       \
        } while (0)

static bool inside(const void *p, size_t len, const uint8_t *lo, size_t n) {
        const uint8_t *q = p;
        return q >= lo && q <= lo + n && len <= (size_t) (lo + n - q);
}

static void run(uint8_t call, const uint8_t *spec, size_t n, const uint8_t *msg, size_t msg_len) {
        const CopyBack *cb = rules[call];
        Desc in = { 0 }, before;
        uint8_t *snap[MAXB] = { 0 };
        Sspiw__Envelope e = SSPIW__ENVELOPE__INIT;
        Sspiw__MessageRep *mr = NULL;
        Sspiw__CtxStepRep *cr = NULL;
        Sspiw__Buffer **rb;
        size_t rn;
        const char *why;
        uint64_t input_bytes = 0;
        SECURITY_STATUS st;

        if (call <= 3) {
                mr = sspiw__message_rep__unpack(NULL, msg_len, msg);
                if (!mr)
                        return;
                e.body_case = SSPIW__ENVELOPE__BODY_MESSAGE_REP;
                e.message_rep = mr;
                rb = mr->buffers;
                rn = mr->n_buffers;
        } else {
                cr = sspiw__ctx_step_rep__unpack(NULL, msg_len, msg);
                if (!cr)
                        return;
                e.body_case = SSPIW__ENVELOPE__BODY_CTX_STEP_REP;
                e.ctx_step_rep = cr;
                rb = call == 6 ? cr->input : cr->output;
                rn = call == 6 ? cr->n_input : cr->n_output;
        }
        /* What the library does before a finish function runs. */
        if (wire_validate_reply(&e, WIRE_MAX_FRAME_DEFAULT, &why) < 0)
                goto out;

        for (size_t i = 0; i < n; i++) {
                uint32_t t = spec[2 * i] & 0x1f;
                if (spec[2 * i] & 0x80)
                        t |= SECBUFFER_READONLY;
                if (spec[2 * i] & 0x40)
                        t |= SECBUFFER_READONLY_WITH_CHECKSUM;
                in.len[i] = (size_t) spec[2 * i + 1] * 4;
                in.mem[i] = in.len[i] ? malloc(in.len[i]) : NULL;
                if (in.len[i])
                        memset(in.mem[i], (int) i + 1, in.len[i]);
                in.b[i] = (SecBuffer) { (uint32_t) in.len[i], t, in.mem[i] };
                if (base(t) != SECBUFFER_MISSING && base(t) != SECBUFFER_EXTRA && base(t) != SECBUFFER_EMPTY)
                        input_bytes += in.len[i];
        }
        in.d = (SecBufferDesc) { SECBUFFER_VERSION, (uint32_t) n, in.b };
        before = in;
        for (size_t i = 0; i < n; i++)
                if (in.len[i]) {
                        snap[i] = malloc(in.len[i]);
                        memcpy(snap[i], in.mem[i], in.len[i]);
                }

        if (call == 6)
                st = buffers_update_input(&in.d, rb, rn);
        else
                st = buffers_from_wire(&in.d, rb, rn, cb);

        /* The first DATA buffer of the caller: where in-place buffers may go. */
        const uint8_t *data = NULL;
        size_t data_len = 0;
        for (size_t i = 0; i < n && !data; i++)
                if (base(before.b[i].BufferType) == SECBUFFER_DATA) {
                        data = before.mem[i];
                        data_len = before.len[i];
                }

        for (size_t i = 0; i < n; i++) {
                const SecBuffer *was = &before.b[i], *now = &in.b[i];
                bool same = now->BufferType == was->BufferType && now->cbBuffer == was->cbBuffer &&
                            now->pvBuffer == was->pvBuffer &&
                            (!in.len[i] || memcmp(in.mem[i], snap[i], in.len[i]) == 0);
                bool ro = was->BufferType & (SECBUFFER_READONLY | SECBUFFER_READONLY_WITH_CHECKSUM);
                uint32_t nt = base(now->BufferType);

                if (st != SEC_E_OK || ro || (call != 6 && !(cb->types & BUFTYPE(base(was->BufferType)))))
                        check(same);
                if (call == 6) {
                        /* Counts only, into EMPTY/MISSING/EXTRA slots, or a
                         * DATA buffer turned MISSING (Schannel's DecryptMessage). */
                        check(now->pvBuffer == was->pvBuffer &&
                              (!in.len[i] || memcmp(in.mem[i], snap[i], in.len[i]) == 0));
                        if (!same)
                                check(base(was->BufferType) == SECBUFFER_EMPTY ||
                                      base(was->BufferType) == SECBUFFER_MISSING ||
                                      base(was->BufferType) == SECBUFFER_EXTRA ||
                                      (base(was->BufferType) == SECBUFFER_DATA && nt == SECBUFFER_MISSING));
                }
                if (nt == SECBUFFER_EXTRA && !same && now->pvBuffer == was->pvBuffer)
                        check(now->cbBuffer <= input_bytes);
                if (same || cb->allocate || nt == SECBUFFER_MISSING || (nt == SECBUFFER_EXTRA && now->pvBuffer == was->pvBuffer))
                        continue;
                if (now->pvBuffer == was->pvBuffer)
                        check(now->cbBuffer <= was->cbBuffer);
                else
                        check(cb->in_place && data && inside(now->pvBuffer, now->cbBuffer, data, data_len));
        }

        for (size_t i = 0; i < n; i++) {
                if (cb->allocate && st == SEC_E_OK && in.b[i].pvBuffer != in.mem[i])
                        free(in.b[i].pvBuffer);
                free(in.mem[i]);
                free(snap[i]);
        }
out:
        if (mr)
                sspiw__message_rep__free_unpacked(mr, NULL);
        if (cr)
                sspiw__ctx_step_rep__free_unpacked(cr, NULL);
}

/* ---- seeds: honest replies ---- */

static void write_seed(const char *dir, const char *name, uint8_t call, const uint8_t *spec, size_t n,
                       const ProtobufCMessage *m) {
        uint8_t buf[4096];
        size_t len = protobuf_c_message_pack(m, buf + 2 + 2 * n);
        char path[1024];
        FILE *f;

        buf[0] = call;
        buf[1] = (uint8_t) n;
        memcpy(buf + 2, spec, 2 * n);
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "we");
        if (!f)
                return;
        fwrite(buf, 1, 2 + 2 * n + len, f);
        fclose(f);
}

static void make_seeds(const char *dir) {
        static uint8_t tok[64], data[64];
        Sspiw__Buffer w[4], *pw[4];
        Sspiw__MessageRep mr = SSPIW__MESSAGE_REP__INIT;
        Sspiw__CtxStepRep cr = SSPIW__CTX_STEP_REP__INIT;

        for (int i = 0; i < 4; i++) {
                sspiw__buffer__init(&w[i]);
                pw[i] = &w[i];
        }
        memset(tok, 0x5a, sizeof(tok));
        memset(data, 0xee, sizeof(data));
        /* MakeSignature / EncryptMessage: TOKEN 16 + DATA 32. */
        w[0].type = SECBUFFER_TOKEN;
        w[0].has_data = true;
        w[0].data = (ProtobufCBinaryData) { 16, tok };
        w[1].type = SECBUFFER_DATA;
        w[1].has_data = true;
        w[1].data = (ProtobufCBinaryData) { 32, data };
        mr.n_buffers = 2;
        mr.buffers = pw;
        {
                const uint8_t spec[] = { SECBUFFER_TOKEN, 4, SECBUFFER_DATA, 8 };
                write_seed(dir, "sign", 0, spec, 2, &mr.base);
                write_seed(dir, "seal", 2, spec, 2, &mr.base);
                const uint8_t spec_ro[] = { SECBUFFER_TOKEN, 4, SECBUFFER_DATA | 0x40, 8 };
                write_seed(dir, "seal-ro", 2, spec_ro, 2, &mr.base);
        }
        /* Schannel DecryptMessage in place: DATA 64 + 3 EMPTY. */
        w[0] = (Sspiw__Buffer) SSPIW__BUFFER__INIT;
        w[0].type = SECBUFFER_STREAM_HEADER;
        w[0].has_offset = true;
        w[0].has_size = true;
        w[0].size = 5;
        w[1].type = SECBUFFER_DATA;
        w[1].has_data = true;
        w[1].has_offset = true;
        w[1].offset = 5;
        w[1].data = (ProtobufCBinaryData) { 20, data };
        w[2] = (Sspiw__Buffer) SSPIW__BUFFER__INIT;
        w[2].type = SECBUFFER_STREAM_TRAILER;
        w[2].has_offset = true;
        w[2].offset = 25;
        w[2].has_size = true;
        w[2].size = 16;
        w[3] = (Sspiw__Buffer) SSPIW__BUFFER__INIT;
        w[3].type = SECBUFFER_EXTRA;
        w[3].has_offset = true;
        w[3].offset = 41;
        w[3].has_size = true;
        w[3].size = 23;
        mr.n_buffers = 4;
        {
                const uint8_t spec[] = { SECBUFFER_DATA, 16, SECBUFFER_EMPTY, 0, SECBUFFER_EMPTY, 0, SECBUFFER_EMPTY, 0 };
                write_seed(dir, "unseal-inplace", 3, spec, 4, &mr.base);
        }
        /* ISC output token, and an EXTRA count in the input. */
        w[0] = (Sspiw__Buffer) SSPIW__BUFFER__INIT;
        w[0].type = SECBUFFER_TOKEN;
        w[0].has_data = true;
        w[0].data = (ProtobufCBinaryData) { 40, tok };
        w[1] = (Sspiw__Buffer) SSPIW__BUFFER__INIT;
        w[1].type = SECBUFFER_TOKEN;
        w[2] = (Sspiw__Buffer) SSPIW__BUFFER__INIT;
        w[2].type = SECBUFFER_EXTRA;
        w[2].has_size = true;
        w[2].size = 8;
        cr.n_output = 1;
        cr.output = pw;
        cr.n_input = 2;
        cr.input = pw + 1;
        {
                const uint8_t spec_out[] = { SECBUFFER_TOKEN, 16 };
                write_seed(dir, "step-out", 4, spec_out, 1, &cr.base);
                write_seed(dir, "step-alloc", 5, spec_out, 1, &cr.base);
                const uint8_t spec_in[] = { SECBUFFER_TOKEN, 8, SECBUFFER_EMPTY, 0 };
                write_seed(dir, "step-in-extra", 6, spec_in, 2, &cr.base);
        }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        const char *dir = getenv("SSPID_FUZZ_SEEDS");
        (void) argc;
        (void) argv;
        if (dir)
                make_seeds(dir);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        size_t n;

        if (size < 2)
                return 0;
        n = data[1] % (MAXB + 1);
        if (size < 2 + 2 * n)
                return 0;
        run(data[0] % 7, data + 2, n, data + 2 + 2 * n, size - 2 - 2 * n);
        return 0;
}
