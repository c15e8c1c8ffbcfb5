"""grpcurl and ghz (the Go tools people point at a gRPC server first)
against cgrpc's interop server, over h2c and TLS.

The tools are built by tools/peers/build-go-tools.sh at the versions pinned
in tests/tools-go/go.mod; the descriptor set they read is generated here,
at test time, from tests/matrix/proto.  Every process gets a time limit and
every server is stopped by its pid (tests/interop/port_process.py).

Environment (tools.mk sets them; the defaults suit a run from the top):
  CGRPC_GO_TOOLS_DIR   grpcurl and ghz (build/peers/tools)
  CGRPC_TEST_CERTS     the test PKI (build/test-certs)
  CGRPC_INTEROP_SERVER the server (build/bin/interop_server)
"""

import base64
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "interop"))
from port_process import PortProcess  # noqa: E402

TOOLS = pathlib.Path(os.environ.get("CGRPC_GO_TOOLS_DIR", ROOT / "build/peers/tools"))
CERTS = pathlib.Path(os.environ.get("CGRPC_TEST_CERTS", ROOT / "build/test-certs"))
SERVER = pathlib.Path(os.environ.get("CGRPC_INTEROP_SERVER", ROOT / "build/bin/interop_server"))
WORK = ROOT / "build" / "tools-go"
GRPCURL = TOOLS / "grpcurl"
GHZ = TOOLS / "ghz"

# The server certificate's SANs are localhost, 127.0.0.1, ::1 and
# *.test.google.fr; the TLS tests name foo.test.google.fr explicitly.
TLS_NAME = "foo.test.google.fr"
SVC = "grpc.testing.TestService"
TOOL_TIMEOUT_S = 30      # one grpcurl call or one ghz run
GRPCURL_CODE_BASE = 64   # grpcurl exits with 64 + the gRPC status code

# A service of the same name as the real one, with one method the server has
# never heard of: grpcurl only sends what its descriptors know, so this is
# how a truly unknown method reaches the server.
GHOST_PROTO = """syntax = "proto3";
package grpc.testing;
message GhostEmpty {}
service TestService {
  rpc NoSuchMethod(GhostEmpty) returns (GhostEmpty);
}
service GhostService {
  rpc Haunt(GhostEmpty) returns (GhostEmpty);
}
"""


