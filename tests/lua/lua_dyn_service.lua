-- cgrpc.test.Dyn (tests/python/protos/dynamic_test.proto) as a Lua handler
-- table over a descriptor pool: handlers get and return tables.  Served
-- with srv:service("cgrpc.test.Dyn", "lua_dyn_service", pool).
local grpc = require "cgrpc"

local S = {}

function S.Unary(req, ctx)
  if req.text == "fail" then return nil, grpc.error("NOT_FOUND", "no such thing") end
  if req.text == "bad reply" then return { i64 = "not a number" } end
  if req.text == "bytes reply" then return "\10\1x" end
  return req
end

-- A plain function serves a streaming method as function(stream, ctx).
function S.Split(stream, ctx)
  local req = stream:recv()
  for i, tag in ipairs(req.tags or {}) do
    if not stream:send({ text = tag, i64 = i - 1 }) then return end
  end
end

S.Collect = grpc.streaming(function(stream, ctx)
  local tags, total = {}, 0
  for m in stream:messages() do
    tags[#tags + 1] = m.text or ""
    total = total + (m.i64 or 0)
  end
  stream:send({ tags = tags, i64 = total })
end)

function S.Chat(stream, ctx)
  for m in stream:messages() do
    if m.text == "bad" then stream:send({ text = {} }) end -- raises: ends the RPC
    stream:send(m)
  end
end

return S
