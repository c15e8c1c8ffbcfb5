-- LuaRocks spec for cgrpc's Lua binding, built from this source tree:
--
--   luarocks --lua-version=5.4 make cgrpc-0.1.0-1.rockspec            (system tree)
--   luarocks --lua-version=5.4 make --local cgrpc-0.1.0-1.rockspec    (~/.luarocks)
--
-- It runs the project's Makefile: `make lua-ext` (SWIG over
-- bindings/cgrpc.i, the C library and lua/lgrpc.c into cgrpc/core.so) and
-- `make lua-install` (core.so, cgrpc.lua, cgrpc/cqueues.lua into the
-- tree).  Needs gcc, libnghttp2-dev, libssl-dev, liblua5.4-dev and SWIG >= 4.4:
-- by default the pinned one of the project venv (`make venv`, from PyPI);
-- give another with `luarocks make ... SWIG=/path/to/swig`.
rockspec_format = "3.0"
package = "cgrpc"
version = "0.1.0-1"

source = {
  url = "git+file://.",
}

description = {
  summary = "gRPC for Lua 5.4 over cgrpc's C library (nghttp2 + OpenSSL)",
  detailed = [[
Channels shared by OS threads (each with its own lua_State), all four RPC
kinds, metadata, deadlines, cancellation, TLS and mutual TLS, a pollable
poller for coroutine schedulers (lua-cqueues adapter included), and
servers whose handlers run in a pool of worker lua_States.]],
  license = "Apache-2.0",
  labels = { "grpc", "http2", "rpc" },
}

dependencies = {
  "lua >= 5.4, < 5.5",
}

build = {
  type = "make",
  makefile = "Makefile",
  build_target = "lua-ext",
  build_variables = {
    CC = "$(CC)",
    CFLAGS = "$(CFLAGS)",
    LUA_INCDIR = "$(LUA_INCDIR)",
  },
  install_target = "lua-install",
  install_variables = {
    LUA_LIBDIR = "$(LIBDIR)",
    LUA_SHAREDIR = "$(LUADIR)",
  },
}
