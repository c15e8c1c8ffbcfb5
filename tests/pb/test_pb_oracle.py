"""cgrpc_pb (capi/pb) against python protobuf, field by field, both ways:
python-made bytes decode identically in C, C-made bytes parse in python to
the expected values; plus the bad-input cases.  pb_tool is the C side."""
import math
import struct

import pytest
from google.protobuf import unknown_fields

from conftest import protoc_set
from pbdump import dump

E_PARSE = -16
E_TYPE = -17
I64_MIN, I64_MAX, U64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1
I32_MIN, I32_MAX, U32_MAX = -(1 << 31), (1 << 31) - 1, (1 << 32) - 1


def full_all(cls):
    """A pbtest.All with every field kind set, extremes included."""
    All = cls("pbtest.All")
    m = All()
    s = m.s
    s.f_double = -0.0
    s.f_float = float("inf")
    s.f_int64 = I64_MIN
    s.f_uint64 = U64_MAX
    s.f_int32 = I32_MIN
    s.f_fixed64 = U64_MAX
    s.f_fixed32 = U32_MAX
    s.f_bool = True
    s.f_string = "h\u00e9llo \u2603 \U0001F600 \x00end"
    s.f_bytes = b"\x00\xff\x80binary"
    s.f_uint32 = U32_MAX
    s.f_sfixed32 = I32_MIN
    s.f_sfixed64 = I64_MAX
    s.f_sint32 = I32_MIN
    s.f_sint64 = I64_MIN
    s.f_big = I64_MIN
    m.packed_i32.extend([0, -1, I32_MAX, I32_MIN, 300])
    m.packed_s64.extend([I64_MIN, I64_MAX, -1, 0, 1])
    m.unpacked_f.extend([1.5, float("-inf"), float("nan"), -0.0])
    m.r_str.extend(["", "a", "\u00fc\u00f1\u00ee"])
    m.r_bytes.extend([b"", b"\x00", b"\xff" * 300])
    c = m.children.add()
    c.s.f_int32 = 7
    c.children.add().opt_i32 = 0
    m.child.child.child.s.f_string = "deep"
    m.m_str_i32["one"] = 1
    m.m_str_i32[""] = -5
    m.m_str_i32["\u00e9"] = I32_MAX
    m.m_i32_point[-3].x = 4
    m.m_i32_point[9].y = -9
    m.m_i32_point[0].CopyFrom(cls("pbtest.common.Point")())
    m.m_u64_str[U64_MAX] = "max"
    m.m_u64_str[0] = ""
    m.o_point.x = 42
    m.opt_i32 = 0
    m.opt_str = ""
    m.color = 3
    m.colors.extend([0, 1, 2, 3, 77])  # 77: open enums keep unknown numbers
    m.ts.seconds = 1700000000
    m.ts.nanos = 999999999
    m.packed_d.extend([math.pi, -1e308, 5e-324, float("inf")])
    m.packed_b.extend([True, False, True])
    m.unpacked_fx.extend([0, U32_MAX, 1])
    m.nested.kind = 1
    m.nested.note = "n"
    m.m_bool_bytes[True] = b"\x01"
    m.m_bool_bytes[False] = b""
    m.m_str_color["r"] = 1
    m.m_str_color["x"] = 99
    m.packed_u64.extend([U64_MAX, 0, 1 << 63])
    m.opt_d = -0.0
    return m


