-- Servers written in Lua: handlers run in worker lua_States, one per
-- handler thread.
local grpc = require "cgrpc"
local H = require "helpers"

describe("server", function()
  local srv, port, ch, echo

  setup(function()
    srv, port = H.start_lua_server({ threads = 8, memory_limit = 16 * 1024 * 1024 })
    ch = assert(grpc.channel("127.0.0.1:" .. port))
    echo = ch:stub("cgrpc.test.Echo")
  end)

  teardown(function()
    if ch then ch:close() end
    if srv then srv:close() end
  end)

  describe("serves all four kinds", function()
    it("unary, with metadata, trailers and status", function()
      assert.equal("hi", (echo:Unary("hi")))
      local _, st = echo:Unary("x", { metadata = { ["x-echo-initial"] = "i", ["x-echo-trailing-bin"] = "\0t" } })
      assert.equal("i", st.initial_metadata["x-echo-initial"])
      assert.equal("\0t", st.metadata["x-echo-trailing-bin"])
      local reply, err = echo:Unary("x", { metadata = { ["x-echo-status"] = "6", ["x-echo-message-bin"] = "dup" } })
      assert.is_nil(reply)
      assert.equal("ALREADY_EXISTS", err.name)
      assert.equal("dup", err.message)
    end)

    it("server streaming", function()
      local call = echo:server_streaming("ServerStream", "s", { metadata = { ["x-count"] = "4" } })
      local got = {}
      for m in call:messages() do got[#got + 1] = m end
      assert.same({ "s#0", "s#1", "s#2", "s#3" }, got)
      assert.equal("OK", call:status().name)
    end)

    it("client streaming", function()
      local call = echo:client_streaming("ClientStream")
      for i = 1, 5 do call:send(("%d,"):format(i)) end
      assert.equal("1,2,3,4,5,", (call:close_and_recv()))
    end)

    it("bidi streaming", function()
      local call = echo:bidi_streaming("Bidi")
      for i = 1, 50 do
        call:send("b" .. i)
        assert.equal("b" .. i, call:recv())
      end
      call:close_send()
      assert.is_nil(call:recv())
      assert.equal("OK", call:status().name)
    end)

    it("a streaming handler's error status after partial output", function()
      local call = echo:server_streaming("ServerError", "x")
      assert.equal("partial", call:recv())
      local m, err = call:recv()
      assert.is_nil(m)
      assert.equal("ABORTED", err.name)
      assert.equal("stopped midway", err.message)
    end)

    it("UNIMPLEMENTED for methods the service does not have", function()
      local reply, err = echo:NoSuchMethod("x")
      assert.is_nil(reply)
      assert.equal("UNIMPLEMENTED", err.name)
      reply, err = ch:stub("no.Such"):Unary("x")
      assert.is_nil(reply)
      assert.equal("UNIMPLEMENTED", err.name)
    end)
  end)

  describe("handler failures stay with their call", function()
    it("a raised error is UNKNOWN with its message", function()
      local reply, err = echo:Raise("kaboom")
      assert.is_nil(reply)
      assert.equal("UNKNOWN", err.name)
      assert.matches("handler exploded: kaboom", err.message)
      assert.equal("next", (echo:Unary("next")))
    end)

    it("a raised grpc.error is that status, with its trailers", function()
      local reply, err = echo:RaiseStatus("x")
      assert.is_nil(reply)
      assert.equal("PERMISSION_DENIED", err.name)
      assert.equal("go away", err.message)
      assert.equal("test", err.metadata["x-reason"])
    end)

    it("a wrong return type is INTERNAL with a clear message", function()
      local reply, err = echo:WrongType("x")
      assert.is_nil(reply)
      assert.equal("INTERNAL", err.name)
      assert.equal("handler /cgrpc.test.Echo/WrongType returned a number; a unary handler must "
                   .. "return the reply (a string) or nil, grpc.error(...)", err.message)
      reply, err = echo:Nothing("x")
      assert.equal("INTERNAL", err.name)
      assert.matches("returned nil", err.message)
    end)

    it("a worker state out of memory is RESOURCE_EXHAUSTED, and the server lives on", function()
      local reply, err = echo:Hog("0123456789")
      assert.is_nil(reply)
      assert.equal("RESOURCE_EXHAUSTED", err.name)
      assert.matches("ran out of memory", err.message)
      -- other calls, before and after, are fine; the worker was replaced
      local calls = {}
      for i = 1, 16 do calls[i] = echo:start_unary("Unary", "u" .. i) end
      local hog2 = echo:start_unary("Hog", "x")
      for i = 1, 16 do assert.equal("u" .. i, (calls[i]:result())) end
      assert.equal("RESOURCE_EXHAUSTED", select(2, hog2:result()).name)
      local mem = assert(echo:Memory(""))
      local used, limit = mem:match("^(%d+)/(%d+)$")
      assert.equal(16 * 1024 * 1024, tonumber(limit))
      assert.is_true(tonumber(used) < 4 * 1024 * 1024)
      assert.is_true(srv:workers() <= 8)
    end)

    it("a handler that never returns is stopped by the deadline", function()
      local t0 = grpc.now_ms()
      local reply, err = echo:Spin("", { timeout_ms = 200 })
      assert.is_nil(reply)
      assert.equal("DEADLINE_EXCEEDED", err.name)
      assert.is_true(grpc.now_ms() - t0 < 3000)
      -- the worker is free again: all 8 can serve at once
      local calls = {}
      for i = 1, 8 do calls[i] = echo:start_unary("Slow", "w" .. i) end
      for i = 1, 8 do assert.equal("w" .. i, (calls[i]:result())) end
    end)
  end)

  it("runs handlers in parallel: two 300 ms calls finish in under 500 ms", function()
    local t0 = grpc.now_ms()
    local a = echo:start_unary("Slow", "a")
    local b = echo:start_unary("Slow", "b")
    assert.equal("a", (a:result()))
    assert.equal("b", (b:result()))
    local elapsed = grpc.now_ms() - t0
    assert.is_true(elapsed >= 290, "elapsed " .. elapsed)
    assert.is_true(elapsed < 500, "elapsed " .. elapsed)
  end)

  it("gives handlers a context: peer, deadline, cancellation", function()
    local s2 = grpc.server({ threads = 2 })
    local p2 = assert(s2:listen("127.0.0.1:0"))
    s2:service("ctx.Test", function()
      local grpc = require "cgrpc"
      return {
        Info = function(req, ctx)
          return table.concat({ ctx.method, ctx.service, ctx.name, ctx:peer(),
                                tostring(ctx:time_remaining() > 0), tostring(ctx:cancelled()),
                                ctx.metadata["x-a"] or "-" }, " ")
        end,
        WaitCancel = function(req, ctx)
          local slept = ctx:sleep(5000)
          return nil, grpc.error("ABORTED", slept and "not cancelled" or "cancelled")
        end,
      }
    end)
    assert(s2:start())
    local c2 = assert(grpc.channel("127.0.0.1:" .. p2))
    local st = c2:stub("ctx.Test")
    local info = assert(st:Info("x", { timeout_ms = 5000, metadata = { ["x-a"] = "va" } }))
    assert.matches("^/ctx%.Test/Info ctx%.Test Info ipv4:127%.0%.0%.1:%d+ true false va$", info)
    local call = st:start_unary("WaitCancel", "x")
    grpc.sleep(100)
    call:cancel()
    assert.equal("CANCELLED", select(2, call:result()).name)
    c2:close()
    s2:close()
  end)

  describe("registration", function()
    local s2
    before_each(function() s2 = grpc.server({ threads = 2 }) end)
    after_each(function() s2:close() end)

    it("takes a module, a file, a chunk or a factory", function()
      assert.same({ "Bidi", "ClientStream", "Hog", "Memory", "Nothing", "Peer", "Raise", "RaiseStatus",
                    "ServerError", "ServerStream", "Slow", "Spin", "Unary", "WrongType" },
                  s2:service("a.Mod", "lua_echo_service"))
      assert.equal(14, #s2:service("a.File", { file = H.src .. "/tests/lua/lua_echo_service.lua" }))
      assert.equal(14, #s2:service("a.File2", H.src .. "/tests/lua/lua_echo_service.lua"))
      assert.same({ "Hello" }, s2:service("a.Chunk", "return { Hello = function(r) return 'hello ' .. r end }"))
      assert.same({ "Hi", "Up" }, s2:service("a.Factory", function()
        return { Hi = function(r) return "hi " .. r end,
                 Up = function(r) return r:upper() end,
                 _private = 42 }
      end))
      local p2 = assert(s2:listen("127.0.0.1:0"))
      assert(s2:start())
      local c2 = assert(grpc.channel("127.0.0.1:" .. p2))
      assert.equal("x", (c2:stub("a.Mod"):Unary("x")))
      assert.equal("y", (c2:stub("a.File"):Unary("y")))
      assert.equal("hello z", (c2:stub("a.Chunk"):Hello("z")))
      assert.equal("hi w", (c2:stub("a.Factory"):Hi("w")))
      assert.equal("UP", (c2:stub("a.Factory"):Up("up")))
      c2:close()
    end)

    it("reports a broken service when it is registered", function()
      assert.has_error(function() s2:service("b.Syntax", "return { Oops = function( }") end)
      assert.has_error(function() s2:service("b.Missing", "no_such_module_anywhere") end)
      assert.has_error(function() s2:service("b.NotTable", "return 42") end,
                       "cgrpc: service 'b.NotTable': the service source returned a number, not a table of handlers")
      assert.has_error(function() s2:service("b.BadMethod", "return { M = 42 }") end,
                       "cgrpc: service 'b.BadMethod': method 'M' is a number; want a function (unary) or grpc.streaming(function)")
      assert.has_error(function() s2:service("b.Empty", "return {}") end)
      assert.has_error(function() s2:service("b.Raw", { M = function() end }) end)
      local upvalue = 1
      assert.has_error(function() s2:service("b.Up", function() return { M = function() return upvalue end } end) end)
      assert.has_error(function() s2:service("bad/name", "return { M = function() end }") end)
      assert.has_error(function() s2:service(42, "x") end)
      -- a failed registration leaves the server usable
      assert.same({ "M" }, s2:service("b.Good", "return { M = function(r) return r end }"))
      assert.has_error(function() s2:service("b.Good", "return { M = function(r) return r end }") end,
                       "cgrpc: service 'b.Good' is already registered")
    end)

    it("enforces the order listen/service, start, and no changes after start", function()
      s2:service("c.Svc", "return { M = function(r) return r end }")
      assert.has_error(function() s2:start() end, "cgrpc: start() needs a listen() first")
      assert(s2:listen("127.0.0.1:0"))
      assert(s2:start())
      assert.has_error(function() s2:start() end, "cgrpc: the server is already started")
      assert.has_error(function() s2:service("c.Late", "return { M = function(r) return r end }") end,
                       "cgrpc: service() after start()")
      assert.has_error(function() s2:listen("127.0.0.1:0") end, "cgrpc: listen after start")
    end)

    it("reports an address in use as nil, err", function()
      local p = assert(s2:listen("127.0.0.1:0"))
      local s3 = grpc.server()
      local ok, err = s3:listen("127.0.0.1:" .. p)
      assert.is_nil(ok)
      assert.equal("UNAVAILABLE", err.name)
      s3:close()
      assert.has_error(function() s3:listen("127.0.0.1:0") end, "cgrpc: the server is closed")
    end)

    it("rejects bad options", function()
      assert.has_error(function() grpc.server({ thread = 2 }) end,
                       "cgrpc: server options: unknown option 'thread'")
      assert.has_error(function() grpc.server({ threads = 0 }) end)
      assert.has_error(function() grpc.server("x") end)
    end)
  end)

  it("shuts down: running calls finish within the grace, new ones fail", function()
    local s2 = grpc.server({ threads = 4 })
    local p2 = assert(s2:listen("127.0.0.1:0"))
    s2:service("cgrpc.test.Echo", "lua_echo_service")
    assert(s2:start())
    local c2 = assert(grpc.channel("127.0.0.1:" .. p2))
    local st = c2:stub("cgrpc.test.Echo")
    assert.equal("up", (st:Unary("up")))
    local slow = st:start_unary("Slow", "slow")
    grpc.sleep(50)
    s2:shutdown(2000)
    assert.equal("slow", (slow:result()))
    local reply, err = st:Unary("after", { timeout_ms = 2000 })
    assert.is_nil(reply)
    assert.equal("UNAVAILABLE", err.name)
    s2:close()
    s2:close() -- idempotent
    c2:close()
  end)
end)
