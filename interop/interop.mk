# grpc's standard interop server and client in C (issue 7), on the typed
# stubs protoc-gen-cgrpc makes from tests/matrix/proto/grpc/testing/.
#
#   make build/bin/interop_server build/bin/interop_client
#   make build/asan/bin/interop_server ...   (also build/tsan/)
#   make test-interop-c     our client against our server: all 14 cases,
#                           h2c and TLS, plain, ASan+UBSan and TSan builds
#
# Include it anywhere before tests/matrix/matrix.mk, which reads
# CGRPC_INTEROP_BINS; it names its own variables and reads the Makefile's
# flags only in recipes, so its place among the other fragments does not
# matter.  Nothing generated is committed: the messages and stubs go to
# build/gen/interop/ at build time.

INTEROP_PROTOC   ?= protoc
INTEROP_PLUGIN   := build/bin/protoc-gen-cgrpc
INTEROP_PROTO_IN := tests/matrix/proto
INTEROP_PROTOS   := grpc/testing/empty.proto grpc/testing/messages.proto \
                    grpc/testing/test.proto
INTEROP_GEN      := build/gen/interop
INTEROP_GEN_C    := $(addprefix $(INTEROP_GEN)/grpc/testing/,empty.pb-c.c \
                    messages.pb-c.c test.pb-c.c test.cgrpc.c)
INTEROP_GEN_H    := $(INTEROP_GEN_C:.c=.h)
INTEROP_COMMON   := interop/c/flags.c interop/c/common.c
INTEROP_HDRS     := $(wildcard interop/c/*.h)
INTEROP_SERVER_SRCS := interop/c/interop_server.c interop/c/test_service.c
INTEROP_CLIENT_SRCS := interop/c/interop_client.c interop/c/cases.c
INTEROP_CFLAGS   := -Iinterop/c -I$(INTEROP_GEN)

$(INTEROP_GEN_C) $(INTEROP_GEN_H) &: $(addprefix $(INTEROP_PROTO_IN)/,$(INTEROP_PROTOS)) \
                                     $(INTEROP_PLUGIN)
	@rm -rf $(INTEROP_GEN)
	@mkdir -p $(INTEROP_GEN)
	$(INTEROP_PROTOC) --plugin=protoc-gen-cgrpc=$(INTEROP_PLUGIN) \
	    -I$(INTEROP_PROTO_IN) --c_out=$(INTEROP_GEN) --cgrpc_out=$(INTEROP_GEN) \
	    $(INTEROP_PROTOS)

# $(1): build dir, $(2): name of the variable holding its extra flags
# (read when the recipe runs, so this file may come before the Makefile's
# own definitions).
define interop_variant
$(1)/bin/interop_server: $(INTEROP_SERVER_SRCS) $(INTEROP_COMMON) $(INTEROP_HDRS) \
                         $(INTEROP_GEN_C) $(INTEROP_GEN_H) $(1)/libcgrpc.a
	@mkdir -p $$(dir $$@)
	@echo "  LD      $$@"
	@$$(CC) $$(BASE_CFLAGS) $$($(2)) $(INTEROP_CFLAGS) $(INTEROP_SERVER_SRCS) \
	    $(INTEROP_COMMON) $(INTEROP_GEN_C) $(1)/libcgrpc.a $$(LIBS) $$($(2)) -o $$@

$(1)/bin/interop_client: $(INTEROP_CLIENT_SRCS) $(INTEROP_COMMON) $(INTEROP_HDRS) \
                         $(INTEROP_GEN_C) $(INTEROP_GEN_H) $(1)/libcgrpc.a
	@mkdir -p $$(dir $$@)
	@echo "  LD      $$@"
	@$$(CC) $$(BASE_CFLAGS) $$($(2)) $(INTEROP_CFLAGS) $(INTEROP_CLIENT_SRCS) \
	    $(INTEROP_COMMON) $(INTEROP_GEN_C) $(1)/libcgrpc.a $$(LIBS) $$($(2)) -o $$@
endef
$(eval $(call interop_variant,build,OPT_CFLAGS))
$(eval $(call interop_variant,build/asan,ASAN_CFLAGS))
$(eval $(call interop_variant,build/tsan,TSAN_CFLAGS))

INTEROP_BINS = $(foreach d,build build/asan build/tsan,$(d)/bin/interop_server $(d)/bin/interop_client)
CGRPC_INTEROP_BINS += build/bin/interop_client build/bin/interop_server

.PHONY: interop test-interop-c
interop: build/bin/interop_server build/bin/interop_client

test-interop-c: $(INTEROP_BINS) build/test-certs/.done
	bash interop/test-interop-c.sh build/test-certs build build/asan build/tsan

EXTRA_TESTS += test-interop-c