def test_list_services_and_fields(tool):
    out = tool.run("list", None).stdout.decode().splitlines()
    assert "service pbtest.TestService" in out
    assert ("method ServerStream /pbtest.TestService/ServerStream pbtest.Empty "
            "pbtest.All cs=0 ss=1") in out
    assert ("method Bidi /pbtest.TestService/Bidi pbtest.All pbtest.All cs=1 ss=1") in out
    out = tool.run("list", None, set_path=None, check=True).stdout.decode()
    types = tool.run("list", None).stdout  # noqa: F841 (smoke)
    fields = [tool.exe, "list", tool.set, "pbtest.All", "pbtest.legacy.Req", "no.Such"]
    import subprocess
    lines = subprocess.run(fields, capture_output=True, check=True).stdout.decode().splitlines()
    assert "type no.Such missing" in lines
    by = {l.split()[1]: l for l in lines if l.startswith("field ")}
    assert "oneof=choice" in by["o_point"] and "presence=1" in by["o_point"]
    # proto3 optional: presence, but its synthetic oneof is not reported
    assert "oneof=-" in by["opt_i32"] and "presence=1" in by["opt_i32"]
    assert "presence=0" in by["color"] and "enum=pbtest.common.Color" in by["color"]
    assert "map=1" in by["m_i32_point"] and "msg=pbtest.All.MI32PointEntry" in by["m_i32_point"]
    assert "json=packedI32" in by["packed_i32"]
    assert "num=536870911" in [l for l in lines if "f_big" in l][0] if any(
        "f_big" in l for l in lines) else True
    assert "msg=google.protobuf.Timestamp" in by["ts"]


def test_python_to_c_full(tool, cls):
    m = full_all(cls)
    data = m.SerializeToString()
    assert tool.dump("pbtest.All", data) == dump(m)


def test_python_to_c_scalars_at_max_field_number(tool, cls):
    m = cls("pbtest.Scalars")(f_big=I64_MAX, f_int64=I64_MAX, f_uint64=1 << 63)
    data = m.SerializeToString()
    out = tool.dump("pbtest.Scalars", data)
    assert "f_big = i:%d" % I64_MAX in out
    assert "f_uint64 = u:%d" % (1 << 63) in out
    assert out == dump(m)


