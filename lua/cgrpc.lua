--- cgrpc: gRPC for Lua 5.4 over cgrpc's C library.
--
--   local grpc = require "cgrpc"
--   local ch = assert(grpc.channel("127.0.0.1:50051", {timeout_ms = 5000}))
--   local echo = ch:stub("cgrpc.test.Echo")
--   local reply, st = echo:Unary("hello")        -- or echo:unary("Unary", "hello")
--   if not reply then print("failed:", st.name, st.message) end
--
-- Conventions (the same everywhere in this module):
--  * Messages are Lua strings (bytes).  Times are integer milliseconds.
--  * An RPC that fails returns `nil, err`; err is a status table
--    {code=, name=, message=, metadata=} (metadata: the trailers), printable
--    with tostring().  A successful unary call returns `reply, status` with
--    status.code == grpc.status.OK.
--  * Misuse raises a Lua error: wrong argument types, unknown options,
--    invalid metadata, using a closed channel, a call that was closed.
--  * Metadata is a table: give it as {key = "value"} (a list of strings
--    for repeated keys) or as a list of {key, value} pairs; received
--    metadata has both forms: md[i] = {key, value} in order, md[key] = the
--    first value.  Keys ending in "-bin" carry raw bytes.
--
-- Protobuf: grpc.load_descriptor_set(bytes) gives a pool whose
-- pool:stub(channel, service) takes and returns tables instead of strings
-- (lua/README.md, "Dynamic stubs").
--
-- Threads: a channel may be handed to grpc.thread(), which runs a Lua chunk
-- in a new lua_State on a new OS thread; all threads' RPCs share the
-- channel's one HTTP/2 connection.  Nothing else crosses states: each
-- state has its own stubs, calls and pollers.

local core = require "cgrpc.core"

local M = {}
M.core = core
M.version = core.cgrpc_version()

local type, error, setmetatable, getmetatable, tostring, select =
  type, error, setmetatable, getmetatable, tostring, select
local pack, unpack = table.pack, table.unpack

-- API return codes of the C library.
local E_BUSY, E_STATE, E_CLOSED = core.CGRPC_E_BUSY, core.CGRPC_E_STATE, core.CGRPC_E_CLOSED
local E_TOO_LARGE, E_CANCELLED = core.CGRPC_E_TOO_LARGE, core.CGRPC_E_CANCELLED
local DONE = core.CGRPC_DONE
local SEND_LAST = core.CGRPC_SEND_LAST

---------------------------------------------------------------------------
-- Status codes and status/error tables
---------------------------------------------------------------------------

--- grpc.status.OK ... grpc.status.UNAUTHENTICATED, and grpc.status[2] == "UNKNOWN".
M.status = {}
for code = 0, 16 do
  local name = core.cgrpc_status_name(code)
  M.status[name] = code
  M.status[code] = name
end
local S = M.status

--- The name of a status code ("DEADLINE_EXCEEDED").
function M.status_name(code)
  return core.cgrpc_status_name(code)
end

local Status = {}
Status.__index = Status
Status.__name = "cgrpc.Status"
function Status.__tostring(s)
  if s.message and s.message ~= "" then return s.name .. ": " .. s.message end
  return s.name
end
--- true if the status is OK.
function Status:ok() return self.code == 0 end
M.Status = Status

local function as_code(code, level)
  if type(code) == "string" then
    local c = S[code]
    if type(c) ~= "number" then error("cgrpc: unknown status name '" .. code .. "'", level + 1) end
    return c
  end
  if math.type(code) ~= "integer" or code < 0 or code > 16 then
    error("cgrpc: a status code is an integer 0..16 or a name, got " .. tostring(code), level + 1)
  end
  return code
end

--- An error (status) table: grpc.error(grpc.status.NOT_FOUND, "no such key", {["x-why"]="..."}).
-- The code may also be a name ("NOT_FOUND").  Server handlers return
-- `nil, grpc.error(...)` (or raise it) to end an RPC with that status.
function M.error(code, message, metadata)
  code = as_code(code, 2)
  if message ~= nil and type(message) ~= "string" then
    error("cgrpc: a status message must be a string, got " .. type(message), 2)
  end
  return setmetatable({code = code, name = S[code], message = message or "",
                       metadata = metadata or {}}, Status)
end

--- true if v is a status table (from an RPC or grpc.error).
function M.is_status(v)
  return getmetatable(v) == Status
end

-- API error codes (negative) to the gRPC status a caller sees.
local API_STATUS = {
  [core.CGRPC_E_INVALID_ARG] = S.INVALID_ARGUMENT,
  [core.CGRPC_E_NOMEM] = S.RESOURCE_EXHAUSTED,
  [core.CGRPC_E_BUSY] = S.FAILED_PRECONDITION,
  [core.CGRPC_E_STATE] = S.FAILED_PRECONDITION,
  [core.CGRPC_E_CLOSED] = S.CANCELLED,
  [core.CGRPC_E_TIMEOUT] = S.DEADLINE_EXCEEDED,
  [core.CGRPC_E_METADATA] = S.INVALID_ARGUMENT,
  [core.CGRPC_E_TOO_LARGE] = S.RESOURCE_EXHAUSTED,
  [core.CGRPC_E_TARGET] = S.INVALID_ARGUMENT,
  [core.CGRPC_E_ADDRESS] = S.UNAVAILABLE,
  [core.CGRPC_E_SYSTEM] = S.UNAVAILABLE,
  [core.CGRPC_E_ROLE] = S.FAILED_PRECONDITION,
  [core.CGRPC_E_NOT_FOUND] = S.NOT_FOUND,
  [core.CGRPC_E_CANCELLED] = S.CANCELLED,
  [core.CGRPC_E_TLS] = S.UNAVAILABLE,
  [core.CGRPC_E_PARSE] = S.INVALID_ARGUMENT,
  [core.CGRPC_E_TYPE] = S.INVALID_ARGUMENT,
}

