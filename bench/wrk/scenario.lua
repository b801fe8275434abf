-- One wrk script for every bench scenario; bench/run.py sets it up through the
-- environment:
--   BENCH_METHOD   GET | POST | DELETE                       (default GET)
--   BENCH_PATHS    file of request paths, one a line; each request takes one
--                  at random                                  (default "/")
--   BENCH_TOKENS   file of API tokens, one a line; requests rotate over them in
--                  order, so N requests come from min(N, #tokens) users
--   BENCH_BODY     "text": a unique JSON body {"text": ...} per request (native);
--                  "status": the same as {"status": ...} (Mastodon's POST /api/v1/statuses)
--   BENCH_NONCE    makes bodies unique across runs too
--   BENCH_RATE     total requests/s over all threads (0: as fast as possible)
--   BENCH_THREADS  the -t given to wrk (the rate is split per thread)
-- done() prints one line "BENCH_JSON {...}" with wrk's own latency percentiles,
-- the status counts and socket errors; bench/run.py reads it.

local method = os.getenv("BENCH_METHOD") or "GET"
local paths_file = os.getenv("BENCH_PATHS")
local tokens_file = os.getenv("BENCH_TOKENS")
local body_kind = os.getenv("BENCH_BODY") or ""
local nonce = os.getenv("BENCH_NONCE") or "0"
local rate = tonumber(os.getenv("BENCH_RATE") or "0") or 0
local reconnect_every = tonumber(os.getenv("BENCH_RECONNECT_EVERY") or "100") or 100
local threads_n = tonumber(os.getenv("BENCH_THREADS") or "1") or 1

local function read_lines(path)
  local out = {}
  if not path or path == "" then
    return out
  end
  for line in io.lines(path) do
    if line ~= "" then
      out[#out + 1] = line
    end
  end
  return out
end

-- Main state: remember every thread so done() can collect their counts.
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("tid", #threads)
end

-- Per-thread state below (each wrk thread has its own Lua state); `statuses`
-- is a global because done() reads it through thread:get().
local paths, tokens, n, interval_ms, next_at, now_ms
statuses = {}

function init(args)
  paths = read_lines(paths_file)
  if #paths == 0 then
    paths = { "/" }
  end
  tokens = read_lines(tokens_file)
  statuses = {}
  n = 0
  math.randomseed(tid * 7919 + os.time())
  if rate > 0 then
    -- Constant rate without wrk2: each thread hands out send slots spaced
    -- threads/rate apart; a connection whose slot is in the future waits in
    -- delay(). Latency is measured from the real send (wrk's own clock).
    local ffi = require("ffi")
    ffi.cdef([[
      typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
      int clock_gettime(int clk_id, bench_timespec *tp);
    ]])
    local ts = ffi.new("bench_timespec")
    now_ms = function()
      ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
      return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
    end
    interval_ms = 1000 * threads_n / rate
    -- Threads start their schedules offset so slots interleave.
    next_at = now_ms() + interval_ms * (tid - 1) / threads_n
  end
end

function delay()
  if not interval_ms then
    return 0
  end
  local now = now_ms()
  local slot = next_at
  if slot < now then
    slot = now -- behind schedule: send now, never burst to catch up
  end
  next_at = slot + interval_ms
  return math.floor(slot - now)
end

function request()
  n = n + 1
  local headers = {}
  if reconnect_every > 0 and n % reconnect_every == 0 then
    -- gunicorn's workers split keep-alive connections once, at accept time,
    -- and unevenly; a periodic reconnect lets connections drift to the less
    -- busy worker (both servers pay the same reconnect).
    headers["Connection"] = "close"
  end
  if #tokens > 0 then
    -- In order over all users across threads: request k of the run comes from
    -- user k mod #tokens.
    headers["Authorization"] = "Bearer " .. tokens[((n - 1) * threads_n + tid - 1) % #tokens + 1]
  end
  local body = nil
  if body_kind ~= "" then
    -- Unique per request and per run (content addressing would dedupe repeats).
    headers["Content-Type"] = "application/json"
    body = string.format('{"%s": "bench %s-%d-%d w%d #t%d"}', body_kind, nonce, tid, n, n % 1000, n % 100)
  end
  return wrk.format(method, paths[math.random(#paths)], headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses") or {}
    for code, count in pairs(counts) do
      merged[code] = (merged[code] or 0) + count
    end
  end
  local parts = {}
  for code, count in pairs(merged) do
    parts[#parts + 1] = string.format('"%d": %d', code, count)
  end
  local e = summary.errors
  io.write(
    string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, '
        .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
        .. '"latency_us": {"p50": %d, "p90": %d, "p95": %d, "p99": %d, "max": %d, "mean": %.1f}, '
        .. '"status": {%s}}\n',
      summary.requests,
      summary.duration,
      summary.bytes,
      e.connect,
      e.read,
      e.write,
      e.status,
      e.timeout,
      latency:percentile(50),
      latency:percentile(90),
      latency:percentile(95),
      latency:percentile(99),
      latency.max,
      latency.mean,
      table.concat(parts, ", ")
    )
  )
end
