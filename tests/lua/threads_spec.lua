-- OS threads, each with its own lua_State, sharing one channel.
local grpc = require "cgrpc"
local H = require "helpers"

describe("grpc.thread", function()
  -- Self-contained (no peer process), so it also runs under TSan.
  local srv, port

  setup(function()
    srv, port = H.start_lua_server({ threads = 8 })
  end)

  teardown(function()
    if srv then srv:close() end
  end)

  it("runs 8 threads x 1000 unary RPCs on one channel over one connection", function()
    local ch = assert(grpc.channel("127.0.0.1:" .. port))
    local NT, N = 8, 1000
    local threads = {}
    for t = 1, NT do
      threads[t] = grpc.thread(function(ch, t, n)
        local grpc = require "cgrpc"
        local stub = ch:stub("cgrpc.test.Echo")
        local peers, ok, bad = {}, 0, nil
        for i = 1, n do
          local req = ("t%d-%d"):format(t, i)
          local reply, st = stub:Peer(req, { timeout_ms = 20000 })
          local echoed, peer = (reply or ""):match("^(.-)|(.*)$")
          if echoed == req then
            ok = ok + 1
            peers[peer] = true
          elseif not bad then
            bad = tostring(reply) .. " " .. tostring(st)
          end
        end
        local list = {}
        for p in pairs(peers) do list[#list + 1] = p end
        return ok, list, bad, grpc.core.channel_refs(ch._ch) >= 2
      end, ch, t, N)
    end
    local all_peers = {}
    for t = 1, NT do
      local ok, peers, bad, shared = threads[t]:join()
      assert.equal(N, ok, bad)
      assert.is_true(shared)
      for _, p in ipairs(peers) do all_peers[p] = true end
    end
    -- every RPC of every thread saw the same client address: one connection
    local list = {}
    for p in pairs(all_peers) do list[#list + 1] = p end
    assert.equal(1, #list, table.concat(list, ", "))
    assert.matches("^ipv4:127%.0%.0%.1:%d+$", list[1])
    -- and it is the address this state's calls come from too
    local reply = assert(ch:stub("cgrpc.test.Echo"):Peer("main"))
    assert.equal("main|" .. list[1], reply)
    ch:close()
  end)

  it("shares the channel by reference count and frees it when the last state drops it", function()
    collectgarbage()
    collectgarbage()
    local base = grpc.core.live_channels()
    local ch = assert(grpc.channel("127.0.0.1:" .. port))
    assert.equal(base + 1, grpc.core.live_channels())
    assert.equal(1, grpc.core.channel_refs(ch._ch))
    local th = grpc.thread(function(ch)
      local grpc = require "cgrpc"
      grpc.sleep(300) -- the parent drops its reference meanwhile
      local reply = ch:stub("cgrpc.test.Echo"):Unary("still open")
      return reply, grpc.core.channel_refs(ch._ch)
    end, ch)
    assert.equal(2, grpc.core.channel_refs(ch._ch))
    ch = nil
    collectgarbage()
    collectgarbage()
    -- still alive: the thread's state holds a reference
    assert.equal(base + 1, grpc.core.live_channels())
    local reply, refs = th:join()
    assert.equal("still open", reply)
    assert.equal(1, refs)
    -- the thread's state is closed: the last reference went with it
    assert.equal(base, grpc.core.live_channels())
  end)

  it("passes channels back as results and closes them for everyone", function()
    local ch = assert(grpc.channel("127.0.0.1:" .. port))
    local th = grpc.thread(function(ch)
      local ok = ch:stub("cgrpc.test.Echo"):Unary("x") == "x"
      return ok, ch
    end, ch)
    local ok, back = th:join()
    assert.is_true(ok)
    assert.equal(getmetatable(ch), getmetatable(back))
    assert.equal("back", (back:stub("cgrpc.test.Echo"):Unary("back")))
    local closer = grpc.thread(function(ch) ch:close(); return ch:closed() end, ch)
    assert.is_true(closer:join())
    assert.is_true(ch:closed())
    assert.is_true(back:closed())
    assert.has_error(function() ch:stub("cgrpc.test.Echo"):Unary("x") end, "cgrpc: the channel is closed")
  end)

  it("copies arguments and results of plain types, int64 exactly", function()
    local th = grpc.thread(function(...)
      return ...
    end, nil, true, false, math.maxinteger, math.mininteger, 0.5, "bytes\0\255",
       { 1, 2, { deep = { "x" } }, k = "v", [true] = 1.25 })
    local r = table.pack(th:join())
    assert.equal(8, r.n)
    assert.is_nil(r[1])
    assert.is_true(r[2])
    assert.is_false(r[3])
    assert.equal(math.maxinteger, r[4])
    assert.equal("integer", math.type(r[4]))
    assert.equal(math.mininteger, r[5])
    assert.equal(0.5, r[6])
    assert.equal("bytes\0\255", r[7])
    assert.same({ 1, 2, { deep = { "x" } }, k = "v", [true] = 1.25 }, r[8])
  end)

  it("runs a chunk given as source text", function()
    local th = grpc.thread("local a, b = ... return a + b, require('cgrpc').version", 2, 40)
    local sum, version = th:join()
    assert.equal(42, sum)
    assert.equal(grpc.version, version)
  end)

  it("raises the thread's error on join, with a traceback", function()
    local th = grpc.thread(function() error("boom in thread") end)
    local ok, err = pcall(th.join, th)
    assert.is_false(ok)
    assert.matches("boom in thread", err)
    assert.matches("stack traceback", err)
    assert.has_error(function() th:join() end, "cgrpc: the thread was already joined")
  end)

  it("refuses values that cannot cross states", function()
    assert.has_error(function() grpc.thread(function() end, function() end) end,
                     "cgrpc: thread argument #1: a function cannot be passed to another Lua state")
    assert.has_error(function() grpc.thread(function() end, grpc.poller()) end)
    local cyc = {}
    cyc.self = cyc
    assert.has_error(function() grpc.thread(function() end, cyc) end)
    local th = grpc.thread(function() return print end)
    assert.has_error(function() th:join() end,
                     "thread result #1: a function cannot be passed to another Lua state")
  end)

  it("refuses functions that capture locals", function()
    local captured = 5
    assert.has_error(function() grpc.thread(function() return captured end) end)
  end)

  it("reports done() without blocking", function()
    local th = grpc.thread(function() require("cgrpc").sleep(100) return 1 end)
    assert.is_false(th:done())
    assert.equal(1, th:join())
  end)

  it("a thread left unjoined is harmless", function()
    for _ = 1, 5 do grpc.thread(function() return 1 end) end
    collectgarbage()
    collectgarbage()
  end)
end)
