# grpcurl and ghz against cgrpc's interop server (h2c and TLS).
#
#   make go-tools        build grpcurl and ghz into build/peers/tools (pinned by
#                        tests/tools-go/go.mod + go.sum; idempotent, stamped)
#   make test-go-tools   run tests/tools-go/test_go_tools.py (a few seconds);
#                        prints ghz's req/s from build/tools-go/ghz-rates.txt
#
# Both tools come from the Go module proxy through the committed go.sum
# (tools/peers/build-go-tools.sh); the descriptor set they read is generated
# from tests/matrix/proto at test time.

GO_TOOLS_DIR := build/peers/tools
GO_TOOLS_GO  ?= $(or $(shell command -v go 2>/dev/null),/usr/local/go/bin/go)

.PHONY: go-tools test-go-tools

$(GO_TOOLS_DIR)/.stamp: tests/tools-go/go.mod tests/tools-go/go.sum tools/peers/build-go-tools.sh
	GO=$(GO_TOOLS_GO) bash tools/peers/build-go-tools.sh $(GO_TOOLS_DIR)

go-tools: $(GO_TOOLS_DIR)/.stamp

test-go-tools: go-tools build/bin/interop_server build/test-certs/.done $(VPY)
	@rm -f build/tools-go/ghz-rates.txt
	CGRPC_GO_TOOLS_DIR=$(CURDIR)/$(GO_TOOLS_DIR) \
	CGRPC_TEST_CERTS=$(CURDIR)/build/test-certs \
	CGRPC_INTEROP_SERVER=$(CURDIR)/build/bin/interop_server \
	    $(VPY) -m pytest -q -p no:cacheprovider tests/tools-go/test_go_tools.py
	@echo "ghz against build/bin/interop_server (UnaryCall unless noted):"
	@cat build/tools-go/ghz-rates.txt

EXTRA_TESTS += test-go-tools
