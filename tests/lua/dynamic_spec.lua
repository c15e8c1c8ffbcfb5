-- Dynamic stubs: protobuf messages as tables, from a descriptor set
-- (grpc.load_descriptor_set).  Self-contained (Lua servers in this
-- process, no peer processes), so it also runs under TSan; the grpcio and
-- C echo server peers are in dynamic_interop_spec.lua.
local grpc = require "cgrpc"
local H = require "helpers"

local TYPE = "cgrpc.test.Everything"
local MIN, MAX = math.mininteger, math.maxinteger

-- Every kind of field.  uint64 max is -1 in Lua (two's complement).
local function full()
  return {
    text = "héllo", blob = "\0\255\1", i32 = -7, i64 = MIN, u32 = 4294967295,
    u64 = -1, s32 = -2147483648, s64 = MAX, f32 = 4000000000, f64 = -2,
    sf32 = -5, sf64 = -(1 << 62), dbl = 0.1, flt = 0.1, flag = true, color = "GREEN",
    inner = { label = "in", values = { 1, -2, 2147483647 }, child = { label = "deeper" } },
    tags = { "a", "", "c" }, items = { { label = "x" }, {}, { values = { 3 } } },
    counts = { a = MAX, b = -1 }, by_id = { [-3] = { label = "neg" }, [7] = {} },
    sub = { label = "oneof" }, maybe = 0, colors = { "RED", "COLOR_UNSPECIFIED", "GREEN" },
    samples = { 1.5, 1e308 }, flags = { [true] = "yes", [false] = "no" },
    blobs = { [-1] = "\0", [0] = "" }, when = { seconds = 1700000000, nanos = 5 },
  }
end

local function err_of(f, ...)
  local ok, e = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return tostring(e)
end

describe("dynamic stubs", function()
  local pool, set_bytes

  setup(function()
    local _
    _, set_bytes = H.descriptor_set()
    pool = assert(grpc.load_descriptor_set(set_bytes))
  end)

  describe("descriptor pools", function()
    it("lists services and methods with kinds and types", function()
      assert.same({ "cgrpc.test.Echo", "cgrpc.test.Dyn" }, pool:services())
      local ms = pool:methods("cgrpc.test.Dyn")
      local kinds = {}
      for i, m in ipairs(ms) do kinds[i] = m.name .. ":" .. m.kind end
      assert.same({ "Unary:unary", "Split:server_streaming", "Collect:client_streaming",
                    "Chat:bidi_streaming" }, kinds)
      assert.equal("/cgrpc.test.Dyn/Chat", ms[4].path)
      assert.equal(TYPE, ms[4].input)
      assert.equal(TYPE, ms[4].output)
      assert.is_true(ms[4].client_streaming and ms[4].server_streaming)
      assert.is_nil(pool:methods("cgrpc.test.Nope"))
      assert.is_true(pool:has_type("cgrpc.test.Inner"))
      assert.is_false(pool:has_type("cgrpc.test.Nope"))
      assert.matches("cgrpc.DescriptorPool%(cgrpc.test.Echo, cgrpc.test.Dyn%)", tostring(pool))
    end)

    it("returns nil, err for a bad descriptor set", function()
      for _, bad in ipairs({ "\255\255\255", "\10\5\10\1", "" .. string.rep("\10", 3) }) do
        local p, err = grpc.load_descriptor_set(bad)
        assert.is_nil(p)
        assert.is_true(grpc.is_status(err))
        assert.matches("descriptor set", err.message)
      end
      assert.has_error(function() grpc.load_descriptor_set(42) end)
    end)
  end)

  describe("tables <-> messages", function()
    it("round-trips every field kind, int64 extremes exactly", function()
      local out = assert(pool:decode(TYPE, pool:encode(TYPE, full())))
      assert.same(full(), out)
      assert.equal(MIN, out.i64)
      assert.equal(MAX, out.s64)
      assert.equal(-1, out.u64) -- 2^64-1 wraps to -1
      assert.equal("integer", math.type(out.i64))
      assert.equal("integer", math.type(out.u32))
      assert.equal(0.1, out.flt) -- the shortest decimal of the float
    end)

    it("leaves unset fields out; oneofs, optional zero, enums by number", function()
      assert.same({}, pool:decode(TYPE, pool:encode(TYPE, {})))
      assert.same({ maybe = 0 },
                  pool:decode(TYPE, pool:encode(TYPE, { i64 = 0, text = "", maybe = 0 })))
      assert.same({ number = 0 }, pool:decode(TYPE, pool:encode(TYPE, { number = 0 })))
      assert.same({ color = "RED", colors = { "GREEN", 99, -1 } },
                  pool:decode(TYPE, pool:encode(TYPE, { color = 1, colors = { 2, 99, -1 } })))
      -- JSON names on input; floats with integer values for integer fields
      assert.same({ by_id = { [1] = {} }, i32 = 3 },
                  pool:decode(TYPE, pool:encode(TYPE, { byId = { [1] = {} }, i32 = 3.0 })))
    end)

    it("encodes as protobuf does (known bytes)", function()
      assert.equal("\24\1", pool:encode(TYPE, { i32 = 1 }))
      assert.equal("\32\255\255\255\255\255\255\255\255\255\1", pool:encode(TYPE, { i64 = -1 }))
      assert.equal("\10\2hi", pool:encode(TYPE, { text = "hi" }))
      assert.same({ text = "hi", i32 = 1 }, pool:decode(TYPE, "\10\2hi\24\1"))
    end)

    local WRONG = {
      { { text = {} }, "cgrpc.test.Everything.text: expected string, got table" },
      { { text = 5 }, "cgrpc.test.Everything.text: expected string, got integer" },
      { { i64 = "5" }, "cgrpc.test.Everything.i64: expected int64, got string" },
      { { i64 = 1.5 }, "cgrpc.test.Everything.i64: expected int64, got 1.5" },
      { { i32 = true }, "cgrpc.test.Everything.i32: expected int32, got boolean" },
      { { i32 = 1 << 31 }, "cgrpc.test.Everything.i32: 2147483648 out of range for int32" },
      { { u32 = -1 }, "cgrpc.test.Everything.u32: -1 out of range for uint32" },
      { { dbl = "x" }, "cgrpc.test.Everything.dbl: expected number, got string" },
      { { flag = 1 }, "cgrpc.test.Everything.flag: expected boolean, got integer" },
      { { blob = 1 }, "cgrpc.test.Everything.blob: expected string (bytes), got integer" },
      { { color = "PURPLE" }, "cgrpc.test.Everything.color: 'PURPLE' is not a value of enum" },
      { { color = 1 << 40 }, "cgrpc.test.Everything.color: 1099511627776 out of range" },
      { { inner = 1 }, "cgrpc.test.Everything.inner: expected table (message), got integer" },
      { { inner = { values = { 1, "2" } } }, "cgrpc.test.Inner.values[2]: expected int32, got string" },
      { { inner = { nope = 1 } }, "cgrpc.test.Inner: no field named 'nope'" },
      { { tags = "abc" }, "cgrpc.test.Everything.tags: expected table (list), got string" },
      { { tags = { x = "1" } }, "cgrpc.test.Everything.tags: expected a list" },
      { { items = { {}, 3 } }, "cgrpc.test.Everything.items[2]: expected table (message), got integer" },
      { { counts = 1 }, "cgrpc.test.Everything.counts: expected table (map), got integer" },
      { { counts = { [1] = 2 } }, "cgrpc.test.Everything.counts[1] (key): expected string, got integer" },
      { { counts = { a = "b" } }, "cgrpc.test.Everything.counts[a]: expected int64, got string" },
      { { by_id = { x = {} } }, "cgrpc.test.Everything.by_id[x] (key): expected int32, got string" },
      { { flags = { [1] = "x" } }, "cgrpc.test.Everything.flags[1] (key): expected boolean, got integer" },
      { { nope = 1 }, "cgrpc.test.Everything: no field named 'nope'" },
      { { [1] = 1 }, "cgrpc.test.Everything: field names are strings, got a integer key" },
    }
    for _, case in ipairs(WRONG) do
      it("names the field: " .. case[2], function()
        local e = err_of(pool.encode, pool, TYPE, case[1])
        assert.is_truthy(e:find(case[2], 1, true), e)
      end)
    end

    it("rejects invalid UTF-8 in proto3 strings, cycles and bad bytes", function()
      local e = err_of(pool.encode, pool, TYPE, { text = "\255\254" })
      assert.matches("text", e)
      e = err_of(pool.encode, pool, TYPE, "not a table")
      assert.matches("expected a table", e)
      e = err_of(pool.encode, pool, "cgrpc.test.Nope", {})
      assert.matches("no message type", e)
      local loop = { label = "x" }
      loop.child = loop -- a cycle: the depth bound stops it
      e = err_of(pool.encode, pool, "cgrpc.test.Inner", loop)
      assert.matches("nested more than", e)
      local deep = {}
      for _ = 1, 60 do deep = { child = deep } end
      assert.same(deep, pool:decode("cgrpc.test.Inner", pool:encode("cgrpc.test.Inner", deep)))
      -- the bound is the C layer's own: 100 nested children, and no more
      deep = {}
      for _ = 1, 100 do deep = { child = deep } end
      assert.same(deep, pool:decode("cgrpc.test.Inner", pool:encode("cgrpc.test.Inner", deep)))
      e = err_of(pool.encode, pool, "cgrpc.test.Inner", { child = deep })
      assert.matches("nested more than", e)
      -- a number beyond float's range is refused, not turned into inf
      e = err_of(pool.encode, pool, TYPE, { flt = 1e300 })
      assert.matches("flt", e)
      local t, err = pool:decode(TYPE, "\10\5ab") -- truncated
      assert.is_nil(t)
      assert.matches("cannot decode", err)
      t, err = pool:decode(TYPE, "\10\2\255\254") -- invalid UTF-8 on the wire
      assert.is_nil(t)
      assert.matches("cannot decode", err)
    end)
  end)

  describe("against a Lua server with a handler table", function()
    local srv, port, ch, stub

    setup(function()
      srv = grpc.server({ threads = 8 })
      port = assert(srv:listen("127.0.0.1:0"))
      srv:service("cgrpc.test.Dyn", "lua_dyn_service", pool)
      srv:service("cgrpc.test.Echo", "lua_echo_service") -- bytes level
      assert(srv:start())
      ch = assert(grpc.channel("127.0.0.1:" .. port, { timeout_ms = 20000 }))
      stub = pool:stub(ch, "cgrpc.test.Dyn")
    end)

    teardown(function()
      if ch then ch:close() end
      if srv then srv:close() end
    end)

    it("unary: tables in and out, int64 exact, errors as statuses", function()
      local req = { text = "t", i64 = MIN, u64 = -1, color = 2, counts = { k = MAX },
                    number = -1, inner = { values = { 1, 2 } } }
      local reply, st = stub:Unary(req)
      assert.equal("OK", st.name, tostring(st))
      assert.same({ text = "t", i64 = MIN, u64 = -1, color = "GREEN", counts = { k = MAX },
                    number = -1, inner = { values = { 1, 2 } } }, reply)
      local r, err = stub:Unary({ text = "fail" })
      assert.is_nil(r)
      assert.equal("NOT_FOUND", err.name)
      assert.equal("no such thing", err.message)
      r, err = stub:Unary({ text = "bad reply" })
      assert.is_nil(r)
      assert.equal("INTERNAL", err.name)
      assert.matches("Everything.i64: expected int64, got string", err.message, 1, true)
      r, err = stub:Unary({ text = "bytes reply" })
      assert.is_nil(r)
      assert.equal("INTERNAL", err.name)
      assert.matches("returns a table", err.message)
    end)

    it("raises naming the field for a request that does not fit", function()
      local e = err_of(stub.Unary, stub, { i64 = "x" })
      assert.matches("cgrpc.test.Everything.i64: expected int64, got string", e, 1, true)
      e = err_of(stub.Split, stub, { tags = { 1 } })
      assert.matches("cgrpc.test.Everything.tags[1]: expected string, got integer", e, 1, true)
      local call = stub:Collect()
      e = err_of(call.send, call, { flag = "yes" })
      assert.matches("Everything.flag: expected boolean", e)
      call:close()
    end)

    it("server streaming", function()
      local call = stub:Split({ tags = { "a", "b", "c" } })
      local got = {}
      for m in call:messages() do got[#got + 1] = m end
      assert.same({ { text = "a" }, { text = "b", i64 = 1 }, { text = "c", i64 = 2 } }, got)
      assert.equal("OK", call:status().name)
    end)

    it("client streaming", function()
      local call = stub:Collect({ timeout_ms = 10000 })
      assert.is_true(call:send({ text = "x", i64 = MAX }))
      assert.is_true(call:send({ text = "y", i64 = -1 }))
      local reply, st = call:close_and_recv()
      assert.equal("OK", st.name, tostring(st))
      assert.same({ tags = { "x", "y" }, i64 = MAX - 1 }, reply)
    end)

    it("bidi streaming, and a handler that sends a bad table", function()
      local call = stub:Chat()
      local msgs = { { text = "1", sub = { label = "s" } }, { flags = { [true] = "t" } }, {} }
      for _, m in ipairs(msgs) do
        assert.is_true(call:send(m))
        assert.same(m, call:recv())
      end
      call:close_send()
      assert.is_nil(call:recv())
      assert.equal("OK", call:status().name)

      call = stub:Chat()
      call:send({ text = "bad" })
      local m, err = call:recv()
      assert.is_nil(m)
      assert.equal("UNKNOWN", err.name)
      assert.matches("Everything.text: expected string, got table", err.message, 1, true)
    end)

    it("a reply that does not decode ends the call with INTERNAL", function()
      local echo = pool:stub(ch, "cgrpc.test.Echo")
      -- the bytes echo service appends "#0" to what it got: not a message
      local call = echo:ServerStream({ text = "s" })
      local m, err = call:recv()
      assert.is_nil(m)
      assert.equal("INTERNAL", err.name)
      assert.matches("cannot decode the response", err.message)
      assert.equal("INTERNAL", call:status().name)
      -- Unary echoes the bytes unchanged: a message again
      local reply = assert(echo:Unary(full()))
      assert.same(full(), reply)
    end)

    it("refuses handler tables that do not match the descriptor set", function()
      local s2 = grpc.server({ threads = 2 })
      assert(s2:listen("127.0.0.1:0"))
      assert.has_error(function()
        s2:service("cgrpc.test.Dyn", "return { Nope = function() end }", pool)
      end)
      assert.has_error(function() s2:service("cgrpc.test.Nope", "lua_dyn_service", pool) end)
      assert.has_error(function() s2:service("cgrpc.test.Dyn", "lua_dyn_service", {}) end)
      s2:close()
    end)

    it("shares the pool and the channel with OS threads", function()
      local threads = {}
      for t = 1, 4 do
        threads[t] = grpc.thread(function(pool, ch, t)
          local grpc = require "cgrpc"
          local stub = pool:stub(ch, "cgrpc.test.Dyn")
          local ok = 0
          for i = 1, 100 do
            local req = { text = "t" .. t, i64 = math.mininteger + i, tags = { tostring(i) } }
            local reply = stub:Unary(req)
            if reply and reply.i64 == req.i64 and reply.tags[1] == req.tags[1] then ok = ok + 1 end
            local back = pool:decode("cgrpc.test.Everything",
                                     pool:encode("cgrpc.test.Everything", req))
            if back.i64 ~= req.i64 then ok = ok - 1000 end
          end
          return ok, grpc.core.pool_refs(pool._p)
        end, pool, ch, t)
      end
      for t = 1, 4 do
        local ok, refs = threads[t]:join()
        assert.equal(100, ok)
        assert.is_true(refs >= 2) -- the same pool, shared by reference
      end
    end)
  end)
end)
