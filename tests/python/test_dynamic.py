"""Dynamic stubs: dict messages from a descriptor set (cgrpc.load_descriptor_set).

The descriptor set is compiled at test time from protos/dynamic_test.proto
with grpc_tools.protoc.  Peers: a grpcio server whose messages are
protobuf's own run-time classes (dynamic_grpcio_server.py), the cgrpc
Python server with a dict servicer, and the C echo server (bytes echo).
"""

import subprocess
import sys
import threading
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

import cgrpc
from port_process import PortProcess

HERE = Path(__file__).resolve().parent
PROTO_DIR = HERE / "protos"
INT64_MIN, INT64_MAX, UINT64_MAX = -2 ** 63, 2 ** 63 - 1, 2 ** 64 - 1
TYPE = "cgrpc.test.Everything"


def _protoc(out, include_imports=True):
    argv = [sys.executable, "-m", "grpc_tools.protoc", "-I", str(PROTO_DIR), "-o", str(out),
            str(PROTO_DIR / "dynamic_test.proto")]
    if include_imports:
        argv.insert(3, "--include_imports")
    res = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, "protoc failed: %s" % res.stderr
    return out.read_bytes()


@pytest.fixture(scope="session")
def set_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("dynamic") / "dynamic_test.pb"
    _protoc(path)
    return path


@pytest.fixture(scope="session")
def pool(set_path):
    return cgrpc.load_descriptor_set(set_path.read_bytes())


@pytest.fixture(scope="session")
def pb_class(set_path):
    """protobuf's own message class for Everything (the reference codec)."""
    fds = descriptor_pb2.FileDescriptorSet.FromString(set_path.read_bytes())
    p = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        p.Add(fd)
    return message_factory.GetMessageClass(p.FindMessageTypeByName(TYPE))


@pytest.fixture(scope="session")
def grpcio_dyn(set_path):
    proc = PortProcess([sys.executable, HERE / "dynamic_grpcio_server.py", set_path],
                       "dynamic_grpcio_server")
    yield proc.target
    proc.stop()


class DictServicer:
    """cgrpc.test.Dyn over dicts (the contract in dynamic_test.proto)."""

    def Unary(self, request, context):
        if request.get("text") == "fail":
            context.abort(cgrpc.StatusCode.NOT_FOUND, "no such thing")
        if request.get("text") == "bad reply":
            return {"i64": "not a number"}
        return request

    def Split(self, request, context):
        for i, tag in enumerate(request.get("tags", [])):
            yield {"text": tag, "i64": i}

    def Collect(self, request_iterator, context):
        texts, total = [], 0
        for m in request_iterator:
            texts.append(m.get("text", ""))
            total += m.get("i64", 0)
        return {"tags": texts, "i64": total}

    def Chat(self, request_iterator, context):
        for m in request_iterator:
            yield m


@pytest.fixture(scope="session")
def dyn_server(pool):
    srv = cgrpc.server(max_workers=16)
    pool.add_servicer_to_server(DictServicer(), srv, "cgrpc.test.Dyn")
    port = srv.add_insecure_port("127.0.0.1:0")
    assert port > 0
    srv.start()
    yield "127.0.0.1:%d" % port
    assert srv.stop(0).wait(10)


FULL = {
    "text": "héllo", "blob": b"\x00\xff\x01", "i32": -7, "i64": INT64_MIN, "u32": 2 ** 32 - 1,
    "u64": UINT64_MAX, "s32": -(2 ** 31), "s64": INT64_MAX, "f32": 4000000000,
    "f64": 2 ** 64 - 2, "sf32": -5, "sf64": -(2 ** 62), "dbl": 0.1, "flt": 0.1, "flag": True,
    "color": "GREEN", "inner": {"label": "in", "values": [1, -2, 2 ** 31 - 1],
                                "child": {"label": "deeper"}},
    "tags": ["a", "", "c"], "items": [{"label": "x"}, {}, {"values": [3]}],
    "counts": {"a": INT64_MAX, "b": -1}, "by_id": {-3: {"label": "neg"}, 7: {}},
    "sub": {"label": "oneof"}, "maybe": 0, "colors": ["RED", "COLOR_UNSPECIFIED", "GREEN"],
    "samples": [1.5, -0.0, 1e308], "flags": {True: "yes", False: "no"},
    "blobs": {UINT64_MAX: b"\x00", 0: b""}, "when": {"seconds": 1700000000, "nanos": 5},
}


