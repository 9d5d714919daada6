-- 50 paths never seen before in every request: every path is a fresh signature.
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
local counter = 0
local id = tostring(math.random(1, 1000000000))
request = function()
  counter = counter + 1
  local paths = {}
  for i = 1, 50 do
    paths[i] = '"public/b' .. id .. '/' .. counter .. '/' .. i .. '.png"'
  end
  return wrk.format("POST", "/v1/signed-urls", nil, '{"paths": [' .. table.concat(paths, ",") .. '], "policy": "canned"}')
end
