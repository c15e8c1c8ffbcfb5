# cgrpc build.  `make demo` runs the example; `make test` builds and runs
# every test (C under plain, ASan+UBSan and TSan builds, then interop with
# grpcio).  Both install what is missing first (tools/install-deps.sh).

CC      ?= cc
PYTHON  ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
SONAME  := libcgrpc.so.0
LIBVER  := 0.1.0

WARN    := -Wall -Wextra -Werror -Wno-unused-parameter
BASE_CFLAGS := -std=c11 -g -fPIC -pthread -D_GNU_SOURCE $(WARN) \
               -Icapi/include -Icapi/src
OPT_CFLAGS  := -O2
ASAN_CFLAGS := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined
TSAN_CFLAGS := -O1 -fno-omit-frame-pointer -fsanitize=thread

LIBS    := -lnghttp2 -lssl -lcrypto -lprotobuf-c -lm -pthread
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt)

SRCS    := $(wildcard capi/src/*.c)
HDRS    := $(wildcard capi/src/*.h) capi/include/cgrpc.h

# The protobuf layer (capi/pb/, public header cgrpc_pb.h): protobuf-c with
# descriptors built at run time.  descriptor.proto is compiled by protoc-c
# under a private package name, so that its symbols (cgrpc_pbi__*) cannot
# clash with a program's own copy of protobuf-c's descriptor code.
PB_SRCS := $(wildcard capi/pb/*.c)
PB_HDRS := $(wildcard capi/pb/*.h) $(wildcard capi/include/cgrpc_*.h)
PB_GEN  := build/gen/cgrpc_descriptor.pb-c.c
PB_CFLAGS := -Icapi/pb -Ibuild/gen
DESCRIPTOR_PROTO ?= /usr/include/google/protobuf/descriptor.proto

build/gen/cgrpc_descriptor.proto: $(DESCRIPTOR_PROTO)
	@mkdir -p $(dir $@)
	sed -e 's/^package google\.protobuf;/package cgrpc_pbi;/' $< > $@
	@grep -q '^package cgrpc_pbi;' $@

build/gen/cgrpc_descriptor.pb-c.c build/gen/cgrpc_descriptor.pb-c.h: build/gen/cgrpc_descriptor.proto
	protoc-c -Ibuild/gen --c_out=build/gen build/gen/cgrpc_descriptor.proto

LIB_OBJS = $(patsubst capi/src/%.c,$(1)/obj/%.o,$(SRCS)) \
           $(patsubst capi/pb/%.c,$(1)/obj/pb/%.o,$(PB_SRCS)) \
           $(1)/obj/gen/cgrpc_descriptor.pb-c.o
TEST_SRCS := $(wildcard tests/c/*.c)
TEST_HDRS := $(wildcard tests/c/*.h)

# Variant builds: build/ (optimised), build/asan/, build/tsan/.
define variant
$(1)/obj/%.o: capi/src/%.c $(HDRS)
	@mkdir -p $$(dir $$@)
	@echo "  CC      $$@"
	@$$(CC) $$(BASE_CFLAGS) $(2) -fvisibility=hidden -c $$< -o $$@

$(1)/obj/pb/%.o: capi/pb/%.c $(HDRS) $(PB_HDRS) build/gen/cgrpc_descriptor.pb-c.h
	@mkdir -p $$(dir $$@)
	@echo "  CC      $$@"
	@$$(CC) $$(BASE_CFLAGS) $$(PB_CFLAGS) $(2) -fvisibility=hidden -c $$< -o $$@

$(1)/obj/gen/%.o: build/gen/%.c build/gen/%.h
	@mkdir -p $$(dir $$@)
	@echo "  CC      $$@"
	@$$(CC) -std=c11 -g -fPIC -O2 -Ibuild/gen $(2) -fvisibility=hidden -c $$< -o $$@

$(1)/libcgrpc.a: $(call LIB_OBJS,$(1))
	@rm -f $$@
	@echo "  AR      $$@"
	@ar rcs $$@ $$^

$(1)/bin/cgrpc_tests: $(TEST_SRCS) $(TEST_HDRS) tests/tools/echo_service.h $(1)/libcgrpc.a
	@mkdir -p $$(dir $$@)
	@echo "  LD      $$@"
	@$$(CC) $$(BASE_CFLAGS) $(2) -Itests/c -Itests/tools $(TEST_SRCS) $(1)/libcgrpc.a \
	    $$(CHECK_LIBS) $$(LIBS) $(3) -o $$@

$(1)/bin/%: tests/tools/%.c tests/tools/echo_service.h $(1)/libcgrpc.a
	@mkdir -p $$(dir $$@)
	@echo "  LD      $$@"
	@$$(CC) $$(BASE_CFLAGS) $(2) -Itests/tools $$< $(1)/libcgrpc.a $$(LIBS) $(3) -o $$@
endef

$(eval $(call variant,build,$(OPT_CFLAGS),))
$(eval $(call variant,build/asan,$(ASAN_CFLAGS),$(ASAN_CFLAGS)))
$(eval $(call variant,build/tsan,$(TSAN_CFLAGS),$(TSAN_CFLAGS)))

build/$(SONAME): $(call LIB_OBJS,build) capi/cgrpc.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=capi/cgrpc.map \
	    -Wl,-z,defs -o build/libcgrpc.so.$(LIBVER) \
	    $(filter %.o,$^) $(LIBS)
	ln -sf libcgrpc.so.$(LIBVER) build/$(SONAME)
	ln -sf $(SONAME) build/libcgrpc.so

TOOLS := echo_server echo_client
EXAMPLES := demo_server demo_client

.PHONY: all lib deps venv test test-c test-asan test-tsan test-header \
        test-interop test-exports test-python python-ext demo bench bench-python \
        clean test-lua test-lua-asan test-lua-tsan lua-ext lua-bench

all: lib build/bin/echo_server

lib: build/$(SONAME) build/libcgrpc.a

deps:
	@bash tools/install-deps.sh

$(VPY): tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --disable-pip-version-check -r tests/requirements.txt
	@touch $(VPY)

venv: $(VPY)

# The public header must stand alone under strict C99 and as C++.
test-header:
	for h in capi/include/*.h; do \
	  $(CC) -std=c99 -pedantic -Wall -Wextra -Werror -Icapi/include -fsyntax-only -x c $$h || exit 1; \
	  printf '#include "%s"\nint main(void){return 0;}\n' $$(basename $$h) | \
	    $(CXX) -x c++ -Wall -Wextra -Werror -Icapi/include -fsyntax-only - || exit 1; \
	done

# Only cgrpc_* may be exported from the shared library.
test-exports: build/$(SONAME)
	@bad=$$(nm -D --defined-only build/$(SONAME) | awk '{print $$3}' | grep -v '^cgrpc_' | grep -v '^CGRPC_' || true); \
	if [ -n "$$bad" ]; then echo "unexpected exports: $$bad"; exit 1; fi; \
	echo "exports: $$(nm -D --defined-only build/$(SONAME) | grep -c ' T cgrpc_') cgrpc_* functions, nothing else"

# The C suites start grpcio peers with the venv's python.
TEST_ENV := CK_FORK=no CGRPC_TEST_PYTHON=$(CURDIR)/$(VPY) CGRPC_SOURCE_DIR=$(CURDIR) \
            CGRPC_TEST_CERTS=$(CURDIR)/build/test-certs

test-c: build/bin/cgrpc_tests $(VPY) build/test-certs/.done
	$(TEST_ENV) build/bin/cgrpc_tests

test-asan: build/asan/bin/cgrpc_tests $(VPY) build/test-certs/.done
	$(TEST_ENV) ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 build/asan/bin/cgrpc_tests

test-tsan: build/tsan/bin/cgrpc_tests $(VPY) build/test-certs/.done
	$(TEST_ENV) TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	    build/tsan/bin/cgrpc_tests

test-interop: build/bin/echo_server $(VPY) build/test-certs/.done
	CGRPC_ECHO_SERVER=$(CURDIR)/build/bin/echo_server \
	CGRPC_TEST_CERTS=$(CURDIR)/build/test-certs \
	    $(VPY) -m pytest -q tests/interop

# The Python extension, built in place into python/cgrpc/ (SWIG from the venv).
PYEXT_STAMP := build/python-ext.stamp
$(PYEXT_STAMP): $(SRCS) $(HDRS) $(PB_SRCS) $(PB_HDRS) $(PB_GEN) bindings/cgrpc.i \
                bindings/pydict.c bindings/pydict.h setup.py $(VPY)
	@mkdir -p build
	$(VPY) setup.py -q build_ext --inplace 2>&1 | grep -v "calls to avoid build errors" || true
	@test -f python/cgrpc/core.py
	@touch $@

python-ext: $(PYEXT_STAMP)

test-python: $(PYEXT_STAMP) build/bin/echo_server build/test-certs/.done
	CGRPC_ECHO_SERVER=$(CURDIR)/build/bin/echo_server \
	CGRPC_TEST_CERTS=$(CURDIR)/build/test-certs PYTHONPATH=$(CURDIR)/python \
	    $(VPY) -m pytest -q tests/python

test: deps
	$(MAKE) test-header test-exports test-c test-asan test-tsan test-interop \
	    test-python test-lua test-lua-asan test-lua-tsan $(EXTRA_TESTS)

demo: deps lib build/bin/demo_server build/bin/demo_client
	@bash examples/run-demo.sh

# build/bin/demo_server and demo_client: capi/codegen/codegen.mk (they use
# the generated stubs).

# Test PKI, made fresh at build time (nothing secret is committed).
build/test-certs/.done: tests/tls/gen-certs.sh
	rm -rf build/test-certs
	bash tests/tls/gen-certs.sh build/test-certs

# Unary echo benchmark (bench/README.md): cgrpc and grpcio clients against
# cgrpc and grpcio servers, over h2c and TLS, then h2load.  About 5 minutes;
# `make bench BENCH_ARGS=--quick` for a smoke run (about 45 s).
build/bin/unary_bench: bench/unary_bench.c capi/include/cgrpc.h build/libcgrpc.a
	@mkdir -p build/bin
	$(CC) -std=c11 -O2 -pthread -D_GNU_SOURCE $(WARN) -Icapi/include \
	    $< build/libcgrpc.a $(LIBS) -o $@

bench: deps lib build/bin/echo_server build/bin/unary_bench $(VPY) build/test-certs/.done
	bash bench/run.sh $(BENCH_ARGS)

# Python binding benchmark (issue 4): cgrpc vs grpcio, unary client,
# server streaming, and a Python-handler server under h2load.
bench-python: deps build/bin/echo_server $(PYEXT_STAMP) $(VPY)
	$(VPY) bench/python_bench.py $(BENCH_ARGS)

clean:
	rm -rf build

# The Lua binding's rules (lua-ext, test-lua), when present.
-include lua/lua.mk
# Each fragment adds its rules and appends its test targets to EXTRA_TESTS:
# the protobuf layer, the protoc plugin, the interop client and server in
# C and through the bindings, and the interop matrix against real peers.
-include capi/pb/pb.mk
-include capi/codegen/codegen.mk
# interop.mk sets CGRPC_INTEROP_BINS, which matrix.mk reads: keep it first.
-include interop/interop.mk
-include interop/bindings.mk
-include tests/matrix/matrix.mk
# grpcurl and ghz against the cgrpc server.
-include tests/tools-go/tools.mk
# Protobuf layer benchmark (make bench-pb).
-include bench/pb_bench.mk