def test_lists_services_and_methods(pool):
    assert pool.services() == ["cgrpc.test.Echo", "cgrpc.test.Dyn"]
    ms = pool.methods("cgrpc.test.Dyn")
    assert [(m.name, m.kind) for m in ms] == [
        ("Unary", "unary"), ("Split", "server_streaming"), ("Collect", "client_streaming"),
        ("Chat", "bidi_streaming")]
    assert ms[1].path == "/cgrpc.test.Dyn/Split"
    assert (ms[1].input, ms[1].output) == (TYPE, TYPE)
    assert pool.has_type("cgrpc.test.Inner") and not pool.has_type("cgrpc.test.Nope")
    with pytest.raises(ValueError):
        pool.methods("cgrpc.test.Nope")


def test_bad_descriptor_sets_raise(tmp_path):
    for data in (b"\xff\xff\xff", b"\x0a\x05\x0a\x01"):
        with pytest.raises(cgrpc.ProtobufError):
            cgrpc.load_descriptor_set(data)
    # Without --include_imports, google/protobuf/timestamp.proto is missing.
    missing = _protoc(tmp_path / "no_imports.pb", include_imports=False)
    with pytest.raises(cgrpc.ProtobufError) as info:
        cgrpc.load_descriptor_set(missing)
    assert str(info.value)
    with pytest.raises(TypeError):
        cgrpc.load_descriptor_set("a str is not bytes")


def test_round_trip_every_kind(pool):
    out = pool.decode(TYPE, pool.encode(TYPE, FULL))
    expected = dict(FULL, flt=0.1, samples=[1.5, -0.0, 1e308])
    assert out == expected
    # exact 64-bit integers
    assert out["i64"] == INT64_MIN and out["u64"] == UINT64_MAX and out["s64"] == INT64_MAX
    assert type(out["i64"]) is int


def test_unset_oneof_optional_and_enum_numbers(pool):
    assert pool.decode(TYPE, pool.encode(TYPE, {})) == {}
    # proto3 implicit zero values are not written; optional zero is
    assert pool.decode(TYPE, pool.encode(TYPE, {"i64": 0, "text": "", "maybe": 0})) == {"maybe": 0}
    # only the last-set oneof member survives... set one at a time
    assert pool.decode(TYPE, pool.encode(TYPE, {"number": 0})) == {"number": 0}
    assert pool.decode(TYPE, pool.encode(TYPE, {"name": "n"})) == {"name": "n"}
    # enums by number come back by name; undeclared numbers as numbers
    out = pool.decode(TYPE, pool.encode(TYPE, {"color": 1, "colors": [2, 99, -1]}))
    assert out == {"color": "RED", "colors": ["GREEN", 99, -1]}
    # JSON names are accepted on input; None means unset
    assert pool.decode(TYPE, pool.encode(TYPE, {"byId": {1: {}}, "text": None})) == \
        {"by_id": {1: {}}}
    # bytearray and memoryview are bytes
    assert pool.decode(TYPE, pool.encode(TYPE, {"blob": bytearray(b"ab")}))["blob"] == b"ab"
    assert pool.decode(TYPE, pool.encode(TYPE, {"blob": memoryview(b"cd")}))["blob"] == b"cd"


def test_same_bytes_as_protobuf(pool, pb_class):
    # cgrpc's encoding parses with protobuf's runtime to the same values...
    msg = pb_class.FromString(pool.encode(TYPE, FULL))
    assert msg.i64 == INT64_MIN and msg.u64 == UINT64_MAX and msg.f64 == 2 ** 64 - 2
    assert msg.text == "héllo" and msg.blob == b"\x00\xff\x01"
    assert msg.WhichOneof("choice") == "sub" and msg.sub.label == "oneof"
    assert msg.HasField("maybe") and msg.maybe == 0
    assert dict(msg.counts) == {"a": INT64_MAX, "b": -1}
    assert msg.by_id[-3].label == "neg" and msg.blobs[UINT64_MAX] == b"\x00"
    assert list(msg.colors) == [1, 0, 2] and msg.when.seconds == 1700000000
    # ...and protobuf's encoding decodes to the same dict
    theirs = pool.decode(TYPE, msg.SerializeToString())
    assert theirs == pool.decode(TYPE, pool.encode(TYPE, FULL))
    as_json = json_format.MessageToDict(msg, preserving_proto_field_name=True)
    assert as_json["inner"]["values"] == [1, -2, 2 ** 31 - 1]


