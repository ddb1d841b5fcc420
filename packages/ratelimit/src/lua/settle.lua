--[[
  settle.lua: replaces what a reservation charged with the real cost (0 refunds). A larger cost
  is charged even past the limit: the work was done. A reservation settles once.

  KEYS[1]  state hash          <prefix>:{<id>}
  KEYS[2..] one list per sliding-log limit, in the order of those limits in ARGV
  KEYS[last] reservation index <prefix>:{<id>}:res
  ARGV[1]  now (ms), or '' to use the server clock (TIME)
  ARGV[2]  "reservation id|expiry": a record with another expiry is another reservation
  ARGV[3]  TTL of the state hash (ms)
  ARGV[4]  number of limits n, then 5 per limit: name, algorithm code, limit, window (ms),
           new cost (-1: keep what was reserved)
  then     anomaly rules ('' or absent: none; see anomaly.lua) and the settle's difference from
           the estimate in the cost-spike unit, counted by the cost-spike rule when it settles
  Returns  { status (1 settled, 2 expired, 0 unknown), now, anomalies fired k, then 3 per
           anomaly: rule, value, threshold (as check.lua) }
]]
--- @include "lib"
--- @include "fixed-window"
--- @include "sliding-window"
--- @include "sliding-log"
--- @include "token-bucket"
--- @include "plan"
--- @include "anomaly"

lib_init()
local hash = KEYS[1]
local now = server_now(ARGV[1])
local id, handle_expiry = string.match(ARGV[2], '^(%d+)|(%d+)$')
local _, by_name, names, res_key = read_limits(4, 2)
local record = redis.call('HGET', hash, 'r:' .. id)
if not record then return { 0, now } end
local expires_at = tonumber(string.match(record, '^(%d+)'))
if expires_at ~= tonumber(handle_expiry) then return { 0, now } end
redis.call('HDEL', hash, 'r:' .. id)
redis.call('ZREM', KEYS[res_key], id)
if expires_at <= now then return { 2, now } end

-- fields held in a log's header move back first (see "Hoisted state" in lib.lua)
state_unhoist(hash)
local fields = read_fields(hash, names)
-- the hash's TTL by check.lua's rule (keep_alive), decided before the fields are packed
local kept, renew = keep_alive(hash, 0, now, tonumber(ARGV[3]))
local writes = {}
for name, ref, reserved in string.gmatch(record, '|([^,|]+),([^,|]+),(%d+)') do
  local l = by_name[name]
  if l and l.cost >= 0 then adjust(l, fields, writes, now, ref, tonumber(reserved), tonumber(id), kept) end
end
local n = tonumber(ARGV[4])
local spec = ARGV[5 + 5 * n] or ''
local fired
if spec ~= '' then fired = observe(redis.call('HGET', hash, '~c') or nil, writes, #writes, spec, now, true, tonumber(ARGV[6 + 5 * n]), 0, 0) end
if #writes > 0 then write_state(hash, writes, #writes, kept, renew) end
local out = { 1, now, 0 }
if fired then
  out[3] = #fired / 3
  for _, v in ipairs(fired) do out[#out + 1] = v end
end
return out
