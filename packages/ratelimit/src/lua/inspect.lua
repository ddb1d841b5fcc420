--[[
  inspect.lua: what an admin needs to see of one identifier beyond its limits: outstanding
  reservations and the last denials. Read only.

  KEYS[1]  state hash          <prefix>:{<id>}
  KEYS[2]  recent denials      <prefix>:{<id>}:dn (list of "at:limit", newest first)
  ARGV[1]  now (ms), or '' to use the server clock (TIME)
  Returns  { now, denials ("at:limit;..." newest first, or ''), then per live reservation: id, record }
]]
--- @include "lib"

local now = server_now(ARGV[1])
local out = { now, table.concat(redis.call('LRANGE', KEYS[2], 0, -1), ';') }
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local id = string.match(fields[i], '^r:(%d+)$')
  if id and tonumber(string.match(fields[i + 1], '^(%d+)')) > now then
    out[#out + 1] = id
    out[#out + 1] = fields[i + 1]
  end
end
return out
