-- Dynamic (table) stubs against peers in other processes: a grpcio server
-- whose messages are protobuf's own classes (tests/python/
-- dynamic_grpcio_server.py), the C echo server (bytes echo), and a grpcio
-- client of a Lua handler-table server.
local grpc = require "cgrpc"
local H = require "helpers"

local MIN, MAX = math.mininteger, math.maxinteger

describe("dynamic stubs with other peers", function()
  local pool, set_path

  setup(function()
    local bytes
    set_path, bytes = H.descriptor_set()
    pool = assert(grpc.load_descriptor_set(bytes))
  end)

  describe("a grpcio server (protobuf's encoding)", function()
    local proc, ch, stub

    setup(function()
      proc = H.spawn({ H.python, H.src .. "/tests/python/dynamic_grpcio_server.py", set_path })
      ch = assert(grpc.channel("127.0.0.1:" .. proc.port, { timeout_ms = 20000 }))
      stub = pool:stub(ch, "cgrpc.test.Dyn")
    end)

    teardown(function()
      if ch then ch:close() end
      H.stop(proc)
    end)

    it("unary: every kind of field survives protobuf's parse and re-encode", function()
      local req = {
        text = "héllo", blob = "\0\255", i32 = -7, i64 = MIN, u32 = 4294967295, u64 = -1,
        s32 = -3, s64 = MAX, f32 = 7, f64 = -2, sf32 = -5, sf64 = MIN, dbl = 0.25, flt = 0.1,
        flag = true, color = "RED", inner = { label = "in", values = { 1, -2 }, child = {} },
        tags = { "a", "b" }, items = { { label = "x" }, {} }, counts = { a = MAX, b = MIN },
        by_id = { [-3] = { label = "neg" } }, name = "oneof", maybe = 0,
        colors = { "GREEN", 7 }, samples = { 1.5 }, flags = { [true] = "y" },
        blobs = { [-1] = "\1" }, when = { seconds = 1700000000, nanos = 5 },
      }
      local reply, st = stub:Unary(req)
      assert.equal("OK", st and st.name, tostring(st))
      assert.same(req, reply)
      local r, err = stub:Unary({ text = "fail" })
      assert.is_nil(r)
      assert.equal("NOT_FOUND", err.name)
      assert.equal("no such thing", err.message)
    end)

    it("server streaming, client streaming, bidi", function()
      local call = stub:Split({ tags = { "p", "q" } })
      local got = {}
      for m in call:messages() do got[#got + 1] = m end
      assert.same({ { text = "p" }, { text = "q", i64 = 1 } }, got)
      assert.equal("OK", call:status().name)

      call = stub:Collect()
      call:send({ text = "x", i64 = MAX })
      call:send({ text = "y", i64 = -1 })
      local reply, st = call:close_and_recv()
      assert.equal("OK", st and st.name, tostring(st))
      assert.same({ tags = { "x", "y" }, i64 = MAX - 1 }, reply)

      call = stub:Chat()
      for _, m in ipairs({ { u64 = -1 }, { sub = { label = "s" } }, { number = 0 } }) do
        call:send(m)
        assert.same(m, call:recv())
      end
      call:close_send()
      assert.is_nil(call:recv())
      assert.equal("OK", call:status().name)
    end)
  end)

  describe("the C echo server (bytes echo)", function()
    local proc, ch, echo

    setup(function()
      proc = H.start_echo_server()
      ch = assert(grpc.channel("127.0.0.1:" .. proc.port, { timeout_ms = 20000 }))
      echo = pool:stub(ch, "cgrpc.test.Echo")
    end)

    teardown(function()
      if ch then ch:close() end
      H.stop(proc)
    end)

    it("unary and bidi round-trip; client streaming merges", function()
      local m = { i64 = MIN, u64 = -1, counts = { k = 1 }, colors = { "RED" } }
      assert.same(m, (echo:Unary(m)))
      local call = echo:ClientStream()
      call:send({ i64 = 1, tags = { "a" }, counts = { x = 1 } })
      call:send({ i64 = 2, tags = { "b" }, counts = { y = 2 } })
      local reply = assert(call:close_and_recv())
      assert.same({ i64 = 2, tags = { "a", "b" }, counts = { x = 1, y = 2 } }, reply)
      call = echo:Bidi()
      call:send({ text = "b" })
      assert.same({ text = "b" }, call:recv())
      call:close_send()
      assert.is_nil(call:recv())
    end)

    it("server streaming replies that do not decode end the call with INTERNAL", function()
      local call = echo:ServerStream({ text = "s" })
      local m, err = call:recv()
      assert.is_nil(m)
      assert.equal("INTERNAL", err.name)
    end)
  end)

  it("a grpcio client with protobuf's classes calls a Lua handler-table server", function()
    local srv = grpc.server({ threads = 4 })
    local port = assert(srv:listen("127.0.0.1:0"))
    srv:service("cgrpc.test.Dyn", "lua_dyn_service", pool)
    assert(srv:start())
    local code = [[
import sys
import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
fds = descriptor_pb2.FileDescriptorSet.FromString(open(sys.argv[1], "rb").read())
p = descriptor_pool.DescriptorPool()
for fd in fds.file:
    p.Add(fd)
M = message_factory.GetMessageClass(p.FindMessageTypeByName("cgrpc.test.Everything"))
with grpc.insecure_channel(sys.argv[2]) as ch:
    u = ch.unary_unary("/cgrpc.test.Dyn/Unary", M.SerializeToString, M.FromString)
    r = u(M(i64=-2**63, u64=2**64 - 1, color=2, name="n", counts={"k": 2**63 - 1}), timeout=10)
    assert (r.i64, r.u64, r.color, r.name, r.counts["k"]) == (-2**63, 2**64 - 1, 2, "n", 2**63 - 1), r
    s = ch.unary_stream("/cgrpc.test.Dyn/Split", M.SerializeToString, M.FromString)
    assert [m.text for m in s(M(tags=["a", "b"]), timeout=10)] == ["a", "b"]
    c = ch.stream_unary("/cgrpc.test.Dyn/Collect", M.SerializeToString, M.FromString)
    r = c(iter([M(text="x", i64=5), M(text="y", i64=6)]), timeout=10)
    assert (list(r.tags), r.i64) == (["x", "y"], 11), r
    b = ch.stream_stream("/cgrpc.test.Dyn/Chat", M.SerializeToString, M.FromString)
    assert [m.u32 for m in b(iter([M(u32=1), M(u32=2)]), timeout=10)] == [1, 2]
print("ALL OK")
]]
    local ok, out = H.run({ H.python, "-c", code, set_path, "127.0.0.1:" .. port }, 60)
    srv:close()
    assert.is_true(ok, out)
    assert.matches("ALL OK", out)
  end)
end)
