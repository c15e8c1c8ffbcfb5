#!/usr/bin/env bash
# Builds grpc-go 1.33's interop client and server from Debian bookworm's own
# packages, as an older peer for the interop matrix (tests/matrix).
#
#   tools/peers/build-grpc-go-debian.sh [OUTDIR]     (default build/peers/go-1.33)
#
# Debian ships the grpc-go library (golang-google-grpc-dev) but leaves the
# interop/ directory out of the binary package; it is in the source package.
# So this script
#   1. installs (as root, when missing) Debian's Go 1.19 toolchain under its
#      versioned name (golang-1.19-go: no /usr/bin/go, so the machine's own
#      `go` stays what it was), golang-google-grpc-dev and the protoc plugins
#      Debian itself uses to generate grpc-go's code;
#   2. fetches golang-google-grpc's source package with `apt-get source`
#      (apt checks it against the signed .dsc), adding a deb-src entry for
#      Debian's own archive when apt has none;
#   3. lays a GOPATH in OUTDIR/gopath: a copy of Debian's grpc tree plus
#      interop/ from the source, its .pb.go regenerated with Debian's plugins
#      (so it matches the installed protobuf runtime, as Debian's build does);
#   4. adds one flag to the interop server, --bind_host (default 127.0.0.1):
#      upstream listens on all interfaces;
#   5. builds OUTDIR/interop_client and OUTDIR/interop_server in GOPATH mode,
#      offline (GOPROXY=off).
# Idempotent: OUTDIR/.stamp records the inputs; a rerun with the same inputs
# does nothing.  SKIP_APT=1 never touches apt.
set -euo pipefail

OUT=${1:-build/peers/go-1.33}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
VER=1.33.3
GO=/usr/lib/go-1.19/bin/go
GOCODE=/usr/share/gocode
PKGS=(golang-1.19-go golang-google-grpc-dev protobuf-compiler protoc-gen-go-1-3
      protoc-gen-go-grpc xz-utils dpkg-dev)

