# sspid — build, demo, tests, benchmarks.
#
#   make demo    install missing Debian packages, build, run the Kerberos demo
#   make check   install missing Debian packages, build, run every test
#   make bench   benchmarks (prints ratios; never part of check)

CC ?= gcc
BUILD := build
PKG_CONFIG ?= pkg-config

WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wvla
BASE_CFLAGS := -std=gnu11 -O2 -g -fPIC -D_GNU_SOURCE $(WARN) $(EXTRA_CFLAGS)
BASE_LDFLAGS := $(EXTRA_LDFLAGS)

PROTO_C := $(BUILD)/proto/sspi.pb-c.c
PROTO_H := $(BUILD)/proto/sspi.pb-c.h
WIRE_SRC := proto/wire.c $(PROTO_C)
ADMIN_PROTO_C := $(BUILD)/proto/admin.pb-c.c
ADMIN_PROTO_H := $(BUILD)/proto/admin.pb-c.h

# The client library sees only its own headers and the wire codec:
# no daemon/, no Heimdal, and of OpenSSL libcrypto's EVP only, for the
# message calls of contexts whose keys it holds (message-protection =
# caller), never libssl (checked by check-client-deps).
CLIENT_CFLAGS := $(BASE_CFLAGS) -Iclient-lib/include -Iclient-lib -Iproto -I$(BUILD)/proto \
	$(shell $(PKG_CONFIG) --cflags libprotobuf-c libcrypto 2>/dev/null) -fvisibility=hidden
