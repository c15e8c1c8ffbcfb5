-- The Lua client against the C echo server (tests/tools/echo_server.c).
local grpc = require "cgrpc"
local H = require "helpers"

describe("client", function()
  local server, ch, echo, target

  setup(function()
    server = H.start_echo_server()
    target = "127.0.0.1:" .. server.port
    ch = assert(grpc.channel(target))
    echo = ch:stub("cgrpc.test.Echo")
  end)

  teardown(function()
    if ch then ch:close() end
    H.stop(server)
  end)

  describe("status codes", function()
    it("are available by name and by number", function()
      assert.equal(0, grpc.status.OK)
      assert.equal(4, grpc.status.DEADLINE_EXCEEDED)
      assert.equal(16, grpc.status.UNAUTHENTICATED)
      assert.equal("UNAVAILABLE", grpc.status[14])
      assert.equal("RESOURCE_EXHAUSTED", grpc.status_name(8))
    end)

    it("builds error tables with grpc.error", function()
      local e = grpc.error("NOT_FOUND", "no such thing", { ["x-k"] = "v" })
      assert.equal(5, e.code)
      assert.equal("NOT_FOUND", e.name)
      assert.equal("NOT_FOUND: no such thing", tostring(e))
      assert.is_true(grpc.is_status(e))
      assert.has_error(function() grpc.error("NOPE") end, "cgrpc: unknown status name 'NOPE'")
      assert.has_error(function() grpc.error(17) end)
    end)
  end)

  describe("unary", function()
    it("echoes bytes and returns reply, status", function()
      local reply, st = echo:unary("Unary", "hello")
      assert.equal("hello", reply)
      assert.equal(grpc.status.OK, st.code)
      assert.equal("OK", st.name)
      assert.is_true(st:ok())
    end)

    it("has stub:Method(...) sugar and channel:unary by full path", function()
      assert.equal("sugar", (echo:Unary("sugar")))
      assert.equal("path", (ch:unary("/cgrpc.test.Echo/Unary", "path")))
    end)

    it("keeps binary data, empty and large messages intact", function()
      local bin = "\0\1\2\255\254" .. string.rep("\0", 10)
      assert.equal(bin, (echo:Unary(bin)))
      assert.equal("", (echo:Unary("")))
      local big = string.rep("0123456789abcdef", 200000) -- 3.2 MB
      assert.equal(big, (echo:Unary(big)))
    end)

    it("sends per-call metadata and returns initial metadata and trailers", function()
      local reply, st = echo:Unary("md", { metadata = {
        ["x-echo-initial"] = "first",
        ["x-echo-trailing-bin"] = "\0\1\255",
      } })
      assert.equal("md", reply)
      assert.equal("first", st.initial_metadata["x-echo-initial"])
      assert.equal("\0\1\255", st.metadata["x-echo-trailing-bin"])
      -- the ordered {key, value} form is there too
      local found = false
      for _, kv in ipairs(st.metadata) do
        if kv[1] == "x-echo-trailing-bin" then found = kv[2] == "\0\1\255" end
      end
      assert.is_true(found)
    end)

    it("accepts metadata as a list of pairs", function()
      local _, st = echo:Unary("md", { metadata = { { "x-echo-initial", "paired" } } })
      assert.equal("paired", st.initial_metadata["x-echo-initial"])
    end)

    it("returns nil, err with code, name, message, trailers on a non-OK status", function()
      local reply, err = echo:Unary("x", { metadata = {
        ["x-echo-status"] = tostring(grpc.status.NOT_FOUND),
        ["x-echo-message-bin"] = "no such key",
        ["x-echo-trailing-bin"] = "why",
      } })
      assert.is_nil(reply)
      assert.equal(grpc.status.NOT_FOUND, err.code)
      assert.equal("NOT_FOUND", err.name)
      assert.equal("no such key", err.message)
      assert.equal("why", err.metadata["x-echo-trailing-bin"])
      assert.equal("NOT_FOUND: no such key", tostring(err))
    end)

    it("enforces a per-call timeout", function()
      local t0 = grpc.now_ms()
      local reply, err = echo:Unary("slow", { timeout_ms = 100, metadata = { ["x-sleep-ms"] = "3000" } })
      assert.is_nil(reply)
      assert.equal(grpc.status.DEADLINE_EXCEEDED, err.code)
      assert.is_true(grpc.now_ms() - t0 < 2000)
    end)

    it("applies the channel's default timeout", function()
      local c2 = assert(grpc.channel(target, { timeout_ms = 100 }))
      local reply, err = c2:stub("cgrpc.test.Echo"):Unary("slow", { metadata = { ["x-sleep-ms"] = "3000" } })
      assert.is_nil(reply)
      assert.equal("DEADLINE_EXCEEDED", err.name)
      -- a per-call timeout wins
      assert.equal("ok", (c2:stub("cgrpc.test.Echo"):Unary("ok", { timeout_ms = 5000, metadata = { ["x-sleep-ms"] = "200" } })))
      c2:close()
    end)

    it("sends channel-wide metadata with every call", function()
      local c2 = assert(grpc.channel(target, { metadata = { ["x-echo-initial"] = "chan" } }))
      local _, st = c2:stub("cgrpc.test.Echo"):Unary("x")
      assert.equal("chan", st.initial_metadata["x-echo-initial"])
      c2:close()
    end)

    it("reports UNAVAILABLE for a server that is not there", function()
      local c2 = assert(grpc.channel("127.0.0.1:1"))
      local reply, err = c2:stub("cgrpc.test.Echo"):Unary("x", { timeout_ms = 5000 })
      assert.is_nil(reply)
      assert.equal("UNAVAILABLE", err.name)
      c2:close()
    end)

    it("enforces max_recv_message_size and max_send_message_size", function()
      local c2 = assert(grpc.channel(target, { max_recv_message_size = 1024, max_send_message_size = 4096 }))
      local s2 = c2:stub("cgrpc.test.Echo")
      assert.equal("small", (s2:Unary("small")))
      local reply, err = s2:Unary(string.rep("x", 2000))
      assert.is_nil(reply)
      assert.equal("RESOURCE_EXHAUSTED", err.name)
      reply, err = s2:Unary(string.rep("x", 5000))
      assert.is_nil(reply)
      assert.equal("RESOURCE_EXHAUSTED", err.name)
      c2:close()
    end)

    it("starts without blocking and collects the result later", function()
      local calls = {}
      for i = 1, 20 do calls[i] = echo:start_unary("Unary", "s" .. i) end
      for i = 1, 20 do
        local reply, st = calls[i]:result()
        assert.equal("s" .. i, reply)
        assert.equal(0, st.code)
        calls[i]:close()
      end
    end)
  end)

  describe("streaming", function()
    it("server streaming yields every message, then the status", function()
      local call = echo:server_streaming("ServerStream", "abc", { metadata = { ["x-count"] = "5" } })
      local got = {}
      for m in call:messages() do got[#got + 1] = m end
      assert.same({ "abc#0", "abc#1", "abc#2", "abc#3", "abc#4" }, got)
      assert.equal("OK", call:status().name)
      call:close()
    end)

    it("client streaming gathers the requests", function()
      local call = echo:client_streaming("ClientStream")
      for i = 1, 10 do assert.is_true(call:send(tostring(i))) end
      local reply, st = call:close_and_recv()
      assert.equal("12345678910", reply)
      assert.equal(0, st.code)
    end)

    it("bidi streaming interleaves sends and receives", function()
      local call = echo:bidi_streaming("Bidi", { metadata = { ["x-echo-initial"] = "b" } })
      for i = 1, 100 do
        assert.is_true(call:send("m" .. i))
        assert.equal("m" .. i, call:recv())
      end
      assert.equal("b", call:initial_metadata()["x-echo-initial"])
      call:close_send()
      assert.is_nil(call:recv())
      assert.equal("OK", call:status().name)
      call:close()
    end)

    it("recv returns nil, err when the stream ends with an error", function()
      local call = echo:server_streaming("ServerStream", "x", { metadata = {
        ["x-echo-status"] = "9", ["x-echo-message-bin"] = "precondition" } })
      local m, err = call:recv()
      assert.is_nil(m)
      assert.equal("FAILED_PRECONDITION", err.name)
      assert.equal("precondition", err.message)
      assert.equal(err, call:status())
    end)

    it("cancel ends the call with CANCELLED", function()
      local call = echo:bidi_streaming("Bidi")
      assert.is_true(call:send("one"))
      assert.equal("one", call:recv())
      call:cancel()
      local m, err = call:recv()
      assert.is_nil(m)
      assert.equal("CANCELLED", err.name)
      local ok, err2 = call:send("two")
      assert.is_nil(ok)
      assert.equal("CANCELLED", err2.name)
      call:cancel() -- idempotent
      call:close()
    end)

    it("a stream deadline ends it with DEADLINE_EXCEEDED", function()
      local call = echo:bidi_streaming("Bidi", { timeout_ms = 100 })
      local m, err = call:recv()
      assert.is_nil(m)
      assert.equal("DEADLINE_EXCEEDED", err.name)
      call:close()
    end)

    it("waits for events with call:wait / call:ready", function()
      local call = echo:bidi_streaming("Bidi")
      assert.is_false(call:ready("recv"))
      assert.equal(0, call:wait("recv", 20))
      call:send("w")
      assert.equal(grpc.events.recv, call:wait("recv", 5000) & grpc.events.recv)
      assert.equal("w", call:recv())
      call:close_send()
      assert.is_true(call:wait("done", 5000) ~= 0)
      assert.is_true(call:done())
      assert.matches("^ipv4:127%.0%.0%.1:%d+$", call:peer())
      call:close()
    end)

    it("is released when collected without close()", function()
      for _ = 1, 200 do
        local call = echo:bidi_streaming("Bidi")
        call:send("x")
      end
      collectgarbage()
      collectgarbage()
      assert.equal("after gc", (echo:Unary("after gc")))
    end)
  end)

  describe("integers", function()
    it("pass through unchanged where numbers cross (int64)", function()
      -- 2^42 ms (139 years): beyond a double's exact range once in ns.
      -- (Not math.maxinteger: the C library overflows computing
      -- now + ms * 1e6 for ms > 2^63/1e6; reported, not worked around.)
      assert.equal("big", (echo:Unary("big", { timeout_ms = 1 << 42 })))
      -- a deadline of 2^40 ms survives to the C call exactly (no double rounding)
      local call = echo:bidi_streaming("Bidi", { timeout_ms = (1 << 40) + 1 })
      local left = grpc.core.call_time_remaining(call._c)
      assert.equal("integer", math.type(left))
      assert.is_true(left <= (1 << 40) + 1 and left > (1 << 40) - 10000)
      call:close()
      assert.equal("integer", math.type(grpc.now_ms()))
      -- integral floats are accepted, fractions are not
      assert.equal("f", (echo:Unary("f", { timeout_ms = 5000.0 })))
      assert.has_error(function() echo:Unary("f", { timeout_ms = 1.5 }) end,
                       "cgrpc: timeout_ms must be an integer, got 1.5")
      -- (above ~2^53 the C library's ms -> ns conversion overflows: reported)
      local c2 = assert(grpc.channel(target, { connect_timeout_ms = (1 << 42) + 1 }))
      assert.equal("c", (c2:stub("cgrpc.test.Echo"):Unary("c")))
      c2:close()
    end)
  end)

  describe("bad input", function()
    it("raises clear errors for wrong argument types", function()
      assert.has_error(function() grpc.channel(42) end,
                       "bad argument #1 to 'channel' (string expected, got number)")
      assert.has_error(function() grpc.channel(target, "x") end,
                       "bad argument #2 to 'channel' (options table expected, got string)")
      assert.has_error(function() grpc.channel(target, { timeout = 5 }) end,
                       "cgrpc: channel options: unknown option 'timeout'")
      assert.has_error(function() ch:stub(nil) end,
                       "bad argument #1 to 'stub' (string expected, got nil)")
      assert.has_error(function() ch:stub("bad/name") end)
      assert.has_error(function() echo:Unary({}) end,
                       "bad argument #2 to 'unary' (string expected, got table)")
      assert.has_error(function() echo:unary(nil, "x") end,
                       "bad argument #1 to 'unary' (string expected, got nil)")
      assert.has_error(function() echo:Unary("x", 5) end,
                       "bad argument #3 to 'unary' (options table expected, got number)")
      assert.has_error(function() echo:Unary("x", { deadline = 5 }) end,
                       "cgrpc: call options: unknown option 'deadline'")
      assert.has_error(function() echo.Unary("x") end, "cgrpc: call stub:Unary(request) with a colon")
      assert.has_error(function() grpc.thread(42) end)
      assert.has_error(function() grpc.sleep("1") end)
      assert.has_error(function() grpc.poller():add({}) end)
      assert.has_error(function() ch:unary("Unary", "x") end)
      assert.has_error(function() grpc.channel(target, { tls = 5 }) end,
                       "cgrpc: tls must be true or a table, got number")
    end)

    it("rejects invalid metadata", function()
      assert.has_error(function() echo:Unary("x", { metadata = { ["Bad Key"] = "v" } }) end)
      assert.has_error(function() echo:Unary("x", { metadata = { ["grpc-status"] = "0" } }) end)
      assert.has_error(function() echo:Unary("x", { metadata = { ["x-k"] = "line\nbreak" } }) end)
      assert.has_error(function() echo:Unary("x", { metadata = { ["x-k"] = 5 } }) end,
                       "cgrpc: metadata value for 'x-k' must be a string, got number")
      assert.has_error(function() echo:Unary("x", { metadata = "x" }) end,
                       "cgrpc: metadata must be a table, got string")
      -- and nothing leaked or broke: the channel still works
      assert.equal("fine", (echo:Unary("fine")))
    end)

    it("rejects misuse of a call", function()
      local call = echo:bidi_streaming("Bidi")
      assert.has_error(function() call:send(42) end, "bad argument #1 to 'send' (string expected, got number)")
      call:close_send()
      assert.has_error(function() call:send("late") end, "cgrpc: send: the call was already half-closed")
      call:close()
      assert.has_error(function() call:recv() end, "cgrpc: recv: the call is closed")
      assert.has_error(function() call:status() end, "cgrpc: status: the call is closed")
      call:close() -- idempotent
      call:cancel() -- harmless
    end)

    it("reports a bad target or unreadable TLS files as nil, err", function()
      local c2, err = grpc.channel("[::1")
      assert.is_nil(c2)
      assert.equal("INVALID_ARGUMENT", err.name)
      c2, err = grpc.channel(target, { tls = { roots = "/nonexistent/ca.pem" } })
      assert.is_nil(c2)
      assert.truthy(err.message:match("TLS"))
    end)

    it("raises on a closed channel, in every way it can be used", function()
      local c2 = assert(grpc.channel(target))
      local s2 = c2:stub("cgrpc.test.Echo")
      assert.equal("open", (s2:Unary("open")))
      local running = s2:bidi_streaming("Bidi")
      c2:close()
      assert.is_true(c2:closed())
      assert.equal("SHUTDOWN", c2:state())
      assert.has_error(function() c2:stub("other.Service") end, "cgrpc: the channel is closed")
      assert.has_error(function() s2:Unary("x") end, "cgrpc: the channel is closed")
      assert.has_error(function() s2:bidi_streaming("Bidi") end, "cgrpc: the channel is closed")
      local m, err = running:recv()
      assert.is_nil(m)
      assert.equal("CANCELLED", err.name)
      running:close()
      c2:close() -- idempotent
    end)
  end)

  describe("connectivity", function()
    it("connects and reports READY", function()
      local c2 = assert(grpc.channel(target))
      assert.equal("IDLE", c2:state())
      assert.is_true(c2:connect(5000))
      assert.equal("READY", c2:state())
      assert.equal(target, c2:target())
      c2:close()
    end)
  end)
end)
