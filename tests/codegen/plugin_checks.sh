#!/usr/bin/env bash
# protoc-gen-cgrpc on input it must refuse: each case must make protoc fail
# with the plugin's own error message (a CodeGeneratorResponse error), and
# input that is not a CodeGeneratorRequest must give exit status 1, never a
# crash.  Usage: plugin_checks.sh /abs/path/to/protoc-gen-cgrpc
set -uo pipefail
plugin=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/cgrpc-plugin.XXXXXX")
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0

# expect_error NAME PATTERN PROTO_TEXT [OUT_OPTION]
expect_error() {
  local name=$1 pattern=$2 text=$3 out=${4:-$dir/out}
  mkdir -p "$dir/out"
  printf '%s\n' "$text" > "$dir/$name.proto"
  local err
  err=$(cd "$dir" && protoc --plugin=protoc-gen-cgrpc="$plugin" -I. \
        --cgrpc_out="$out" "$name.proto" 2>&1)
  local rc=$?
  if [ $rc -ne 0 ] && grep -q -- "$pattern" <<<"$err" && ! grep -qi "signal\|abort\|sanitizer" <<<"$err"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); echo "FAIL $name: rc $rc: $err"
  fi
}

expect_error clash "generated name .*get_x.* is used twice" '
syntax = "proto3"; package p; message M {}
service S { rpc GetX(M) returns (M); rpc Get_x(M) returns (M); }'

expect_error suffix "is used twice" '
syntax = "proto3"; package p; message M {}
service S { rpc Foo(stream M) returns (M); rpc FooStart(M) returns (M); }'

expect_error param "takes no options" '
syntax = "proto3"; package p; message M {}
service S { rpc A(M) returns (M); }' "bogus=1:$dir/out"

expect_error pbcopts "pb_c_file" '
syntax = "proto3"; package p;
import "protobuf-c/protobuf-c.proto";
option (pb_c_file).c_package = "renamed";
message M {}
service S { rpc A(M) returns (M); }'

# A good file still works with the same plugin.
mkdir -p "$dir/good"
printf '%s\n' 'syntax = "proto3"; package p.q; message M { string s = 1; }
service S { rpc Ping(M) returns (M); rpc Up(stream M) returns (stream M); }' > "$dir/good.proto"
if (cd "$dir" && protoc --plugin=protoc-gen-cgrpc="$plugin" -I. --c_out=good \
      --cgrpc_out=good good.proto) &&
   cc -std=c99 -pedantic -Wall -Wextra -Werror -Wno-unused-parameter \
      -I"$(dirname "$0")/../../capi/include" -I"$dir/good" -c "$dir/good/good.cgrpc.c" \
      -o "$dir/good.o"; then
  pass=$((pass + 1))
else
  fail=$((fail + 1)); echo "FAIL good: did not generate or compile"
fi

# Not a CodeGeneratorRequest: exit status 1 and a message, no crash.
head -c 64 /dev/urandom | tr '\000' '\377' > "$dir/noise"
printf '\x0a\xff\xff\xff' >> "$dir/noise"
"$plugin" < "$dir/noise" > /dev/null 2> "$dir/noise.err"
rc=$?
if [ $rc -eq 1 ] && grep -q "not a CodeGeneratorRequest" "$dir/noise.err"; then
  pass=$((pass + 1))
else
  fail=$((fail + 1)); echo "FAIL noise: rc $rc: $(cat "$dir/noise.err")"
fi

echo "plugin checks: $pass passed, $fail failed"
[ $fail -eq 0 ]
