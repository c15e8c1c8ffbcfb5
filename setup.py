"""Builds the cgrpc Python package: the SWIG module over the C library.

The C sources are compiled into the extension itself, so `pip install .`
needs only a C compiler, the nghttp2/OpenSSL/protobuf-c development headers
and protoc-c (for the descriptor.proto code under build/gen, generated here
when missing); SWIG comes from the build requirements in pyproject.toml.
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
# The protobuf layer (cgrpc_pb.h) and the dict converters over it.
PB_SOURCES = sorted(glob.glob(os.path.join("capi", "pb", "*.c")))
GEN_DIR = os.path.join("build", "gen")
DESCRIPTOR_C = os.path.join(GEN_DIR, "cgrpc_descriptor.pb-c.c")
DESCRIPTOR_PROTO = os.environ.get("DESCRIPTOR_PROTO",
                                  "/usr/include/google/protobuf/descriptor.proto")
WRAP = os.path.join("build", "swig", "cgrpc_python_wrap.c")


def generate_descriptor_code():
    """build/gen/cgrpc_descriptor.pb-c.[ch], as the Makefile makes them:
    descriptor.proto renamed to package cgrpc_pbi, compiled by protoc-c."""
    header = DESCRIPTOR_C[:-1] + "h"
    if os.path.exists(DESCRIPTOR_C) and os.path.exists(header):
        return
    protoc_c = shutil.which("protoc-c")
    if not protoc_c:
        raise RuntimeError("protoc-c not found; apt-get install protobuf-c-compiler "
                           "libprotobuf-c-dev")
    if not os.path.exists(DESCRIPTOR_PROTO):
        raise RuntimeError("%s not found (libprotobuf-dev); set DESCRIPTOR_PROTO"
                           % DESCRIPTOR_PROTO)
    os.makedirs(GEN_DIR, exist_ok=True)
    with open(DESCRIPTOR_PROTO, encoding="utf-8") as f:
        text = f.read()
    renamed = text.replace("\npackage google.protobuf;", "\npackage cgrpc_pbi;", 1)
    if renamed == text:
        raise RuntimeError("no 'package google.protobuf;' line in %s" % DESCRIPTOR_PROTO)
    proto = os.path.join(GEN_DIR, "cgrpc_descriptor.proto")
    with open(proto, "w", encoding="utf-8") as f:
        f.write(renamed)
    subprocess.check_call([protoc_c, "-I" + GEN_DIR, "--c_out=" + GEN_DIR, proto])


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
        generate_descriptor_code()
        subprocess.check_call([swig, "-python", "-Icapi/include", "-outdir", pkg_dir,
                               "-o", WRAP, os.path.join("bindings", "cgrpc.i")])
        super().run()


core = Extension(
    "cgrpc._core",
    sources=[WRAP, os.path.join("bindings", "pydict.c")] + C_SOURCES + PB_SOURCES
    + [DESCRIPTOR_C],
    depends=sorted(glob.glob(os.path.join("capi", "pb", "*.h"))
                   + glob.glob(os.path.join("capi", "include", "*.h"))
                   + [os.path.join("bindings", "pydict.h")]),
    include_dirs=["capi/include", "capi/src", "capi/pb", GEN_DIR, "bindings"],
    define_macros=[("_GNU_SOURCE", None)],
    extra_compile_args=["-std=c11", "-fvisibility=hidden", "-Wno-unused-parameter",
                        "-Wno-missing-field-initializers"],
    libraries=["nghttp2", "ssl", "crypto", "protobuf-c", "m"],
)

setup(ext_modules=[core], cmdclass={"build_ext": BuildExt})