def test_c_to_python_full(tool, cls):
    hx = lambda s: s.encode("utf-8").hex()  # noqa: E731
    lines = [
        "s.f_double = d:-0",
        "s.f_float = f:nan",
        "s.f_int64 = i:%d" % I64_MIN,
        "s.f_uint64 = u:%d" % U64_MAX,
        "s.f_int32 = i:%d" % I32_MAX,
        "s.f_fixed64 = u:%d" % U64_MAX,
        "s.f_fixed32 = u:%d" % U32_MAX,
        "s.f_bool = b:true",
        "s.f_string = s:" + hx("\u00e9\U0001F600\x00z"),
        "s.f_bytes = y:00ff",
        "s.f_uint32 = u:%d" % U32_MAX,
        "s.f_sfixed32 = i:%d" % I32_MIN,
        "s.f_sfixed64 = i:%d" % I64_MIN,
        "s.f_sint32 = i:-1",
        "s.f_sint64 = i:%d" % I64_MAX,
        "s.f_big = i:%d" % I64_MIN,
        "packed_i32 += i:-1", "packed_i32 += i:%d" % I32_MAX, "packed_i32 += u:5",
        "packed_s64 += i:%d" % I64_MIN, "packed_s64 += i:%d" % I64_MAX,
        "unpacked_f += f:-inf", "unpacked_f += f:-0", "unpacked_f += d:0.5",
        "r_str += s:", "r_str += s:" + hx("\u2603"),
        "r_bytes += y:", "r_bytes += y:000102",
        "children += {}", "children[-1].s.f_int32 = i:11",
        "children += {}", "children[1].children += {}", "children[1].children[0].opt_i32 = i:0",
        "child.child.s.f_string = s:" + hx("deep"),
        "m_str_i32 += {}", "m_str_i32[-1].key = s:" + hx("a"), "m_str_i32[-1].value = i:1",
        "m_str_i32 += {}", "m_str_i32[-1].key = s:" + hx("b"), "m_str_i32[-1].value = i:2",
        "m_str_i32 += {}", "m_str_i32[-1].key = s:" + hx("a"), "m_str_i32[-1].value = i:3",
        "m_i32_point += {}", "m_i32_point[-1].key = i:-7", "m_i32_point[-1].value.x = i:70",
        "m_i32_point += {}", "m_i32_point[-1].key = i:8",
        "m_u64_str += {}", "m_u64_str[-1].key = u:%d" % U64_MAX, "m_u64_str[-1].value = s:" + hx("m"),
        "o_str = s:" + hx("first"), "o_i64 = i:%d" % I64_MIN,
        "opt_i32 = i:0",
        "color = e:BLUE", "colors += e:RED", "colors += e:1234",
        "ts.seconds = i:-62135596800", "ts.nanos = i:1",
        "packed_d += d:inf", "packed_d += d:-1e-300", "packed_d += d:nan",
        "packed_b += b:true", "packed_b += b:false",
        "unpacked_fx += u:%d" % U32_MAX,
        "nested.kind = e:KIND_ONE",
        "m_bool_bytes += {}", "m_bool_bytes[-1].key = b:true", "m_bool_bytes[-1].value = y:ff",
        "m_str_color += {}", "m_str_color[-1].key = s:", "m_str_color[-1].value = e:GREEN",
        "packed_u64 += u:%d" % U64_MAX,
        "opt_d = d:-0",
    ]
    data = tool.build("pbtest.All", lines)
    m = cls("pbtest.All")()
    m.ParseFromString(data)
    s = m.s
    assert math.copysign(1.0, s.f_double) == -1.0 and s.f_double == 0.0
    assert math.isnan(s.f_float)
    assert (s.f_int64, s.f_uint64, s.f_int32) == (I64_MIN, U64_MAX, I32_MAX)
    assert (s.f_fixed64, s.f_fixed32, s.f_uint32) == (U64_MAX, U32_MAX, U32_MAX)
    assert (s.f_sfixed32, s.f_sfixed64, s.f_sint32, s.f_sint64) == (I32_MIN, I64_MIN, -1, I64_MAX)
    assert s.f_big == I64_MIN and s.f_bool is True
    assert s.f_string == "\u00e9\U0001F600\x00z" and s.f_bytes == b"\x00\xff"
    assert list(m.packed_i32) == [-1, I32_MAX, 5]
    assert list(m.packed_s64) == [I64_MIN, I64_MAX]
    assert m.unpacked_f[0] == float("-inf") and math.copysign(1, m.unpacked_f[1]) == -1
    assert m.unpacked_f[2] == 0.5
    assert list(m.r_str) == ["", "\u2603"] and list(m.r_bytes) == [b"", b"\x00\x01\x02"]
    assert m.children[0].s.f_int32 == 11
    assert m.children[1].children[0].HasField("opt_i32")
    assert m.child.child.s.f_string == "deep"
    assert dict(m.m_str_i32) == {"a": 3, "b": 2}  # duplicate key: last wins
    assert m.m_i32_point[-7].x == 70 and m.m_i32_point[8].x == 0
    assert dict(m.m_u64_str) == {U64_MAX: "m"}
    assert m.WhichOneof("choice") == "o_i64" and m.o_i64 == I64_MIN
    assert m.HasField("opt_i32") and m.opt_i32 == 0 and not m.HasField("opt_str")
    assert m.color == 3 and list(m.colors) == [1, 1234]
    assert (m.ts.seconds, m.ts.nanos) == (-62135596800, 1)
    assert m.packed_d[0] == float("inf") and m.packed_d[1] == -1e-300 and math.isnan(m.packed_d[2])
    assert list(m.packed_b) == [True, False] and list(m.unpacked_fx) == [U32_MAX]
    assert m.nested.kind == 1
    assert dict(m.m_bool_bytes) == {True: b"\xff"} and dict(m.m_str_color) == {"": 2}
    assert list(m.packed_u64) == [U64_MAX]
    assert m.HasField("opt_d") and math.copysign(1, m.opt_d) == -1
    # and C reads its own bytes as python does
    assert tool.dump("pbtest.All", data) == dump(m)


def test_packed_and_unpacked_on_the_wire(tool, cls):
    data = tool.build("pbtest.All", ["packed_i32 += i:1", "packed_i32 += i:2",
                                     "unpacked_f += f:1", "unpacked_f += f:2"])
    assert bytes([0x12, 2, 1, 2]) in data  # field 2, LEN: packed
    assert data.count(bytes([0x25])) == 2  # field 4, fixed32 twice: unpacked
    # both encodings are accepted for any repeated scalar
    raw = bytes([0x10, 5, 0x10, 6]) + bytes([0x22, 8]) + struct.pack("<ff", 1.0, 2.0)
    out = tool.dump("pbtest.All", raw)
    assert "packed_i32[0] = i:5" in out and "packed_i32[1] = i:6" in out
    assert "unpacked_f[#] = 2" in out
    # proto2: unpacked by default, [packed=true] packs
    data = tool.build("pbtest.legacy.Req", ["id = i:1", "name = s:", "unpacked += i:3",
                                            "unpacked += i:4", "packed += i:3", "packed += i:4"])
    assert bytes([0x20, 3, 0x20, 4]) in data and bytes([0x2a, 2, 3, 4]) in data


