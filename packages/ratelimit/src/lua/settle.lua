--[[
  settle.lua: replaces what a reservation charged with the real cost (0 refunds). A larger cost
  is charged even past the limit: the work was done. A reservation settles once.

  KEYS[1]  state hash          <prefix>:{<id>}
  KEYS[2]  reservation index   <prefix>:{<id>}:res
  KEYS[3..] one sorted set per sliding-log limit, in the order of those limits in ARGV
  ARGV[1]  now (ms), or '' to use the server clock (TIME)
  ARGV[2]  reservation id
  ARGV[3]  TTL of the state hash (ms)
  ARGV[4]  number of limits n, then 5 per limit: name, algorithm code, limit, window (ms),
           new cost (-1: keep what was reserved)
  Returns  { status (1 settled, 2 expired, 0 unknown), now }
]]
--- @include "lib"

local hash, res = KEYS[1], KEYS[2]
local now = server_now(ARGV[1])
local id = ARGV[2]
local record = redis.call('HGET', hash, 'r:' .. id)
if not record then return { 0, now } end
redis.call('HDEL', hash, 'r:' .. id)
redis.call('ZREM', res, id)

local expires_at = tonumber(string.match(record, '^(%d+)'))
if expires_at <= now then return { 2, now } end

local _, by_name, names = read_limits(4, 3)
local fields = read_fields(hash, names)
local writes = {}
for name, ref, old in string.gmatch(record, '|([^,|]+),(%-?%d+),(%d+)') do
  local l = by_name[name]
  if l and l.cost >= 0 then
    ref, old = tonumber(ref), tonumber(old)
    local cost, delta = l.cost, l.cost - old
    load(l, fields, now)
    if l.code == LOG then
      local old_member = log_member(ref, old)
      local score = redis.call('ZSCORE', l.key, old_member)
      if score then
        redis.call('ZREM', l.key, old_member)
        local x = l.x_stored - (old - 1)
        if cost > 0 then
          redis.call('ZADD', l.key, score, log_member(ref, cost))
          x = x + cost - 1
        end
        writes[#writes + 1] = name .. '.x'
        writes[#writes + 1] = x
      end
    elseif l.code == WINDOW then
      if ref == l.index then
        l.current = math.max(0, l.current + delta)
      elseif ref == l.index - 1 then
        l.previous = math.max(0, l.previous + delta)
      end
      persist(l, writes, true, now)
    elseif l.code == BUCKET then
      local tat = math.max(l.tat, now) + delta * (l.window / l.limit)
      if delta < 0 then tat = math.max(tat, now) end
      l.tat = tat
      persist(l, writes, true, now)
    else
      if ref == l.start then l.count = math.max(0, l.count + delta) end
      persist(l, writes, true, now)
    end
  end
end
if #writes > 0 then
  redis.call('HSET', hash, unpack(writes))
  redis.call('PEXPIRE', hash, ARGV[3])
end
return { 1, now }
