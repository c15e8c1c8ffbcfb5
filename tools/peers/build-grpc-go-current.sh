#!/usr/bin/env bash
# Builds grpc-go's interop client and server at the version pinned in
# tests/matrix/go/go.mod (checked against go.sum) from the Go module proxy:
#
#   tools/peers/build-grpc-go-current.sh [OUTDIR]   (default build/peers/go-current)
#
# Upstream's interop server listens on ":PORT" (all interfaces) and has no
# flag to change that.  The server is built from a copy of the module with
# one flag added to its server.go, --bind_host (default 127.0.0.1); nothing
# else differs.
# Module cache and build cache live under build/ (GOMODCACHE, GOCACHE).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/build/peers/go-current}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[ -x "$GO" ] || { echo "go-current: no Go toolchain (looked for $GO)" >&2; exit 1; }

export GOTOOLCHAIN=local GOFLAGS="-mod=readonly -modcacherw -buildvcs=false"
export GOPATH="$ROOT/build/gopath" GOMODCACHE="$ROOT/build/gopath/pkg/mod"
export GOCACHE="$ROOT/build/gocache" CGO_ENABLED=0
cd "$ROOT/tests/matrix/go"

"$GO" mod download google.golang.org/grpc
dir=$("$GO" list -m -f '{{.Dir}}' google.golang.org/grpc)
ver=$("$GO" list -m -f '{{.Version}}' google.golang.org/grpc)
[ -f "$dir/interop/server/server.go" ] || { echo "go-current: $dir has no interop server" >&2; exit 1; }

# A writable copy of the pinned grpc module (verified against go.sum when
# it was downloaded) with the patched server.go, used through a generated
# go.mod (-modfile) that adds one replace line; the committed go.mod and the
# module cache stay as they are.
src="$OUT/grpc-src"
rm -rf "$src"
cp -a "$dir" "$src"
chmod -R u+w "$src"
srv="$src/interop/server/server.go"
sed -i -e 's|net.Listen("tcp", ":"+p)|net.Listen("tcp", net.JoinHostPort(*bindHost, p))|' \
    -e '/^\tport *= flag.Int("port"/a\
\tbindHost = flag.String("bind_host", "127.0.0.1", "address to listen on (cgrpc patch; upstream listens on all interfaces)")' \
    "$srv"
grep -q 'JoinHostPort(\*bindHost, p)' "$srv" && grep -q 'bindHost = flag.String' "$srv" || {
  echo "go-current: bind_host patch did not apply to grpc $ver server.go" >&2; exit 1; }
cp go.mod "$OUT/server.mod"
cp go.sum "$OUT/server.sum"
printf '\nreplace google.golang.org/grpc %s => %s\n' "$ver" "$src" >> "$OUT/server.mod"

echo "go-current: building grpc-go $ver interop client and server into $OUT" >&2
"$GO" build -o "$OUT/interop_client.new" google.golang.org/grpc/interop/client
"$GO" build -modfile "$OUT/server.mod" -o "$OUT/interop_server.new" google.golang.org/grpc/interop/server
mv -f "$OUT/interop_client.new" "$OUT/interop_client"
mv -f "$OUT/interop_server.new" "$OUT/interop_server"
echo "$ver" > "$OUT/VERSION"
"$OUT/interop_server" -help 2>&1 | grep -q -- '-bind_host' || { echo "go-current: built server lacks --bind_host" >&2; exit 1; }
touch "$OUT/.stamp"