@pytest.mark.parametrize("case", ["o_str", "o_i64", "o_point", "o_bytes", None])
def test_oneof_each_case(tool, cls, case):
    All = cls("pbtest.All")
    m = All()
    if case == "o_str":
        m.o_str = ""
    elif case == "o_i64":
        m.o_i64 = 0
    elif case == "o_point":
        m.o_point.SetInParent()
    elif case == "o_bytes":
        m.o_bytes = b"\x00"
    data = m.SerializeToString()
    out = tool.dump("pbtest.All", data)
    assert out == dump(m)
    back = All()
    back.ParseFromString(tool.run("reencode", "pbtest.All", data).stdout)
    assert back.WhichOneof("choice") == case


def test_oneof_last_wins_and_clear(tool, cls):
    hx = "6869"
    data = tool.build("pbtest.All", ["o_point.x = i:1", "o_str = s:" + hx, "o_bytes = y:01"])
    m = cls("pbtest.All")()
    m.ParseFromString(data)
    assert m.WhichOneof("choice") == "o_bytes" and m.o_bytes == b"\x01"
    data = tool.build("pbtest.All", ["o_str = s:" + hx, "clear o_str"])
    m.ParseFromString(data)
    assert m.WhichOneof("choice") is None
    # wire: the last member on the wire wins in C as in python
    raw = cls("pbtest.All")(o_str="a").SerializeToString() + \
        cls("pbtest.All")(o_i64=5).SerializeToString()
    m.ParseFromString(raw)
    assert tool.dump("pbtest.All", raw) == dump(m)


def test_proto3_optional_zero_vs_unset(tool, cls):
    All = cls("pbtest.All")
    unset = All().SerializeToString()
    zero = All(opt_i32=0, opt_str="").SerializeToString()
    assert tool.dump("pbtest.All", unset) == dump(All())
    out = tool.dump("pbtest.All", zero)
    assert "opt_i32 = i:0" in out and "opt_str = s:" in out
    assert "opt_i32 = i:0 [unset]" in tool.dump("pbtest.All", unset)
    m = All()
    m.ParseFromString(tool.run("reencode", "pbtest.All", zero).stdout)
    assert m.HasField("opt_i32") and m.HasField("opt_str")
    # implicit zero is not written
    assert tool.build("pbtest.All", ["color = e:0", "s.f_int32 = i:0"]) == All(s={}).SerializeToString()


def test_proto2_defaults(tool, cls):
    D = cls("pbtest.legacy.Defaults")
    out = tool.dump("pbtest.legacy.Defaults", b"")
    assert out == dump(D())
    d = D()
    assert d.d_i32 == -42 and d.d_i64 == I64_MIN and d.d_u64 == U64_MAX
    assert "d_f = f:0x7f800000 [unset]" in out
    assert "d_d = d:0xfff0000000000000 [unset]" in out
    assert "d_nan = d:nan [unset]" in out
    assert "d_bool = b:true [unset]" in out
    assert "d_str = s:%s [unset]" % "h\u00e9llo \"q\"\n".encode().hex() in out
    assert "d_bytes = y:0001ff6162635c [unset]" in out
    assert "d_level = e:10 [unset]" in out and "d_level_first = e:1 [unset]" in out
    assert "d_f_neg0 = f:0x80000000 [unset]" in out
    # explicitly set to the default value: present, and written
    data = tool.build("pbtest.legacy.Defaults", ["d_i32 = i:-42", "d_level = e:HIGH"])
    m = D()
    m.ParseFromString(data)
    assert m.HasField("d_i32") and m.HasField("d_level") and not m.HasField("d_u64")


