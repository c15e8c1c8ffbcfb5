--- Unary QPS of the Lua binding next to the C client, against the C echo
-- server: the cost of the Lua layer.
--
--   make lua-bench                      (3 s per cell)
--   make lua-bench LUA_BENCH_ARGS="--seconds 1"
--   lua5.4 bench/lua_bench.lua [--seconds S] [--warmup S] [--size BYTES]
--                              [--threads 1,8] [--repeat R] [--echo-server PATH]
--                              [--unary-bench PATH]
--
-- Both clients work the same way (bench/unary_bench.c): N OS threads share
-- ONE channel (one HTTP/2 connection) and call /cgrpc.test.Echo/Unary back
-- to back with a 64-byte message, each with a 5 s deadline; a warm-up, then
-- a measured phase; a call counts if it started and ended in the measured
-- phase; every reply is compared with its request (which carries the
-- thread and sequence numbers).  The Lua threads are grpc.thread()s, each
-- with its own lua_State, all handed the same channel.  Lua runs the
-- idiomatic path: stub:Unary(request, opts) -> reply, status table.
-- Each cell runs R times (default 3), C and Lua alternating, and the
-- table shows the medians: on a small machine one run is noisy.
--
-- Prints a table and one JSON line per cell.  Exit status 1 if any call
-- failed.
local grpc = require "cgrpc"

local opts = { seconds = 3, warmup = 0.5, size = 64, threads = { 1, 8 }, rep = 3,
               echo_server = "build/bin/echo_server", unary_bench = "build/bin/unary_bench" }
