-- wrk script: POST a distinct, valid lead per request to /api/v1/leads.
-- Each thread numbers its requests so that submission ids and emails never
-- repeat across threads or runs.
local threads = {}
local next_id = 1

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  run = os.time()
  n = 0
  -- The render token the booth form would carry (bench-ingest.sh gets one
  -- from the server); without it the shield quarantines every lead.
  local token = os.getenv("RENDER_TOKEN")
  extra = ""
  if token and token ~= "" then
    extra = ',"render_token":"' .. token .. '"'
  end
end

function request()
  n = n + 1
  local sub = string.format("b%d-%d-%d", run, tid, n)
  local body = '{"conference":"bench","submission_id":"' .. sub ..
    '","first_name":"Ana","last_name":"Diaz","email":"' .. sub ..
    '@example.com","phone":"' .. string.format("+50162%05d", n % 100000) ..
    '","company":"Acme Travel","job_title":"Buyer",' ..
    '"interests":["diving"],"answers":{"size":"small"},"consent":{"contact":true,"marketing":true}' .. extra .. '}'
  return wrk.format("POST", "/api/v1/leads", {["Content-Type"] = "application/json"}, body)
end
