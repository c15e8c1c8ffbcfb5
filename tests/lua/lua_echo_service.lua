-- The test service served by Lua servers in the specs (cgrpc.test.Echo
-- plus a few methods that misbehave on purpose).  Each worker state
-- requires this module; it must not keep per-call state in upvalues.
local grpc = require "cgrpc"

local S = {}

-- Same contract as tests/tools/echo_service.h for the basic four.
function S.Unary(req, ctx)
  local sleep = tonumber(ctx.metadata["x-sleep-ms"] or "0")
  if sleep > 0 and not ctx:sleep(sleep) then return nil, grpc.error("CANCELLED", "cancelled") end
  local st = tonumber(ctx.metadata["x-echo-status"] or "0")
  if ctx.metadata["x-echo-trailing-bin"] then
    ctx:set_trailers({ ["x-echo-trailing-bin"] = ctx.metadata["x-echo-trailing-bin"] })
  end
  if ctx.metadata["x-echo-initial"] then
    ctx:send_initial_metadata({ ["x-echo-initial"] = ctx.metadata["x-echo-initial"] })
  end
  if st ~= 0 then
    return nil, grpc.error(st, ctx.metadata["x-echo-message-bin"] or "")
  end
  return req
end

S.ServerStream = grpc.streaming(function(stream, ctx)
  local req = stream:recv()
  for i = 0, tonumber(ctx.metadata["x-count"] or "3") - 1 do
    if not stream:send(req .. "#" .. i) then return end
  end
end)

S.ClientStream = grpc.streaming(function(stream)
  local parts = {}
  for m in stream:messages() do parts[#parts + 1] = m end
  stream:send(table.concat(parts))
end)

S.Bidi = grpc.streaming(function(stream)
  for m in stream:messages() do
    if not stream:send(m) then return end
  end
end)

-- The client's address as seen by the server, after the request.
function S.Peer(req, ctx)
  return req .. "|" .. ctx:peer()
end

-- Sleeps 300 ms (overlap test).
function S.Slow(req, ctx)
  ctx:sleep(300)
  return req
end

function S.Raise(req)
  error("handler exploded: " .. req)
end

function S.RaiseStatus()
  error(grpc.error(grpc.status.PERMISSION_DENIED, "go away", { ["x-reason"] = "test" }))
end

function S.WrongType()
  return 42
end

function S.Nothing() end

-- Allocates until the worker state's memory limit stops it.
function S.Hog(req)
  local t = {}
  for i = 1, 1e9 do t[i] = string.rep(req, 1024) .. i end
  return "unreachable"
end

-- Spins until cancelled (the server's cancel hook ends it).
function S.Spin()
  local x = 0
  while true do x = x + 1 end
end

-- Reports this worker state's memory use.
function S.Memory()
  local used, limit = grpc.core.worker_memory()
  return ("%d/%d"):format(used, limit)
end

S.ServerError = grpc.streaming(function(stream)
  stream:send("partial")
  return nil, grpc.error("ABORTED", "stopped midway")
end)

return S
