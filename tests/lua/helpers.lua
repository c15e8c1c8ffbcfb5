-- Shared helpers for the busted specs: peer processes (started in the
-- background, found by the pid the shell reports, stopped by that pid) and
-- paths from the environment that `make test-lua` sets.
local grpc = require "cgrpc"

local H = {}

H.src = os.getenv("CGRPC_SOURCE_DIR") or "."
H.echo_server = os.getenv("CGRPC_ECHO_SERVER") or (H.src .. "/build/bin/echo_server")
H.certs = os.getenv("CGRPC_TEST_CERTS") or (H.src .. "/build/test-certs")
H.python = os.getenv("CGRPC_TEST_PYTHON") or (H.src .. "/.venv/bin/python")

local function shquote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
H.shquote = shquote

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
H.read_file = read_file

local function alive(pid)
  return os.execute("kill -0 " .. pid .. " 2>/dev/null") == true
end

--- Stops a process started by H.spawn (TERM, then KILL), waiting up to 5 s.
function H.stop(proc)
  if not proc or proc.stopped then return end
  proc.stopped = true
  os.execute("kill -TERM " .. proc.pid .. " 2>/dev/null")
  for _ = 1, 100 do
    if not alive(proc.pid) then break end
    grpc.sleep(50)
  end
  if alive(proc.pid) then os.execute("kill -KILL " .. proc.pid .. " 2>/dev/null") end
  os.remove(proc.log)
end

--- Starts argv (a list) in the background with its output in a temp file
-- and waits (at most 15 s) for its "PORT n" line.  Returns a process
-- table {pid=, port=, log=}.
function H.spawn(argv)
  local parts = {}
  for i, a in ipairs(argv) do parts[i] = shquote(a) end
  local log = os.tmpname()
  -- env -u LD_PRELOAD: sanitizer runs preload their runtime into lua only
  local p = io.popen(("env -u LD_PRELOAD %s > %s 2>&1 & echo $!"):format(table.concat(parts, " "), shquote(log)))
  local pid = tonumber(p:read("l"))
  p:close()
  assert(pid, "could not start " .. argv[1])
  local proc = { pid = pid, log = log }
  for _ = 1, 300 do
    local out = read_file(log) or ""
    local port = out:match("PORT (%d+)")
    if port then
      proc.port = tonumber(port)
      return proc
    end
    if not alive(pid) then break end
    grpc.sleep(50)
  end
  local out = read_file(log) or ""
  H.stop(proc)
  error("peer did not report its port: " .. table.concat(argv, " ") .. "\n" .. out)
end

--- The C echo server (tests/tools/echo_server.c); extra args e.g. TLS.
function H.start_echo_server(extra)
  local argv = { H.echo_server, "--host", "127.0.0.1", "--port", "0" }
  for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
  return H.spawn(argv)
end

--- The grpcio echo server (tests/interop/echo_grpcio_server.py).
function H.start_grpcio_server(extra)
  local argv = { H.python, H.src .. "/tests/interop/echo_grpcio_server.py",
                 "--host", "127.0.0.1", "--port", "0" }
  for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
  return H.spawn(argv)
end

--- Runs a command to completion (bounded by `timeout`), returning ok, output.
function H.run(argv, timeout_s)
  local parts = { "env", "-u", "LD_PRELOAD", "timeout", tostring(timeout_s or 60) }
  for _, a in ipairs(argv) do parts[#parts + 1] = shquote(a) end
  local p = io.popen(table.concat(parts, " ") .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  return ok == true, out
end

--- A Lua server serving tests/lua/lua_echo_service.lua as cgrpc.test.Echo.
function H.start_lua_server(opts, tls)
  local srv = grpc.server(opts or { threads = 8 })
  local port = assert(srv:listen("127.0.0.1:0", tls))
  srv:service("cgrpc.test.Echo", "lua_echo_service")
  assert(srv:start())
  return srv, port
end

--- The descriptor set of tests/python/protos/dynamic_test.proto: its path
-- and bytes.  `make test-lua*` builds it (CGRPC_TEST_DESCRIPTOR_SET);
-- otherwise it is compiled here with the venv's grpc_tools.protoc.
local dyn_set_path
function H.descriptor_set()
  if not dyn_set_path then
    dyn_set_path = os.getenv("CGRPC_TEST_DESCRIPTOR_SET")
    if not dyn_set_path or not read_file(dyn_set_path) then
      dyn_set_path = os.tmpname()
      local ok, out = H.run({ H.python, "-m", "grpc_tools.protoc",
                              "-I", H.src .. "/tests/python/protos", "--include_imports",
                              "-o", dyn_set_path,
                              H.src .. "/tests/python/protos/dynamic_test.proto" }, 60)
      assert(ok, "protoc failed: " .. out)
    end
  end
  return dyn_set_path, assert(read_file(dyn_set_path), "cannot read " .. dyn_set_path)
end

function H.cert(name)
  return H.certs .. "/" .. name
end

return H
