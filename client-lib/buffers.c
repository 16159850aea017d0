/* SPDX-License-Identifier: MIT */
/* SecBufferDesc <-> wire buffers. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define BASE_TYPE(t) ((t) & ~(uint32_t) SECBUFFER_ATTRMASK)

bool desc_valid(const SecBufferDesc *d) {
        if (!d)
                return true;
        if (d->ulVersion != SECBUFFER_VERSION || d->cBuffers > WIRE_MAX_BUFFERS || (d->cBuffers && !d->pBuffers))
                return false;
        for (uint32_t i = 0; i < d->cBuffers; i++) {
                const SecBuffer *b = &d->pBuffers[i];
                uint32_t t = BASE_TYPE(b->BufferType);
                /* MISSING/EXTRA carry a count, not memory. */
                if (b->cbBuffer && !b->pvBuffer && t != SECBUFFER_MISSING && t != SECBUFFER_EXTRA &&
                    t != SECBUFFER_EMPTY)
                        return false;
        }
        return true;
}

void buffers_free_wire(Sspiw__Buffer **b, size_t n) {
        if (!b)
                return;
        for (size_t i = 0; i < n; i++)
                free(b[i]);
        free(b);
}

Sspiw__Buffer **buffers_to_wire(const SecBufferDesc *d, bool output_slots, bool allocate, size_t *ret_n) {
        Sspiw__Buffer **w;
        size_t n = d ? d->cBuffers : 0;

        *ret_n = 0;
        if (n == 0)
                return calloc(1, sizeof(*w));
        w = calloc(n, sizeof(*w));
        if (!w)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                const SecBuffer *b = &d->pBuffers[i];
                uint32_t t = BASE_TYPE(b->BufferType);

                w[i] = malloc(sizeof(Sspiw__Buffer));
                if (!w[i]) {
                        buffers_free_wire(w, i);
                        return NULL;
                }
                sspiw__buffer__init(w[i]);
                w[i]->type = b->BufferType;
                if (output_slots) {
                        if (!allocate) {
                                w[i]->has_size = true;
                                w[i]->size = b->pvBuffer ? b->cbBuffer : 0;
                        }
                } else if (b->pvBuffer && b->cbBuffer && t != SECBUFFER_MISSING && t != SECBUFFER_EXTRA) {
                        /* Data references caller memory: no copy before packing. */
                        w[i]->has_data = true;
                        w[i]->data.data = b->pvBuffer;
                        w[i]->data.len = b->cbBuffer;
                }
        }
        *ret_n = n;
        return w;
}

#define READONLY_BITS (SECBUFFER_READONLY | SECBUFFER_READONLY_WITH_CHECKSUM)

/*
 * The buffers each message call changes; the daemon sends every buffer
 * back, but only these are copied into the caller's memory. The others
 * (the DATA of MakeSignature, everything of VerifySignature) may be
 * read-only memory, a string literal or a PROT_READ mapping, as on Windows.
 */
const CopyBack copy_sign = { .types = BUFTYPE(SECBUFFER_TOKEN) };
const CopyBack copy_verify = { .types = 0, .stream = true };
const CopyBack copy_seal = {
        .types = BUFTYPE(SECBUFFER_DATA) | BUFTYPE(SECBUFFER_TOKEN) | BUFTYPE(SECBUFFER_PADDING) |
                 BUFTYPE(SECBUFFER_STREAM_HEADER) | BUFTYPE(SECBUFFER_STREAM_TRAILER),
};
/* Kerberos decrypts DATA (and the sealed header copy in the TOKEN) in
 * place; Schannel lays HEADER/DATA/TRAILER/EXTRA out inside the first DATA
 * buffer and retypes the EMPTY slots. */
const CopyBack copy_unseal = {
        .types = BUFTYPE(SECBUFFER_DATA) | BUFTYPE(SECBUFFER_TOKEN) | BUFTYPE(SECBUFFER_PADDING) |
                 BUFTYPE(SECBUFFER_EMPTY) | BUFTYPE(SECBUFFER_MISSING) | BUFTYPE(SECBUFFER_EXTRA),
        .in_place = true,
        .stream = true,
};
/* InitializeSecurityContext / AcceptSecurityContext: every output buffer
 * is an output. */
const CopyBack copy_step = { .types = UINT64_MAX };
const CopyBack copy_step_alloc = { .types = UINT64_MAX, .allocate = true };

static bool type_writable(uint64_t types, uint32_t t) {
        uint32_t base = BASE_TYPE(t);
        return base < 64 && (types & BUFTYPE(base));
}