--- The status table for a failure of the C library itself (not of an RPC):
-- err.api holds the C return code (grpc.core.CGRPC_E_*).
function M.api_error(message, rc)
  local st = M.error(API_STATUS[rc] or S.UNKNOWN, "cgrpc: " .. tostring(message))
  st.api = rc
  return st
end

---------------------------------------------------------------------------
-- Small helpers
---------------------------------------------------------------------------

local function argcheck(cond, n, fname, msg)
  if not cond then
    error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), 3)
  end
end

local function check_str(v, n, fname)
  if type(v) ~= "string" then
    error(("bad argument #%d to '%s' (string expected, got %s)"):format(n, fname, type(v)), 3)
  end
end

local function check_opts(v, n, fname)
  if v ~= nil and type(v) ~= "table" then
    error(("bad argument #%d to '%s' (options table expected, got %s)"):format(n, fname, type(v)), 3)
  end
end

--- Milliseconds since an arbitrary point (monotonic clock), an integer.
M.now_ms = core.now_ms

--- Sleeps for ms milliseconds (blocks this OS thread, not others).
function M.sleep(ms)
  if math.type(ms) ~= "integer" then
    error("bad argument #1 to 'sleep' (integer milliseconds expected, got " .. tostring(ms) .. ")", 2)
  end
  core.sleep_ms(ms)
end

-- Events a call can wait for (grpc.events.recv | grpc.events.done).
M.events = {
  recv = core.CGRPC_EVENT_RECV,
  send = core.CGRPC_EVENT_SEND,
  initial_metadata = core.CGRPC_EVENT_INITIAL_METADATA,
  done = core.CGRPC_EVENT_DONE,
}

local function event_mask(ev, level)
  if ev == nil then return M.events.done end
  if math.type(ev) == "integer" then return ev end
  if type(ev) == "string" then
    local mask = 0
    for name in ev:gmatch("[%a_]+") do
      local bit = M.events[name]
      if not bit then error("cgrpc: unknown event '" .. name .. "'", level + 1) end
      mask = mask | bit
    end
    if mask ~= 0 then return mask end
  end
  error("cgrpc: events are names ('recv', 'done', 'recv|done', ...) or a mask, got "
        .. tostring(ev), level + 1)
end

---------------------------------------------------------------------------
-- Channel
---------------------------------------------------------------------------

local Channel = {}
Channel.__index = Channel
Channel.__name = "cgrpc.Channel"
M.Channel = Channel

local STATE_NAMES = { [0] = "IDLE", "CONNECTING", "READY", "TRANSIENT_FAILURE", "SHUTDOWN" }
M.channel_state = {}
for i = 0, 4 do M.channel_state[STATE_NAMES[i]] = i end

