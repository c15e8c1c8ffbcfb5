#!/usr/bin/env bash
# Builds grpcurl and ghz at the versions pinned in tests/tools-go/go.mod
# (checked against tests/tools-go/go.sum) from the Go module proxy:
#
#   tools/peers/build-go-tools.sh [OUTDIR]   (default build/peers/tools)
#
# Result: OUTDIR/grpcurl, OUTDIR/ghz, OUTDIR/VERSIONS, OUTDIR/.stamp.
# Idempotent: the stamp holds a hash of go.mod, go.sum and this script; when
# it matches and both programs are there, nothing is rebuilt.
# Both tools are clients only (they listen on nothing).  The module cache and
# build cache live under build/ (GOMODCACHE, GOCACHE), as for grpc-go.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/build/peers/tools}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[ -x "$GO" ] || { echo "go-tools: no Go toolchain (looked for $GO)" >&2; exit 1; }
MOD="$ROOT/tests/tools-go"

want=$(cat "$MOD/go.mod" "$MOD/go.sum" "$0" | sha256sum | cut -d' ' -f1)
if [ -x "$OUT/grpcurl" ] && [ -x "$OUT/ghz" ] && [ -f "$OUT/.stamp" ] &&
   [ "$(cat "$OUT/.stamp")" = "$want" ]; then
  echo "go-tools: up to date in $OUT" >&2
  touch "$OUT/.stamp"   # newer than go.mod/go.sum again, for make
  exit 0
fi

export GOTOOLCHAIN=local GOFLAGS="-mod=readonly -modcacherw -buildvcs=false"
export GOPATH="$ROOT/build/gopath" GOMODCACHE="$ROOT/build/gopath/pkg/mod"
export GOCACHE="$ROOT/build/gocache" CGO_ENABLED=0
cd "$MOD"

"$GO" mod download github.com/fullstorydev/grpcurl github.com/bojand/ghz
# tool path -> module path; each binary gets its module's version stamped in
# (upstream's releases set main.version the same way, with -ldflags -X).
build() { # name package module
  local name=$1 pkg=$2 mod=$3 ver
  ver=$("$GO" list -m -f '{{.Version}}' "$mod")
  [ -n "$ver" ] || { echo "go-tools: $mod is not in go.mod" >&2; exit 1; }
  echo "go-tools: building $name $ver into $OUT" >&2
  "$GO" build -trimpath -ldflags "-X main.version=$ver" -o "$OUT/$name.new" "$pkg"
  mv -f "$OUT/$name.new" "$OUT/$name"
  echo "$name $ver" >> "$OUT/VERSIONS.new"
}
rm -f "$OUT/VERSIONS.new" "$OUT/.stamp"
build grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl github.com/fullstorydev/grpcurl
build ghz github.com/bojand/ghz/cmd/ghz github.com/bojand/ghz
mv -f "$OUT/VERSIONS.new" "$OUT/VERSIONS"

# The programs run and report the pinned versions.
gv=$(awk '$1=="grpcurl"{print $2}' "$OUT/VERSIONS")
zv=$(awk '$1=="ghz"{print $2}' "$OUT/VERSIONS")
"$OUT/grpcurl" -version 2>&1 | grep -qx "grpcurl $gv" || {
  echo "go-tools: grpcurl -version does not say $gv" >&2; exit 1; }
"$OUT/ghz" --version 2>&1 | grep -qx "$zv" || {
  echo "go-tools: ghz --version does not say $zv" >&2; exit 1; }
echo "$want" > "$OUT/.stamp"
cat "$OUT/VERSIONS" >&2