WRONG = [
    ({"text": {"a": 1}}, "cgrpc.test.Everything.text: expected str, got dict"),
    ({"text": 5}, "cgrpc.test.Everything.text: expected str, got int"),
    ({"i64": "5"}, "cgrpc.test.Everything.i64: expected int64, got str"),
    ({"i32": True}, "cgrpc.test.Everything.i32: expected int32, got bool"),
    ({"i32": 2 ** 31}, "cgrpc.test.Everything.i32: value out of range"),
    ({"u32": -1}, "cgrpc.test.Everything.u32: value out of range"),
    ({"u64": -1}, "cgrpc.test.Everything.u64: value out of range"),
    ({"u64": 2 ** 64}, "cgrpc.test.Everything.u64: value out of range"),
    ({"i64": 2 ** 63}, "cgrpc.test.Everything.i64: value out of range"),
    ({"i64": 1.5}, "cgrpc.test.Everything.i64: expected int64, got float"),
    ({"dbl": "x"}, "cgrpc.test.Everything.dbl: expected float, got str"),
    ({"flag": 1}, "cgrpc.test.Everything.flag: expected bool, got int"),
    ({"blob": "str"}, "cgrpc.test.Everything.blob: expected bytes, got str"),
    ({"color": "PURPLE"}, "cgrpc.test.Everything.color: PURPLE is not a value of enum"),
    ({"color": 2 ** 40}, "cgrpc.test.Everything.color: value out of range"),
    ({"inner": [1]}, "cgrpc.test.Everything.inner: expected dict (message), got list"),
    ({"inner": {"values": [1, "2"]}}, "cgrpc.test.Inner.values[1]: expected int32, got str"),
    ({"inner": {"nope": 1}}, "cgrpc.test.Inner: no field named 'nope'"),
    ({"tags": "abc"}, "cgrpc.test.Everything.tags: expected list, got str"),
    ({"items": [{}, 3]}, "cgrpc.test.Everything.items[1]: expected dict (message), got int"),
    ({"counts": [1]}, "cgrpc.test.Everything.counts: expected dict (map), got list"),
    ({"counts": {1: 2}}, "cgrpc.test.Everything.counts[1] (key): expected str, got int"),
    ({"counts": {"a": "b"}}, "cgrpc.test.Everything.counts['a']: expected int64, got str"),
    ({"by_id": {"x": {}}}, "cgrpc.test.Everything.by_id['x'] (key): expected int32, got str"),
    ({"flags": {1: "x"}}, "cgrpc.test.Everything.flags[1] (key): expected bool, got int"),
    ({"text": "\ud800"}, "cgrpc.test.Everything.text: the string is not encodable"),
    ({"nope": 1}, "cgrpc.test.Everything: no field named 'nope'"),
    ({1: 1}, "cgrpc.test.Everything: field names are str, got a int key"),
]


@pytest.mark.parametrize("value,message", WRONG, ids=[w[1].split(":")[0] for w in WRONG])
def test_wrong_types_name_the_field(pool, value, message):
    with pytest.raises(cgrpc.ProtobufError) as info:
        pool.encode(TYPE, value)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_wrong_top_level_and_depth(pool):
    with pytest.raises(cgrpc.ProtobufError, match="expected dict"):
        pool.encode(TYPE, ["not", "a", "dict"])
    with pytest.raises(cgrpc.ProtobufError, match="no message type"):
        pool.encode("cgrpc.test.Nope", {})
    loop = {"label": "x"}
    loop["child"] = loop  # a cycle: the depth bound stops it
    with pytest.raises(cgrpc.ProtobufError, match="nested more than"):
        pool.encode("cgrpc.test.Inner", loop)
    deep = {}
    for _ in range(60):
        deep = {"child": deep}
    out = pool.decode("cgrpc.test.Inner", pool.encode("cgrpc.test.Inner", deep))
    assert out == deep
    # the bound is the C layer's own: as deep as it decodes, and no deeper
    deep = {}
    for _ in range(100):  # CGRPC_PB_MAX_DEPTH
        deep = {"child": deep}
    assert pool.decode("cgrpc.test.Inner", pool.encode("cgrpc.test.Inner", deep)) == deep
    with pytest.raises(cgrpc.ProtobufError, match="nested more than"):
        pool.encode("cgrpc.test.Inner", {"child": deep})
    # a double beyond float's range is refused, not turned into inf
    with pytest.raises(cgrpc.ProtobufError, match="flt"):
        pool.encode(TYPE, {"flt": 1e300})
    assert pool.decode(TYPE, pool.encode(TYPE, {"flt": 1.5})) == {"flt": 1.5}
    with pytest.raises(cgrpc.ProtobufError, match="cannot decode"):
        pool.decode(TYPE, b"\x0a\x05ab")  # truncated
    with pytest.raises(cgrpc.ProtobufError, match="cannot decode"):
        pool.decode(TYPE, b"\x0a\x02\xff\xfe")  # invalid UTF-8 in a proto3 string