def run(argv, timeout=TOOL_TIMEOUT_S):
    return subprocess.run([str(a) for a in argv], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def protoc(out, include, proto):
    r = run([sys.executable, "-m", "grpc_tools.protoc", "--include_imports",
             "-o", out, "-I", include, proto], timeout=60)
    assert r.returncode == 0, "protoc failed: %s" % r.stderr
    assert out.stat().st_size > 0
    return out


@pytest.fixture(scope="module")
def protoset():
    for tool in (GRPCURL, GHZ):
        assert tool.is_file() and os.access(tool, os.X_OK), \
            "%s missing: make go-tools" % tool
    WORK.mkdir(parents=True, exist_ok=True)
    return protoc(WORK / "test.protoset", ROOT / "tests/matrix/proto", "grpc/testing/test.proto")


@pytest.fixture(scope="module")
def ghost_protoset():
    d = WORK / "ghost"
    (d / "ghost").mkdir(parents=True, exist_ok=True)
    (d / "ghost" / "ghost.proto").write_text(GHOST_PROTO)
    return protoc(WORK / "ghost.protoset", d, "ghost/ghost.proto")


def start_server(tls):
    assert SERVER.is_file(), "%s missing: make build/bin/interop_server" % SERVER
    argv = [SERVER, "--port=0"]
    if tls:
        argv += ["--use_tls=true", "--tls_cert_file=%s" % (CERTS / "server.pem"),
                 "--tls_key_file=%s" % (CERTS / "server.key")]
    return PortProcess(argv, "interop_server (%s)" % ("TLS" if tls else "h2c"))


def served(tls):
    srv = start_server(tls)
    try:
        yield srv
        # Nothing a tool did may have killed it; SIGTERM is a clean exit.
        srv.assert_alive()
    finally:
        code = srv.stop()
    assert code == 0, "%s exited with %s on SIGTERM" % (srv.name, code)


@pytest.fixture(scope="module")
def h2c():
    yield from served(False)


@pytest.fixture(scope="module")
def tls():
    assert (CERTS / "ca.pem").is_file(), "no test certs: make build/test-certs/.done"
    yield from served(True)


# ---------------------------------------------------------------- grpcurl

def grpcurl(protoset, target, *verb, opts=(), plaintext=True, data=None):
    """grpcurl [flags] ADDRESS [list|describe [SYMBOL] | METHOD]"""
    argv = [GRPCURL, "-max-time", "10", "-protoset", protoset]
    if plaintext:
        argv.append("-plaintext")
    if data is not None:
        argv += ["-d", json.dumps(data)]
    argv += list(opts)
    argv.append(target)
    argv += list(verb)
    return run(argv)


def call(protoset, srv, method, data, *opts, **kw):
    return grpcurl(protoset, srv.target, method, opts=opts, data=data, **kw)


def json_stream(text):
    """grpcurl prints one JSON document per message, one after another."""
    dec, out, i = json.JSONDecoder(), [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            return out
        obj, i = dec.raw_decode(text, i)
        out.append(obj)


def b64(n):
    # The interop server fills payloads with zeros (COMPRESSABLE).
    return base64.b64encode(b"\0" * n).decode()


def test_grpcurl_list(protoset, h2c):
    r = grpcurl(protoset, h2c.target, "list")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [SVC, "grpc.testing.UnimplementedService"]
    r = grpcurl(protoset, h2c.target, "list", SVC)
    assert r.returncode == 0, r.stderr
    methods = set(r.stdout.split())
    for m in ("EmptyCall", "UnaryCall", "StreamingOutputCall", "StreamingInputCall",
              "FullDuplexCall", "UnimplementedCall"):
        assert SVC + "." + m in methods, r.stdout


def test_grpcurl_describe(protoset, h2c):
    r = grpcurl(protoset, h2c.target, "describe", SVC + ".UnaryCall")
    assert r.returncode == 0, r.stderr
    assert (SVC + ".UnaryCall is a method:") in r.stdout
    assert ("rpc UnaryCall ( .grpc.testing.SimpleRequest ) "
            "returns ( .grpc.testing.SimpleResponse );") in r.stdout
    r = grpcurl(protoset, h2c.target, "describe", "grpc.testing.SimpleRequest")
    assert r.returncode == 0, r.stderr
    assert "int32 response_size = 2;" in r.stdout
    assert ".grpc.testing.EchoStatus response_status = 7;" in r.stdout


def test_grpcurl_unary(protoset, h2c):
    r = call(protoset, h2c, SVC + "/UnaryCall",
             {"response_size": 10, "payload": {"body": base64.b64encode(b"cgrpc!").decode()}})
    assert r.returncode == 0, r.stderr
    (reply,) = json_stream(r.stdout)
    assert reply == {"payload": {"body": b64(10)}}
    assert base64.b64decode(reply["payload"]["body"]) == bytes(10)
    # An empty request gets an empty reply (nothing set, so "{}").
    r = call(protoset, h2c, SVC + "/EmptyCall", {})
    assert r.returncode == 0, r.stderr
    assert json_stream(r.stdout) == [{}]


def test_grpcurl_status(protoset, h2c):
    r = call(protoset, h2c, SVC + "/UnaryCall",
             {"response_status": {"code": 7, "message": "x"}})
    assert r.returncode == GRPCURL_CODE_BASE + 7, (r.returncode, r.stderr)
    assert "Code: PermissionDenied" in r.stderr
    assert "Message: x\n" in r.stderr
    assert r.stdout.strip() == ""
    # The message survives byte for byte (grpc's special_status_message).
    special = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"
    r = call(protoset, h2c, SVC + "/UnaryCall",
             {"response_status": {"code": 2, "message": special}}, "-format-error")
    assert r.returncode == GRPCURL_CODE_BASE + 2, (r.returncode, r.stderr)
    assert json.loads(r.stderr) == {"code": 2, "message": special}


def test_grpcurl_streaming_output(protoset, h2c):
    sizes = [1, 5, 100, 0, 31415, 7]
    r = call(protoset, h2c, SVC + "/StreamingOutputCall",
             {"response_parameters": [{"size": s} for s in sizes]})
    assert r.returncode == 0, r.stderr
    replies = json_stream(r.stdout)
    assert len(replies) == len(sizes)
    for s, reply in zip(sizes, replies):
        # A zero-length body is the default and is left out of the JSON.
        want = {"payload": {"body": b64(s)}} if s else {"payload": {}}
        assert reply == want, "size %d: %r" % (s, reply)


def test_grpcurl_client_and_bidi_streaming(protoset, h2c):
    reqs = [{"payload": {"body": b64(n)}} for n in (3, 6, 1000)]
    argv = [GRPCURL, "-max-time", "10", "-protoset", protoset, "-plaintext",
            "-d", " ".join(json.dumps(q) for q in reqs), h2c.target,
            SVC + "/StreamingInputCall"]
    r = run(argv)
    assert r.returncode == 0, r.stderr
    assert json_stream(r.stdout) == [{"aggregatedPayloadSize": 1009}]
    reqs = [{"response_parameters": [{"size": n}]} for n in (4, 9, 2)]
    argv[7] = " ".join(json.dumps(q) for q in reqs)
    argv[-1] = SVC + "/FullDuplexCall"
    r = run(argv)
    assert r.returncode == 0, r.stderr
    assert json_stream(r.stdout) == [{"payload": {"body": b64(n)}} for n in (4, 9, 2)]


def sections(verbose_output):
    """grpcurl -v: the lines under each "Response headers received:"-style title."""
    out, cur = {}, None
    for line in verbose_output.splitlines():
        if line.endswith(":") and not line.startswith(" ") and ": " not in line:
            cur = out.setdefault(line[:-1], [])
        elif cur is not None and line.strip():
            cur.append(line)
    return out


def test_grpcurl_metadata_echo(protoset, h2c):
    trailing = base64.b64encode(b"\xab\xab\xab").decode()
    r = call(protoset, h2c, SVC + "/UnaryCall", {"response_size": 1},
             "-v", "-H", "x-grpc-test-echo-initial: test_initial_metadata_value",
             "-H", "x-grpc-test-echo-trailing-bin: " + trailing,
             "-H", "x-not-echoed: nope")
    assert r.returncode == 0, r.stderr
    s = sections(r.stdout)
    headers = s["Response headers received"]
    trailers = s["Response trailers received"]
    assert "x-grpc-test-echo-initial: test_initial_metadata_value" in headers, headers
    assert "content-type: application/grpc" in headers, headers
    assert "x-grpc-test-echo-trailing-bin: " + trailing in trailers, trailers
    assert not any("x-not-echoed" in h for h in headers + trailers)
    assert not any("x-grpc-test-echo-initial" in t for t in trailers)
    assert json_stream("\n".join(s["Response contents"])) == [{"payload": {"body": b64(1)}}]


def test_grpcurl_tls(protoset, tls):
    ca = ["-cacert", CERTS / "ca.pem"]
    for extra in (["-authority", TLS_NAME], ["-servername", TLS_NAME], []):
        r = call(protoset, tls, SVC + "/UnaryCall", {"response_size": 12},
                 *ca, *extra, plaintext=False)
        assert r.returncode == 0, (extra, r.stderr)
        assert json_stream(r.stdout) == [{"payload": {"body": b64(12)}}], extra
    # The same port refuses what it should: a name not in the certificate,
    # an unknown CA, and h2c.
    r = call(protoset, tls, SVC + "/EmptyCall", {}, *ca, "-servername", "other.example",
             plaintext=False)
    assert r.returncode != 0 and "not other.example" in r.stderr, r.stderr
    r = call(protoset, tls, SVC + "/EmptyCall", {}, "-cacert", CERTS / "other-ca.pem",
             plaintext=False)
    assert r.returncode != 0 and "unknown authority" in r.stderr, r.stderr
    r = call(protoset, tls, SVC + "/EmptyCall", {})
    assert r.returncode != 0 and r.stdout.strip() == "", r.stderr


def test_grpcurl_unimplemented(protoset, ghost_protoset, h2c):
    # In the protos but not served (the interop contract).
    r = call(protoset, h2c, SVC + "/UnimplementedCall", {})
    assert r.returncode == GRPCURL_CODE_BASE + 12, (r.returncode, r.stderr)
    assert "Code: Unimplemented" in r.stderr
    r = call(protoset, h2c, "grpc.testing.UnimplementedService/UnimplementedCall", {})
    assert r.returncode == GRPCURL_CODE_BASE + 12, (r.returncode, r.stderr)
    assert "Code: Unimplemented" in r.stderr
    # Known nowhere but in the ghost descriptors: a method the real service
    # lacks, and a service the server lacks.
    for method in (SVC + "/NoSuchMethod", "grpc.testing.GhostService/Haunt"):
        r = call(ghost_protoset, h2c, method, {})
        assert r.returncode == GRPCURL_CODE_BASE + 12, (method, r.returncode, r.stderr)
        assert "Code: Unimplemented" in r.stderr, r.stderr
    # A name the descriptors do not know is refused by grpcurl itself.
    r = call(protoset, h2c, SVC + "/NoSuchMethod", {})
    assert r.returncode == 1 and 'does not include a method named "NoSuchMethod"' in r.stderr, \
        r.stderr


# -------------------------------------------------------------------- ghz

RESULTS = []


@pytest.fixture(scope="module", autouse=True)
def record_rates():
    """After the module: what the ghz runs measured, for tools.mk to print."""
    yield
    if RESULTS:
        WORK.mkdir(parents=True, exist_ok=True)
        (WORK / "ghz-rates.txt").write_text("".join(line + "\n" for line in RESULTS))


def ghz(protoset, target, data, n, c, *args, method="UnaryCall"):
    argv = [GHZ, "--protoset", protoset, "--call", "%s/%s" % (SVC, method),
            "-d", json.dumps(data), "-n", n, "-c", c, "--timeout", "10s",
            "-O", "json", *args, target]
    r = run(argv, timeout=45)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["count"] == n, report["count"]
    assert len(report["details"]) == n
    assert report["endReason"] == "normal"
    return report


def check_all_ok(report, n, label):
    assert report["statusCodeDistribution"] == {"OK": n}, report["statusCodeDistribution"]
    assert not report.get("errorDistribution"), report["errorDistribution"]
    assert all(d["status"] == "OK" and not d["error"] for d in report["details"])
    assert report["rps"] > 0 and report["fastest"] > 0
    RESULTS.append("%-28s %6d requests  %8.0f req/s  avg %6.2f ms  slowest %6.2f ms"
                   % (label, n, report["rps"], report["average"] / 1e6,
                      report["slowest"] / 1e6))


UNARY = {"response_size": 10, "payload": {"body": b64(10)}}
TLS_ARGS = ("--cacert", CERTS / "ca.pem", "--cname", TLS_NAME)


@pytest.mark.parametrize("conns", [1, 2])
def test_ghz_h2c(protoset, h2c, conns):
    rep = ghz(protoset, h2c.target, UNARY, 2000, 8, "--insecure", "--connections", conns)
    assert rep["options"]["connections"] == conns and rep["options"]["insecure"] is True
    check_all_ok(rep, 2000, "h2c, -c 8, %d connection(s)" % conns)


@pytest.mark.parametrize("conns", [1, 2])
def test_ghz_tls(protoset, tls, conns):
    rep = ghz(protoset, tls.target, UNARY, 2000, 8, *TLS_ARGS, "--connections", conns)
    assert rep["options"]["connections"] == conns and not rep["options"].get("insecure")
    check_all_ok(rep, 2000, "TLS, -c 8, %d connection(s)" % conns)


def test_ghz_server_streaming(protoset, h2c):
    rep = ghz(protoset, h2c.target, {"response_parameters": [{"size": s} for s in (5, 6, 7)]},
              300, 4, "--insecure", method="StreamingOutputCall")
    check_all_ok(rep, 300, "h2c, StreamingOutputCall x3")


def test_ghz_errors_are_internal(protoset, h2c, tls):
    for srv, args in ((h2c, ("--insecure",)), (tls, TLS_ARGS)):
        rep = ghz(protoset, srv.target, {"response_status": {"code": 13, "message": "boom"}},
                  200, 4, *args)
        assert rep["statusCodeDistribution"] == {"Internal": 200}, rep["statusCodeDistribution"]
        assert rep["errorDistribution"] == {"rpc error: code = Internal desc = boom": 200}, \
            rep["errorDistribution"]
        assert all(d["status"] == "Internal" for d in rep["details"])
