-- Requests for the load benchmark (wrk 4). Environment:
--   WRK_PATHS  space-separated request paths, sent in turn
--   WRK_KEY    sent as X-API-Key when set
--   WRK_CLOSE  "1": every request carries "Connection: close", so the server closes
--              the connection after the answer and wrk opens a new one (new TLS
--              handshake) for the next request
-- done() prints one machine-readable RESULT line that run.sh parses.
local paths = {}
for p in string.gmatch(os.getenv("WRK_PATHS") or "/", "%S+") do
  paths[#paths + 1] = p
end
local key = os.getenv("WRK_KEY")
local close = os.getenv("WRK_CLOSE") == "1"
local requests_ = {}
local n = 0

function init(args)
  local headers = {}
  if key and key ~= "" then
    headers["X-API-Key"] = key
  end
  if close then
    headers["Connection"] = "close"
  end
  for i, p in ipairs(paths) do
    local h = {}
    for k, v in pairs(headers) do h[k] = v end
    requests_[i] = wrk.format("GET", p, h)
  end
end

function request()
  n = n % #requests_ + 1
  return requests_[n]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d bytes=%d duration_us=%d p50_us=%d p99_us=%d " ..
    "connect_errors=%d read_errors=%d write_errors=%d status_errors=%d timeouts=%d\n",
    summary.requests, summary.bytes, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