def _exercise_dyn(stub):
    big = {"text": "t", "i64": INT64_MIN, "u64": UINT64_MAX, "color": 2,
           "counts": {"k": INT64_MAX}, "number": -1, "inner": {"values": [1, 2]}}
    reply = stub.Unary(big, timeout=10)
    assert reply == dict(big, color="GREEN")
    reply, call = stub.Unary.with_call({"i64": INT64_MAX}, timeout=10,
                                       metadata=[("x-any", "v")])
    assert reply == {"i64": INT64_MAX} and call.code() == grpc.StatusCode.OK
    assert stub.Unary.future({"u64": 2 ** 63}, timeout=10).result(10) == {"u64": 2 ** 63}

    got = list(stub.Split({"tags": ["a", "b", "c"]}, timeout=10))
    assert got == [{"text": "a"}, {"text": "b", "i64": 1}, {"text": "c", "i64": 2}]

    reply = stub.Collect(iter([{"text": "x", "i64": INT64_MAX}, {"text": "y", "i64": -1}]),
                         timeout=10)
    assert reply == {"tags": ["x", "y"], "i64": INT64_MAX - 1}

    msgs = [{"text": "1", "sub": {"label": "s"}}, {"flags": {True: "t"}}, {}]
    assert list(stub.Chat(iter(msgs), timeout=10)) == msgs

    with pytest.raises(grpc.RpcError) as info:
        stub.Unary({"text": "fail"}, timeout=10)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert info.value.details() == "no such thing"

    # a request that does not fit: raised before anything is sent
    with pytest.raises(cgrpc.ProtobufError, match=r"Everything\.i64: expected int64"):
        stub.Unary({"i64": "x"}, timeout=10)
    with pytest.raises(cgrpc.ProtobufError, match=r"Everything\.text"):
        stub.Split({"text": 1}, timeout=10)
    # in a request stream it ends the call, naming the field
    with pytest.raises(grpc.RpcError) as info:
        stub.Collect(iter([{"text": "ok"}, {"i32": "bad"}]), timeout=10)
    assert info.value.code() == grpc.StatusCode.UNKNOWN
    assert "Everything.i32: expected int32, got str" in info.value.details()


@pytest.mark.parametrize("peer", ["grpcio", "cgrpc"])
def test_dynamic_stub_all_four_kinds(pool, peer, request):
    target = request.getfixturevalue("grpcio_dyn" if peer == "grpcio" else "dyn_server")
    with cgrpc.insecure_channel(target) as ch:
        stub = pool.stub(ch, "cgrpc.test.Dyn")
        assert [m.name for m in stub.methods()] == ["Unary", "Split", "Collect", "Chat"]
        _exercise_dyn(stub)


