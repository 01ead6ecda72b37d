-- The load of `make bench`, for wrk with one thread: `wrk ... -s tools/bench/wrk.lua -- MODE PREFIX N`.
-- get: GET /hello/<name> cycling over the N stored users (requests built once, in init, so the
--      load generator spends its time on the wire, not in Lua).
-- put: PUT a date of birth for a new user on every request, names PREFIX + a counter.
-- done() prints one line "BENCH_JSON {...}" that tools/bench/__main__.py parses.

local mode, prefix, count = "get", "bench", 10000
local prepared, index = {}, 0

-- Bijective base 26 over a-z, the same names as tools/bench/__main__.py's username().
local function username(base, i)
  local letters = ""
  i = i + 1
  while i > 0 do
    local digit = (i - 1) % 26
    i = math.floor((i - 1) / 26)
    letters = string.char(97 + digit) .. letters
  end
  return base .. letters
end

function init(args)
  mode = args[1] or mode
  prefix = args[2] or prefix
  count = tonumber(args[3] or count)
  if mode == "get" then
    for i = 0, count - 1 do
      prepared[i] = wrk.format("GET", "/hello/" .. username(prefix, i))
    end
  end
end

local put_headers = { ["Content-Type"] = "application/json" }
local put_body = '{"dateOfBirth":"1990-05-17"}'

function request()
  if mode == "get" then
    local r = prepared[index % count]
    index = index + 1
    return r
  end
  index = index + 1
  return wrk.format("PUT", "/hello/" .. username(prefix, index), put_headers, put_body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d},"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max,
    latency.mean))
end
