-- Many RPCs from one lua_State without blocking: grpc.poller() and the
-- lua-cqueues adapter (cgrpc.cqueues).  The peer is a Lua server (same
-- contract as the C echo server), so the spec also runs under TSan.
local grpc = require "cgrpc"
local H = require "helpers"

describe("poller", function()
  local srv, ch, echo

  setup(function()
    local port
    srv, port = H.start_lua_server({ threads = 64 })
    ch = assert(grpc.channel("127.0.0.1:" .. port))
    echo = ch:stub("cgrpc.test.Echo")
  end)

  teardown(function()
    if ch then ch:close() end
    if srv then srv:close() end
  end)

  it("has a pollable file descriptor", function()
    local p = grpc.poller()
    assert.equal("integer", math.type(p:fd()))
    assert.is_true(p:fd() >= 0)
    assert.equal(p:fd(), p:pollfd())
    assert.same({}, p:wait_any(0)) -- nothing watched: returns at once
  end)

  it("waits for 200 started calls at once and reports each exactly once", function()
    local p = grpc.poller()
    local want = {}
    for i = 1, 200 do
      local call = echo:start_unary("Unary", "p" .. i, { metadata = { ["x-sleep-ms"] = tostring(i % 5 * 10) } })
      want[call] = "p" .. i
      p:add(call)
    end
    assert.equal(200, p:count())
    local seen, rounds = 0, 0
    local t0 = grpc.now_ms()
    while p:count() > 0 and grpc.now_ms() - t0 < 20000 do
      rounds = rounds + 1
      for _, call in ipairs(p:wait_any(1000)) do
        assert.is_truthy(want[call])
        assert.is_true(call:done())
        local reply, st = call:result()
        assert.equal(want[call], reply, tostring(st))
        want[call] = nil
        seen = seen + 1
        call:close()
      end
    end
    assert.equal(200, seen)
    assert.is_nil(next(want))
    assert.is_true(rounds < 200) -- calls complete in batches, not one by one
  end)

  it("times out with an empty list when nothing is ready", function()
    local p = grpc.poller()
    local call = echo:bidi_streaming("Bidi")
    p:add(call, "recv")
    local t0 = grpc.now_ms()
    assert.same({}, p:wait_any(100))
    assert.is_true(grpc.now_ms() - t0 >= 90)
    call:send("wake")
    local ready = p:wait_any(5000)
    assert.equal(call, ready[1])
    assert.equal("wake", call:recv())
    call:close()
  end)

  it("forgets a call that is closed while watched", function()
    local p = grpc.poller()
    local call = echo:bidi_streaming("Bidi")
    p:add(call, "recv")
    call:close()
    assert.equal(0, p:count())
    assert.same({}, p:wait_any(0))
  end)

  describe("with lua-cqueues", function()
    local cqueues = require "cqueues"
    local gcq = require "cgrpc.cqueues"

    it("drives 400 concurrent RPCs from coroutines of one state", function()
      local cq = cqueues.new()
      local waiter = gcq.new()
      local N, done, failures = 400, 0, {}
      -- each call sleeps 100 ms on the server: one by one this would take 40 s
      for i = 1, N do
        cq:wrap(function()
          local req = "c" .. i
          local reply, st = waiter:unary(echo, "Unary", req,
                                         { timeout_ms = 20000, metadata = { ["x-sleep-ms"] = "100" } })
          if reply == req then done = done + 1 else failures[#failures + 1] = tostring(st) end
        end)
      end
      local t0 = grpc.now_ms()
      local ok, err = cq:loop()
      local elapsed = grpc.now_ms() - t0
      assert.is_true(ok, tostring(err))
      assert.equal(N, done, table.concat(failures, "; "))
      -- the server runs 64 handlers at once: ~7 waves of 100 ms
      assert.is_true(elapsed < 8000, "took " .. elapsed .. " ms")
    end)

    it("streams in coroutines while other coroutines run", function()
      local cq = cqueues.new()
      local waiter = gcq.new()
      local got, ticks = {}, 0
      cq:wrap(function()
        local call = echo:bidi_streaming("Bidi", { timeout_ms = 10000 })
        for i = 1, 20 do
          waiter:send(call, "s" .. i)
          got[#got + 1] = waiter:recv(call)
        end
        call:close_send()
        assert(waiter:recv(call) == nil)
        assert(waiter:status(call).code == grpc.status.OK)
        call:close()
      end)
      cq:wrap(function()
        local call = echo:server_streaming("ServerStream", "z", { metadata = { ["x-count"] = "30", ["x-sleep-ms"] = "50" } })
        local n = 0
        while waiter:recv(call) do n = n + 1 end
        assert(n == 30)
        call:close()
      end)
      cq:wrap(function()
        for _ = 1, 5 do
          ticks = ticks + 1
          cqueues.sleep(0.01)
        end
      end)
      local ok, err = cq:loop()
      assert.is_true(ok, tostring(err))
      assert.equal(20, #got)
      assert.equal("s20", got[20])
      assert.equal(5, ticks)
    end)
  end)
end)