do
  local i = 1
  while i <= #arg do
    local k, v = arg[i], arg[i + 1]
    if k == "--seconds" then opts.seconds = assert(tonumber(v))
    elseif k == "--warmup" then opts.warmup = assert(tonumber(v))
    elseif k == "--size" then opts.size = assert(math.tointeger(tonumber(v)))
    elseif k == "--threads" then
      opts.threads = {}
      for n in v:gmatch("%d+") do opts.threads[#opts.threads + 1] = tonumber(n) end
    elseif k == "--repeat" then opts.rep = assert(math.tointeger(tonumber(v)))
    elseif k == "--echo-server" then opts.echo_server = v
    elseif k == "--unary-bench" then opts.unary_bench = v
    else
      io.stderr:write("unknown argument ", tostring(k), "\n")
      os.exit(2)
    end
    i = i + 2
  end
end

local function shquote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- The echo server in the background; stopped by its pid at the end.
local log = os.tmpname()
local p = io.popen(("%s --host 127.0.0.1 --port 0 > %s 2>&1 & echo $!")
                   :format(shquote(opts.echo_server), shquote(log)))
local server_pid = tonumber(p:read("l"))
p:close()
local function stop_server()
  if server_pid then os.execute("kill " .. server_pid .. " 2>/dev/null") end
  server_pid = nil
  os.remove(log)
end
local port
for _ = 1, 200 do
  local f = io.open(log)
  local s = f and f:read("a") or ""
  if f then f:close() end
  port = s:match("PORT (%d+)")
  if port then break end
  grpc.sleep(25)
end
if not port then
  stop_server()
  error("the echo server did not start")
end
local target = "127.0.0.1:" .. port

local function c_client(threads)
  local cmd = ("%s --target %s --threads %d --seconds %s --warmup %s --size %d")
              :format(shquote(opts.unary_bench), target, threads, opts.seconds, opts.warmup, opts.size)
  local h = io.popen(cmd)
  local out = h:read("a")
  h:close()
  local qps = tonumber(out:match('"qps":([%d%.]+)'))
  local errors = tonumber(out:match('"errors":(%d+)')) or -1
  return qps, errors, out
end

-- One measuring thread: its own lua_State, the shared channel.
local function worker(ch, index, size, go_ms, measure_ms, end_ms)
  local grpc = require "cgrpc"
  local stub = ch:stub("cgrpc.test.Echo")
  local call_opts = { timeout_ms = 5000 }
  local pad = string.rep("x", size)
  grpc.sleep(math.max(0, go_ms - grpc.now_ms()))
  local counted, total, errors, first_error = 0, 0, 0, nil
  local seq = 0
  while true do
    local start = grpc.now_ms()
    if start >= end_ms then break end
    seq = seq + 1
    local tag = ("%d:%d:"):format(index, seq)
    local req = tag .. pad:sub(#tag + 1)
    local reply, st = stub:Unary(req, call_opts)
    total = total + 1
    if reply ~= req then
      errors = errors + 1
      first_error = first_error or tostring(st or "mismatch")
    elseif start >= measure_ms and grpc.now_ms() <= end_ms then
      counted = counted + 1
    end
  end
  return counted, total, errors, first_error
end

local function lua_client(threads)
  local ch = assert(grpc.channel(target))
  assert(ch:connect(5000), "cannot connect to " .. target)
  local now = grpc.now_ms()
  local go = now + 200 -- every thread's state is up by then
  local measure = go + math.floor(opts.warmup * 1000)
  local finish = measure + math.floor(opts.seconds * 1000)
  local ths = {}
  for t = 1, threads do ths[t] = grpc.thread(worker, ch, t, opts.size, go, measure, finish) end
  local counted, total, errors, first_error = 0, 0, 0, nil
  for t = 1, threads do
    local c, n, e, fe = ths[t]:join()
    counted, total, errors = counted + c, total + n, errors + e
    first_error = first_error or fe
  end
  ch:close()
  return counted / opts.seconds, errors, first_error, total
end

local function median(t)
  table.sort(t)
  return t[(#t + 1) // 2]
end

local rows, failed = {}, false
local ok, err = pcall(function()
  for _, n in ipairs(opts.threads) do
    local cs, ls, cerr, lerr, lfirst = {}, {}, 0, 0, nil
    for r = 1, opts.rep do
      local cq, ce = c_client(n)
      local lq, le, lf = lua_client(n)
      cs[r], ls[r] = cq or 0, lq
      if not cq or ce ~= 0 then failed, cerr = true, cerr + math.max(ce, 1) end
      if le ~= 0 then failed, lerr = true, lerr + le end
      lfirst = lfirst or lf
    end
    rows[#rows + 1] = { threads = n, c = median(cs), lua = median(ls), cerr = cerr, lerr = lerr,
                        first = lfirst, cs = cs, ls = ls }
  end
end)
stop_server()
if not ok then error(err, 0) end

print(("Unary echo QPS, %d-byte messages, %s s measured, median of %d, one channel, C echo server at %s")
      :format(opts.size, opts.seconds, opts.rep, target))
print(("%-8s %12s %12s %10s"):format("threads", "C client", "Lua client", "Lua/C"))
for _, r in ipairs(rows) do
  print(("%-8d %12.0f %12.0f %9.0f%%"):format(r.threads, r.c, r.lua, r.c > 0 and 100 * r.lua / r.c or 0))
end
for _, r in ipairs(rows) do
  local function list(t)
    local o = {}
    for i, v in ipairs(t) do o[i] = ("%.0f"):format(v) end
    return "[" .. table.concat(o, ",") .. "]"
  end
  print(('{"bench":"lua_unary","threads":%d,"seconds":%s,"size":%d,"c_qps":%.1f,"lua_qps":%.1f,'
         .. '"ratio":%.3f,"c_runs":%s,"lua_runs":%s,"c_errors":%d,"lua_errors":%d}')
        :format(r.threads, opts.seconds, opts.size, r.c, r.lua, r.c > 0 and r.lua / r.c or 0,
                list(r.cs), list(r.ls), r.cerr, r.lerr))
  if r.first then print("first Lua error: " .. r.first) end
end
os.exit(failed and 1 or 0)
