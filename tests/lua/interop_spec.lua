-- Interop with grpcio (both directions) and TLS.
local grpc = require "cgrpc"
local H = require "helpers"

describe("interop", function()
  describe("Lua client -> grpcio server", function()
    local server, ch, echo

    setup(function()
      server = H.start_grpcio_server()
      ch = assert(grpc.channel("127.0.0.1:" .. server.port))
      echo = ch:stub("cgrpc.test.Echo")
    end)

    teardown(function()
      if ch then ch:close() end
      H.stop(server)
    end)

    it("unary with metadata, trailers and error status", function()
      local reply, st = echo:Unary("py\0\255", { metadata = { ["x-echo-initial"] = "i",
                                                             ["x-echo-trailing-bin"] = "\1\2" } })
      assert.equal("py\0\255", reply)
      assert.equal("i", st.initial_metadata["x-echo-initial"])
      assert.equal("\1\2", st.metadata["x-echo-trailing-bin"])
      local r, err = echo:Unary("x", { metadata = { ["x-echo-status"] = "3", ["x-echo-message-bin"] = "bad arg ü" } })
      assert.is_nil(r)
      assert.equal("INVALID_ARGUMENT", err.name)
      assert.equal("bad arg ü", err.message)
    end)

    it("streams in all directions", function()
      local call = echo:server_streaming("ServerStream", "g", { metadata = { ["x-count"] = "3" } })
      local got = {}
      for m in call:messages() do got[#got + 1] = m end
      assert.same({ "g#0", "g#1", "g#2" }, got)
      local cs = echo:client_streaming("ClientStream")
      cs:send("x")
      cs:send("y")
      assert.equal("xy", (cs:close_and_recv()))
      local bidi = echo:bidi_streaming("Bidi")
      for i = 1, 20 do
        bidi:send("p" .. i)
        assert.equal("p" .. i, bidi:recv())
      end
      bidi:close_send()
      assert.is_nil(bidi:recv())
      assert.equal("OK", bidi:status().name)
    end)

    it("deadline and threads against grpcio", function()
      local reply, err = echo:Unary("x", { timeout_ms = 100, metadata = { ["x-sleep-ms"] = "2000" } })
      assert.is_nil(reply)
      assert.equal("DEADLINE_EXCEEDED", err.name)
      local ths = {}
      for t = 1, 4 do
        ths[t] = grpc.thread(function(ch, t)
          local s, ok = ch:stub("cgrpc.test.Echo"), 0
          for i = 1, 100 do
            if s:Unary(t .. ":" .. i) == t .. ":" .. i then ok = ok + 1 end
          end
          return ok
        end, ch, t)
      end
      for t = 1, 4 do assert.equal(100, ths[t]:join()) end
    end)
  end)

  describe("grpcio client -> Lua server", function()
    it("passes the grpcio client's checks", function()
      local srv, port = H.start_lua_server({ threads = 8 })
      local ok, out = H.run({ H.python, H.src .. "/tests/lua/grpcio_client.py", "127.0.0.1:" .. port }, 60)
      srv:close()
      assert.is_true(ok, out)
      assert.matches("FAILURES 0", out)
    end)
  end)

  describe("TLS", function()
    local server, mtls

    setup(function()
      server = H.start_echo_server({ "--tls-cert", H.cert("server.pem"), "--tls-key", H.cert("server.key") })
      mtls = H.start_echo_server({ "--tls-cert", H.cert("server.pem"), "--tls-key", H.cert("server.key"),
                                   "--client-ca", H.cert("ca.pem") })
    end)

    teardown(function()
      H.stop(server)
      H.stop(mtls)
    end)

    it("Lua client with roots from a file, and as PEM text", function()
      local ch = assert(grpc.channel("127.0.0.1:" .. server.port, { tls = { roots = H.cert("ca.pem") } }))
      local call = ch:stub("cgrpc.test.Echo"):bidi_streaming("Bidi")
      call:send("tls")
      assert.equal("tls", call:recv())
      local auth = call:auth_context()
      assert.equal("ssl", auth.transport_security_type)
      call:close()
      ch:close()
      local pem = H.read_file(H.cert("ca.pem"))
      ch = assert(grpc.channel("localhost:" .. server.port, { tls = { roots = pem } }))
      assert.equal("pem", (ch:stub("cgrpc.test.Echo"):Unary("pem")))
      ch:close()
    end)

    it("verifies the server: wrong roots fail, a name override works", function()
      local ch = assert(grpc.channel("127.0.0.1:" .. server.port, { tls = { roots = H.cert("other-ca.pem") } }))
      local reply, err = ch:stub("cgrpc.test.Echo"):Unary("x", { timeout_ms = 5000 })
      assert.is_nil(reply)
      assert.equal("UNAVAILABLE", err.name)
      ch:close()
      ch = assert(grpc.channel("127.0.0.1:" .. server.port,
                               { tls = { roots = H.cert("ca.pem"), override = "foo.test.google.fr" } }))
      assert.equal("o", (ch:stub("cgrpc.test.Echo"):Unary("o")))
      ch:close()
      ch = assert(grpc.channel("127.0.0.1:" .. server.port,
                               { tls = { roots = H.cert("ca.pem"), override = "wrong.example" } }))
      reply, err = ch:stub("cgrpc.test.Echo"):Unary("x", { timeout_ms = 5000 })
      assert.is_nil(reply)
      assert.equal("UNAVAILABLE", err.name)
      ch:close()
    end)

    it("mutual TLS: a client certificate is required", function()
      local ch = assert(grpc.channel("127.0.0.1:" .. mtls.port, { tls = {
        roots = H.cert("ca.pem"), cert = H.cert("client.pem"), key = H.cert("client.key") } }))
      assert.equal("m", (ch:stub("cgrpc.test.Echo"):Unary("m")))
      ch:close()
      ch = assert(grpc.channel("127.0.0.1:" .. mtls.port, { tls = { roots = H.cert("ca.pem") } }))
      local reply, err = ch:stub("cgrpc.test.Echo"):Unary("x", { timeout_ms = 5000 })
      assert.is_nil(reply)
      assert.equal("UNAVAILABLE", err.name)
      ch:close()
    end)

    it("Lua server over mutual TLS sees the client's identity", function()
      local srv = grpc.server({ threads = 2 })
      local port = assert(srv:listen("127.0.0.1:0", {
        cert = H.cert("server.pem"), key = H.cert("server.key"),
        client_ca = H.cert("ca.pem"), client_cert = "require" }))
      srv:service("tls.Who", "return { Who = function(_, ctx) local a = ctx:auth_context() "
                  .. "return a.transport_security_type .. ' ' .. (a.x509_common_name or '?') end }")
      assert(srv:start())
      local ch = assert(grpc.channel("127.0.0.1:" .. port, { tls = {
        roots = H.cert("ca.pem"), cert = H.cert("client.pem"), key = H.cert("client.key") } }))
      local who = assert(ch:stub("tls.Who"):Who(""))
      assert.matches("^ssl ", who)
      assert.not_equal("ssl ?", who)
      ch:close()
      srv:close()
    end)

    it("reports bad TLS material as nil, err", function()
      local ch, err = grpc.channel("127.0.0.1:1", { tls = { roots = "-----BEGIN CERTIFICATE-----\ngarbage\n" } })
      assert.is_nil(ch)
      assert.equal(grpc.core.CGRPC_E_TLS, err.api)
      local srv = grpc.server()
      local port
      port, err = srv:listen("127.0.0.1:0", { cert = H.cert("server.pem"), key = H.cert("client.key") })
      assert.is_nil(port)
      assert.equal(grpc.core.CGRPC_E_TLS, err.api)
      srv:close()
    end)
  end)
end)
