"""Fixtures for the cgrpc_pb oracle tests: the test schema's descriptor set
(made at test time), python protobuf classes built from the same set, and
a runner for build/.../pb_tool (tests/pb/pb_tool.c)."""
import os
import subprocess
import sys

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("CGRPC_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
OUT = os.path.join(ROOT, "build", "pb")


def protoc_set(name, *protos):
    """Compiles protos (under tests/pb/proto) into build/pb/<name>."""
    import grpc_tools

    os.makedirs(OUT, exist_ok=True)
    out = os.path.join(OUT, name)
    wkt = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I" + os.path.join(HERE, "proto"),
         "-I" + wkt, "--include_imports", "-o", out] + list(protos),
        check=True, cwd=os.path.join(HERE, "proto"))
    return out


@pytest.fixture(scope="session")
def set_path():
    path = os.environ.get("CGRPC_PB_SET")
    if path and os.path.exists(path):
        return path
    return protoc_set("set.pb", "pbtest/all3.proto", "pbtest/legacy.proto")


@pytest.fixture(scope="session")
def pool(set_path):
    fds = descriptor_pb2.FileDescriptorSet()
    with open(set_path, "rb") as f:
        fds.ParseFromString(f.read())
    p = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        p.Add(fd)
    return p


@pytest.fixture(scope="session")
def cls(pool):
    def get(name):
        return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))
    return get


class Tool:
    def __init__(self, exe, set_path):
        self.exe = exe
        self.set = set_path

    def run(self, cmd, type_name=None, data=b"", set_path=None, check=True):
        args = [self.exe, cmd, set_path or self.set] + ([type_name] if type_name else [])
        p = subprocess.run(args, input=data, capture_output=True, timeout=60)
        if p.returncode not in (0, 2):
            raise AssertionError("pb_tool %s exited %d: %s" % (cmd, p.returncode,
                                                              p.stderr.decode(errors="replace")))
        if check and p.returncode != 0:
            raise AssertionError("pb_tool %s failed: %s" % (cmd, p.stdout.decode(errors="replace")))
        return p

    def dump(self, type_name, data):
        return self.run("dump", type_name, data).stdout.decode().splitlines()

    def build(self, type_name, lines):
        return self.run("build", type_name, ("\n".join(lines) + "\n").encode()).stdout

    def error(self, cmd, type_name=None, data=b"", set_path=None):
        """Runs a command that must fail; returns (rc, message)."""
        p = self.run(cmd, type_name, data, set_path=set_path, check=False)
        assert p.returncode == 2, p.stdout
        line = p.stdout.decode().strip()
        assert line.startswith("ERROR "), line
        _, rc, msg = line.split(" ", 2)
        return int(rc), msg


@pytest.fixture(scope="session")
def tool(set_path):
    exe = os.environ.get("CGRPC_PB_TOOL", os.path.join(ROOT, "build", "bin", "pb_tool"))
    if not os.path.exists(exe):
        pytest.fail("pb_tool not built (make build/bin/pb_tool): " + exe)
    return Tool(exe, set_path)
