--[[
  check.lua: checks every limit of a plan; when all have room (and the mode charges), charges
  them all. Denied calls write nothing but the removal of expired entries. One round trip.

  Only the keys a call uses are declared: during a cluster slot migration, Redis refuses a
  multi-key script (TRYAGAIN) when some declared keys are missing, and a sliding-log plan never
  writes the state hash on a plain check.

  KEYS[1]  with ARGV[5] = 1: state hash <prefix>:{<id>} (needed by counters, buckets, reserve)
  KEYS[..] one list per sliding-log limit (see sliding-log.lua), in the order of those limits in ARGV
  KEYS[last] with mode 2: reservation index <prefix>:{<id>}:res (reservation ids by expiry)
  ARGV[1]  now (ms), or '' to use the server clock (TIME)
  ARGV[2]  mode: 0 peek (read only), 1 check, 2 reserve
  ARGV[3]  TTL of the state hash (ms): the longest any state can matter
  ARGV[4]  reservation TTL (ms)
  ARGV[5]  1 when KEYS[1] is the state hash, else 0 (it must be 1 with anomaly rules)
  ARGV[6]  anomaly rules (see anomaly.lua), or '' for none
  ARGV[7]  this call's cost in the cost-spike unit
  ARGV[8]  denials answered meanwhile from a deny cache, to count as calls and denials
  ARGV[9]  number of limits n, then 5 per limit: name, algorithm code, limit, window (ms), cost
  Returns  { allowed (0|1), now, reservation id (0 if none), reservation expiry,
             anomalies fired k, then 3 per anomaly: rule (1 burst, 2 denial storm, 3 cost spike),
             value, threshold, then per limit: fits (0|1), remaining, resetAt }
]]
--- @include "sliding-log"
--- @include "lib"
--- @include "anomaly"

local has_hash = ARGV[5] == '1'
local hash = has_hash and KEYS[1] or nil
local now = server_now(ARGV[1])
local mode = tonumber(ARGV[2])
local rules = ARGV[6]
local watching = rules ~= '' and mode ~= 0
local limits, _, names, next_key = read_limits(9, has_hash and 2 or 1)
if watching then
  for _, f in ipairs(ANOMALY_FIELDS) do names[#names + 1] = f end
end
local fields = {}
if hash then fields = read_fields(hash, names) end

local allowed = true
for _, l in ipairs(limits) do
  load(l, fields, now, mode ~= 0)
  -- a used-up limit denies every call, even one that costs it nothing
  l.need = math.max(l.cost, 1)
  l.fits = l.need <= remaining(l, now)
  if not l.fits then allowed = false end
end

local reservation, expires_at = 0, 0
local fired
if mode ~= 0 then
  local charging = allowed
  if charging and mode == 2 then reservation = redis.call('HINCRBY', hash, 'seq', 1) end
  local writes, parts = {}, {}
  for _, l in ipairs(limits) do
    local charged = charging and l.cost > 0
    if charged then
      local ref = charge(l, now, reservation)
      -- the reservation record (see settle.lua) names what each limit charged
      if reservation > 0 then parts[#parts + 1] = l.name .. ',' .. (type(ref) == 'number' and num(ref) or ref) .. ',' .. num(l.cost) end
    end
    persist(l, writes, charged, now, true)
  end
  if reservation > 0 then
    local res = KEYS[next_key]
    local upto = num(now)
    local expired = redis.call('ZRANGEBYSCORE', res, '-inf', upto)
    for _, id in ipairs(expired) do redis.call('HDEL', hash, 'r:' .. id) end
    if #expired > 0 then redis.call('ZREMRANGEBYSCORE', res, '-inf', upto) end
    expires_at = now + tonumber(ARGV[4])
    writes[#writes + 1] = 'r:' .. reservation
    writes[#writes + 1] = num(expires_at) .. '|' .. table.concat(parts, '|')
    redis.call('ZADD', res, num(expires_at), num(reservation))
    redis.call('PEXPIRE', res, ARGV[3])
  end
  if watching then fired = observe(fields, writes, rules, now, allowed, tonumber(ARGV[7]), tonumber(ARGV[8])) end
  if #writes > 0 then redis.call('HSET', hash, unpack(writes)) end
  if #writes > 0 or reservation > 0 then redis.call('PEXPIRE', hash, ARGV[3]) end
end

local out = { allowed and 1 or 0, now, reservation, expires_at, fired and #fired / 3 or 0 }
if fired then
  for _, v in ipairs(fired) do out[#out + 1] = v end
end
for _, l in ipairs(limits) do
  out[#out + 1] = l.fits and 1 or 0
  out[#out + 1] = remaining(l, now)
  out[#out + 1] = reset_at(l, now, l.fits)
end
return out
