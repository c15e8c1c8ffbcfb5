# The dynamic protobuf layer's tests (included by the top-level Makefile;
# the library rules for capi/pb/*.c are in the Makefile itself).
#
#   make test-pb          pytest oracle round trips against python protobuf
#                         (tests/pb), through build/asan/bin/pb_tool
#   make fuzz-pb-smoke    each libFuzzer target for PB_SMOKE_SECONDS (20)
#   make fuzz-pb          each target for FUZZ_SECONDS (600)
#
# The Check suite (tests/c/test_pb.c) runs in test-c / test-asan / test-tsan.
# Descriptor sets, seed corpora and fuzz binaries are generated under
# build/pb and build/fuzz; nothing generated is committed.

PB_TEST_DIR  := build/pb
PB_TEST_SET  := $(PB_TEST_DIR)/set.pb
PB_PROTOS    := $(wildcard tests/pb/proto/pbtest/*.proto)
PB_TOOL_SRC  := tests/pb/pb_tool.c
FUZZ_CC      ?= clang-14
FUZZ_SECONDS ?= 600
PB_SMOKE_SECONDS ?= 20
FUZZ_DIR     := build/fuzz
FUZZ_FLAGS   := -std=c11 -g -O1 -D_GNU_SOURCE -DCG_PB_FUZZING \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                -Icapi/include -Icapi/src -Icapi/pb -Ibuild/gen
FUZZ_LIB_SRCS = $(SRCS) $(PB_SRCS) $(PB_GEN)
PB_LIB_DEPS  := $(SRCS) $(PB_SRCS) $(HDRS) $(PB_HDRS) $(PB_GEN)

# The test schema as a descriptor set (grpc_tools ships protoc and the WKTs).
$(PB_TEST_SET): $(PB_PROTOS) $(VPY)
	@mkdir -p $(PB_TEST_DIR)
	$(VPY) -m grpc_tools.protoc -Itests/pb/proto \
	    -I$$($(VPY) -c 'import grpc_tools,os;print(os.path.join(os.path.dirname(grpc_tools.__file__),"_proto"))') \
	    --include_imports -o $@ tests/pb/proto/pbtest/all3.proto tests/pb/proto/pbtest/legacy.proto

build/bin/pb_tool: $(PB_TOOL_SRC) capi/include/cgrpc_pb.h build/libcgrpc.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(BASE_CFLAGS) $(OPT_CFLAGS) $< build/libcgrpc.a $(LIBS) -o $@

build/asan/bin/pb_tool: $(PB_TOOL_SRC) capi/include/cgrpc_pb.h build/asan/libcgrpc.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(BASE_CFLAGS) $(ASAN_CFLAGS) $< build/asan/libcgrpc.a $(LIBS) $(ASAN_CFLAGS) -o $@

test-pb: build/bin/pb_tool build/asan/bin/pb_tool $(PB_TEST_SET) $(VPY)
	CGRPC_PB_TOOL=$(CURDIR)/build/asan/bin/pb_tool CGRPC_PB_SET=$(CURDIR)/$(PB_TEST_SET) \
	CGRPC_SOURCE_DIR=$(CURDIR) \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(VPY) -m pytest -q tests/pb

# libFuzzer targets, compiled straight from the library sources.
$(FUZZ_DIR)/%: tests/fuzz/%.c $(PB_LIB_DEPS)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	@$(FUZZ_CC) $(FUZZ_FLAGS) $< $(FUZZ_LIB_SRCS) $(LIBS) -o $@

# Seeds: messages and sets written by python protobuf from the test schema.
$(FUZZ_DIR)/seeds.stamp: tests/fuzz/make_pb_seeds.py $(PB_TEST_SET) $(VPY)
	@mkdir -p $(FUZZ_DIR)
	$(VPY) tests/fuzz/make_pb_seeds.py $(PB_TEST_SET) $(FUZZ_DIR)
	@touch $@

FUZZ_PB_TARGETS := fuzz_pb_decode fuzz_pb_pool

# run_fuzz(target, seconds): a fresh working corpus seeded each run.
define run_fuzz
	@mkdir -p $(FUZZ_DIR)/corpus_$(1)
	cp -n $(FUZZ_DIR)/seeds_$(1)/* $(FUZZ_DIR)/corpus_$(1)/ 2>/dev/null || true
	CGRPC_PB_FUZZ_SET=$(CURDIR)/$(PB_TEST_SET) ASAN_OPTIONS=detect_leaks=1 \
	    $(FUZZ_DIR)/$(1) -max_total_time=$(2) -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/crash_$(1)_ \
	    $(FUZZ_DIR)/corpus_$(1) 2>&1 | tail -n 12
	@test -z "$$(ls $(FUZZ_DIR)/crash_$(1)_* 2>/dev/null)" || \
	    { echo "fuzz: $(1) found a crash: $$(ls $(FUZZ_DIR)/crash_$(1)_*)"; exit 1; }
endef

fuzz-pb-build: $(addprefix $(FUZZ_DIR)/,$(FUZZ_PB_TARGETS)) $(FUZZ_DIR)/seeds.stamp

fuzz-pb-smoke: fuzz-pb-build
	$(call run_fuzz,fuzz_pb_decode,$(PB_SMOKE_SECONDS))
	$(call run_fuzz,fuzz_pb_pool,$(PB_SMOKE_SECONDS))

fuzz-pb: fuzz-pb-build
	$(call run_fuzz,fuzz_pb_decode,$(FUZZ_SECONDS))
	$(call run_fuzz,fuzz_pb_pool,$(FUZZ_SECONDS))

.PHONY: test-pb fuzz-pb fuzz-pb-smoke fuzz-pb-build
EXTRA_TESTS += test-pb fuzz-pb-smoke
