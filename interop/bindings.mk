# grpc's interop client through the Python and Lua bindings (issue 7).
#
#   make build/interop/grpc_testing.pb   the grpc.testing descriptor set the
#                                        clients load (dynamic stubs)
#   make test-interop-bindings           interop/python/interop_client.py and
#       interop/lua/interop_client.lua (also on the ASan+UBSan build of the
#       Lua module) x {cgrpc, grpcio} interop servers x {h2c, TLS}: all 14
#       cases each, plus a self-test (the grpcio server's deliberate faults
#       fail exactly the cases that depend on them; usage errors exit 2; no
#       server fails every case).  About 10 s.
#   INTEROP_BINDINGS_ARGS="--servers=cgrpc,grpcio,go-current,go-1.33"  also
#       runs against the grpc-go servers (make matrix-peers builds them).
#
# Run a client by hand (after make python-ext lua-ext build/interop/grpc_testing.pb):
#   PYTHONPATH=python .venv/bin/python interop/python/interop_client.py \
#       --server_host=127.0.0.1 --server_port=N --test_case=all
#   LUA_PATH='lua/?.lua;;' LUA_CPATH='build/lua/?.so;;' lua5.4 \
#       interop/lua/interop_client.lua --server_host=127.0.0.1 --server_port=N --test_case=all
#
# Included by the top-level Makefile after lua/lua.mk and interop/interop.mk
# (it names PYEXT_STAMP, LUA_SO and build/bin/interop_server as
# prerequisites); build/matrix/gen/.stamp (the grpcio server's stubs) comes
# from tests/matrix/matrix.mk.

INTEROP_PB_SET      := build/interop/grpc_testing.pb
INTEROP_PB_PROTOS   := $(addprefix tests/matrix/proto/grpc/testing/,empty.proto messages.proto test.proto)
INTEROP_BINDINGS_ARGS ?= --servers=cgrpc,grpcio

$(INTEROP_PB_SET): $(INTEROP_PB_PROTOS) $(VPY)
	@mkdir -p $(dir $@)
	$(VPY) -m grpc_tools.protoc --include_imports -o $@ -I tests/matrix/proto grpc/testing/test.proto

.PHONY: test-interop-bindings
test-interop-bindings: $(INTEROP_PB_SET) $(PYEXT_STAMP) $(LUA_SO) build/lua-asan/cgrpc/core.so \
                       build/bin/interop_server build/test-certs/.done build/matrix/gen/.stamp $(VPY)
	$(VPY) interop/python/run_interop_bindings.py --certs=build/test-certs \
	    --descriptor_set=$(INTEROP_PB_SET) --python=$(VPY) --lua=$(LUA) \
	    --clients=python,lua,lua-asan --asan_runtime=$$($(CC) -print-file-name=libasan.so) \
	    --selftest $(INTEROP_BINDINGS_ARGS)

EXTRA_TESTS += test-interop-bindings
