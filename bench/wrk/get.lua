-- wrk script of the client benchmark's server check: plain GETs, counted by status, and one
-- JSON line at the end (the same BENCH_RESULT format as github_push.lua).
--
-- wrk ... -s bench/wrk/get.lua URL

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(_)
   statuses = {}
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