def test_dict_servicer_from_a_grpcio_client(dyn_server, pb_class):
    # grpcio with protobuf's classes against the dict servicer
    M = pb_class
    with grpc.insecure_channel(dyn_server) as ch:
        unary = ch.unary_unary("/cgrpc.test.Dyn/Unary", M.SerializeToString, M.FromString)
        reply = unary(M(i64=INT64_MIN, u64=UINT64_MAX, color=2, name="n"), timeout=10)
        assert (reply.i64, reply.u64, reply.color, reply.name) == (INT64_MIN, UINT64_MAX, 2, "n")
        split = ch.unary_stream("/cgrpc.test.Dyn/Split", M.SerializeToString, M.FromString)
        assert [m.text for m in split(M(tags=["p", "q"]), timeout=10)] == ["p", "q"]
        with pytest.raises(grpc.RpcError) as info:
            unary(M(text="bad reply"), timeout=10)
        # the servicer's reply did not fit: the field is named
        assert info.value.code() == grpc.StatusCode.UNKNOWN
        assert "Everything.i64: expected int64, got str" in info.value.details()
        # bytes that do not decode as the request type
        raw = ch.unary_unary("/cgrpc.test.Dyn/Unary")
        with pytest.raises(grpc.RpcError) as info:
            raw(b"\x0a\x05ab", timeout=10)
        assert info.value.code() == grpc.StatusCode.INTERNAL


def test_servicer_validation(pool):
    with pytest.raises(ValueError, match="Nope"):
        pool.method_handlers("cgrpc.test.Dyn", {"Nope": lambda r, c: r})
    with pytest.raises(TypeError):
        pool.method_handlers("cgrpc.test.Dyn", {"Unary": 5})
    assert set(pool.method_handlers("cgrpc.test.Dyn", {"Unary": lambda r, c: r})) == {"Unary"}


def test_typed_echo_against_the_c_echo_server(pool, c_echo):
    with cgrpc.insecure_channel(c_echo.target) as ch:
        stub = pool.stub(ch, "cgrpc.test.Echo")
        assert stub.Unary(FULL, timeout=10) == pool.decode(TYPE, pool.encode(TYPE, FULL))
        # the echo server concatenates the request bytes: protobuf merges
        reply = stub.ClientStream(iter([{"i64": 1, "tags": ["a"], "counts": {"x": 1}},
                                        {"i64": 2, "tags": ["b"], "counts": {"y": 2}}]),
                                  timeout=10)
        assert reply == {"i64": 2, "tags": ["a", "b"], "counts": {"x": 1, "y": 2}}
        msgs = [{"u64": UINT64_MAX}, {"s64": INT64_MIN}]
        assert list(stub.Bidi(iter(msgs), timeout=10)) == msgs
        # ServerStream appends "#0" to the bytes: not a message; INTERNAL
        it = stub.ServerStream({"text": "s"}, timeout=10)
        with pytest.raises(grpc.RpcError) as info:
            list(it)
        assert info.value.code() == grpc.StatusCode.INTERNAL


def test_threads_share_a_pool_and_channel(pool, dyn_server):
    errors = []

    def work(t):
        try:
            stub = pool.stub(ch, "cgrpc.test.Dyn")
            for i in range(100):
                req = {"text": "t%d" % t, "i64": INT64_MIN + i, "tags": [str(i)]}
                if stub.Unary(req, timeout=10) != req:
                    errors.append("mismatch %d/%d" % (t, i))
        except Exception as e:  # noqa: B902 - collected and asserted below
            errors.append(repr(e))

    with cgrpc.insecure_channel(dyn_server) as ch:
        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        assert not any(th.is_alive() for th in threads)
    assert errors == []


def test_pool_outlives_nothing_it_needs(set_path):
    # a stub keeps its pool alive after the caller drops it
    p = cgrpc.load_descriptor_set(set_path.read_bytes())
    ch = cgrpc.insecure_channel("127.0.0.1:1")
    stub = p.stub(ch, "cgrpc.test.Dyn")
    del p
    import gc
    gc.collect()
    assert stub._pool.encode(TYPE, {"i32": 1}) == b"\x18\x01"
    ch.close()
    closed = cgrpc.load_descriptor_set(set_path.read_bytes())
    closed.close()
    with pytest.raises(ValueError):
        closed.encode(TYPE, {})


def test_close_during_conversion_is_deferred(set_path):
    # A value whose __index__ closes the pool mid-encode: the pool must stay
    # alive until the conversion is done, then be freed; later use is an error.
    p = cgrpc.load_descriptor_set(set_path.read_bytes())

    class Closer:
        def __index__(self):
            p.close()
            return 7

    data = p.encode(TYPE, {"i64": Closer(), "text": "still here"})
    assert data  # the conversion finished on a live pool
    with pytest.raises(ValueError, match="closed"):
        p.encode(TYPE, {"text": "x"})
    p.close()  # idempotent
