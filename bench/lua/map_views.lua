-- Map views by many users: each request is one user's view (TOKENS_FILE holds one token per line).
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end
local path, body = os.getenv("VIEW_PATH"), os.getenv("BODY")
request = function()
  local headers = {["Content-Type"] = "application/json",
                   ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)]}
  return wrk.format("POST", path, headers, body)
end