/*
 * The reply's buffer i against the caller's: may the call change it, and
 * is the change one an honest daemon makes? A read-only buffer (it may
 * live in read-only memory) and a buffer the call does not change are
 * never written, and a reply that changes their type, or turns a buffer
 * read-only, is not from an honest daemon. Returns true when buffer i is
 * to be written; *ret_bad when the reply is refused.
 */
static bool slot_check(const SecBuffer *sb, const Sspiw__Buffer *w, uint64_t types, bool *ret_bad) {
        bool ro = sb->BufferType & READONLY_BITS;

        if ((w->type & READONLY_BITS) != (sb->BufferType & READONLY_BITS) ||
            ((ro || !type_writable(types, sb->BufferType)) && w->type != sb->BufferType) ||
            BASE_TYPE(w->type) >= 64) {
                *ret_bad = true;
                return false;
        }
        return !ro && type_writable(types, sb->BufferType);
}

/* What a SECBUFFER_EXTRA count may refer to: the caller's input bytes. */
static uint64_t desc_bytes(const SecBufferDesc *d) {
        uint64_t total = 0;

        for (uint32_t i = 0; i < d->cBuffers; i++) {
                uint32_t t = BASE_TYPE(d->pBuffers[i].BufferType);
                if (t != SECBUFFER_MISSING && t != SECBUFFER_EXTRA && t != SECBUFFER_EMPTY)
                        total += d->pBuffers[i].cbBuffer;
        }
        return total;
}

/* MISSING counts bytes still to read (bounded by what the daemon could
 * take at all), EXTRA counts bytes of the caller's input left over. */
static bool count_ok(uint32_t base, uint64_t count, uint64_t input_bytes) {
        if (base == SECBUFFER_EXTRA)
                return count <= input_bytes;
        return count <= WIRE_MAX_OUTPUT_CAP;
}

/* Schannel's DecryptMessage answers with buffers that lie inside the
 * caller's first SECBUFFER_DATA buffer (Buffer.offset). */
static SECURITY_STATUS buffers_from_wire_inplace(SecBufferDesc *d, Sspiw__Buffer **b, size_t n, uint64_t types) {
        uint8_t *base = NULL;
        size_t base_len = 0;
        bool write[WIRE_MAX_BUFFERS] = { false }, bad = false;

        for (size_t i = 0; i < n && !base; i++)
                if (BASE_TYPE(d->pBuffers[i].BufferType) == SECBUFFER_DATA) {
                        /* The plaintext is written into it: it must be ours to write. */
                        if (!type_writable(types, SECBUFFER_DATA) || (d->pBuffers[i].BufferType & READONLY_BITS))
                                return SEC_E_INTERNAL_ERROR;
                        base = d->pBuffers[i].pvBuffer;
                        base_len = d->pBuffers[i].cbBuffer;
                }
        if (!base)
                return SEC_E_INTERNAL_ERROR;
        for (size_t i = 0; i < n; i++) {
                uint32_t t = BASE_TYPE(b[i]->type);
                size_t len = b[i]->has_data ? b[i]->data.len : b[i]->has_size ? b[i]->size : 0;

                write[i] = slot_check(&d->pBuffers[i], b[i], types, &bad);
                if (bad)
                        return SEC_E_INTERNAL_ERROR;
                if (!write[i])
                        continue;
                if (b[i]->has_offset && (b[i]->offset > base_len || len > base_len - b[i]->offset))
                        return SEC_E_INTERNAL_ERROR;
                /* A size without a place: a count, or no more than the buffer holds. */
                if (!b[i]->has_offset && b[i]->has_size &&
                    (t == SECBUFFER_MISSING || t == SECBUFFER_EXTRA ? !count_ok(t, b[i]->size, base_len)
                                                                     : b[i]->size > d->pBuffers[i].cbBuffer))
                        return SEC_E_INTERNAL_ERROR;
        }
        for (size_t i = 0; i < n; i++) {
                SecBuffer *sb = &d->pBuffers[i];
                uint32_t t = BASE_TYPE(b[i]->type);

                if (!write[i])
                        continue;
                sb->BufferType = b[i]->type;
                if (b[i]->has_offset) {
                        sb->pvBuffer = base + b[i]->offset;
                        if (b[i]->has_data) {
                                if (b[i]->data.len) /* an empty bytes field may be NULL (found by fuzz_client) */
                                        memcpy(sb->pvBuffer, b[i]->data.data, b[i]->data.len);
                                sb->cbBuffer = (uint32_t) b[i]->data.len;
                        } else
                                sb->cbBuffer = b[i]->has_size ? b[i]->size : 0;
                } else if (t == SECBUFFER_MISSING || t == SECBUFFER_EXTRA) {
                        /* A count, never the caller's old cbBuffer (found by fuzz_client). */
                        sb->cbBuffer = b[i]->has_size ? b[i]->size : 0;
                } else if (b[i]->has_size) {
                        sb->cbBuffer = b[i]->size;
                }
        }
        return SEC_E_OK;
}

