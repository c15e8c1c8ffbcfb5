-- grpc's standard interop client over cgrpc's Lua binding.
--
--   LUA_PATH='lua/?.lua;;' LUA_CPATH='build/lua/?.so;;' lua5.4 interop/lua/interop_client.lua \
--       --server_host=127.0.0.1 --server_port=N --test_case=all \
--       [--use_tls=true --use_test_ca=true --ca_file=CA \
--        --server_host_override=foo.test.google.fr] \
--       [--descriptor_set=build/interop/grpc_testing.pb] [--rpc_timeout_ms=10000]
--
-- No generated code: the grpc.testing messages and services come from a
-- descriptor set (`make build/interop/grpc_testing.pb`) loaded with
-- grpc.load_descriptor_set(), so requests and responses are tables that
-- the C protobuf layer encodes and decodes, and every call runs on the C
-- core.  grpc's doc/interop-test-descriptions.md specifies the 14 cases.
-- Prints "case: PASS" or "case: FAIL reason" per case; exit 0 if all
-- passed, 1 otherwise, 2 on a usage error.  Every call has a deadline
-- (--rpc_timeout_ms); nothing here waits without one.

local grpc = require "cgrpc"
local S = grpc.status

local CASES = {
  "empty_unary", "large_unary", "client_streaming", "server_streaming", "ping_pong",
  "empty_stream", "cancel_after_begin", "cancel_after_first_response",
  "timeout_on_sleeping_server", "custom_metadata", "status_code_and_message",
  "special_status_message", "unimplemented_method", "unimplemented_service",
}

local REQUEST_SIZES = { 27182, 8, 1828, 45904 }
local RESPONSE_SIZES = { 31415, 9, 2653, 58979 }
local LARGE_REQUEST, LARGE_RESPONSE = 271828, 314159
local ECHO_INITIAL_KEY, ECHO_INITIAL_VALUE = "x-grpc-test-echo-initial", "test_initial_metadata_value"
local ECHO_TRAILING_KEY, ECHO_TRAILING_VALUE = "x-grpc-test-echo-trailing-bin", "\xab\xab\xab"
local STATUS_MESSAGE = "test status message"
local SPECIAL_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP \u{263a} and non-BMP \u{1f608}\t\n"

local function script_dir()
  local src = (arg and arg[0]) or ""
  return src:match("^(.*)/[^/]*$") or "."
end
local DEFAULT_SET = os.getenv("CGRPC_INTEROP_DESCRIPTOR_SET")
  or (script_dir() .. "/../../build/interop/grpc_testing.pb")

-- A value on one printable line.
local function esc(s)
  s = tostring(s)
  return (s:gsub("[%c\127]", function(c)
    if c == "\n" then return "\\n" elseif c == "\r" then return "\\r"
    elseif c == "\t" then return "\\t" end
    return ("\\x%02x"):format(c:byte())
  end))
end

local function hex(s)
  if type(s) ~= "string" then return tostring(s) end
  return "0x" .. s:gsub(".", function(c) return ("%02x"):format(c:byte()) end)
end

local function status_text(st)
  if type(st) ~= "table" then return tostring(st) end
  return ('%s "%s"'):format(st.name or grpc.status_name(st.code) or tostring(st.code),
                            esc(st.message or ""))
end

-- Case failures are raised as {fail = reason} and caught by the runner.
local function fail(fmt, ...)
  error({ fail = fmt:format(...) }, 0)
end

---------------------------------------------------------------- flags

local FLAGS = {
  server_host = { "str", "127.0.0.1" },
  server_port = { "int" },
  test_case = { "str" },
  use_tls = { "bool", false },
  use_test_ca = { "bool", false },
  ca_file = { "str" },
  tls_ca_file = { "str" },            -- alias of --ca_file, as in the C client
  server_host_override = { "str" },
  rpc_timeout_ms = { "int", 10000 },
  descriptor_set = { "str", DEFAULT_SET },
}

local USAGE = ([[
usage: interop_client.lua --server_port=N --test_case=CASE[,CASE...]|all
    [--server_host=127.0.0.1] [--use_tls=true|false] [--use_test_ca=true|false]
    [--ca_file=PEM] [--server_host_override=NAME] [--rpc_timeout_ms=10000]
    [--descriptor_set=%s]
cases: %s]]):format(DEFAULT_SET, table.concat(CASES, ", "))

local function usage_error(msg)
  error({ usage = msg }, 0)
end

