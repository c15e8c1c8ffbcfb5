--- cgrpc.cqueues: run many RPCs from one Lua state with lua-cqueues.
--
--   local cqueues = require "cqueues"
--   local gcq = require "cgrpc.cqueues"
--   local cq = cqueues.new()
--   local waiter = gcq.new()
--   for i = 1, 100 do
--     cq:wrap(function()
--       local reply, st = waiter:unary(stub, "Unary", "hello " .. i)
--     end)
--   end
--   assert(cq:loop())
--
-- Each waiting coroutine parks on a cqueues condition; one pump coroutine
-- polls the grpc.poller()'s file descriptor (cqueues.poll) and wakes the
-- coroutines whose calls became ready.  Nothing blocks the OS thread:
-- calls are only read once cgrpc says they would not block.
local cqueues = require "cqueues"
local condition = require "cqueues.condition"
local grpc = require "cgrpc"

local M = {}

local Waiter = {}
Waiter.__index = Waiter

--- A waiter (one per cqueues controller is enough).
function M.new()
  return setmetatable({ poller = grpc.poller(), conds = {}, waiting = 0, pumping = false }, Waiter)
end

function Waiter:_pump()
  while self.waiting > 0 do
    cqueues.poll(self.poller)
    local ready = self.poller:wait_any(0)
    for i = 1, #ready do
      local call = ready[i]
      local cond = self.conds[call]
      if cond then
        self.conds[call] = nil
        self.waiting = self.waiting - 1
        cond:signal()
      end
    end
  end
  self.pumping = false
end

--- Yields the running cqueues coroutine until one of events ("done",
-- "recv|done", ...) is ready on call.
function Waiter:wait(call, events)
  events = events or "done"
  if call:ready(events) then return end
  local cq = cqueues.running()
  if not cq then error("cgrpc.cqueues: wait() must run inside a cqueues coroutine", 2) end
  local cond = condition.new()
  self.conds[call] = cond
  self.waiting = self.waiting + 1
  self.poller:add(call, events)
  if not self.pumping then
    self.pumping = true
    cq:wrap(function() self:_pump() end)
  end
  cond:wait()
end

--- A unary RPC that yields instead of blocking: reply, status | nil, err.
function Waiter:unary(stub, method, request, opts)
  local call = stub:start_unary(method, request, opts)
  self:wait(call, "done")
  local reply, st = call:result()
  call:close()
  return reply, st
end

--- call:recv() without blocking the thread.
function Waiter:recv(call)
  self:wait(call, "recv|done")
  return call:recv()
end

--- call:send(msg, last) without blocking the thread (waits for send space).
function Waiter:send(call, msg, last)
  self:wait(call, "send|done")
  return call:send(msg, last)
end

--- call:status() without blocking the thread.
function Waiter:status(call)
  self:wait(call, "done")
  return call:status()
end

return M
