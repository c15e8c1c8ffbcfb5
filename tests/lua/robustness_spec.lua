-- Misuse never crashes: wrong arguments to every raw function of the SWIG
-- module, objects collected in any order, states closed with work pending.
local grpc = require "cgrpc"
local H = require "helpers"

describe("robustness", function()
  it("every raw core function survives wrong arguments", function()
    local core = grpc.core
    local names = {}
    for k, v in pairs(core) do
      if type(v) == "function" and k ~= "sleep_ms" then names[#names + 1] = k end
    end
    table.sort(names)
    local argsets = {
      {}, { nil }, { io.stdout }, { 42 }, { "x" }, { {} }, { 1.5 },
      { io.stdout, io.stdout, io.stdout, io.stdout }, { "x", "x", "x", "x" }, { 1, 2, 3, 4 },
      { grpc.poller()._p, "x", 1, 1 },
    }
    for _, name in ipairs(names) do
      for _, a in ipairs(argsets) do
        pcall(core[name], table.unpack(a, 1, 4))
      end
    end
    -- a SWIG function given a foreign userdata says so instead of reading it
    local ok, err = pcall(core.cgrpc_call_send, io.stdout, "x", 0)
    assert.is_false(ok)
    assert.matches("cgrpc_call_send", err)
    ok, err = pcall(core.call_status, io.stdout)
    assert.is_false(ok)
    assert.equal("cgrpc: expected a call, got FILE*", err)
    collectgarbage()
  end)

  it("objects can be collected in any order", function()
    local srv, port = H.start_lua_server({ threads = 4 })
    for round = 1, 20 do
      local ch = assert(grpc.channel("127.0.0.1:" .. port))
      local stub = ch:stub("cgrpc.test.Echo")
      local calls = {}
      for i = 1, 5 do calls[i] = stub:bidi_streaming("Bidi") end
      calls[1]:send("x")
      local p = grpc.poller()
      p:add(calls[2], "recv")
      if round % 2 == 0 then ch:close() end
      ch, stub, calls, p = nil, nil, nil, nil
      collectgarbage()
    end
    collectgarbage()
    collectgarbage()
    srv:close()
  end)

  it("a thread's state closes cleanly with calls and a server still open", function()
    local th = grpc.thread(function()
      local grpc = require "cgrpc"
      local srv = grpc.server({ threads = 2 })
      local port = assert(srv:listen("127.0.0.1:0"))
      srv:service("t.S", "return { Slow = function(r, ctx) ctx:sleep(2000) return r end }")
      assert(srv:start())
      local ch = assert(grpc.channel("127.0.0.1:" .. port))
      local call = ch:stub("t.S"):start_unary("Slow", "x")
      grpc.sleep(50)
      return port -- the state closes: call, channel and server are collected
    end)
    local t0 = grpc.now_ms()
    assert.is_number(th:join())
    assert.is_true(grpc.now_ms() - t0 < 5000)
  end)
end)
