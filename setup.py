"""Builds the cgrpc Python package: the SWIG module over the C library.

The C sources are compiled into the extension itself, so `pip install .`
needs only a C compiler and the nghttp2/OpenSSL development headers; SWIG
comes from the build requirements in pyproject.toml.
"""
import glob
import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
C_SOURCES = sorted(glob.glob(os.path.join("capi", "src", "*.c")))
WRAP = os.path.join("build", "swig", "cgrpc_python_wrap.c")


class BuildExt(build_ext):
    """Runs SWIG first, writing core.py straight into the package."""

    def run(self):
        # The build environment's bin/ first: that is where pip put swig.
        swig = shutil.which("swig", path=os.path.dirname(sys.executable)) or shutil.which("swig")
        if not swig:
            raise RuntimeError("swig (>= 4.4) not found; pip install swig==4.5.1")
        pkg_dir = (os.path.join("python", "cgrpc") if self.inplace
                   else os.path.join(self.build_lib, "cgrpc"))
        os.makedirs(pkg_dir, exist_ok=True)
        os.makedirs(os.path.dirname(WRAP), exist_ok=True)
        subprocess.check_call([swig, "-python", "-Icapi/include", "-outdir", pkg_dir,
                               "-o", WRAP, os.path.join("bindings", "cgrpc.i")])
        super().run()


core = Extension(
    "cgrpc._core",
    sources=[WRAP] + C_SOURCES,
    include_dirs=["capi/include", "capi/src"],
    define_macros=[("_GNU_SOURCE", None)],
    extra_compile_args=["-std=c11", "-fvisibility=hidden", "-Wno-unused-parameter",
                        "-Wno-missing-field-initializers"],
    libraries=["nghttp2", "ssl", "crypto", "m"],
)

setup(ext_modules=[core], cmdclass={"build_ext": BuildExt})
