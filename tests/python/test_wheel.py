"""`pip wheel .` builds a wheel holding the compiled extension and the SWIG
module (build requirements pinned in pyproject.toml, fetched by pip), and
the extension it holds imports and carries the protobuf layer."""

import subprocess
import sys
import zipfile

import pytest

import cgrpc_test_support as support


@pytest.mark.wheel
def test_pip_wheel_builds_extension(tmp_path):
    out = tmp_path / "wheels"
    try:
        res = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
             "-w", str(out), "."],
            cwd=str(support.REPO), capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired as e:
        pytest.fail("pip wheel took more than 300 s: %s" % (e.stderr or b"")[-2000:])
    assert res.returncode == 0, "pip wheel failed:\n%s\n%s" % (res.stdout[-3000:],
                                                             res.stderr[-3000:])
    wheels = list(out.glob("cgrpc-*.whl"))
    assert len(wheels) == 1, wheels
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert any(n.startswith("cgrpc/_core") and n.endswith(".so") for n in names), names
    assert "cgrpc/core.py" in names, names
    assert "cgrpc/__init__.py" in names and "cgrpc/_channel.py" in names, names
    assert "cgrpc/_dynamic.py" in names, names
    # The wheel's own extension: imports, and loads a descriptor set (the
    # protobuf layer and protoc-c's descriptor code are compiled in).
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(wheels[0]).extractall(unpacked)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import cgrpc; "
            "assert cgrpc.__file__.startswith(sys.argv[1]), cgrpc.__file__; "
            "from google.protobuf import descriptor_pb2, timestamp_pb2; "
            "fds = descriptor_pb2.FileDescriptorSet(); "
            "timestamp_pb2.DESCRIPTOR.CopyToProto(fds.file.add()); "
            "p = cgrpc.load_descriptor_set(fds.SerializeToString()); "
            "t = 'google.protobuf.Timestamp'; "
            "assert p.decode(t, p.encode(t, {'seconds': -5})) == {'seconds': -5}; print('OK')")
    res = subprocess.run([sys.executable, "-c", code, str(unpacked)], capture_output=True,
                         text=True, timeout=60, cwd=str(tmp_path))
    assert res.returncode == 0 and res.stdout.strip() == "OK", res.stderr[-3000:]
