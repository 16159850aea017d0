/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the bytes SspiUnmarshalAuthIdentity takes from
 * another process (client-lib/authdata.c idfields_read_bytes): a
 * self-relative SEC_WINNT_AUTH_IDENTITY_EX2 with its strings and packed
 * credential. The input is copied into a block of exactly its size, so a
 * read past it is an ASan report. A structure that is read must have every
 * string inside the input: checked and abort() when not.
 *
 * SSPID_FUZZ_SEEDS=DIR build/fuzz/fuzz_identity -runs=0 writes seeds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authdata.h"

/* Not reached: nothing is unsealed here. */
int seal_bytes(uint32_t scope, bool seal, const uint8_t *in, size_t len, uint8_t *out) {
        return -EINVAL;
}

static void seed(const char *dir, const char *name, const void *p, size_t n) {
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "we");
        if (f) {
                fwrite(p, 1, n, f);
                fclose(f);
        }
}

static void put16(uint8_t *b, size_t *at, const char *s) {
        for (; *s; s++) {
                b[(*at)++] = (uint8_t) *s;
                b[(*at)++] = 0;
        }
}

/* An identity with user, domain, password and package list. */
static void write_seeds(const char *dir) {
        uint8_t b[512] = { 0 };
        SEC_WINNT_AUTH_IDENTITY_EX2 h = { 0 };
        SEC_WINNT_AUTH_PACKED_CREDENTIALS pc = { 0 };
        size_t at = sizeof(h), mark;

        h.Version = SEC_WINNT_AUTH_IDENTITY_VERSION_2;
        h.cbHeaderLength = sizeof(h);
        h.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE;
        h.UserOffset = (ULONG) at;
        put16(b, &at, "alice");
        h.UserLength = (USHORT) (at - h.UserOffset);
        h.DomainOffset = (ULONG) at;
        put16(b, &at, "SSPID");
        h.DomainLength = (USHORT) (at - h.DomainOffset);
        h.PackedCredentialsOffset = (ULONG) at;
        mark = at;
        at += sizeof(pc);
        put16(b, &at, "alice-pw-1");
        pc.cbHeaderLength = sizeof(pc);
        pc.cbStructureLength = (USHORT) (at - mark);
        pc.AuthData.CredType = SEC_WINNT_AUTH_DATA_TYPE_PASSWORD;
        pc.AuthData.CredData.ByteArrayOffset = sizeof(pc);
        pc.AuthData.CredData.ByteArrayLength = (USHORT) (at - mark - sizeof(pc));
        memcpy(b + mark, &pc, sizeof(pc));
        h.PackedCredentialsLength = pc.cbStructureLength;
        h.PackageListOffset = (ULONG) at;
        put16(b, &at, "!Kerberos");
        h.PackageListLength = (USHORT) (at - h.PackageListOffset);
        h.cbStructureLength = (ULONG) at;
        memcpy(b, &h, sizeof(h));
        seed(dir, "full", b, at);
        h.Flags |= SEC_WINNT_AUTH_IDENTITY_FLAGS_NULL_DOMAIN;
        memcpy(b, &h, sizeof(h));
        seed(dir, "null-domain", b, at);
}

/* The copies end where their length says. */
static void terminated(const SEC_WCHAR *s, size_t n) {
        if (s && s[n] != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool seeded;
        uint8_t *copy;
        IdFields f;

        if (!seeded) {
                const char *dir = getenv("SSPID_FUZZ_SEEDS");
                seeded = true;
                if (dir)
                        write_seeds(dir);
        }
        copy = malloc(size ? size : 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);
        if (idfields_read_bytes(copy, size, &f) == SEC_E_OK) {
                /* Every string came from within cbStructureLength <= size
                 * (they may overlap: each alone fits). */
                if (f.user_len * 2 > size || f.domain_len * 2 > size || f.packages_len * 2 > size ||
                    f.password_len * 2 > size)
                        abort();
                terminated(f.user, f.user_len);
                terminated(f.domain, f.domain_len);
                terminated(f.password, f.password_len);
                terminated(f.packages, f.packages_len);
                idfields_done(&f);
        }
        free(copy);
        return 0;
}