/*
 * DecryptMessage / VerifySignature with one SECBUFFER_STREAM (token and
 * data) and a SECBUFFER_DATA: as on Windows, the DATA buffer is pointed
 * into the caller's own stream buffer (never into library memory), and
 * DecryptMessage writes the plaintext there. Nothing else changes: every
 * other reply buffer must come back as it went.
 */
static SECURITY_STATUS buffers_from_wire_stream(SecBufferDesc *d, Sspiw__Buffer **b, size_t n, const CopyBack *cb) {
        for (size_t i = 0; i < n; i++) {
                const SecBuffer *sb = &d->pBuffers[i], *st;
                size_t len = b[i]->has_data ? b[i]->data.len : b[i]->has_size ? b[i]->size : 0;

                if (!b[i]->has_within) {
                        if (b[i]->type != sb->BufferType || b[i]->has_offset)
                                return SEC_E_INTERNAL_ERROR;
                        continue;
                }
                if (!b[i]->has_offset || b[i]->within >= n || b[i]->within == i || b[i]->type != SECBUFFER_DATA ||
                    sb->BufferType != SECBUFFER_DATA)
                        return SEC_E_INTERNAL_ERROR;
                st = &d->pBuffers[b[i]->within];
                if (BASE_TYPE(st->BufferType) != SECBUFFER_STREAM || !st->pvBuffer ||
                    b[i]->offset > st->cbBuffer || len > st->cbBuffer - b[i]->offset)
                        return SEC_E_INTERNAL_ERROR;
                /* Plaintext goes into the stream only on DecryptMessage and
                 * never into read-only memory. */
                if (b[i]->has_data && (!cb->in_place || (st->BufferType & READONLY_BITS)))
                        return SEC_E_INTERNAL_ERROR;
        }
        for (size_t i = 0; i < n; i++) {
                SecBuffer *sb = &d->pBuffers[i];
                uint8_t *p;

                if (!b[i]->has_within)
                        continue;
                p = (uint8_t *) d->pBuffers[b[i]->within].pvBuffer + b[i]->offset;
                if (b[i]->has_data) {
                        if (b[i]->data.len)
                                memmove(p, b[i]->data.data, b[i]->data.len);
                        sb->cbBuffer = (uint32_t) b[i]->data.len;
                } else
                        sb->cbBuffer = b[i]->has_size ? b[i]->size : 0;
                sb->pvBuffer = p;
        }
        return SEC_E_OK;
}

