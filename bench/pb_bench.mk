# Protobuf layer benchmark (bench/README.md, "Protobuf layer"): encode and
# decode throughput of cgrpc's dynamic layer (cgrpc_pb.h), protobuf-c
# generated code, Python protobuf (upb) and the dict paths of the Python
# binding and of protobuf's json_format, on the same bytes.  About 90 s.
#   make bench-pb                              # R=5 runs of 0.5 s per cell
#   make bench-pb PB_BENCH_ARGS="--repeats 1"  # smoke run
# Included from the top-level Makefile (uses CC, WARN, LIBS, VPY,
# PYEXT_STAMP from it).

PB_BENCH_DIR   := build/bench/pb
PB_BENCH_PROTO := bench/protos/pb_bench.proto

# Descriptor set for the dynamic layers, with grpc_tools' protoc (the venv's).
$(PB_BENCH_DIR)/pb_bench.pb: $(PB_BENCH_PROTO) $(VPY)
	@mkdir -p $(dir $@)
	$(VPY) -m grpc_tools.protoc -Ibench/protos --include_imports -o $@ $(PB_BENCH_PROTO)

# protobuf-c generated code for the same schema.
$(PB_BENCH_DIR)/pb_bench.pb-c.c $(PB_BENCH_DIR)/pb_bench.pb-c.h: $(PB_BENCH_PROTO)
	@mkdir -p $(PB_BENCH_DIR)
	protoc-c -Ibench/protos --c_out=$(PB_BENCH_DIR) $(PB_BENCH_PROTO)

# Generated code is compiled without -Werror (its warnings are not ours).
$(PB_BENCH_DIR)/pb_bench.pb-c.o: $(PB_BENCH_DIR)/pb_bench.pb-c.c $(PB_BENCH_DIR)/pb_bench.pb-c.h
	$(CC) -std=c11 -O2 -I$(PB_BENCH_DIR) -c $< -o $@

build/bin/pb_bench: bench/pb_bench.c $(PB_BENCH_DIR)/pb_bench.pb-c.o \
                    capi/include/cgrpc.h capi/include/cgrpc_pb.h build/libcgrpc.a
	@mkdir -p build/bin
	$(CC) -std=c11 -O2 -pthread -D_GNU_SOURCE $(WARN) -Icapi/include -I$(PB_BENCH_DIR) \
	    bench/pb_bench.c $(PB_BENCH_DIR)/pb_bench.pb-c.o build/libcgrpc.a $(LIBS) -o $@

.PHONY: bench-pb
bench-pb: build/bin/pb_bench $(PB_BENCH_DIR)/pb_bench.pb $(PYEXT_STAMP) $(VPY)
	PYTHONPATH=$(CURDIR)/python $(VPY) bench/pb_bench.py \
	    --bin build/bin/pb_bench --set $(PB_BENCH_DIR)/pb_bench.pb \
	    --proto $(PB_BENCH_PROTO) --out $(PB_BENCH_DIR) $(PB_BENCH_ARGS)