local function parse_flags(argv)
  local v = {}
  for name, spec in pairs(FLAGS) do v[name] = spec[2] end
  for _, a in ipairs(argv) do
    if a == "-h" or a == "--help" then error({ help = true }, 0) end
    local body = a:match("^%-%-(.+)$")
    if not body then usage_error(("unexpected argument '%s'"):format(a)) end
    local name, text = body:match("^([^=]+)=(.*)$")
    if not name then name = body end
    local spec = FLAGS[name]
    if not spec then usage_error("unknown flag --" .. name) end
    if text == nil then
      if spec[1] ~= "bool" then usage_error(("--%s needs a value (--%s=...)"):format(name, name)) end
      text = "true"
    end
    if spec[1] == "bool" then
      local low = text:lower()
      if low == "true" or low == "1" or low == "yes" or low == "on" then v[name] = true
      elseif low == "false" or low == "0" or low == "no" or low == "off" then v[name] = false
      else usage_error(("--%s: not a boolean: '%s'"):format(name, text)) end
    elseif spec[1] == "int" then
      if not text:match("^%d+$") then usage_error(("--%s: not an integer: '%s'"):format(name, text)) end
      v[name] = math.tointeger(tonumber(text))
    else
      v[name] = text
    end
  end
  if v.tls_ca_file then v.ca_file = v.tls_ca_file end
  if not v.test_case then usage_error("--test_case is required") end
  if not v.server_port then usage_error("--server_port is required") end
  if not v.server_port or v.server_port < 1 or v.server_port > 65535 then
    usage_error("--server_port out of range")
  end
  if v.rpc_timeout_ms < 1 or v.rpc_timeout_ms > 3600000 then usage_error("--rpc_timeout_ms out of range") end
  if v.use_tls and v.use_test_ca and not (v.ca_file and v.ca_file ~= "") then
    usage_error("--use_test_ca=true needs --ca_file (grpc's test CA is not built in)")
  end
  local known = {}
  for _, c in ipairs(CASES) do known[c] = true end
  v.cases = {}
  for name in (v.test_case .. ","):gmatch("([^,]*),") do
    if name == "all" then
      for _, c in ipairs(CASES) do v.cases[#v.cases + 1] = c end
    elseif known[name] then
      v.cases[#v.cases + 1] = name
    else
      usage_error(("unknown test case '%s'; known: all, %s"):format(name, table.concat(CASES, ", ")))
    end
  end
  return v
end

---------------------------------------------------------------- helpers

local function zeros(n) return string.rep("\0", n) end

local function check_payload(resp, size, what)
  if type(resp) ~= "table" then fail("%s: response is a %s, not a table", what, type(resp)) end
  local body = resp.payload and resp.payload.body or ""
  if type(body) ~= "string" then fail("%s: payload.body is a %s", what, type(body)) end
  if #body ~= size then fail("%s: payload of %d bytes, want %d", what, #body, size) end
  if body:find("[^\0]") then fail("%s: payload bytes are not all zero", what) end
end

-- call:recv() must give a message.
local function recv_one(call, what)
  local msg, err = call:recv()
  if msg == nil then
    if err then fail("%s: status %s", what, status_text(err)) end
    fail("%s: the stream ended OK before this response", what)
  end
  return msg
end

-- No further message, and the call ends OK.
local function expect_end(call, what)
  local msg, err = call:recv()
  if msg ~= nil then fail("%s: a response more than expected", what) end
  if err then fail("%s: status %s, want OK", what, status_text(err)) end
  local st = call:status()
  if st.code ~= S.OK then fail("%s: ended with %s", what, status_text(st)) end
  return st
end

-- st (a status table) must have code (and message unless nil).
local function check_status(st, code, message, what)
  if type(st) ~= "table" then fail("%s: no status (%s)", what, tostring(st)) end
  if st.code ~= code or (message ~= nil and st.message ~= message) then
    fail('%s: status %s, want %s%s', what, status_text(st), grpc.status_name(code),
         message and (' "' .. esc(message) .. '"') or "")
  end
end

local function unary_expect(reply, st, code, message, what)
  if reply ~= nil then fail("%s: succeeded, want %s", what, grpc.status_name(code)) end
  check_status(st, code, message, what)
end

local function check_echo(initial, trailing, what)
  local v = initial and initial[ECHO_INITIAL_KEY]
  if v ~= ECHO_INITIAL_VALUE then
    fail("%s: initial metadata %s is %s, want %s", what, ECHO_INITIAL_KEY,
         v == nil and "absent" or ('"' .. esc(v) .. '"'), ECHO_INITIAL_VALUE)
  end
  v = trailing and trailing[ECHO_TRAILING_KEY]
  if v ~= ECHO_TRAILING_VALUE then
    fail("%s: trailing metadata %s is %s, want 0xababab", what, ECHO_TRAILING_KEY,
         v == nil and "absent" or hex(v))
  end
end

local function duplex_request(response_size, request_size)
  return { response_parameters = { { size = response_size } },
           payload = { body = zeros(request_size) } }
end

-- send() on a call that already ended is not an error here: its status is
-- checked next, as in the C client.
local function send(call, msg, last)
  call:send(msg, last)
end

---------------------------------------------------------------- cases

local C = {}

function C.empty_unary(c)
  local reply, st = c.test:EmptyCall({}, c.opts)
  if reply == nil then fail("EmptyCall: status %s", status_text(st)) end
  if type(reply) ~= "table" or next(reply) ~= nil then fail("EmptyCall: response is not an empty table") end
end

function C.large_unary(c)
  local reply, st = c.test:UnaryCall({ response_size = LARGE_RESPONSE,
                                       payload = { body = zeros(LARGE_REQUEST) } }, c.opts)
  if reply == nil then fail("UnaryCall: status %s", status_text(st)) end
  check_payload(reply, LARGE_RESPONSE, "UnaryCall")
end

function C.client_streaming(c)
  local call <close> = c.test:StreamingInputCall(c.opts)
  for _, n in ipairs(REQUEST_SIZES) do
    if not call:send({ payload = { body = zeros(n) } }) then break end
  end
  local reply, st = call:close_and_recv()
  if reply == nil then fail("StreamingInputCall: status %s", status_text(st)) end
  local got = reply.aggregated_payload_size
  if got ~= 74922 then fail("aggregated_payload_size %s, want 74922", tostring(got)) end
end

function C.server_streaming(c)
  local params = {}
  for i, n in ipairs(RESPONSE_SIZES) do params[i] = { size = n } end
  local call <close> = c.test:StreamingOutputCall({ response_parameters = params }, c.opts)
  for i, n in ipairs(RESPONSE_SIZES) do
    local what = "response " .. i
    check_payload(recv_one(call, what), n, what)
  end
  expect_end(call, "end")
end

function C.ping_pong(c)
  local call <close> = c.test:FullDuplexCall(c.opts)
  for i = 1, #REQUEST_SIZES do
    local what = "response " .. i
    send(call, duplex_request(RESPONSE_SIZES[i], REQUEST_SIZES[i]))
    check_payload(recv_one(call, what), RESPONSE_SIZES[i], what)
  end
  call:close_send()
  expect_end(call, "end")
end

function C.empty_stream(c)
  local call <close> = c.test:FullDuplexCall(c.opts)
  call:close_send()
  expect_end(call, "FullDuplexCall")
end

function C.cancel_after_begin(c)
  local call <close> = c.test:StreamingInputCall(c.opts)
  call:cancel()
  check_status(call:status(), S.CANCELLED, nil, "after cancel()")
end

function C.cancel_after_first_response(c)
  local call <close> = c.test:FullDuplexCall(c.opts)
  send(call, duplex_request(31415, 27182))
  check_payload(recv_one(call, "first response"), 31415, "first response")
  call:cancel()
  check_status(call:status(), S.CANCELLED, nil, "after cancel()")
end

function C.timeout_on_sleeping_server(c)
  local call <close> = c.test:FullDuplexCall({ timeout_ms = 1 })   -- the doc's 1 ms
  send(call, { payload = { body = zeros(27182) } })
  -- The server sends nothing: the deadline is the only way out.
  local msg, err = call:recv()
  if msg ~= nil then fail("FullDuplexCall: got a response, want DEADLINE_EXCEEDED") end
  check_status(err or call:status(), S.DEADLINE_EXCEEDED, nil, "FullDuplexCall")
end

function C.custom_metadata(c)
  local opts = { timeout_ms = c.timeout_ms,
                 metadata = { [ECHO_INITIAL_KEY] = ECHO_INITIAL_VALUE,
                              [ECHO_TRAILING_KEY] = ECHO_TRAILING_VALUE } }
  local reply, st = c.test:UnaryCall({ response_size = LARGE_RESPONSE,
                                       payload = { body = zeros(LARGE_REQUEST) } }, opts)
  if reply == nil then fail("UnaryCall: status %s", status_text(st)) end
  check_payload(reply, LARGE_RESPONSE, "UnaryCall")
  check_echo(st.initial_metadata, st.metadata, "UnaryCall")

  local call <close> = c.test:FullDuplexCall(opts)
  send(call, duplex_request(LARGE_RESPONSE, LARGE_REQUEST), true)
  check_payload(recv_one(call, "FullDuplexCall"), LARGE_RESPONSE, "FullDuplexCall")
  local fst = expect_end(call, "FullDuplexCall")
  check_echo(call:initial_metadata(), fst.metadata, "FullDuplexCall")
end

local function unary_status(c, code, message)
  local reply, st = c.test:UnaryCall({ response_status = { code = code, message = message } }, c.opts)
  unary_expect(reply, st, code, message, "UnaryCall")
end

function C.status_code_and_message(c)
  unary_status(c, S.UNKNOWN, STATUS_MESSAGE)
  local call <close> = c.test:FullDuplexCall(c.opts)
  send(call, { response_status = { code = S.UNKNOWN, message = STATUS_MESSAGE } }, true)
  local msg, err = call:recv()
  if msg ~= nil then fail("FullDuplexCall: got a response, want UNKNOWN") end
  check_status(err or call:status(), S.UNKNOWN, STATUS_MESSAGE, "FullDuplexCall")
end

function C.special_status_message(c)
  unary_status(c, S.UNKNOWN, SPECIAL_MESSAGE)
end

function C.unimplemented_method(c)
  local reply, st = c.test:UnimplementedCall({}, c.opts)
  unary_expect(reply, st, S.UNIMPLEMENTED, nil, "TestService/UnimplementedCall")
end

function C.unimplemented_service(c)
  local reply, st = c.unimpl:UnimplementedCall({}, c.opts)
  unary_expect(reply, st, S.UNIMPLEMENTED, nil, "UnimplementedService/UnimplementedCall")
end

---------------------------------------------------------------- main

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then error(err, 0) end
  local data = f:read("a")
  f:close()
  return data
end

local function make_channel(f)
  local host = f.server_host
  if host:find(":", 1, true) and host:sub(1, 1) ~= "[" then host = "[" .. host .. "]" end
  local target = ("%s:%d"):format(host, f.server_port)
  local opts = { user_agent = "cgrpc-interop-client-lua" }
  if f.use_tls then
    local tls = {}
    -- With --use_test_ca the CA file replaces the system roots.
    if f.ca_file and f.ca_file ~= "" then tls.roots = read_file(f.ca_file) end
    tls.override = f.server_host_override
    opts.tls = tls
  elseif f.server_host_override then
    opts.authority = f.server_host_override
  end
  local ch, err = grpc.channel(target, opts)
  if not ch then error("channel: " .. tostring(err), 0) end
  return ch
end

local function main(argv)
  local ok, f = pcall(parse_flags, argv)
  if not ok then
    if type(f) == "table" and f.help then print(USAGE); return 0 end
    local msg = type(f) == "table" and f.usage or tostring(f)
    io.stderr:write("interop_client.lua: ", msg, "\n", USAGE, "\n")
    return 2
  end
  local client
  local setup_ok, setup_err = pcall(function()
    local pool, err = grpc.load_descriptor_set(read_file(f.descriptor_set))
    if not pool then error("descriptor set: " .. tostring(err), 0) end
    local ch = make_channel(f)
    client = {
      ch = ch,
      test = pool:stub(ch, "grpc.testing.TestService"),
      unimpl = pool:stub(ch, "grpc.testing.UnimplementedService"),
      timeout_ms = f.rpc_timeout_ms,
      opts = { timeout_ms = f.rpc_timeout_ms },
    }
  end)
  if not setup_ok then
    for _, name in ipairs(f.cases) do
      print(("%s: FAIL setup: %s"):format(name, esc(tostring(setup_err))))
    end
    return 1
  end
  local failed = 0
  for _, name in ipairs(f.cases) do
    local ok2, err = pcall(C[name], client)
    if ok2 then
      print(name .. ": PASS")
    else
      failed = failed + 1
      local why = type(err) == "table" and err.fail or ("error: " .. tostring(err))
      print(("%s: FAIL %s"):format(name, esc(why)))
    end
    io.stdout:flush()
    collectgarbage()   -- release the case's calls now, not at exit
  end
  client.ch:close()
  if failed > 0 then
    io.stderr:write(("interop_client.lua: %d of %d cases failed\n"):format(failed, #f.cases))
  end
  return failed > 0 and 1 or 0
end

os.exit(main(arg), true)