CLIENT_LIBS := $(shell $(PKG_CONFIG) --libs libprotobuf-c libcrypto 2>/dev/null) -lpthread
CLIENT_SRC := $(wildcard client-lib/*.c)
CLIENT_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(CLIENT_SRC)) $(BUILD)/client-lib/wire.o $(BUILD)/client-lib/sspi.pb-c.o \
	$(BUILD)/client-lib/tlsrec.o
LIBSSPI := $(BUILD)/libsspi.so.1
LIBSSPI_LINK := $(BUILD)/libsspi.so

DAEMON_PKGS := heimdal-gssapi heimdal-krb5 libsystemd libprotobuf-c openssl inih wbclient
DAEMON_CFLAGS := $(BASE_CFLAGS) -Idaemon -Iclient-lib/include -Iproto -I$(BUILD)/proto \
	$(shell $(PKG_CONFIG) --cflags $(DAEMON_PKGS) 2>/dev/null)
# libheimntlm has no .pc file; it sits beside the other Heimdal libraries.
DAEMON_LIBS := $(shell $(PKG_CONFIG) --libs $(DAEMON_PKGS) 2>/dev/null) -lheimntlm -lhcrypto -lasn1 -lpthread
# daemon/ by layer (README.md "Architecture"); includes are relative to daemon/.
DAEMON_SRC := $(wildcard daemon/*.c daemon/*/*.c daemon/packages/*/*.c)
DAEMON_HDR := $(wildcard daemon/*/*.h daemon/packages/*/*.h)
DAEMON_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(DAEMON_SRC)) $(BUILD)/daemon/wire.o $(BUILD)/daemon/sspi.pb-c.o \
	$(BUILD)/daemon/admin.pb-c.o $(BUILD)/daemon/tlsrec.o
SSPID := $(BUILD)/sspid

# Programs linked against libsspi (examples, integration tests, benchmarks).
APP_CFLAGS := $(BASE_CFLAGS) -Iclient-lib/include -Itests/lib
APP_LIBS := -L$(BUILD) -lsspi -Wl,-rpath,$(abspath $(BUILD)) -lpthread

EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
TEST_LIB_SRC := $(wildcard tests/lib/*.c)
ITESTS := $(patsubst tests/integration/%.c,$(BUILD)/tests/integration/%,$(wildcard tests/integration/*.c))
# The adversarial suite: attacks from uid 65534 against a private daemon
# with the default configuration (tests/adversarial/README.md).
ATESTS := $(patsubst tests/adversarial/%.c,$(BUILD)/tests/adversarial/%,$(wildcard tests/adversarial/*.c))
# The Windows-behaviour suite: exact statuses, buffer types and sizes as
# Windows returns them, every check citing its source (tests/windows/README.md).
WTESTS := $(patsubst tests/windows/%.c,$(BUILD)/tests/windows/%,$(wildcard tests/windows/*.c))
# The Active Directory suite: a Samba AD DC in namespaces of its own and a
# private sspid configured for the domain (tests/ad/README.md).
ADTESTS := $(patsubst tests/ad/%.c,$(BUILD)/tests/ad/%,$(wildcard tests/ad/*.c))
BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
SSPICTL := $(BUILD)/sspictl

.PHONY: all deps demo check check-ad bench soak clean check-client-deps check-daemon-layout unit-tests itests asan format fuzz install uninstall
.SUFFIXES:
.DELETE_ON_ERROR:

all: $(LIBSSPI_LINK) $(SSPID) $(BUILD)/sspi.pc $(EXAMPLES) $(SSPICTL) check-client-deps check-daemon-layout

deps:
	@tests/tools/install-deps

$(PROTO_C) $(PROTO_H): proto/sspi.proto
	@mkdir -p $(BUILD)/proto
	protoc-c --c_out=$(BUILD)/proto --proto_path=proto proto/sspi.proto

# The admin schema (sspictl <-> sspid admin socket).
$(ADMIN_PROTO_C) $(ADMIN_PROTO_H): proto/admin.proto
	@mkdir -p $(BUILD)/proto
	protoc-c --c_out=$(BUILD)/proto --proto_path=proto proto/admin.proto

# ---- client library ----
$(BUILD)/client-lib/%.o: client-lib/%.c $(PROTO_H) $(wildcard client-lib/*.h client-lib/include/*.h proto/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CLIENT_CFLAGS) -c $< -o $@
$(BUILD)/client-lib/wire.o: proto/wire.c proto/wire.h $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CLIENT_CFLAGS) -c $< -o $@
$(BUILD)/client-lib/tlsrec.o: proto/tlsrec.c proto/tlsrec.h
	@mkdir -p $(dir $@)
	$(CC) $(CLIENT_CFLAGS) -c $< -o $@
$(BUILD)/client-lib/sspi.pb-c.o: $(PROTO_C)
	@mkdir -p $(dir $@)
	$(CC) $(CLIENT_CFLAGS) -Wno-error -c $< -o $@

$(LIBSSPI): $(CLIENT_OBJ) client-lib/libsspi.map
	$(CC) -shared -Wl,-soname,libsspi.so.1 -Wl,--version-script=client-lib/libsspi.map -Wl,--no-undefined \
		-Wl,-z,now -Wl,-z,relro $(BASE_LDFLAGS) -o $@ $(CLIENT_OBJ) $(CLIENT_LIBS)
$(LIBSSPI_LINK): $(LIBSSPI)
	ln -sf libsspi.so.1 $@

$(BUILD)/sspi.pc: client-lib/sspi.pc.in
	sed -e 's|@PREFIX@|/usr/local|' $< > $@

# The client library must not be able to see daemon code, Heimdal, GSSAPI
# or libssl: fail the build if any of its sources depends on them (its own
# files, msg-krb5.c among them, are not Heimdal's krb5). Of OpenSSL it
# includes <openssl/evp.h> only, and links libcrypto, not libssl.
check-client-deps: $(PROTO_H) $(LIBSSPI)
	@for f in $(CLIENT_SRC) proto/wire.c proto/tlsrec.c; do \
		deps=$$($(CC) $(CLIENT_CFLAGS) -MM $$f) || exit 1; \
		if echo "$$deps" | tr ' ' '\n' | grep -Ev '^client-lib/[^/]*\.[ch]$$|\.o:$$' | \
			grep -Eq '(^|/)daemon/|heimdal|gssapi|krb5|openssl/(ssl|ssl2|ssl3|tls1|dtls1|sslerr|srtp|x509|x509v3|pem)\.h'; then \
			echo "client-lib: $$f depends on daemon, Heimdal, GSSAPI or libssl code" >&2; exit 1; fi; \
		if grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*<openssl/' $$f | grep -vEq '<openssl/evp\.h>'; then \
			echo "client-lib: $$f includes an OpenSSL header other than <openssl/evp.h>" >&2; exit 1; fi; \
	done
	@needed=$$(LC_ALL=C readelf -d $(LIBSSPI) | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); \
	if echo "$$needed" | grep -Eq '^lib(ssl|krb5|gssapi|heim|hx509|asn1|roken|wind|com_err)'; then \
		echo "libsspi links what it must not: $$needed" >&2; exit 1; fi

# The daemon's include graph is acyclic (a .c and its .h are one module)
# and no daemon .c file passes 900 lines (daemon/README.md).
check-daemon-layout:
	@python3 tests/tools/check-daemon-layout.py daemon

# ---- daemon ----
$(BUILD)/daemon/%.o: daemon/%.c $(PROTO_H) $(ADMIN_PROTO_H) $(DAEMON_HDR) $(wildcard client-lib/include/*.h proto/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(DAEMON_CFLAGS) -c $< -o $@
$(BUILD)/daemon/wire.o: proto/wire.c proto/wire.h $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(DAEMON_CFLAGS) -c $< -o $@
$(BUILD)/daemon/tlsrec.o: proto/tlsrec.c proto/tlsrec.h
	@mkdir -p $(dir $@)
	$(CC) $(DAEMON_CFLAGS) -c $< -o $@
$(BUILD)/daemon/sspi.pb-c.o: $(PROTO_C)
	@mkdir -p $(dir $@)
	$(CC) $(DAEMON_CFLAGS) -Wno-error -c $< -o $@
$(BUILD)/daemon/admin.pb-c.o: $(ADMIN_PROTO_C)
	@mkdir -p $(dir $@)
	$(CC) $(DAEMON_CFLAGS) -Wno-error -c $< -o $@

$(SSPID): $(DAEMON_OBJ)
	$(CC) $(BASE_LDFLAGS) -o $@ $(DAEMON_OBJ) $(DAEMON_LIBS)

# sspictl: the admin CLI; speaks proto/admin.proto on the admin socket only.
CLI_CFLAGS := $(BASE_CFLAGS) -I$(BUILD)/proto $(shell $(PKG_CONFIG) --cflags libprotobuf-c json-c 2>/dev/null)
CLI_LIBS := $(shell $(PKG_CONFIG) --libs libprotobuf-c json-c 2>/dev/null)
$(BUILD)/cli/admin.pb-c.o: $(ADMIN_PROTO_C)
	@mkdir -p $(dir $@)
	$(CC) $(CLI_CFLAGS) -Wno-error -c $< -o $@
# It shares the daemon's escaping of client-chosen names (daemon/util/escape.c,
# which includes nothing else from daemon/) and no other daemon code.
CLI_SHARED := daemon/util/escape.c
$(SSPICTL): $(wildcard cli/*.c cli/*.h) $(CLI_SHARED) daemon/util/escape.h $(ADMIN_PROTO_H) $(BUILD)/cli/admin.pb-c.o
	@mkdir -p $(BUILD)
	$(CC) $(CLI_CFLAGS) -o $@ $(wildcard cli/*.c) $(CLI_SHARED) $(BUILD)/cli/admin.pb-c.o $(CLI_LIBS)

# ---- programs on libsspi ----
$(BUILD)/examples/%: examples/%.c $(LIBSSPI_LINK) $(wildcard examples/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -Iexamples -o $@ $< $(APP_LIBS)

$(BUILD)/tests/integration/%: tests/integration/%.c $(TEST_LIB_SRC) $(wildcard tests/lib/*.h) $(LIBSSPI_LINK)
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -o $@ $< $(TEST_LIB_SRC) $(APP_LIBS)
# It derives NTLM signing keys to look for them in its own memory.
$(BUILD)/tests/integration/test_msg_caller: APP_LIBS += -lcrypto
$(BUILD)/tests/windows/%: tests/windows/%.c $(TEST_LIB_SRC) $(wildcard tests/lib/*.h tests/windows/*.h) $(LIBSSPI_LINK)
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -Itests/windows -o $@ $< $(TEST_LIB_SRC) $(APP_LIBS)
$(BUILD)/tests/ad/%: tests/ad/%.c $(TEST_LIB_SRC) $(wildcard tests/lib/*.h) $(LIBSSPI_LINK)
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -o $@ $< $(TEST_LIB_SRC) $(APP_LIBS)
# test_ad_pac opens and reseals tickets with the service keytab (Heimdal).
%/tests/ad/test_ad_pac: APP_CFLAGS += $(shell $(PKG_CONFIG) --cflags heimdal-krb5 2>/dev/null)
%/tests/ad/test_ad_pac: APP_LIBS += $(shell $(PKG_CONFIG) --libs heimdal-krb5 2>/dev/null) -lasn1
$(BUILD)/tests/adversarial/%: tests/adversarial/%.c $(TEST_LIB_SRC) $(wildcard tests/lib/*.h) $(LIBSSPI_LINK)
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -o $@ $< $(TEST_LIB_SRC) $(TEST_WIRE) $(APP_LIBS)
# Tests that play the daemon (or a hostile client) speak the wire protocol
# with the codec itself, not through libsspi.
%/tests/adversarial/test_fake_daemon %/tests/adversarial/test_identity_drop: \
	TEST_WIRE = -Iproto -I$(BUILD)/proto proto/wire.c $(PROTO_C) $(CLIENT_LIBS)
# test_schannel_trust has OpenSSL itself as the peer, in-process.
%/tests/integration/test_schannel_trust: APP_LIBS += -lssl -lcrypto
# test_ctx_attrs checks KEYING_MATERIAL against an in-process OpenSSL peer.
%/tests/integration/test_ctx_attrs: APP_LIBS += -lssl -lcrypto
# test_msg_caller_tls runs an OpenSSL client in a child.
%/tests/integration/test_msg_caller_tls: APP_LIBS += -lssl -lcrypto
# test_digest_complete computes RFC 7616's response itself, as an oracle.
%/tests/integration/test_digest_complete: APP_LIBS += -lcrypto

# The Digest bench hashes in-process with OpenSSL next to the daemon figures.
$(BUILD)/bench/digest: bench/digest.c $(LIBSSPI_LINK)
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -o $@ $< $(APP_LIBS) -lcrypto

# The Schannel bench runs the in-process OpenSSL baseline next to sspid.
$(BUILD)/bench/schannel: bench/schannel.c $(LIBSSPI_LINK)
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -o $@ $< $(APP_LIBS) -lssl -lcrypto

# The gssproxy baseline's client is an MIT krb5 program (krb5-multidev's
# headers and libraries): no libsspi, and never Heimdal in the same binary.
MIT_PKGS := mit-krb5-gssapi mit-krb5
$(BUILD)/bench/gssproxy_client: bench/gssproxy_client.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(shell $(PKG_CONFIG) --cflags $(MIT_PKGS)) -o $@ $< \
		$(shell $(PKG_CONFIG) --libs $(MIT_PKGS))

$(BUILD)/bench/%: bench/%.c $(LIBSSPI_LINK) $(TEST_LIB_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) $(shell $(PKG_CONFIG) --cflags heimdal-gssapi heimdal-krb5) -o $@ $< $(TEST_LIB_SRC) \
		$(APP_LIBS) $(shell $(PKG_CONFIG) --libs heimdal-gssapi heimdal-krb5)

# ---- unit tests (in-process, no daemon) ----
UNIT_BINS := $(BUILD)/tests/unit/test_abi $(BUILD)/tests/unit/test_wire $(BUILD)/tests/unit/test_config \
	$(BUILD)/tests/unit/test_kerberos $(BUILD)/tests/unit/test_ntlm $(BUILD)/tests/unit/test_digest \
	$(BUILD)/tests/unit/test_log $(BUILD)/tests/unit/test_random

$(BUILD)/tests/unit/test_abi: tests/unit/test_abi.c client-lib/include/sspi.h
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -Iclient-lib/include -o $@ $<
$(BUILD)/tests/unit/test_wire: tests/unit/test_wire.c tests/unit/tap.h proto/wire.c $(PROTO_C)
	@mkdir -p $(dir $@)
	$(CC) $(CLIENT_CFLAGS) -Wno-error=missing-field-initializers -o $@ $< proto/wire.c $(PROTO_C) $(CLIENT_LIBS)
$(BUILD)/tests/unit/test_config: tests/unit/test_config.c tests/unit/tap.h daemon/policy/config.c daemon/policy/config-ntlm.c daemon/policy/config.h
	@mkdir -p $(dir $@)
	$(CC) $(DAEMON_CFLAGS) -o $@ $< daemon/policy/config.c daemon/policy/config-ntlm.c daemon/policy/config-domains.c $(shell $(PKG_CONFIG) --libs inih)
$(BUILD)/tests/unit/test_kerberos: tests/unit/test_kerberos.c daemon/policy/config.c daemon/policy/config-ntlm.c daemon/policy/config-domains.c $(wildcard daemon/packages/kerberos/*.c)
	@mkdir -p $(dir $@)
	$(CC) $(DAEMON_CFLAGS) -o $@ $< daemon/policy/config.c daemon/policy/config-ntlm.c daemon/policy/config-domains.c $(wildcard daemon/packages/kerberos/*.c) daemon/util/escape.c daemon/util/resolve.c \
		daemon/util/log.c daemon/util/random.c \
		$(DAEMON_LIBS)
$(BUILD)/tests/unit/test_ntlm: tests/unit/test_ntlm.c daemon/policy/config.c daemon/policy/config-ntlm.c $(wildcard daemon/packages/ntlm/*.[ch]) \
		$(wildcard daemon/packages/negotiate/spnego.[ch])
	@mkdir -p $(dir $@)
	$(CC) $(DAEMON_CFLAGS) -o $@ $< daemon/policy/config.c daemon/policy/config-ntlm.c daemon/policy/config-domains.c $(wildcard daemon/packages/ntlm/*.c) daemon/packages/negotiate/spnego.c \
		daemon/util/escape.c \
		$(DAEMON_LIBS)
$(BUILD)/tests/unit/test_log: tests/unit/test_log.c tests/unit/tap.h daemon/util/log.c daemon/util/log.h daemon/util/escape.c \
		daemon/util/escape.h
	@mkdir -p $(dir $@)
	$(CC) $(DAEMON_CFLAGS) -o $@ $< daemon/util/log.c daemon/util/escape.c -lsystemd
$(BUILD)/tests/unit/test_random: tests/unit/test_random.c tests/unit/tap.h daemon/util/random.c daemon/util/random.h
	@mkdir -p $(dir $@)
	$(CC) $(DAEMON_CFLAGS) -o $@ $< daemon/util/random.c -lcrypto -lpthread
$(BUILD)/tests/unit/test_digest: tests/unit/test_digest.c daemon/packages/digest/digest-parse.c daemon/packages/digest/digest.h
	@mkdir -p $(dir $@)
	$(CC) $(DAEMON_CFLAGS) -o $@ $< daemon/packages/digest/digest-parse.c $(DAEMON_LIBS)

# One libFuzzer target per tests/fuzz/fuzz_NAME.c (each needs a rule below),
# seeded from tests/fuzz/corpus/NAME/ (tests/fuzz/README.md).
FUZZERS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE
$(BUILD)/fuzz/fuzz_spnego: tests/fuzz/fuzz_spnego.c daemon/packages/negotiate/spnego.c daemon/packages/negotiate/spnego.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -Idaemon -o $@ $< daemon/packages/negotiate/spnego.c
$(BUILD)/fuzz/fuzz_credssp: tests/fuzz/fuzz_credssp.c daemon/packages/credssp/tsrequest.c daemon/packages/credssp/tsrequest.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -Idaemon -o $@ $< daemon/packages/credssp/tsrequest.c
$(BUILD)/fuzz/fuzz_config: tests/fuzz/fuzz_config.c daemon/policy/config.c daemon/policy/config-ntlm.c daemon/policy/config.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -Idaemon -Iclient-lib/include $(shell $(PKG_CONFIG) --cflags inih 2>/dev/null) -o $@ $< \
		daemon/policy/config.c daemon/policy/config-ntlm.c daemon/policy/config-domains.c $(shell $(PKG_CONFIG) --libs inih 2>/dev/null)

# Every fuzz target for FUZZ_SECONDS each, from its checked-in corpus (copied:
# the corpus in git stays as it is). Prints executions and crashes per target.
FUZZ_SECONDS ?= 60
fuzz: $(FUZZERS)
	@tests/tools/fuzz.sh $(FUZZ_SECONDS) $(BUILD)/fuzz
$(BUILD)/fuzz/fuzz_digest: tests/fuzz/fuzz_digest.c daemon/packages/digest/digest-parse.c daemon/packages/digest/digest.h
	@mkdir -p $(dir $@)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Idaemon -Iclient-lib/include \
		-o $@ $< daemon/packages/digest/digest-parse.c -lcrypto
$(BUILD)/fuzz/fuzz_wire: tests/fuzz/fuzz_wire.c proto/wire.c proto/wire.h $(PROTO_C)
	@mkdir -p $(dir $@)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iproto -I$(BUILD)/proto -Iclient-lib/include \
		-o $@ $< proto/wire.c $(PROTO_C) $(CLIENT_LIBS)
# The client's side of a reply: what libsspi writes into the caller's buffers.
$(BUILD)/fuzz/fuzz_client: tests/fuzz/fuzz_client.c client-lib/buffers.c client-lib/internal.h proto/wire.c \
		proto/wire.h $(PROTO_C)
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -Iclient-lib -Iclient-lib/include -Iproto -I$(BUILD)/proto \
		-o $@ $< client-lib/buffers.c proto/wire.c $(PROTO_C) $(CLIENT_LIBS)
# libsspi's own Kerberos message calls (message-protection = caller).
$(BUILD)/fuzz/fuzz_msgkrb5: tests/fuzz/fuzz_msgkrb5.c client-lib/msg-krb5.c client-lib/msgctx.h $(PROTO_H)
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -Iclient-lib -Iclient-lib/include -Iproto -I$(BUILD)/proto \
		-o $@ $< client-lib/msg-krb5.c -lcrypto
# The bytes SspiUnmarshalAuthIdentity takes from another process.
$(BUILD)/fuzz/fuzz_identity: tests/fuzz/fuzz_identity.c client-lib/authdata.c client-lib/authdata.h client-lib/unicode.c \
		proto/wire.c proto/wire.h $(PROTO_C)
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -Iclient-lib -Iclient-lib/include -Iproto -I$(BUILD)/proto \
		-o $@ $< client-lib/authdata.c client-lib/unicode.c proto/wire.c $(PROTO_C) $(CLIENT_LIBS)
# libsspi's own Schannel record calls (message-protection = caller).
$(BUILD)/fuzz/fuzz_msgtls: tests/fuzz/fuzz_msgtls.c client-lib/msg-tls.c proto/tlsrec.c proto/tlsrec.h client-lib/msgctx.h $(PROTO_H)
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -Iclient-lib -Iclient-lib/include -Iproto -I$(BUILD)/proto \
		-o $@ $< client-lib/msg-tls.c proto/tlsrec.c -lcrypto
# libsspi's own NTLM message calls (message-protection = caller).
$(BUILD)/fuzz/fuzz_msgntlm: tests/fuzz/fuzz_msgntlm.c client-lib/msg-ntlm.c client-lib/msgctx.h $(PROTO_H)
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -Iclient-lib -Iclient-lib/include -Iproto -I$(BUILD)/proto \
		-o $@ $< client-lib/msg-ntlm.c -lcrypto
FUZZ_DAEMON_FLAGS := $(FUZZ_FLAGS) -Idaemon -Iclient-lib/include -Iproto -I$(BUILD)/proto \
	$(shell $(PKG_CONFIG) --cflags $(DAEMON_PKGS) 2>/dev/null)
$(BUILD)/fuzz/fuzz_ntlm: tests/fuzz/fuzz_ntlm.c $(wildcard daemon/packages/ntlm/*.[ch]) daemon/policy/config.c daemon/policy/config-ntlm.c daemon/policy/config.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_DAEMON_FLAGS) -o $@ $< $(wildcard daemon/packages/ntlm/*.c) daemon/policy/config.c daemon/policy/config-ntlm.c daemon/policy/config-domains.c daemon/util/escape.c \
		$(DAEMON_LIBS)
$(BUILD)/fuzz/fuzz_schannel: tests/fuzz/fuzz_schannel.c $(wildcard daemon/packages/schannel/*.[ch]) daemon/policy/config.c daemon/policy/config-ntlm.c \
		daemon/util/log.c daemon/util/escape.c proto/tlsrec.c proto/tlsrec.h $(PROTO_C) $(PROTO_H)
	@mkdir -p $(dir $@)
	clang $(FUZZ_DAEMON_FLAGS) -o $@ $< $(wildcard daemon/packages/schannel/*.c) daemon/policy/config.c daemon/policy/config-ntlm.c daemon/policy/config-domains.c daemon/util/log.c \
		daemon/util/escape.c proto/tlsrec.c $(PROTO_C) $(DAEMON_LIBS)
# fuzz_krb seals its own service ticket (Heimdal's ASN.1 encoders: -lasn1).
$(BUILD)/fuzz/fuzz_krb: tests/fuzz/fuzz_krb.c $(wildcard daemon/packages/kerberos/*.[ch]) daemon/policy/config.c daemon/policy/config-ntlm.c daemon/policy/config.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_DAEMON_FLAGS) -o $@ $< $(wildcard daemon/packages/kerberos/*.c) daemon/policy/config.c daemon/policy/config-ntlm.c daemon/policy/config-domains.c \
		daemon/util/escape.c daemon/util/log.c daemon/util/resolve.c daemon/util/random.c $(DAEMON_LIBS)
# The PAC decoder alone (no Heimdal): seeds are PACs of the AD DC's tickets.
$(BUILD)/fuzz/fuzz_pac: tests/fuzz/fuzz_pac.c daemon/packages/kerberos/pac-ndr.c daemon/packages/kerberos/kerberos-pac.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -Idaemon -o $@ $< daemon/packages/kerberos/pac-ndr.c
$(BUILD)/fuzz/fuzz_kkdcp: tests/fuzz/fuzz_kkdcp.c $(wildcard daemon/packages/kerberos/*.[ch]) daemon/policy/config.c daemon/policy/config-ntlm.c daemon/policy/config-domains.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_DAEMON_FLAGS) -o $@ $< $(wildcard daemon/packages/kerberos/*.c) daemon/policy/config.c daemon/policy/config-ntlm.c daemon/policy/config-domains.c \
		daemon/util/escape.c daemon/util/log.c daemon/util/resolve.c daemon/util/random.c $(DAEMON_LIBS)
# The recording relay of tests/fuzz/make-corpus.sh (fuzz_wire's seeds).
$(BUILD)/tests/tools/wire-record: tests/tools/wire-record.c $(PROTO_C) $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CLIENT_CFLAGS) -o $@ $< $(PROTO_C) -Wno-error $(CLIENT_LIBS)

unit-tests: $(UNIT_BINS) $(FUZZERS)

# An NTLM acceptor that is not ours (gss-ntlmssp on MIT GSSAPI) for
# test_ntlm: compiled with MIT's headers and libraries only, never Heimdal's.
NTLMSSP_ACCEPTOR := $(BUILD)/tests/tools/ntlmssp-acceptor
$(NTLMSSP_ACCEPTOR): tests/tools/ntlmssp-acceptor.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(shell $(PKG_CONFIG) --cflags mit-krb5-gssapi) -o $@ $< \
		$(shell $(PKG_CONFIG) --libs mit-krb5-gssapi)

# A Kerberos/SPNEGO acceptor that is not ours for test_krb_acceptors, the
# same source on MIT and on Heimdal (each binary links one of them only).
KRB_ACCEPTORS := $(BUILD)/tests/tools/krb-acceptor-mit $(BUILD)/tests/tools/krb-acceptor-heimdal
$(BUILD)/tests/tools/krb-acceptor-mit: tests/tools/krb-acceptor.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(shell $(PKG_CONFIG) --cflags mit-krb5-gssapi) -o $@ $< \
		$(shell $(PKG_CONFIG) --libs mit-krb5-gssapi)
$(BUILD)/tests/tools/krb-acceptor-heimdal: tests/tools/krb-acceptor.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(shell $(PKG_CONFIG) --cflags heimdal-gssapi) -o $@ $< \
		$(shell $(PKG_CONFIG) --libs heimdal-gssapi)

# MIT's own ccache code writing into sssd-kcm and kernel keyrings for
# test_ccache_kcm: MIT's headers and libraries only, never Heimdal's.
MIT_CCACHE_COPY := $(BUILD)/tests/tools/mit-ccache-copy
$(MIT_CCACHE_COPY): tests/tools/mit-ccache-copy.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(shell $(PKG_CONFIG) --cflags mit-krb5) -o $@ $< \
		$(shell $(PKG_CONFIG) --libs mit-krb5)

# The free() scanner of test_secret_residue (LD_PRELOAD into the daemon and
# the client): never linked into anything.
FREESCAN := $(BUILD)/tests/tools/libfreescan.so
$(FREESCAN): tests/tools/freescan.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -fPIC -shared -o $@ $<

# The RDP-style CredSSP server the interop peers (impacket, xfreerdp) log on
# to, and the client that logs on to an impacket-based server.
CREDSSP_SERVER := $(BUILD)/tests/tools/credssp-server
$(CREDSSP_SERVER): tests/tools/credssp-server.c $(LIBSSPI_LINK) $(TEST_LIB_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -o $@ $< $(TEST_LIB_SRC) $(APP_LIBS)
CREDSSP_CLIENT := $(BUILD)/tests/tools/credssp-client
$(CREDSSP_CLIENT): tests/tools/credssp-client.c $(LIBSSPI_LINK)
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -o $@ $< $(APP_LIBS)
# The AD suite's skewed daemon: its timers go to the kernel (kerneltimers.c).
KERNELTIMERS := $(BUILD)/tests/tools/libkerneltimers.so
$(KERNELTIMERS): tests/tools/kerneltimers.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -fPIC -shared -o $@ $<
# A DIGEST-MD5 peer that is not ours (Cyrus SASL) for test_digest_sasl.
SASL_PEER := $(BUILD)/tests/tools/sasl-peer
$(SASL_PEER): tests/tools/sasl-peer.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -o $@ $< $(shell $(PKG_CONFIG) --libs libsasl2)

itests: $(ITESTS) $(WTESTS) $(ATESTS) $(ADTESTS) $(NTLMSSP_ACCEPTOR) $(KRB_ACCEPTORS) $(FREESCAN) $(MIT_CCACHE_COPY) \
	$(SASL_PEER) $(CREDSSP_SERVER) $(CREDSSP_CLIENT) $(KERNELTIMERS)

# The daemon, the library, the unit and integration tests again under the
# sanitizers SANITIZE names (default address,undefined, in build/asan; any
# other list gets its own tree). Plain `make check` runs the integration
# suite on the normal and on the sanitizer tree; `make check SANITIZE=...`
# runs everything on the sanitizer tree only; VALGRIND=1 adds a suite with
# the normal daemon under valgrind memcheck (.ci/run does that).
SANITIZE ?=
VALGRIND ?=
comma := ,
SAN_LIST := $(if $(SANITIZE),$(SANITIZE),address,undefined)
SAN_BUILD := $(if $(filter address$(comma)undefined,$(SAN_LIST)),$(BUILD)/asan,$(BUILD)/san-$(subst $(comma),-,$(SAN_LIST)))
SAN_FLAGS := -fsanitize=$(SAN_LIST) -fno-omit-frame-pointer -fno-sanitize-recover=all
CHECK_SUITES := $(if $(SANITIZE),san,normal san)$(if $(VALGRIND), valgrind)
asan:
	@$(MAKE) --no-print-directory BUILD=$(SAN_BUILD) EXTRA_CFLAGS="$(SAN_FLAGS) -O1" \
		EXTRA_LDFLAGS="$(SAN_FLAGS)" $(SAN_BUILD)/sspid $(SAN_BUILD)/libsspi.so \
		$(patsubst $(BUILD)/%,$(SAN_BUILD)/%,$(ITESTS) $(WTESTS) $(ATESTS) $(ADTESTS) $(UNIT_BINS))

# ---- the two commands of the README ----
# The demo installs what the demo needs only (install-deps demo).
demo:
	@tests/tools/install-deps demo
	@$(MAKE) --no-print-directory all
	@tests/tools/demo.sh

check: deps
	@$(MAKE) --no-print-directory all check-daemon-layout unit-tests itests asan
	@SSPID_CHECK_SUITES="$(CHECK_SUITES)" SSPID_SAN_BUILD="$(SAN_BUILD)" tests/tools/run-tests.sh

# The AD suite alone (make check runs it too): provisions a DC, ~1 minute.
check-ad:
	@tests/tools/install-deps check
	@$(MAKE) --no-print-directory all $(ADTESTS) $(KERNELTIMERS)
	@tests/ad/run.sh $(BUILD)

bench:
	@tests/tools/install-deps bench
	@$(MAKE) --no-print-directory all $(BENCHES)
	@bench/run.sh

# make soak: SOAK_CLIENTS processes looping over every package for
# SOAK_SECONDS against one daemon (tests/soak/); never part of check.
SOAK_SECONDS ?= 120
SOAK_CLIENTS ?= 200
SOAK := $(BUILD)/tests/soak/soak
$(SOAK): tests/soak/soak.c $(TEST_LIB_SRC) $(wildcard tests/lib/*.h) $(LIBSSPI_LINK)
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -o $@ $< $(TEST_LIB_SRC) $(APP_LIBS)
soak: deps
	@$(MAKE) --no-print-directory all $(SOAK)
	@tests/soak/run.sh $(SOAK) $(SOAK_CLIENTS) $(SOAK_SECONDS)

format:
	clang-format -i $(CLIENT_SRC) $(DAEMON_SRC) proto/wire.[ch] client-lib/*.h $(DAEMON_HDR)

clean:
	rm -rf $(BUILD)

# ---- install (PREFIX, DESTDIR as usual) ----
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/sspid
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
LIBSSPI_REAL := libsspi.so.1.0.0
INSTALL_FILES := $(SBINDIR)/sspid $(BINDIR)/sspictl $(LIBDIR)/$(LIBSSPI_REAL) $(LIBDIR)/libsspi.so.1 \
	$(LIBDIR)/libsspi.so $(INCLUDEDIR)/sspi/sspi.h $(INCLUDEDIR)/sspi/schannel.h $(PKGCONFIGDIR)/sspi.pc \
	$(UNITDIR)/sspid.service $(UNITDIR)/sspid.socket $(UNITDIR)/sspid-admin.socket \
	$(SYSUSERSDIR)/sspid.conf $(TMPFILESDIR)/sspid.conf $(DOCDIR)/sspid.conf.example \
	$(MANDIR)/man8/sspid.8 $(MANDIR)/man8/sspictl.8 $(MANDIR)/man5/sspid.conf.5

install: $(LIBSSPI) $(SSPID) $(SSPICTL)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/sspi \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(SSPID) $(DESTDIR)$(SBINDIR)/sspid
	install -m 0755 $(SSPICTL) $(DESTDIR)$(BINDIR)/sspictl
	install -m 0755 $(LIBSSPI) $(DESTDIR)$(LIBDIR)/$(LIBSSPI_REAL)
	ln -sf $(LIBSSPI_REAL) $(DESTDIR)$(LIBDIR)/libsspi.so.1
	ln -sf libsspi.so.1 $(DESTDIR)$(LIBDIR)/libsspi.so
	install -m 0644 client-lib/include/sspi.h client-lib/include/schannel.h $(DESTDIR)$(INCLUDEDIR)/sspi/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|^libdir=.*|libdir=$(LIBDIR)|' -e 's|^includedir=.*|includedir=$(INCLUDEDIR)/sspi|' \
		client-lib/sspi.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/sspi.pc
	for u in sspid.service sspid.socket sspid-admin.socket; do \
		sed -e 's|/usr/local/sbin/sspid|$(SBINDIR)/sspid|' systemd/$$u > $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u; done
	install -m 0644 systemd/sspid.sysusers $(DESTDIR)$(SYSUSERSDIR)/sspid.conf
	install -m 0644 systemd/sspid.tmpfiles $(DESTDIR)$(TMPFILESDIR)/sspid.conf
	install -m 0644 systemd/sspid.conf.example $(DESTDIR)$(DOCDIR)/sspid.conf.example
	install -m 0644 man/sspid.8 man/sspictl.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/sspid.conf.5 $(DESTDIR)$(MANDIR)/man5/

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALL_FILES))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/sspi $(DESTDIR)$(DOCDIR) 2>/dev/null