say() { printf 'go-1.33: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
src_known() { apt-cache showsrc golang-google-grpc 2>/dev/null | grep -q "^Version: $VER-"; }

have_tarball() { ls "$OUT"/debsrc/golang-google-grpc_"$VER".orig.tar.* >/dev/null 2>&1; }

if [ "${SKIP_APT:-0}" != 1 ]; then
  need=()
  for p in "${PKGS[@]}"; do installed "$p" || need+=("$p"); done
  if [ ${#need[@]} -gt 0 ] || { ! have_tarball && ! src_known; }; then
    [ "$(id -u)" -eq 0 ] || die "run as root, or: apt-get install ${need[*]} and add a deb-src line"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq -o DPkg::Lock::Timeout=300
    if ! have_tarball && ! src_known; then
      # A deb-src twin of the machine's first Debian "deb" entry.
      list=/etc/apt/sources.list.d/debian.sources
      [ -f "$list" ] || die "no $list to derive a deb-src entry from"
      awk 'BEGIN{RS="";ORS="\n\n"} /(^|\n)Types: deb(\n|$)/ && !done {sub(/Types: deb/,"Types: deb-src"); print; done=1}' \
        "$list" > /etc/apt/sources.list.d/cgrpc-peers-src.sources
      say "added deb-src entry /etc/apt/sources.list.d/cgrpc-peers-src.sources"
      apt-get update -qq -o DPkg::Lock::Timeout=300
      src_known || die "apt has no source for golang-google-grpc $VER"
    fi
    if [ ${#need[@]} -gt 0 ]; then
      say "installing ${need[*]}"
      apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${need[@]}"
    fi
  fi
fi

[ -x "$GO" ] || die "$GO missing (Debian package golang-1.19-go)"
[ -d "$GOCODE/src/google.golang.org/grpc" ] || die "golang-google-grpc-dev missing"
command -v protoc >/dev/null || die "protoc missing"
[ -x /usr/bin/protoc-gen-go ] && [ -x /usr/bin/protoc-gen-go-grpc ] || die "protoc plugins missing"
debver=$(dpkg-query -W -f='${Version}' golang-google-grpc-dev)
case "$debver" in "$VER"-*) ;; *) die "golang-google-grpc-dev is $debver, want $VER-*";; esac

self_sum=$(sha256sum "$0" | cut -d' ' -f1)
want_stamp="$debver $self_sum $($GO version)"
if [ -f "$OUT/.stamp" ] && [ "$(cat "$OUT/.stamp")" = "$want_stamp" ] \
   && [ -x "$OUT/interop_client" ] && [ -x "$OUT/interop_server" ]; then
  say "up to date ($OUT)"; exit 0
fi

# ---- source
SRC="$OUT/debsrc"
mkdir -p "$SRC"
tarball=$(ls "$SRC"/golang-google-grpc_"$VER".orig.tar.* 2>/dev/null | head -n1 || true)
if [ -z "$tarball" ]; then
  say "apt-get source golang-google-grpc=$debver"
  (cd "$SRC" && apt-get source -qq --download-only "golang-google-grpc=$debver") >&2
  tarball=$(ls "$SRC"/golang-google-grpc_"$VER".orig.tar.* 2>/dev/null | head -n1 || true)
  [ -n "$tarball" ] || die "source download failed"
fi

# ---- GOPATH
GP="$OUT/gopath"
rm -rf "$GP"
G="$GP/src/google.golang.org/grpc"
mkdir -p "$(dirname "$G")"
cp -a "$GOCODE/src/google.golang.org/grpc" "$G"
chmod -R u+w "$G"
tar -xf "$tarball" -C "$G" --strip-components=1 "golang-google-grpc-$VER/interop"
# Parts that need packages Debian lacks; not built here.
rm -rf "$G/interop/xds" "$G/interop/alts" "$G/interop/grpclb_fallback" \
       "$G/interop/fake_grpclb" "$G/interop/http2"

find "$G/interop" -name '*.pb.go' -delete
gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT
(cd "$G" && protoc --plugin=protoc-gen-go=/usr/bin/protoc-gen-go \
   --plugin=protoc-gen-go-grpc=/usr/bin/protoc-gen-go-grpc \
   --go_out="$gen" --go-grpc_out="$gen" -I. interop/grpc_testing/test.proto)
cp -R "$gen"/google.golang.org/grpc/. "$G"/

# ---- the loopback patch
srv="$G/interop/server/server.go"
grep -q 'net.Listen("tcp", ":"+p)' "$srv" || die "server.go listen line not found; patch needs updating"
sed -i -e 's|net.Listen("tcp", ":"+p)|net.Listen("tcp", net.JoinHostPort(*bindHost, p))|' "$srv"
sed -i -e '/^\tport *= flag.Int("port"/a\
\tbindHost = flag.String("bind_host", "127.0.0.1", "address to listen on (cgrpc patch; upstream listens on all interfaces)")' "$srv"
grep -q 'JoinHostPort(\*bindHost, p)' "$srv" && grep -q 'bindHost = flag.String' "$srv" \
  || die "bind_host patch did not apply"

# ---- build
export GO111MODULE=off GOPROXY=off GOFLAGS= GOSUMDB=off GOTOOLCHAIN=local CGO_ENABLED=0
export GOPATH="$GP:$GOCODE" GOCACHE="$OUT/gocache"
cd "$G"
for prog in client server; do
  say "go build interop/$prog"
  "$GO" build -o "$OUT/interop_$prog.new" "google.golang.org/grpc/interop/$prog"
  mv -f "$OUT/interop_$prog.new" "$OUT/interop_$prog"
done
"$OUT/interop_server" -help 2>&1 | grep -q -- -bind_host || die "built server lacks --bind_host"
printf '%s\n' "$want_stamp" > "$OUT/.stamp"
say "built $OUT/interop_client $OUT/interop_server"
