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

/* Schannel's DecryptMessage answers with buffers that lie inside the
 * caller's first SECBUFFER_DATA buffer (Buffer.offset). */
static SECURITY_STATUS buffers_from_wire_inplace(SecBufferDesc *d, Sspiw__Buffer **b, size_t n) {
        uint8_t *base = NULL;
        size_t base_len = 0;

        for (size_t i = 0; i < n && !base; i++)
                if (BASE_TYPE(d->pBuffers[i].BufferType) == SECBUFFER_DATA) {
                        base = d->pBuffers[i].pvBuffer;
                        base_len = d->pBuffers[i].cbBuffer;
                }
        if (!base)
                return SEC_E_INTERNAL_ERROR;
        for (size_t i = 0; i < n; i++) {
                size_t len = b[i]->has_data ? b[i]->data.len : b[i]->has_size ? b[i]->size : 0;
                if (b[i]->has_offset && (b[i]->offset > base_len || len > base_len - b[i]->offset))
                        return SEC_E_INTERNAL_ERROR;
        }
        for (size_t i = 0; i < n; i++) {
                SecBuffer *sb = &d->pBuffers[i];

                sb->BufferType = b[i]->type;
                if (b[i]->has_offset) {
                        sb->pvBuffer = base + b[i]->offset;
                        if (b[i]->has_data) {
                                memcpy(sb->pvBuffer, b[i]->data.data, b[i]->data.len);
                                sb->cbBuffer = (uint32_t) b[i]->data.len;
                        } else
                                sb->cbBuffer = b[i]->has_size ? b[i]->size : 0;
                } else if (b[i]->has_size) {
                        sb->cbBuffer = b[i]->size;
                }
        }
        return SEC_E_OK;
}

SECURITY_STATUS buffers_from_wire(SecBufferDesc *d, Sspiw__Buffer **b, size_t n, bool allocate) {
        void *mem[WIRE_MAX_BUFFERS] = { 0 };

        if (!d)
                return n == 0 ? SEC_E_OK : SEC_E_INTERNAL_ERROR;
        if (n != d->cBuffers)
                return SEC_E_INTERNAL_ERROR;
        for (size_t i = 0; !allocate && i < n; i++)
                if (b[i]->has_offset)
                        return buffers_from_wire_inplace(d, b, n);
        /* Check and allocate everything first: outputs are written only
         * when all of them can be. */
        for (size_t i = 0; i < n; i++) {
                uint32_t t = BASE_TYPE(b[i]->type);
                size_t len = b[i]->has_data ? b[i]->data.len : 0;

                if (t == SECBUFFER_MISSING || t == SECBUFFER_EXTRA || !b[i]->has_data)
                        continue;
                if (allocate) {
                        if (len == 0)
                                continue;
                        mem[i] = malloc(len);
                        if (!mem[i]) {
                                for (size_t k = 0; k < i; k++)
                                        free(mem[k]);
                                return SEC_E_INSUFFICIENT_MEMORY;
                        }
                } else if (d->pBuffers[i].BufferType & (SECBUFFER_READONLY | SECBUFFER_READONLY_WITH_CHECKSUM))
                        continue;
                else if (len > d->pBuffers[i].cbBuffer || (len && !d->pBuffers[i].pvBuffer))
                        return SEC_E_BUFFER_TOO_SMALL;
        }
        for (size_t i = 0; i < n; i++) {
                SecBuffer *sb = &d->pBuffers[i];
                uint32_t t = BASE_TYPE(b[i]->type);
                size_t len = b[i]->has_data ? b[i]->data.len : 0;

                /* Read-only buffers may live in read-only memory: never written. */
                if (!allocate && (sb->BufferType & (SECBUFFER_READONLY | SECBUFFER_READONLY_WITH_CHECKSUM)))
                        continue;
                sb->BufferType = b[i]->type;
                if (t == SECBUFFER_MISSING || t == SECBUFFER_EXTRA) {
                        sb->cbBuffer = b[i]->has_size ? b[i]->size : 0;
                        continue;
                }
                if (!b[i]->has_data) {
                        if (allocate) {
                                sb->pvBuffer = NULL;
                                sb->cbBuffer = 0;
                        }
                        continue;
                }
                if (allocate)
                        sb->pvBuffer = mem[i];
                if (len)
                        memcpy(sb->pvBuffer, b[i]->data.data, len);
                sb->cbBuffer = (uint32_t) len;
        }
        return SEC_E_OK;
}

void buffers_update_input(SecBufferDesc *d, Sspiw__Buffer **b, size_t n) {
        if (!d || n != d->cBuffers)
                return;
        for (size_t i = 0; i < n; i++) {
                uint32_t t = BASE_TYPE(b[i]->type);
                if (t == SECBUFFER_MISSING || t == SECBUFFER_EXTRA) {
                        d->pBuffers[i].BufferType = b[i]->type;
                        d->pBuffers[i].cbBuffer = b[i]->has_size ? b[i]->size : 0;
                }
        }
}