def test_proto2_required_and_closed_enum(tool, cls):
    Req = cls("pbtest.legacy.Req")
    m = Req(id=5, name="x")
    m.child.id = 6
    m.child.name = ""
    m.level = 5
    m.p_str = "s"
    assert tool.dump("pbtest.legacy.Req", m.SerializeToString()) == dump(m)
    rc, msg = tool.error("build", "pbtest.legacy.Req", b"id = i:1\n")
    assert rc == E_PARSE and "pbtest.legacy.Req.name" in msg and "required" in msg
    rc, msg = tool.error("build", "pbtest.legacy.Req", b"id = i:1\nname = s:\nlevel = e:2\n")
    assert rc == E_TYPE and "level" in msg and "closed enum" in msg
    # nested required missing on decode
    bad = Req(id=1, name="a")
    bad.child.id = 2
    rc, msg = tool.error("dump", "pbtest.legacy.Req", bad.SerializePartialToString())
    assert rc == E_PARSE and "pbtest.legacy.Req.name" in msg


def test_unknown_fields_preserved(tool, cls):
    All = cls("pbtest.All")
    m = All(opt_i32=3)
    extra = (bytes([0xc0, 0x3e, 0x96, 0x01])          # field 1000 varint 150
             + bytes([0xca, 0x3e, 3]) + b"abc"         # field 1001 LEN
             + bytes([0xd5, 0x3e]) + b"\x01\x02\x03\x04"  # field 1002 fixed32
             + bytes([0xd9, 0x3e]) + b"12345678")     # field 1003 fixed64
    data = m.SerializeToString() + extra
    out = tool.run("reencode", "pbtest.All", data).stdout
    assert extra in out
    back = All()
    back.ParseFromString(out)
    assert back.opt_i32 == 3
    nums = sorted(f.field_number for f in unknown_fields.UnknownFieldSet(back))
    assert nums == [1000, 1001, 1002, 1003]
    # proto2 extensions arrive as unknown fields and survive
    Req = cls("pbtest.legacy.Req")
    r = Req(id=1, name="n")
    r_ext = r.SerializeToString() + bytes([0xa0, 0x06, 0x2a])  # ext_i (100) = 42
    out = tool.run("reencode", "pbtest.legacy.Req", r_ext).stdout
    assert bytes([0xa0, 0x06, 0x2a]) in out


def test_wrong_wire_type_is_unknown(tool, cls):
    # As in python protobuf: a known field sent with another wire type is
    # an unknown field, kept and written back, and the message still parses.
    Scalars = cls("pbtest.Scalars")
    odd = bytes([0x0d, 1, 2, 3, 4])  # field 1 as fixed32
    m = Scalars()
    m.ParseFromString(odd)
    py_unknown = [(f.field_number, f.wire_type) for f in unknown_fields.UnknownFieldSet(m)]
    out = tool.run("reencode", "pbtest.Scalars", odd).stdout
    assert out == odd
    back = Scalars()
    back.ParseFromString(out)
    assert [(f.field_number, f.wire_type)
            for f in unknown_fields.UnknownFieldSet(back)] == py_unknown == [(1, 5)]
    assert tool.dump("pbtest.Scalars", odd) == tool.dump("pbtest.Scalars", b"")


def test_recursion_depth(tool, cls):
    All = cls("pbtest.All")
    m = All()
    cur = m
    for _ in range(60):
        cur = cur.child
    cur.opt_i32 = 1
    data = m.SerializeToString()
    assert tool.dump("pbtest.All", data) == dump(m)
    # 150 levels by hand (python's own parser stops at 100)
    inner = b""
    for _ in range(150):
        inner = bytes([0x42]) + _varint(len(inner)) + inner
    rc, msg = tool.error("dump", "pbtest.All", inner)
    assert rc == E_PARSE and "nesting" in msg and "pbtest.All.child" in msg


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _merge_cases(All):
    def pair(fa, fb):
        a, b = All(), All()
        fa(a)
        fb(b)
        return a.SerializeToString() + b.SerializeToString()
    yield pair(lambda a: setattr(a.child, "opt_i32", 1), lambda b: setattr(b.child, "opt_str", "x"))
    yield pair(lambda a: setattr(a.child, "o_str", "s"), lambda b: setattr(b.child, "opt_str", "x"))
    yield pair(lambda a: setattr(a.child, "opt_i32", 2), lambda b: setattr(b.child, "o_i64", 4))
    yield pair(lambda a: setattr(a.child.o_point, "x", 1), lambda b: setattr(b.child.o_point, "y", 4))
    yield pair(lambda a: setattr(a.o_point, "x", 1), lambda b: setattr(b.o_point, "y", 4))
    yield pair(lambda a: a.child.children.add(), lambda b: b.child.children.add().s.SetInParent())
    yield pair(lambda a: setattr(a.o_point, "x", 1), lambda b: setattr(b, "o_str", "z"))


