-- wrk script of the ingest benchmark: POST one signed GitHub push body with a unique
-- X-GitHub-Delivery per request, count answers by status, and print one JSON line at the end.
--
-- wrk ... -s bench/wrk/github_push.lua URL -- BODY_FILE SIGNATURE DELIVERY_PREFIX [RATE]
--   BODY_FILE  the exact bytes that were signed
--   SIGNATURE  the X-Hub-Signature-256 value ("sha256=<hex>"), computed once: the body is fixed
--   DELIVERY_PREFIX  unique per wrk run; ids are "<prefix>-<thread>-<counter>"
--   RATE  optional: requests per second for this thread, on a fixed schedule (open loop: a slow
--         answer does not push the next request back, as long as a connection is free)

local threads = {}

function setup(thread)
   thread:set("thread_number", #threads + 1)
   table.insert(threads, thread)
end

function init(args)
   local file = assert(io.open(args[1], "rb"))
   body = file:read("*a")
   file:close()
   headers = {
      ["Content-Type"] = "application/json",
      ["User-Agent"] = "GitHub-Hookshot/bench",
      ["X-GitHub-Event"] = "push",
      ["X-GitHub-Hook-ID"] = "1",
      ["X-Hub-Signature-256"] = args[2],
   }
   prefix = args[3] .. "-" .. thread_number .. "-"
   sent = 0
   statuses = {}
   if args[4] then
      pace(tonumber(args[4]))
   end
end

-- Define wrk's delay() hook so that this thread's requests leave at start + n / rate.
function pace(rate)
   local ffi = require("ffi")
   ffi.cdef[[
      typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
      int clock_gettime(int clock, bench_timespec *ts);
   ]]
   local ts = ffi.new("bench_timespec")
   local function now_ms()
      ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
      return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
   end
   local interval, due = 1000 / rate, nil
   function delay()
      local now = now_ms()
      due = due and due + interval or now
      return math.max(0, math.floor(due - now))
   end
end

function request()
   sent = sent + 1
   headers["X-GitHub-Delivery"] = prefix .. sent
   return wrk.format("POST", nil, headers, body)
end

function response(status, _, _)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, _)
   local counts = {}
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         counts[status] = (counts[status] or 0) + n
      end
   end
   local parts = {}
   for status, n in pairs(counts) do
      table.insert(parts, string.format('"%d": %d', status, n))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"duration_us": %d, "requests": %d, "bytes": %d, '
         .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
         .. '"latency_us": {"min": %d, "mean": %.1f, "stdev": %.1f, '
         .. '"p50": %d, "p90": %d, "p99": %d, "max": %d}, "statuses": {%s}}\n',
      summary.duration, summary.requests, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.min, latency.mean, latency.stdev,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      table.concat(parts, ", ")
   ))
end
