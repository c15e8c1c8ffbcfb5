# The interop matrix (issue 7): grpc's 14 standard interop cases between
# cgrpc and grpc-go (current and Debian's 1.33), grpcio and grpc-js, direct
# and through nginx, over h2c and TLS.  tests/matrix/README.md explains it.
#
#   make matrix-peers      install/build every peer (idempotent, stamped)
#   make test-matrix       run the matrix (MATRIX_ARGS="--quick" etc.)
#   make test-matrix-asan  cgrpc's rows with build/asan/ (also -tsan)
#
# Every install step is here, pinned: npm ci from the committed lock file,
# go build against the committed go.sum, Debian's packages by the script.
# cgrpc's own interop client/server are built by their own rules; a fragment
# included before this one may list them in CGRPC_INTEROP_BINS so that
# test-matrix builds them first.  Until they exist the runner skips the cgrpc
# rows and says so.

MATRIX_DIR   := build/matrix
MATRIX_PROTO := $(wildcard tests/matrix/proto/grpc/testing/*.proto)
MATRIX_GO    ?= $(or $(shell command -v go 2>/dev/null),/usr/local/go/bin/go)
MATRIX_ARGS  ?=
CGRPC_INTEROP_BINS ?=

.PHONY: matrix-peers matrix-gen test-matrix test-matrix-asan test-matrix-tsan

# Test PKI (CA + server certificate for *.test.google.fr and 127.0.0.1).
$(MATRIX_DIR)/certs/.done: tests/matrix/gen-certs.sh
	rm -rf $(MATRIX_DIR)/certs
	bash tests/matrix/gen-certs.sh $(MATRIX_DIR)/certs

# grpcio stubs, generated at build time from the project's protos.
$(MATRIX_DIR)/gen/.stamp: $(MATRIX_PROTO) $(VPY)
	rm -rf $(MATRIX_DIR)/gen
	mkdir -p $(MATRIX_DIR)/gen
	$(VPY) -m grpc_tools.protoc -Itests/matrix/proto \
	    --python_out=$(MATRIX_DIR)/gen --grpc_python_out=$(MATRIX_DIR)/gen $(MATRIX_PROTO)
	test -f $(MATRIX_DIR)/gen/grpc/testing/test_pb2_grpc.py
	touch $@

matrix-gen: $(MATRIX_DIR)/gen/.stamp

# grpc-js and proto-loader, exactly as locked.
$(MATRIX_DIR)/node/.stamp: tests/matrix/peers/node/package.json tests/matrix/peers/node/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found; run as root: apt-get install -y nodejs npm"; exit 1; }
	rm -rf $(MATRIX_DIR)/node
	mkdir -p $(MATRIX_DIR)/node
	cp tests/matrix/peers/node/package.json tests/matrix/peers/node/package-lock.json $(MATRIX_DIR)/node/
	cd $(MATRIX_DIR)/node && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	test -f $(MATRIX_DIR)/node/node_modules/@grpc/grpc-js/package.json
	touch $@

# grpc-go at the version tests/matrix/go/go.mod pins (module proxy).
build/peers/go-current/.stamp: tests/matrix/go/go.mod tests/matrix/go/go.sum tools/peers/build-grpc-go-current.sh
	GO=$(MATRIX_GO) bash tools/peers/build-grpc-go-current.sh build/peers/go-current

# grpc-go 1.33 from Debian bookworm's packages and source package.
build/peers/go-1.33/.stamp: tools/peers/build-grpc-go-debian.sh
	bash tools/peers/build-grpc-go-debian.sh build/peers/go-1.33

matrix-peers: $(MATRIX_DIR)/certs/.done $(MATRIX_DIR)/gen/.stamp $(MATRIX_DIR)/node/.stamp \
              build/peers/go-current/.stamp build/peers/go-1.33/.stamp

test-matrix: matrix-peers $(VPY) $(CGRPC_INTEROP_BINS)
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { echo "nginx not found (make deps)"; exit 1; }
	$(VPY) tests/matrix/run_matrix.py --selftest $(MATRIX_ARGS)

# cgrpc's rows again with its sanitizer builds (not part of `make test` yet;
# about 10 s each).  A sanitizer report in a server's log fails its rows.
test-matrix-asan: matrix-peers $(VPY) build/asan/bin/interop_client build/asan/bin/interop_server
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(VPY) tests/matrix/run_matrix.py --require-cgrpc --no-baseline \
	    --cgrpc-bin-dir=build/asan/bin $(MATRIX_ARGS)

test-matrix-tsan: matrix-peers $(VPY) build/tsan/bin/interop_client build/tsan/bin/interop_server
	TSAN_OPTIONS=halt_on_error=1 \
	    $(VPY) tests/matrix/run_matrix.py --require-cgrpc --no-baseline \
	    --cgrpc-bin-dir=build/tsan/bin $(MATRIX_ARGS)

# Part of `make test` (the whole available matrix passes reliably).
EXTRA_TESTS += test-matrix test-matrix-asan test-matrix-tsan
