"""`pip wheel .` builds a wheel holding the compiled extension and the SWIG
module (build requirements pinned in pyproject.toml, fetched by pip)."""

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