SECURITY_STATUS buffers_from_wire(SecBufferDesc *d, Sspiw__Buffer **b, size_t n, const CopyBack *cb) {
        void *mem[WIRE_MAX_BUFFERS] = { 0 };
        bool write[WIRE_MAX_BUFFERS] = { false }, bad = false;
        uint64_t input_bytes;

        if (!d)
                return n == 0 ? SEC_E_OK : SEC_E_INTERNAL_ERROR;
        if (n != d->cBuffers || n > WIRE_MAX_BUFFERS)
                return SEC_E_INTERNAL_ERROR;
        for (size_t i = 0; i < n; i++)
                if (b[i]->has_within) {
                        if (!cb->stream)
                                return SEC_E_INTERNAL_ERROR;
                        return buffers_from_wire_stream(d, b, n, cb);
                }
        for (size_t i = 0; i < n; i++)
                if (b[i]->has_offset) {
                        if (!cb->in_place || cb->allocate)
                                return SEC_E_INTERNAL_ERROR;
                        return buffers_from_wire_inplace(d, b, n, cb->types);
                }
        input_bytes = desc_bytes(d);
        /* Check and allocate everything first: outputs are written only
         * when all of them can be. */
        for (size_t i = 0; i < n; i++) {
                uint32_t t = BASE_TYPE(b[i]->type);
                size_t len = b[i]->has_data ? b[i]->data.len : 0;

                write[i] = slot_check(&d->pBuffers[i], b[i], cb->types, &bad);
                if (bad)
                        goto refused;
                if (!write[i])
                        continue;
                if (t == SECBUFFER_MISSING || t == SECBUFFER_EXTRA) {
                        if (!count_ok(t, b[i]->has_size ? b[i]->size : 0, input_bytes))
                                goto refused;
                        continue;
                }
                if (!b[i]->has_data)
                        continue;
                if (cb->allocate) {
                        if (len == 0)
                                continue;
                        mem[i] = malloc(len);
                        if (!mem[i]) {
                                for (size_t k = 0; k < i; k++)
                                        free(mem[k]);
                                return SEC_E_INSUFFICIENT_MEMORY;
                        }
                } else if (len > d->pBuffers[i].cbBuffer || (len && !d->pBuffers[i].pvBuffer)) {
                        for (size_t k = 0; k < i; k++)
                                free(mem[k]);
                        return SEC_E_BUFFER_TOO_SMALL;
                }
        }
        for (size_t i = 0; i < n; i++) {
                SecBuffer *sb = &d->pBuffers[i];
                uint32_t t = BASE_TYPE(b[i]->type);
                size_t len = b[i]->has_data ? b[i]->data.len : 0;

                if (!write[i])
                        continue;
                sb->BufferType = b[i]->type;
                if (t == SECBUFFER_MISSING || t == SECBUFFER_EXTRA) {
                        sb->cbBuffer = b[i]->has_size ? b[i]->size : 0;
                        continue;
                }
                if (!b[i]->has_data) {
                        if (cb->allocate) {
                                sb->pvBuffer = NULL;
                                sb->cbBuffer = 0;
                        }
                        continue;
                }
                if (cb->allocate)
                        sb->pvBuffer = mem[i];
                /* Bytes the call left as they were are not written back: a
                 * sign-only EncryptMessage (SECQOP_WRAP_NO_ENCRYPT) and its
                 * DecryptMessage leave the data alone, and the caller's
                 * DATA may be read-only memory, as on Windows. */
                if (len && (cb->allocate || memcmp(sb->pvBuffer, b[i]->data.data, len) != 0))
                        memcpy(sb->pvBuffer, b[i]->data.data, len);
                sb->cbBuffer = (uint32_t) len;
        }
        return SEC_E_OK;

refused:
        for (size_t k = 0; k < n; k++)
                free(mem[k]);
        return SEC_E_INTERNAL_ERROR;
}

SECURITY_STATUS buffers_update_input(SecBufferDesc *d, Sspiw__Buffer **b, size_t n) {
        uint64_t input_bytes;

        if (!d || n == 0)
                return SEC_E_OK;
        if (n != d->cBuffers)
                return SEC_E_INTERNAL_ERROR;
        input_bytes = desc_bytes(d);
        /* Only a count goes back, and only into a writable slot that holds
         * no bytes (EMPTY, or MISSING/EXTRA from an earlier call). */
        for (size_t i = 0; i < n; i++) {
                const SecBuffer *sb = &d->pBuffers[i];
                uint32_t t = BASE_TYPE(b[i]->type), ct = BASE_TYPE(sb->BufferType);

                if (t != SECBUFFER_MISSING && t != SECBUFFER_EXTRA)
                        continue;
                if (b[i]->type == sb->BufferType && b[i]->has_size && b[i]->size == sb->cbBuffer)
                        continue; /* unchanged */
                /* Schannel's DecryptMessage turns the DATA buffer itself
                 * into MISSING (Wine's schannel.c test_communication). */
                if ((sb->BufferType & READONLY_BITS) || (b[i]->type & READONLY_BITS) ||
                    (ct != SECBUFFER_EMPTY && ct != SECBUFFER_MISSING && ct != SECBUFFER_EXTRA &&
                     !(ct == SECBUFFER_DATA && t == SECBUFFER_MISSING)) ||
                    !count_ok(t, b[i]->has_size ? b[i]->size : 0, input_bytes))
                        return SEC_E_INTERNAL_ERROR;
        }
        for (size_t i = 0; i < n; i++) {
                uint32_t t = BASE_TYPE(b[i]->type);
                if (t == SECBUFFER_MISSING || t == SECBUFFER_EXTRA) {
                        d->pBuffers[i].BufferType = b[i]->type;
                        d->pBuffers[i].cbBuffer = b[i]->has_size ? b[i]->size : 0;
                }
        }
        return SEC_E_OK;
}
