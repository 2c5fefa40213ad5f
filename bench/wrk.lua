-- wrk script for make bench (bench/run.py): one JSON line with the figures when the run ends, and,
-- with BENCH_DELAY_MS set, a pause before each connection's next request (the fixed-rate runs: C
-- connections each waiting BENCH_DELAY_MS offer at most C * 1000 / BENCH_DELAY_MS requests a second).
-- With BENCH_BODY set, every request is a form POST of that body (the /track/ look-up).

local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0") or 0
local body = os.getenv("BENCH_BODY") or ""

if body ~= "" then
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "socket_errors": %d, "http_errors": %d, ' ..
    '"bytes": %d, "p50_us": %d, "p90_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean))
end