def test_merge_of_repeated_submessage(tool, cls):
    """A sub-message that occurs twice merges (protobuf-c 1.4.1's unpack
    gets this wrong, see capi/pb/decode.c)."""
    All = cls("pbtest.All")
    for data in _merge_cases(All):
        m = All()
        m.ParseFromString(data)
        assert tool.dump("pbtest.All", data) == dump(m)
    # required fields may arrive in different occurrences
    Req = cls("pbtest.legacy.Req")
    data = (Req(id=1, name="a", child=Req(id=2)).SerializePartialToString()
            + Req(child=Req(name="b")).SerializePartialToString())
    out = tool.dump("pbtest.legacy.Req", data)
    assert "child.id = i:2" in out and "child.name = s:62" in out
    a = All()
    a.s.f_int32 = 5
    a.s.f_string = "keep"
    b = All()
    b.s.f_int64 = 6
    a.nested.kind = 1
    b.nested.note = "n"
    data = a.SerializeToString() + b.SerializeToString()
    m = All()
    m.ParseFromString(data)
    assert tool.dump("pbtest.All", data) == dump(m)


@pytest.mark.parametrize("name,data,needle", [
    ("truncated varint", bytes([0x28, 0xff]), "truncated varint"),
    ("length past buffer", bytes([0x62, 0x10]) + b"ab", "length past the end"),
    ("truncated fixed64", bytes([0x09, 1, 2]), "truncated fixed64"),
    ("bad tag", bytes([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), "tag"),
    ("field zero", bytes([0x00, 0x01]), "invalid field number"),
    ("group", bytes([0xc3, 0x3e, 0xc4, 0x3e]), "groups are not supported"),
    ("wire type 7", bytes([0x0f]), "invalid wire type"),
    ("invalid utf8", bytes([0x4a, 2, 0xc3, 0x28]), "invalid UTF-8"),
    ("overlong utf8", bytes([0x4a, 2, 0xc0, 0x80]), "invalid UTF-8"),
    ("surrogate utf8", bytes([0x4a, 3, 0xed, 0xa0, 0x80]), "invalid UTF-8"),
])
def test_bad_input(tool, name, data, needle):
    rc, msg = tool.error("dump", "pbtest.Scalars", data)
    assert rc == E_PARSE, (name, msg)
    assert needle in msg, (name, msg)
    assert "offset" in msg, (name, msg)


def test_bad_input_nested(tool):
    # invalid UTF-8 inside a map key inside All: the entry type is named
    entry = bytes([0x0a, 1, 0xff, 0x10, 1])
    rc, msg = tool.error("dump", "pbtest.All", bytes([0x4a, len(entry)]) + entry)
    assert rc == E_PARSE and "MStrI32Entry.key" in msg and "UTF-8" in msg
    # a packed varint cut short
    rc, msg = tool.error("dump", "pbtest.All", bytes([0x12, 2, 0x81, 0x81]))
    assert rc == E_PARSE and "packed_i32" in msg and "offset 2" in msg


def test_packed_bool_long_varint(tool, cls):
    data = bytes([0xb2, 0x01, 3, 0x81, 0x00, 0x00])  # packed_b: true, false
    m = cls("pbtest.All")()
    m.ParseFromString(data)
    assert list(m.packed_b) == [True, False]
    assert tool.dump("pbtest.All", data) == dump(m)


def test_type_errors_on_set(tool):
    cases = [
        ("s.f_int32 = i:%d" % (I32_MAX + 1), "f_int32"),
        ("s.f_uint32 = i:-1", "f_uint32"),
        ("s.f_uint64 = i:-1", "f_uint64"),
        ("s.f_int64 = u:%d" % (I64_MAX + 1), "f_int64"),
        ("s.f_bool = i:1", "f_bool"),
        ("s.f_string = s:c328", "UTF-8"),
        ("s.f_int32 = s:00", "f_int32"),
        ("s.f_float = d:1e300", "f_float"),
        ("s.f_int32 = d:1.5", "f_int32"),
    ]
    for line, needle in cases:
        rc, msg = tool.error("build", "pbtest.All", line.encode() + b"\n")
        assert rc == E_TYPE and needle in msg, (line, msg)
    # conversions that fit are fine
    out = tool.dump("pbtest.Scalars", tool.build("pbtest.Scalars", [
        "f_int32 = u:7", "f_uint64 = i:9", "f_double = i:%d" % I64_MAX, "f_int64 = d:-3"]))
    assert "f_int32 = i:7" in out and "f_uint64 = u:9" in out and "f_int64 = i:-3" in out
    # an enum name the enum does not have
    p = tool.run("build", "pbtest.All", b"color = e:PURPLE\n", check=False)
    assert p.returncode == 2 and b"no value named PURPLE" in p.stdout


def test_bad_sets(tool, tmp_path):
    from google.protobuf import descriptor_pb2 as d
    rc, msg = tool.error("list", set_path=_write(tmp_path, "garbage.pb", b"\x0a\x05\x0a"))
    assert rc == E_PARSE and "offset" in msg
    # missing dependency: drop common.proto from the set
    fds = d.FileDescriptorSet()
    fds.ParseFromString(open(tool.set, "rb").read())
    keep = [f for f in fds.file if f.name != "pbtest/common.proto"]
    missing = d.FileDescriptorSet(file=keep)
    rc, msg = tool.error("list", set_path=_write(tmp_path, "m.pb", missing.SerializeToString()))
    assert rc == E_PARSE and "pbtest/common.proto" in msg
    # unresolved type name
    f = d.FileDescriptorSet()
    fp = f.file.add(name="x.proto", package="x", syntax="proto3")
    mt = fp.message_type.add(name="M")
    mt.field.add(name="a", number=1, type=d.FieldDescriptorProto.TYPE_MESSAGE,
                 type_name=".x.Nope", label=1)
    rc, msg = tool.error("list", set_path=_write(tmp_path, "u.pb", f.SerializeToString()))
    assert rc == E_PARSE and "x.M.a" in msg and "unresolved" in msg
    # duplicate names
    f = d.FileDescriptorSet()
    fp = f.file.add(name="y.proto", package="y")
    fp.message_type.add(name="M")
    fp.enum_type.add(name="M").value.add(name="Z", number=0)
    rc, msg = tool.error("list", set_path=_write(tmp_path, "dup.pb", f.SerializeToString()))
    assert rc == E_PARSE and "y.M" in msg and "twice" in msg
    # duplicate field numbers
    f = d.FileDescriptorSet()
    mt = f.file.add(name="z.proto", package="z").message_type.add(name="M")
    mt.field.add(name="a", number=3, type=5, label=1)
    mt.field.add(name="b", number=3, type=5, label=1)
    rc, msg = tool.error("list", set_path=_write(tmp_path, "dn.pb", f.SerializeToString()))
    assert rc == E_PARSE and "z.M" in msg and "number 3" in msg
    # a set nested past the depth limit (nested_type in nested_type ...)
    deep = d.DescriptorProto(name="D0")
    cur = deep
    for i in range(120):
        cur = cur.nested_type.add(name="D%d" % (i + 1))
    f = d.FileDescriptorSet()
    f.file.add(name="deep.proto").message_type.add().CopyFrom(deep)
    rc, msg = tool.error("list", set_path=_write(tmp_path, "deep.pb", f.SerializeToString()))
    assert rc == E_PARSE and "nesting" in msg


def test_groups_rejected(tool):
    path = protoc_set("groups.pb", "pbtest/groups.proto")
    rc, msg = tool.error("list", set_path=path)
    assert rc == E_PARSE and "groups are not supported" in msg and "WithGroup" in msg


def _write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)
