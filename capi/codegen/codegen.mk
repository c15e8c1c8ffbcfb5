# protoc-gen-cgrpc (typed C stubs over protoc-c messages), the demo built
# on it, and its tests.  Included by the top-level Makefile.
#
#   make build/bin/protoc-gen-cgrpc   the plugin
#   make test-codegen                 plugin checks + C test vs grpcio and cgrpc
#   make test-codegen-asan / -tsan    the same under ASan+UBSan / TSan
#
# Everything generated goes under build/gen/; nothing generated is committed.

PROTOC      ?= protoc
PROTOC_C    ?= protoc-c
# Debian's libprotobuf-dev puts plugin.proto and descriptor.proto here.
PROTO_INC   ?= /usr/include
CG_GEN      := build/gen/codegen
CG_PLUGIN_PB := $(CG_GEN)/google/protobuf/compiler/plugin.pb-c.c \
                $(CG_GEN)/google/protobuf/descriptor.pb-c.c
CG_SRCS     := $(wildcard capi/codegen/*.c)
CG_HDRS     := $(wildcard capi/codegen/*.h)
PLUGIN      := build/bin/protoc-gen-cgrpc

# The plugin parses its request with its own protoc-c copy of plugin.proto
# and descriptor.proto (it does not link libcgrpc, so no name clash with
# the library's renamed descriptor code).
$(CG_PLUGIN_PB) $(CG_PLUGIN_PB:.c=.h) &: $(PROTO_INC)/google/protobuf/compiler/plugin.proto \
                                        $(PROTO_INC)/google/protobuf/descriptor.proto
	@mkdir -p $(CG_GEN)
	$(PROTOC_C) -I$(PROTO_INC) --c_out=$(CG_GEN) \
	    google/protobuf/compiler/plugin.proto google/protobuf/descriptor.proto

define cg_plugin
$(1)/bin/protoc-gen-cgrpc: $(CG_SRCS) $(CG_HDRS) $(CG_PLUGIN_PB)
	@mkdir -p $$(dir $$@)
	@echo "  LD      $$@"
	@$$(CC) -std=c11 -g $(2) -D_GNU_SOURCE $$(WARN) -Icapi/codegen -I$(CG_GEN) \
	    $(CG_SRCS) $(CG_PLUGIN_PB) -lprotobuf-c $(2) -o $$@
endef
$(eval $(call cg_plugin,build,-O2))
$(eval $(call cg_plugin,build/asan,$(ASAN_CFLAGS)))

# protoc with both generators: x.pb-c.[ch] and x.cgrpc.[ch] in $(2) for
# the .proto $(1) under include dir $(3).
CG_PROTOC = $(PROTOC) --plugin=protoc-gen-cgrpc=$(PLUGIN) -I$(3) \
            --c_out=$(2) --cgrpc_out=$(2) $(1)

# ---- the demo (make demo) ----
EX_GEN   := build/gen/examples
EX_PROTOS := helloworld route_guide
EX_GEN_C := $(foreach p,$(EX_PROTOS),$(EX_GEN)/$(p).pb-c.c $(EX_GEN)/$(p).cgrpc.c)

$(EX_GEN)/%.pb-c.c $(EX_GEN)/%.pb-c.h $(EX_GEN)/%.cgrpc.c $(EX_GEN)/%.cgrpc.h &: \
    examples/protos/%.proto $(PLUGIN)
	@mkdir -p $(EX_GEN)
	$(call CG_PROTOC,$<,$(EX_GEN),examples/protos)

# These explicit rules take precedence over the top-level demo_% pattern.
build/bin/demo_server build/bin/demo_client: build/bin/demo_%: examples/demo_%.c \
    examples/demo_world.h $(EX_GEN_C) build/libcgrpc.a
	@mkdir -p build/bin
	$(CC) $(BASE_CFLAGS) $(OPT_CFLAGS) -Iexamples -I$(EX_GEN) $< $(EX_GEN_C) \
	    build/libcgrpc.a $(LIBS) -o $@

# ---- tests ----
CGT_GEN  := build/gen/codegen_test
CGT_PY   := build/gen/codegen_test_py
CGT_GEN_C := $(CGT_GEN)/codegen_test.pb-c.c $(CGT_GEN)/codegen_test.cgrpc.c

$(CGT_GEN)/codegen_test.pb-c.c $(CGT_GEN)/codegen_test.pb-c.h \
$(CGT_GEN)/codegen_test.cgrpc.c $(CGT_GEN)/codegen_test.cgrpc.h &: \
    tests/codegen/codegen_test.proto $(PLUGIN)
	@mkdir -p $(CGT_GEN)
	$(call CG_PROTOC,$<,$(CGT_GEN),tests/codegen)

# grpcio's messages for the Python peer (its handlers are generic), made
# at test time.
$(CGT_PY)/codegen_test_pb2.py: tests/codegen/codegen_test.proto $(VPY)
	@mkdir -p $(CGT_PY)
	$(VPY) -m grpc_tools.protoc -Itests/codegen --python_out=$(CGT_PY) $<

define cg_test
$(1)/bin/codegen_tests: tests/codegen/test_codegen.c $(CGT_GEN_C) $(1)/libcgrpc.a
	@mkdir -p $$(dir $$@)
	@echo "  LD      $$@"
	@$$(CC) $$(BASE_CFLAGS) $(2) -I$(CGT_GEN) tests/codegen/test_codegen.c \
	    $(CGT_GEN_C) $(1)/libcgrpc.a $$(LIBS) $(2) -o $$@
endef
$(eval $(call cg_test,build,$(OPT_CFLAGS)))
$(eval $(call cg_test,build/asan,$(ASAN_CFLAGS)))
$(eval $(call cg_test,build/tsan,$(TSAN_CFLAGS)))

CGT_ENV := CGRPC_TEST_PYTHON=$(CURDIR)/$(VPY) \
           CGRPC_CODEGEN_PEER=$(CURDIR)/tests/codegen/grpcio_peer.py \
           CGRPC_CODEGEN_PYPATH=$(CURDIR)/$(CGT_PY)

.PHONY: test-codegen test-codegen-asan test-codegen-tsan test-codegen-plugin

# The plugin on bad input: protoc errors, never crashes (also under ASan).
test-codegen-plugin: $(PLUGIN) build/asan/bin/protoc-gen-cgrpc
	bash tests/codegen/plugin_checks.sh $(CURDIR)/$(PLUGIN)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    bash tests/codegen/plugin_checks.sh $(CURDIR)/build/asan/bin/protoc-gen-cgrpc

test-codegen: test-codegen-plugin build/bin/codegen_tests $(CGT_PY)/codegen_test_pb2.py
	$(CGT_ENV) build/bin/codegen_tests

test-codegen-asan: build/asan/bin/codegen_tests $(CGT_PY)/codegen_test_pb2.py
	$(CGT_ENV) ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 build/asan/bin/codegen_tests

test-codegen-tsan: build/tsan/bin/codegen_tests $(CGT_PY)/codegen_test_pb2.py
	$(CGT_ENV) TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	    build/tsan/bin/codegen_tests

EXTRA_TESTS += test-codegen test-codegen-asan test-codegen-tsan