-- Wraps a raw shared-channel userdata (this state's reference).
local function wrap_channel(raw)
  local timeout_ms, wait_for_ready = core.channel_defaults(raw)
  local defaults
  if timeout_ms ~= nil or wait_for_ready ~= nil then
    defaults = { timeout_ms = timeout_ms, wait_for_ready = wait_for_ready }
  end
  return setmetatable({ _ch = raw, _stubs = {}, _defaults = defaults }, Channel)
end

--- Opens a channel to target ("host:port", "dns:///host:port", "[::1]:port",
-- "unix:/path").  It connects lazily, on the first call.
-- opts: connect_timeout_ms, timeout_ms (default per-call deadline),
-- wait_for_ready, max_send_message_size, max_recv_message_size, user_agent,
-- authority, metadata (sent with every call), backoff = {initial_ms,
-- multiplier, jitter, max_ms}, and tls = true (system roots) or
-- {roots=, cert=, key=, override=, insecure_skip_verify=}, where roots,
-- cert and key are PEM text or file names.
-- Returns the channel, or nil, err (bad target, unreadable TLS files).
function M.channel(target, opts)
  check_str(target, 1, "channel")
  check_opts(opts, 2, "channel")
  local raw, msg, rc = core.channel_new(target, opts)
  if not raw then return nil, M.api_error(msg, rc) end
  return wrap_channel(raw)
end

function Channel:__tostring()
  return ("cgrpc.Channel(%s%s)"):format(core.channel_target(self._ch),
                                       core.channel_closed(self._ch) and ", closed" or "")
end

--- A stub for service ("package.Service"); stubs are cached per channel.
function Channel:stub(service)
  check_str(service, 1, "stub")
  local st = self._stubs[service]
  if st then return st end
  local raw = core.channel_stub(self._ch, service)
  st = setmetatable({ _s = raw, _chan = self, _service = service, _defaults = self._defaults },
                    M.Stub)
  self._stubs[service] = st
  return st
end

local function split_path(path, fname)
  if type(path) ~= "string" then
    error(("bad argument #1 to '%s' (method path string expected, got %s)"):format(fname, type(path)), 3)
  end
  local svc, method = path:match("^/([^/]+)/([^/]+)$")
  if not svc then
    error(("bad argument #1 to '%s' (want '/package.Service/Method', got '%s')"):format(fname, path), 3)
  end
  return svc, method
end

--- Unary call by full path: ch:unary("/pkg.Svc/Method", request, opts).
function Channel:unary(path, request, opts)
  local svc, method = split_path(path, "unary")
  return self:stub(svc):unary(method, request, opts)
end

--- Closes the channel in every state sharing it: running calls end with
-- CANCELLED, and further use raises an error.  Idempotent.
function Channel:close()
  core.channel_close(self._ch)
end
Channel.__close = Channel.close

--- true once the channel is closed (by any state).
function Channel:closed()
  return core.channel_closed(self._ch)
end

--- Connectivity state name ("IDLE", "CONNECTING", "READY", ...); with
-- try_to_connect an IDLE channel starts connecting.
function Channel:state(try_to_connect)
  return STATE_NAMES[core.channel_state(self._ch, try_to_connect and true or false)]
end

--- Waits until the state differs from last_seen (a name) or timeout_ms
-- passes; returns true if it changed.
function Channel:wait_for_state_change(last_seen, timeout_ms)
  local last = M.channel_state[last_seen]
  if not last then error("bad argument #1 to 'wait_for_state_change' (state name expected)", 2) end
  return core.channel_wait_state(self._ch, last, timeout_ms or -1)
end

--- Connects and waits until READY or timeout_ms passes; returns true if READY.
function Channel:connect(timeout_ms)
  timeout_ms = timeout_ms or 5000
  local deadline = core.now_ms() + timeout_ms
  local st = self:state(true)
  while st ~= "READY" do
    if st == "SHUTDOWN" then return false end
    local left = deadline - core.now_ms()
    if left <= 0 then return false end
    self:wait_for_state_change(st, left)
    st = self:state(true)
  end
  return true
end

--- Forgets the reconnect backoff (retry now).
function Channel:reset_backoff()
  core.channel_reset_backoff(self._ch)
end

--- The target string given to grpc.channel().
function Channel:target()
  return core.channel_target(self._ch)
end

---------------------------------------------------------------------------
-- Stub
---------------------------------------------------------------------------

local Stub = {}
M.Stub = Stub
Stub.__name = "cgrpc.Stub"

-- stub:Method(request, opts) is stub:unary("Method", request, opts) for
-- any method name starting with an upper-case letter.
function Stub.__index(self, k)
  local m = Stub[k]
  if m ~= nil then return m end
  if type(k) == "string" and k:match("^%u") then
    local f = function(s, request, opts)
      if getmetatable(s) ~= Stub then
        error("cgrpc: call stub:" .. k .. "(request) with a colon", 2)
      end
      return s:unary(k, request, opts)
    end
    rawset(self, k, f)
    return f
  end
  return nil
end

function Stub:__gc()
  if self._s then core.cgrpc_stub_destroy(self._s) end
  self._s = nil
end

function Stub:__tostring()
  return "cgrpc.Stub(" .. self._service .. ")"
end

local function merge_opts(defaults, opts)
  if not defaults then return opts end
  if opts == nil then return defaults end
  local o = {}
  for k, v in pairs(defaults) do o[k] = v end
  for k, v in pairs(opts) do o[k] = v end
  return o
end

--- Unary RPC: returns reply, status (status.code == OK) or nil, err.
-- opts: timeout_ms, metadata, wait_for_ready.  Blocks this OS thread.
function Stub:unary(method, request, opts)
  check_str(method, 1, "unary")
  check_str(request, 2, "unary")
  check_opts(opts, 3, "unary")
  local reply, st = core.unary(self._s, method, request, merge_opts(self._defaults, opts))
  setmetatable(st, Status)
  if reply == nil then return nil, st end
  return reply, st
end

local Call = {}
Call.__index = Call
Call.__name = "cgrpc.Call"
M.Call = Call

local function new_call(stub, method, opts, fname)
  check_str(method, 1, fname)
  check_opts(opts, 3, fname)
  local raw = core.call_start(stub._s, method, merge_opts(stub._defaults, opts))
  return setmetatable({ _c = raw, _method = method }, Call)
end

--- Starts a unary call without waiting: the request is sent and the call
-- half-closed.  Get the outcome with call:result() (blocks), or add the
-- call to a grpc.poller() and wait for many at once.
function Stub:start_unary(method, request, opts)
  check_str(request, 2, "start_unary")
  local call = new_call(self, method, opts, "start_unary")
  call:send(request, true)
  return call
end

--- Server streaming: sends request, half-closes; read with call:recv() or
-- `for msg in call:messages() do ... end`, then call:status().
function Stub:server_streaming(method, request, opts)
  check_str(request, 2, "server_streaming")
  local call = new_call(self, method, opts, "server_streaming")
  call:send(request, true)
  return call
end

--- Client streaming: call:send() each request, then call:close_and_recv()
-- -> reply, status | nil, err.
function Stub:client_streaming(method, opts)
  return new_call(self, method, opts, "client_streaming")
end

--- Bidirectional streaming: send/recv freely, close_send() when done.
function Stub:bidi_streaming(method, opts)
  return new_call(self, method, opts, "bidi_streaming")
end

---------------------------------------------------------------------------
-- Call (client side)
---------------------------------------------------------------------------

local function live(call, fname)
  local c = call._c
  if not c then error("cgrpc: " .. fname .. ": the call is closed", 3) end
  return c
end

function Call:__gc()
  local c = self._c
  if c then
    self._c = nil
    core.call_destroy(c)
  end
end

--- Releases the call now (cancelling it if it is still running).
-- Idempotent; also runs when the call is garbage-collected.
function Call:close()
  if self._poller then self._poller:remove(self) end
  self:__gc()
end
Call.__close = Call.close

function Call:__tostring()
  return ("cgrpc.Call(%s%s)"):format(self._method, self._c and "" or ", closed")
end

--- Sends one message (last = true half-closes after it); on a call of a
-- dynamic stub (pool:stub) the message is a table, else a string.  Returns true,
-- or nil, err if the call has already ended (err is its status) or the
-- message is too large for the channel.
function Call:send(msg, last)
  local c = live(self, "send")
  local codec = self._codec
  if codec then msg = core.pb_encode(codec[1], codec[2], msg) end
  check_str(msg, 1, "send")
  if self._half_closed then error("cgrpc: send: the call was already half-closed", 2) end
  local rc = core.cgrpc_call_send(c, msg, last and SEND_LAST or 0)
  if last and (rc == 0 or rc == E_CLOSED) then self._half_closed = true end
  if rc == 0 then return true end
  if rc == E_CLOSED then return nil, self:status() end
  if rc == E_TOO_LARGE then
    return nil, M.error(S.RESOURCE_EXHAUSTED, "message larger than the channel's max_send_message_size")
  end
  if rc == E_BUSY then error("cgrpc: send: another thread or coroutine is sending on this call", 2) end
  if rc == E_STATE then error("cgrpc: send: the call was already half-closed", 2) end
  error("cgrpc: send: " .. core.cgrpc_strerror(rc), 2)
end

--- Half-closes: no more messages from this side.  Idempotent.
function Call:close_send()
  local rc = core.cgrpc_call_close_send(live(self, "close_send"))
  if rc == E_BUSY then error("cgrpc: close_send: another thread or coroutine is sending on this call", 2) end
  self._half_closed = true
  return true
end

--- The next message; nil when the server has no more and the call ended
-- OK; nil, err when it ended with another status.
function Call:recv()
  local c = live(self, "recv")
  local rc, msg = core.cgrpc_call_recv(c)
  if rc == 0 then
    local codec = self._codec
    if not codec then return msg end
    local t, err = core.pb_decode(codec[1], codec[3], msg)
    if t then return t end
    -- A reply we cannot read ends the call, as in grpcio.
    core.cgrpc_call_cancel(c)
    self._status = M.error(S.INTERNAL, "cannot decode the response: " .. err)
    return nil, self._status
  end
  if rc == DONE then
    local st = self:status()
    if st.code == 0 then return nil end
    return nil, st
  end
  if rc == E_BUSY then error("cgrpc: recv: another thread or coroutine is receiving on this call", 2) end
  error("cgrpc: recv: " .. core.cgrpc_strerror(rc), 2)
end

--- Iterator over the remaining messages: for msg in call:messages() do ... end
-- (afterwards call:status() says how the call ended).
function Call:messages()
  return function()
    return (self:recv())
  end
end

--- The call's final status table (blocks until the call has ended).
function Call:status()
  local st = self._status
  if st then return st end
  st = setmetatable(core.call_status(live(self, "status")), Status)
  self._status = st
  return st
end

--- One reply and the status, for unary-response calls (start_unary,
-- client_streaming after close_send): reply, status | nil, err.
function Call:result()
  local reply, err = self:recv()
  local st = self:status()
  if st.code ~= 0 then return nil, st end
  if reply == nil then
    return nil, M.error(S.INTERNAL, err and err.message or "server sent no response message")
  end
  return reply, st
end

--- Client streaming: half-close, then reply, status | nil, err.
function Call:close_and_recv()
  self:close_send()
  return self:result()
end

--- The server's initial metadata (blocks until it arrives or the call ends).
function Call:initial_metadata()
  return core.call_initial_metadata(live(self, "initial_metadata"))
end

--- Cancels the call (it ends with CANCELLED).  Any time, idempotent.
function Call:cancel()
  local c = self._c
  if c then core.cgrpc_call_cancel(c) end
end

--- The server's address ("ipv4:127.0.0.1:50051").
function Call:peer()
  return core.cgrpc_call_peer(live(self, "peer"))
end

--- The server's identity (TLS): transport_security_type, x509_common_name, ...
function Call:auth_context()
  return core.call_auth_context(live(self, "auth_context"))
end

--- The full method path ("/pkg.Svc/Method").
function Call:method()
  return core.cgrpc_call_method(live(self, "method"))
end

--- Waits until one of events ("recv", "done", "recv|done", ...) is ready,
-- or timeout_ms passes (nil: no limit).  Returns the ready subset as a
-- mask (0 on timeout).
function Call:wait(events, timeout_ms)
  return core.call_wait(live(self, "wait"), event_mask(events, 2), timeout_ms or -1)
end

--- true if events are ready now (never blocks).
function Call:ready(events)
  return core.call_wait(live(self, "ready"), event_mask(events, 2), 0) ~= 0
end

--- true once the call has ended.
function Call:done()
  return self:ready("done")
end

---------------------------------------------------------------------------
-- Poller: wait on many calls from one state (coroutine schedulers)
---------------------------------------------------------------------------

local Poller = {}
Poller.__index = Poller
Poller.__name = "cgrpc.Poller"
M.Poller = Poller

--- A poller: add calls, then wait until some are ready.  Its fd() becomes
-- readable when a call may be ready, so an event loop (cqueues, luv, ...)
-- can poll it; a Poller is itself a cqueues "pollable" (pollfd/events).
-- A call is reported once per add (one-shot): add it again to wait for
-- its next event.
function M.poller()
  return setmetatable({ _p = core.poller_new(), _calls = {}, _n = 0, _next = 0 }, Poller)
end

--- The pollable file descriptor (an eventfd).
function Poller:fd() return core.poller_fd(self._p) end
-- cqueues' pollable protocol: cqueues.poll(poller)
function Poller:pollfd() return core.poller_fd(self._p) end
function Poller:events() return "r" end
function Poller:timeout() return nil end

--- Watches call for events (default "done"; e.g. "recv|done" for streams).
function Poller:add(call, events)
  if getmetatable(call) ~= Call then
    error("bad argument #1 to 'add' (call expected, got " .. type(call) .. ")", 2)
  end
  local c = live(call, "poller:add")
  local mask = event_mask(events, 2)
  if call._poller then call._poller:remove(call) end
  local id = self._next + 1
  self._next = id
  self._calls[id] = call
  self._n = self._n + 1
  call._poller, call._pid = self, id
  core.poller_add(self._p, c, id, mask)
  return call
end

--- Stops watching call.
function Poller:remove(call)
  if call._poller ~= self then return end
  if call._c then core.poller_remove(call._c) end
  self._calls[call._pid] = nil
  self._n = self._n - 1
  call._poller, call._pid = nil, nil
end

--- Number of calls being watched.
function Poller:count() return self._n end

--- Waits until at least one watched call is ready or timeout_ms passes
-- (nil: no limit; 0: just look).  Returns a list of the ready calls (empty
-- on timeout, or at once if nothing is watched); they are no longer watched.
function Poller:wait_any(timeout_ms)
  if timeout_ms ~= nil and math.type(timeout_ms) ~= "integer" then
    error("bad argument #1 to 'wait_any' (integer milliseconds expected)", 2)
  end
  local out = {}
  if self._n == 0 then return out end
  local ids = core.poller_wait(self._p, timeout_ms or -1)
  for i = 1, #ids do
    local call = self._calls[ids[i]]
    if call then
      out[#out + 1] = call
      self:remove(call)
    end
  end
  return out
end

---------------------------------------------------------------------------
-- Dynamic stubs: protobuf messages as tables, from a descriptor set
---------------------------------------------------------------------------

local Pool = {}
Pool.__index = Pool
Pool.__name = "cgrpc.DescriptorPool"
M.DescriptorPool = Pool

local function wrap_pool(raw)
  return setmetatable({ _p = raw }, Pool)
end
M._wrap_pool = wrap_pool

--- Loads a serialized FileDescriptorSet (protoc --include_imports -o
-- set.pb x.proto; every import must be in it).  Returns a pool, or nil,
-- err (err.message says what is wrong with the set).  A pool is immutable:
-- share it with grpc.thread() and server services freely.
function M.load_descriptor_set(data)
  check_str(data, 1, "load_descriptor_set")
  local raw, msg, rc = core.pb_load(data)
  if not raw then return nil, M.api_error(msg, rc) end
  return wrap_pool(raw)
end

function Pool:__tostring()
  return "cgrpc.DescriptorPool(" .. table.concat(core.pb_services(self._p), ", ") .. ")"
end

--- The full names of the set's services ({"helloworld.Greeter", ...}).
function Pool:services()
  return core.pb_services(self._p)
end

local function method_kind(m)
  if m.client_streaming then
    return m.server_streaming and "bidi_streaming" or "client_streaming"
  end
  return m.server_streaming and "server_streaming" or "unary"
end

--- The methods of service, in declaration order: a list of
-- {name=, path=, kind=, input=, output=, client_streaming=,
-- server_streaming=}, kind being "unary", "server_streaming",
-- "client_streaming" or "bidi_streaming" and input/output full message
-- type names.  nil if the set has no such service.
function Pool:methods(service)
  check_str(service, 1, "methods")
  local ms = core.pb_methods(self._p, service)
  if ms then
    for _, m in ipairs(ms) do m.kind = method_kind(m) end
  end
  return ms
end

--- true if the set defines message type name ("pkg.Msg").
function Pool:has_type(name)
  check_str(name, 1, "has_type")
  return core.pb_has_type(self._p, name)
end

--- Encodes a table as message type type_name: the wire bytes.  Raises an
-- error naming the field on a wrong value ("pkg.Msg.id: expected int64,
-- got string").
function Pool:encode(type_name, t)
  check_str(type_name, 1, "encode")
  return core.pb_encode(self._p, type_name, t)
end

--- Decodes wire bytes as message type type_name: a table, or nil, message.
function Pool:decode(type_name, bytes)
  check_str(type_name, 1, "decode")
  check_str(bytes, 2, "decode")
  return core.pb_decode(self._p, type_name, bytes)
end

local DynStub = {}
DynStub.__index = DynStub
DynStub.__name = "cgrpc.DynamicStub"
M.DynamicStub = DynStub

function DynStub:__tostring()
  return "cgrpc.DynamicStub(" .. self._service .. ")"
end

-- One RPC of a dynamic stub; m is the method's table from pb_methods.
local function dyn_invoke(self, m, a, b)
  if getmetatable(self) ~= DynStub then
    error("cgrpc: call stub:" .. m.name .. "(...) with a colon", 3)
  end
  local stub, raw = self._stub, self._pool._p
  local codec = { raw, m.input, m.output }
  if m.kind == "unary" or m.kind == "server_streaming" then
    -- (request, opts)
    local bytes = core.pb_encode(raw, m.input, a)
    if m.kind == "server_streaming" then
      local call = stub:server_streaming(m.name, bytes, b)
      call._codec = codec
      return call
    end
    local reply, st = stub:unary(m.name, bytes, b)
    if reply == nil then return nil, st end
    local t, err = core.pb_decode(raw, m.output, reply)
    if t == nil then
      local e = M.error(S.INTERNAL, "cannot decode the response: " .. err, st.metadata)
      e.initial_metadata = st.initial_metadata
      return nil, e
    end
    return t, st
  end
  -- (opts): the caller sends tables with call:send()
  local call = m.kind == "client_streaming" and stub:client_streaming(m.name, a)
               or stub:bidi_streaming(m.name, a)
  call._codec = codec
  return call
end

--- A stub for service of the set on channel: one method per RPC, taking
-- and returning tables:
--   reply, st = stub:SayHello({ name = "x" }, opts)   -- unary: reply | nil, err
--   call = stub:ListThings(req, opts)    -- server streaming: call:recv()/messages()
--   call = stub:Record(opts)             -- client streaming: send(t)..., close_and_recv()
--   call = stub:Chat(opts)               -- bidi: send(t), recv(), close_send()
-- Calls are grpc.Call objects whose send/recv take and give tables.  A
-- table that does not fit the request type raises an error naming the
-- field; a reply that cannot be decoded ends the call with INTERNAL.
function Pool:stub(channel, service)
  if getmetatable(channel) ~= Channel then
    error("bad argument #1 to 'stub' (channel expected, got " .. type(channel) .. ")", 2)
  end
  check_str(service, 2, "stub")
  local ms = self:methods(service)
  if not ms then
    error(("bad argument #2 to 'stub' (no service '%s' in the descriptor set)"):format(service), 2)
  end
  local st = setmetatable({ _stub = channel:stub(service), _pool = self, _service = service,
                            _methods = {} }, DynStub)
  for _, m in ipairs(ms) do
    st._methods[m.name] = m
    st[m.name] = function(s, a, b) return dyn_invoke(s, m, a, b) end
  end
  return st
end

--- The method descriptions of the stub's service (see pool:methods).
function DynStub:methods()
  return self._pool:methods(self._service)
end

---------------------------------------------------------------------------
-- OS threads
---------------------------------------------------------------------------

local Thread = {}
Thread.__index = Thread
Thread.__name = "cgrpc.Thread"
M.Thread = Thread

-- Channels cross states as their raw shared userdata (C copies the rest).
local function export(v, depth)
  if type(v) ~= "table" then return v end
  if getmetatable(v) == Channel then return v._ch end
  if getmetatable(v) == M.DescriptorPool then return v._p end
  if depth > 30 then return v end -- C reports the depth error
  local o = {}
  for k, x in pairs(v) do o[export(k, depth + 1)] = export(x, depth + 1) end
  return o
end

local function import(v, depth)
  local t = type(v)
  if t == "userdata" then
    if core.is_channel(v) then return wrap_channel(v) end
    if core.is_pool(v) then return M._wrap_pool(v) end
    return v
  end
  if t ~= "table" or depth > 30 then return v end
  local o = {}
  for k, x in pairs(v) do o[import(k, depth + 1)] = import(x, depth + 1) end
  return o
end

local function export_all(...)
  local n = select("#", ...)
  if n == 0 then return end
  local a = pack(...)
  for i = 1, n do a[i] = export(a[i], 0) end
  return unpack(a, 1, n)
end

local function import_all(...)
  local n = select("#", ...)
  if n == 0 then return end
  local a = pack(...)
  for i = 1, n do a[i] = import(a[i], 0) end
  return unpack(a, 1, n)
end

local function dump_function(f, what, level)
  for i = 1, 255 do
    local name = debug.getupvalue(f, i)
    if name == nil then break end
    if name ~= "_ENV" then
      error(("cgrpc: %s: the function uses the local '%s' of an enclosing scope; it runs in "
             .. "a new Lua state, so it can only use globals, require() and its arguments")
            :format(what, name), level + 1)
    end
  end
  return string.dump(f)
end

--- Runs f (a function without upvalues, or a chunk's source text) in a
-- new lua_State on a new OS thread, with cgrpc loadable there, as
-- f(...).  Arguments and results may be nil, booleans, numbers, strings,
-- channels, descriptor pools, and tables of those; a channel argument is
-- the SAME channel (shared connection), a pool the same pool.  Returns a thread; thread:join() returns f's
-- results (or raises its error, with a traceback).
function M.thread(f, ...)
  local chunk, name
  if type(f) == "function" then
    chunk = dump_function(f, "thread", 2)
    local info = debug.getinfo(f, "S")
    name = "=" .. info.short_src
  elseif type(f) == "string" then
    chunk, name = f, "=thread"
  else
    error("bad argument #1 to 'thread' (function or chunk string expected, got " .. type(f) .. ")", 2)
  end
  local t = core.thread_start(chunk, name, package.path, package.cpath, export_all(...))
  return setmetatable({ _t = t }, Thread)
end

local function join_results(ok, ...)
  if not ok then error((...), 0) end
  return import_all(...)
end

--- Waits for the thread; returns its results or raises its error.
function Thread:join()
  return join_results(core.thread_join(self._t))
end

--- true once the thread's function has returned (join will not block).
function Thread:done()
  return core.thread_done(self._t)
end

-- Entry point of a grpc.thread state (called from C).
function M._thread_main(chunk, name, ...)
  local f, err = load(chunk, name, "bt")
  if not f then error(err, 0) end
  return export_all(f(import_all(...)))
end

---------------------------------------------------------------------------
-- Server
---------------------------------------------------------------------------

local Server = {}
Server.__index = Server
Server.__name = "cgrpc.Server"
M.Server = Server

local SRC_MODULE, SRC_FILE, SRC_CHUNK = 0, 1, 2

--- A server whose handlers are Lua functions running in worker lua_States:
-- each handler thread (at most opts.threads at once, default 64) borrows
-- a worker state of its own for the whole RPC, so handlers run in
-- parallel and a state is never used by two threads at once.
-- opts: threads, memory_limit (bytes per worker state, default 256 MiB;
-- 0 = none), max_recv_message_size, max_send_message_size,
-- max_concurrent_streams.
function M.server(opts)
  check_opts(opts, 1, "server")
  local s = core.server_new(opts, package.path, package.cpath)
  return setmetatable({ _s = s }, Server)
end

--- Listens on address ("127.0.0.1:0", "[::1]:50051", "unix:/path");
-- tls = {cert=, key=, client_ca=, client_cert="none"|"request"|"require"}
-- (PEM text or file names) serves TLS.  Returns the port, or nil, err.
function Server:listen(address, tls)
  check_str(address, 1, "listen")
  if tls ~= nil and type(tls) ~= "table" then
    error("bad argument #2 to 'listen' (tls table expected, got " .. type(tls) .. ")", 2)
  end
  local port, msg, rc = core.server_listen(self._s, address, tls)
  if not port then return nil, M.api_error(msg, rc) end
  return port
end

--- Registers service name ("package.Service").  Handler functions cannot
-- cross lua_States, so src says how each worker state gets the service
-- table:
--   "my.module"             require("my.module")
--   "path/to/svc.lua"       dofile(...)
--   "return { ... }"        a chunk (any string that is not one of the above)
--   {module=}, {file=}, {chunk=}   the same, explicitly
--   function() return {...} end    a factory without upvalues (dumped)
-- The table maps method names to handlers:
--   Method = function(request, ctx) return reply end   -- unary
--   Method = grpc.streaming(function(stream, ctx) ... end) -- any streaming
-- A unary handler returns the reply (a string) or nil, grpc.error(...).
-- Raising a string ends the RPC with UNKNOWN; raising grpc.error(...) with
-- that status.  Keys starting with "_" are ignored.
-- With pool (grpc.load_descriptor_set), the service is the pool's service
-- `name` and messages are tables: requests arrive decoded, replies (and
-- stream:send) take tables; every handler key must be one of its methods,
-- and a plain function serves a streaming method as function(stream, ctx).
-- Returns the list of method names registered.
function Server:service(name, src, pool)
  check_str(name, 1, "service")
  local raw_pool
  if pool ~= nil then
    if getmetatable(pool) ~= M.DescriptorPool then
      error("bad argument #3 to 'service' (descriptor pool expected, got " .. type(pool) .. ")", 2)
    end
    if not core.pb_methods(pool._p, name) then
      error(("bad argument #1 to 'service' (no service '%s' in the descriptor set)"):format(name), 2)
    end
    raw_pool = pool._p
  end
  local kind, text
  local t = type(src)
  if t == "function" then
    kind, text = SRC_CHUNK, dump_function(src, "service factory", 2)
  elseif t == "table" then
    if src.module then kind, text = SRC_MODULE, src.module
    elseif src.file then kind, text = SRC_FILE, src.file
    elseif src.chunk then kind, text = SRC_CHUNK, src.chunk
    else
      error("bad argument #2 to 'service' (a table of handler functions cannot cross Lua states: "
            .. "pass a module name, a file, a chunk, or a factory function)", 2)
    end
    if type(text) ~= "string" then error("bad argument #2 to 'service' (string expected)", 2) end
  elseif t == "string" then
    if src:match("%.lua$") then kind = SRC_FILE
    elseif src:match("^[%w_][%w_%.%-]*$") then kind = SRC_MODULE
    else kind = SRC_CHUNK end
    text = src
  else
    error("bad argument #2 to 'service' (module name, file, chunk or function expected, got "
          .. t .. ")", 2)
  end
  return core.server_service(self._s, name, kind, text, raw_pool)
end

--- Starts serving.  Returns true, or nil, err.
function Server:start()
  local ok, msg, rc = core.server_start(self._s)
  if not ok then return nil, M.api_error(msg, rc) end
  return true
end

--- Graceful shutdown: stop accepting, let running RPCs finish for up to
-- grace_ms (default 0), then cancel the rest.  Blocks.
function Server:shutdown(grace_ms)
  core.server_shutdown(self._s, grace_ms or 0)
end

--- Shuts down (no grace), waits for handlers, frees the worker states.
function Server:close()
  core.server_close(self._s)
end
Server.__close = Server.close

--- Number of worker states alive.
function Server:workers()
  return core.server_workers(self._s)
end

---------------------------------------------------------------------------
-- Server side, running inside worker states
---------------------------------------------------------------------------

local Streaming = { __name = "cgrpc.streaming" }

--- Marks a streaming handler: grpc.streaming(function(stream, ctx) ... end).
-- It serves client-, server- and bidirectional streaming methods alike.
function M.streaming(fn)
  if type(fn) ~= "function" then
    error("bad argument #1 to 'streaming' (function expected, got " .. type(fn) .. ")", 2)
  end
  return setmetatable({ fn = fn }, Streaming)
end

local services = {} -- this worker state's services: name -> { method -> handler }

-- Called from C in each worker state (and in a probe state at registration).
function M._load_service(name, kind, src, pool)
  local tbl
  if kind == SRC_MODULE then
    tbl = require(src)
  elseif kind == SRC_FILE then
    tbl = dofile(src)
  else
    local f, err = load(src, "=service " .. name, "bt")
    if not f then error(err, 0) end
    tbl = f()
  end
  if type(tbl) ~= "table" then
    error(("the service source returned a %s, not a table of handlers"):format(type(tbl)), 0)
  end
  local methods = {}
  for k, v in pairs(tbl) do
    if type(k) ~= "string" then
      error("handler keys must be method names (strings)", 0)
    end
    if k:sub(1, 1) ~= "_" then
      if type(v) == "function" then
        methods[k] = { fn = v, streaming = false }
      elseif getmetatable(v) == Streaming then
        methods[k] = { fn = v.fn, streaming = true }
      else
        error(("method '%s' is a %s; want a function (unary) or grpc.streaming(function)")
              :format(k, type(v)), 0)
      end
    end
  end
  if next(methods) == nil then error("the service has no methods", 0) end
  if pool then
    local byname = {}
    for _, m in ipairs(core.pb_methods(pool, name) or {}) do byname[m.name] = m end
    for k, h in pairs(methods) do
      local m = byname[k]
      if not m then
        error(("'%s' is not a method of %s in the descriptor set"):format(k, name), 0)
      end
      h.codec = { pool, m.input, m.output }
      if m.client_streaming or m.server_streaming then h.streaming = true end
    end
  end
  services[name] = methods
end

function M._service_methods(name)
  local out = {}
  for k in pairs(services[name]) do out[#out + 1] = k end
  table.sort(out)
  return out
end

local Context = {}
Context.__index = Context
Context.__name = "cgrpc.ServerContext"
M.ServerContext = Context

local function ctx_call(ctx, fname)
  local c = ctx._c
  if not c then error("cgrpc: " .. fname .. ": the RPC has ended", 3) end
  return c
end

--- The client's address.
function Context:peer() return core.cgrpc_call_peer(ctx_call(self, "peer")) end
--- true once the client cancelled, the deadline passed or the server is stopping.
function Context:cancelled() return core.cgrpc_call_is_cancelled(ctx_call(self, "cancelled")) ~= 0 end
--- Milliseconds left before the client's deadline, or -1 without one.
function Context:time_remaining() return core.call_time_remaining(ctx_call(self, "time_remaining")) end
--- The client's identity (TLS): transport_security_type, x509_common_name, ...
function Context:auth_context() return core.call_auth_context(ctx_call(self, "auth_context")) end
--- Trailing metadata to send with the status.
function Context:set_trailers(md)
  if type(md) ~= "table" then error("bad argument #1 to 'set_trailers' (table expected)", 2) end
  self._trailers = md
end
--- Sends the response headers now (optional; otherwise with the first message).
function Context:send_initial_metadata(md)
  local rc = core.call_send_initial_metadata(ctx_call(self, "send_initial_metadata"), md)
  if rc == E_STATE then error("cgrpc: initial metadata was already sent", 2) end
  return rc == 0
end
--- Sleeps up to ms; returns false early if the RPC is cancelled.
function Context:sleep(ms)
  return core.sleep_call(ctx_call(self, "sleep"), ms)
end

local ServerStream = {}
ServerStream.__index = ServerStream
ServerStream.__name = "cgrpc.ServerStream"
M.ServerStream = ServerStream

--- The next request message; nil when the client has half-closed; nil,
-- err if the RPC was cancelled.
function ServerStream:recv()
  local c = ctx_call(self, "recv")
  local rc, msg = core.cgrpc_call_recv(c)
  if rc == 0 then
    local codec = self._codec
    if not codec then return msg end
    local t, err = core.pb_decode(codec[1], codec[2], msg)
    if not t then error(M.error(S.INTERNAL, "cannot decode the request: " .. err), 2) end
    return t
  end
  if rc == DONE then return nil end
  if rc == E_CANCELLED then return nil, M.error(S.CANCELLED, "the RPC was cancelled") end
  error("cgrpc: recv: " .. core.cgrpc_strerror(rc), 2)
end

--- Iterator over the request messages.
function ServerStream:messages()
  return function() return (self:recv()) end
end

--- Sends a response message: true, or nil, err if the RPC was cancelled.
function ServerStream:send(msg)
  local c = ctx_call(self, "send")
  local codec = self._codec
  if codec then msg = core.pb_encode(codec[1], codec[3], msg) end
  check_str(msg, 1, "send")
  local rc = core.cgrpc_call_send(c, msg, 0)
  if rc == 0 then return true end
  if rc == E_CANCELLED or rc == E_CLOSED then
    return nil, M.error(S.CANCELLED, "the RPC was cancelled")
  end
  if rc == E_TOO_LARGE then
    return nil, M.error(S.RESOURCE_EXHAUSTED, "message larger than max_send_message_size")
  end
  error("cgrpc: send: " .. core.cgrpc_strerror(rc), 2)
end

local function finish(c, ctx, code, message, trailers)
  core.call_finish(c, code, message, trailers or ctx._trailers)
end

local OOM_MESSAGE = "not enough memory"

local function finish_error(c, ctx, e, what)
  if core.cgrpc_call_is_cancelled(c) ~= 0 then
    -- The RPC is over (client cancel, deadline, shutdown); the handler's
    -- error is most likely the cancel hook's.  cgrpc reports a passed
    -- deadline before its own timer ends the call, so end it the way that
    -- timer would, not with the handler's error.
    if core.call_time_remaining(c) == 0 then
      finish(c, ctx, S.DEADLINE_EXCEEDED, "Deadline Exceeded")
    end
    return
  end
  if getmetatable(e) == Status then
    finish(c, ctx, e.code, e.message, next(e.metadata or {}) and e.metadata or nil)
  elseif e == OOM_MESSAGE and core.worker_oom() then
    local used, limit = core.worker_memory()
    finish(c, ctx, S.RESOURCE_EXHAUSTED,
           ("%s: the handler's Lua state ran out of memory (limit %d bytes)"):format(what, limit or 0))
  else
    finish(c, ctx, S.UNKNOWN, tostring(e))
  end
end

local function describe(v)
  if v == nil then return "nil" end
  return "a " .. type(v)
end

-- Serves one RPC (called from C in the worker state owning this thread).
function M._serve(svc, method, c)
  local h = services[svc][method]
  local path = "/" .. svc .. "/" .. method
  local ctx = setmetatable({ _c = c, method = path, service = svc, name = method,
                             metadata = core.call_initial_metadata(c) }, Context)
  local codec = h.codec
  if not h.streaming then
    local rc, req = core.cgrpc_call_recv(c)
    if rc ~= 0 then
      if rc == DONE then finish(c, ctx, S.INVALID_ARGUMENT, "no request message") end
      ctx._c = nil
      return
    end
    if codec then
      local t, err = core.pb_decode(codec[1], codec[2], req)
      if not t then
        finish(c, ctx, S.INTERNAL, "cannot decode the request: " .. err)
        ctx._c = nil
        return
      end
      req = t
    end
    local ok, r1, r2 = pcall(h.fn, req, ctx)
    if ok and codec and type(r1) == "table" then
      local eok, bytes = pcall(core.pb_encode, codec[1], codec[3], r1)
      if eok then
        r1 = bytes
      else
        ok, r1 = false, M.error(S.INTERNAL, ("handler %s returned a bad reply: %s")
                                           :format(path, tostring(bytes)))
      end
    elseif ok and codec and type(r1) == "string" then
      ok, r1 = false, M.error(S.INTERNAL, ("handler %s returned a string; a handler of a "
                                           .. "descriptor-pool service returns a table"):format(path))
    end
    if not ok then
      finish_error(c, ctx, r1, path)
    elseif type(r1) == "string" then
      local src = core.cgrpc_call_send(c, r1, 0)
      if src == 0 then
        finish(c, ctx, S.OK)
      elseif src == E_TOO_LARGE then
        finish(c, ctx, S.RESOURCE_EXHAUSTED, "reply larger than max_send_message_size")
      end -- else: cancelled, nothing to send
    elseif r1 == nil and getmetatable(r2) == Status then
      if r2.code == S.OK then
        finish(c, ctx, S.INTERNAL, "handler " .. path .. " returned nil and an OK status; "
               .. "return the reply (" .. (codec and "a table" or "a string") .. ")")
      else
        finish_error(c, ctx, r2, path)
      end
    else
      finish(c, ctx, S.INTERNAL,
             ("handler %s returned %s%s; a unary handler must return the reply (%s) "
              .. "or nil, grpc.error(...)"):format(path, describe(r1),
                                                  r1 == nil and r2 ~= nil and (" and " .. describe(r2)) or "",
                                                  codec and "a table" or "a string"))
    end
  else
    local stream = setmetatable({ _c = c, _codec = codec }, ServerStream)
    local ok, r1, r2 = pcall(h.fn, stream, ctx)
    stream._c = nil
    if not ok then
      finish_error(c, ctx, r1, path)
    elseif (r1 == nil or r1 == true) and r2 == nil then
      finish(c, ctx, S.OK)
    elseif r1 == nil and getmetatable(r2) == Status then
      finish_error(c, ctx, r2, path)
    else
      finish(c, ctx, S.INTERNAL,
             ("streaming handler %s returned %s; it must return nothing (OK) or nil, grpc.error(...)")
             :format(path, describe(r1)))
    end
  end
  ctx._c = nil
end

return M
