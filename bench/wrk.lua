-- wrk script for make bench (bench/run.py): one JSON line with the figures when the run ends, and,
-- with BENCH_DELAY_MS set, a pause before each connection's next request (the fixed-rate runs: C
-- connections each waiting BENCH_DELAY_MS offer at most C * 1000 / BENCH_DELAY_MS requests a second).

local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0") or 0

if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "socket_errors": %d, "http_errors": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
