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

# The client library sees only its own headers and the wire codec:
# no daemon/, no Heimdal, no OpenSSL (checked by check-client-deps).
CLIENT_CFLAGS := $(BASE_CFLAGS) -Iclient-lib/include -Iclient-lib -Iproto -I$(BUILD)/proto \
	$(shell $(PKG_CONFIG) --cflags libprotobuf-c 2>/dev/null) -fvisibility=hidden
CLIENT_LIBS := $(shell $(PKG_CONFIG) --libs libprotobuf-c 2>/dev/null) -lpthread
CLIENT_SRC := $(wildcard client-lib/*.c)
CLIENT_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(CLIENT_SRC)) $(BUILD)/client-lib/wire.o $(BUILD)/client-lib/sspi.pb-c.o
LIBSSPI := $(BUILD)/libsspi.so.1
LIBSSPI_LINK := $(BUILD)/libsspi.so

DAEMON_PKGS := heimdal-gssapi heimdal-krb5 libsystemd libprotobuf-c openssl
DAEMON_CFLAGS := $(BASE_CFLAGS) -Idaemon -Iclient-lib/include -Iproto -I$(BUILD)/proto \
	$(shell $(PKG_CONFIG) --cflags $(DAEMON_PKGS) 2>/dev/null)
# libheimntlm has no .pc file; it sits beside the other Heimdal libraries.
DAEMON_LIBS := $(shell $(PKG_CONFIG) --libs $(DAEMON_PKGS) 2>/dev/null) -lheimntlm -lpthread
DAEMON_SRC := $(wildcard daemon/*.c daemon/packages/*.c)
DAEMON_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(DAEMON_SRC)) $(BUILD)/daemon/wire.o $(BUILD)/daemon/sspi.pb-c.o
SSPID := $(BUILD)/sspid

# Programs linked against libsspi (examples, integration tests, benchmarks).
APP_CFLAGS := $(BASE_CFLAGS) -Iclient-lib/include -Itests/lib
APP_LIBS := -L$(BUILD) -lsspi -Wl,-rpath,$(abspath $(BUILD)) -lpthread

EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
TEST_LIB_SRC := $(wildcard tests/lib/*.c)
ITESTS := $(patsubst tests/integration/%.c,$(BUILD)/tests/integration/%,$(wildcard tests/integration/*.c))
BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
SSPICTL := $(BUILD)/sspictl

.PHONY: all deps demo check bench clean check-client-deps unit-tests itests asan format
.SUFFIXES:
.DELETE_ON_ERROR:

all: $(LIBSSPI_LINK) $(SSPID) $(BUILD)/sspi.pc $(EXAMPLES) $(SSPICTL) check-client-deps

deps:
	@tests/tools/install-deps

$(PROTO_C) $(PROTO_H): proto/sspi.proto
	@mkdir -p $(BUILD)/proto
	protoc-c --c_out=$(BUILD)/proto --proto_path=proto proto/sspi.proto

# ---- client library ----
$(BUILD)/client-lib/%.o: client-lib/%.c $(PROTO_H) $(wildcard client-lib/*.h client-lib/include/*.h proto/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CLIENT_CFLAGS) -c $< -o $@
$(BUILD)/client-lib/wire.o: proto/wire.c proto/wire.h $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CLIENT_CFLAGS) -c $< -o $@
$(BUILD)/client-lib/sspi.pb-c.o: $(PROTO_C)
	@mkdir -p $(dir $@)
	$(CC) $(CLIENT_CFLAGS) -Wno-error -c $< -o $@

$(LIBSSPI): $(CLIENT_OBJ) client-lib/libsspi.map
	$(CC) -shared -Wl,-soname,libsspi.so.1 -Wl,--version-script=client-lib/libsspi.map -Wl,--no-undefined \
		$(BASE_LDFLAGS) -o $@ $(CLIENT_OBJ) $(CLIENT_LIBS)
$(LIBSSPI_LINK): $(LIBSSPI)
	ln -sf libsspi.so.1 $@

$(BUILD)/sspi.pc: client-lib/sspi.pc.in
	sed -e 's|@PREFIX@|/usr/local|' $< > $@

# The client library must not be able to see daemon code, Heimdal or
# OpenSSL: fail the build if any of its sources depends on them.
check-client-deps: $(PROTO_H)
	@for f in $(CLIENT_SRC) proto/wire.c; do \
		deps=$$($(CC) $(CLIENT_CFLAGS) -MM $$f) || exit 1; \
		if echo "$$deps" | tr ' ' '\n' | grep -Eq '(^|/)daemon/|heimdal|openssl|gssapi|krb5'; then \
			echo "client-lib: $$f depends on daemon, Heimdal or OpenSSL code" >&2; exit 1; fi; \
	done

# ---- daemon ----
$(BUILD)/daemon/%.o: daemon/%.c $(PROTO_H) $(wildcard daemon/*.h daemon/packages/*.h client-lib/include/*.h proto/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(DAEMON_CFLAGS) -c $< -o $@
$(BUILD)/daemon/wire.o: proto/wire.c proto/wire.h $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(DAEMON_CFLAGS) -c $< -o $@
$(BUILD)/daemon/sspi.pb-c.o: $(PROTO_C)
	@mkdir -p $(dir $@)
	$(CC) $(DAEMON_CFLAGS) -Wno-error -c $< -o $@

$(SSPID): $(DAEMON_OBJ)
	$(CC) $(BASE_LDFLAGS) -o $@ $(DAEMON_OBJ) $(DAEMON_LIBS)

$(SSPICTL): $(wildcard cli/*.c)
	@mkdir -p $(BUILD)
	$(if $(wildcard cli/*.c),$(CC) $(BASE_CFLAGS) -o $@ $(wildcard cli/*.c),touch $@)

# ---- programs on libsspi ----
$(BUILD)/examples/%: examples/%.c $(LIBSSPI_LINK) $(wildcard examples/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -Iexamples -o $@ $< $(APP_LIBS)

$(BUILD)/tests/integration/%: tests/integration/%.c $(TEST_LIB_SRC) $(wildcard tests/lib/*.h) $(LIBSSPI_LINK)
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -o $@ $< $(TEST_LIB_SRC) $(APP_LIBS)

$(BUILD)/bench/%: bench/%.c $(LIBSSPI_LINK) $(TEST_LIB_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) $(shell $(PKG_CONFIG) --cflags heimdal-gssapi heimdal-krb5) -o $@ $< $(TEST_LIB_SRC) \
		$(APP_LIBS) $(shell $(PKG_CONFIG) --libs heimdal-gssapi heimdal-krb5)

# ---- unit tests (in-process, no daemon) ----
UNIT_BINS := $(BUILD)/tests/unit/test_abi $(BUILD)/tests/unit/test_wire $(BUILD)/tests/unit/test_config \
	$(BUILD)/tests/unit/test_kerberos

$(BUILD)/tests/unit/test_abi: tests/unit/test_abi.c client-lib/include/sspi.h
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -Iclient-lib/include -o $@ $<
$(BUILD)/tests/unit/test_wire: tests/unit/test_wire.c proto/wire.c $(PROTO_C)
	@mkdir -p $(dir $@)
	$(CC) $(CLIENT_CFLAGS) -Wno-error=missing-field-initializers -o $@ $< proto/wire.c $(PROTO_C) $(CLIENT_LIBS)
$(BUILD)/tests/unit/test_config: tests/unit/test_config.c daemon/config.c daemon/config.h
	@mkdir -p $(dir $@)
	$(CC) $(DAEMON_CFLAGS) -o $@ $< daemon/config.c
$(BUILD)/tests/unit/test_kerberos: tests/unit/test_kerberos.c daemon/config.c $(wildcard daemon/packages/kerberos*.c)
	@mkdir -p $(dir $@)
	$(CC) $(DAEMON_CFLAGS) -o $@ $< daemon/config.c $(wildcard daemon/packages/kerberos*.c) $(DAEMON_LIBS)

FUZZERS := $(BUILD)/fuzz/fuzz_wire
$(BUILD)/fuzz/fuzz_wire: tests/fuzz/fuzz_wire.c proto/wire.c proto/wire.h $(PROTO_C)
	@mkdir -p $(dir $@)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iproto -I$(BUILD)/proto -Iclient-lib/include \
		-o $@ $< proto/wire.c $(PROTO_C) $(CLIENT_LIBS)

unit-tests: $(UNIT_BINS) $(FUZZERS)

itests: $(ITESTS)

# The daemon, the library and the integration tests again under
# AddressSanitizer + UBSan; make check runs the integration suite on both.
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
asan:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan EXTRA_CFLAGS="$(SAN_FLAGS) -O1" \
		EXTRA_LDFLAGS="$(SAN_FLAGS)" $(BUILD)/asan/sspid $(BUILD)/asan/libsspi.so \
		$(patsubst $(BUILD)/%,$(BUILD)/asan/%,$(ITESTS)) $(BUILD)/asan/tests/unit/test_kerberos

# ---- the two commands of the README ----
demo: deps
	@$(MAKE) --no-print-directory all
	@tests/tools/demo.sh

check: deps
	@$(MAKE) --no-print-directory all unit-tests itests asan
	@tests/tools/run-tests.sh

bench: deps
	@$(MAKE) --no-print-directory all $(BENCHES)
	@bench/run.sh

format:
	clang-format -i $(CLIENT_SRC) $(DAEMON_SRC) proto/wire.[ch] client-lib/*.h daemon/*.h

clean:
	rm -rf $(BUILD)
