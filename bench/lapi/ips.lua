-- wrk: each request asks for one of the @N@ banned IPs, as a bouncer in live mode does.
local n = @N@
request = function()
  local i = math.random(1, n)
  local path = string.format("/v1/decisions?ip=10.%d.%d.%d", math.floor(i / 65536) % 256,
    math.floor(i / 256) % 256, i % 256)
  return wrk.format("GET", path, { ["X-Api-Key"] = os.getenv("BENCH_KEY") })
end
