-- Cookie grants for two prefixes in turn: with a one-entry cache every request signs (a miss).
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
local n = 0
request = function()
  n = n + 1
  local prefix = (n % 2 == 0) and "public/a/" or "public/b/"
  return wrk.format("POST", "/v1/cookies", nil, '{"prefix": "' .. prefix .. '"}')
end
