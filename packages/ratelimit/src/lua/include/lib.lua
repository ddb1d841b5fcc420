--[[
  lib.lua: the algorithms' math, mirroring src/algorithms/*.ts operation for operation.
  Included by the scripts (see scripts/build-lua.ts); not a script of its own.

  A sliding-log limit is one sorted set: score = time (ms), member = the time as 13 digits
  (zero-padded) followed by k < 1000 (unique: the first 13 digits are the time, the rest k) or
  "<time>-<k>" past 1000 entries in one ms, or "r<reservation id>" for a
  reserved entry (ids are never reused, so a stale reservation finds nothing), then ":<cost>"
  when cost ~= 1;
  plus, when some cost ~= 1, the member '#x' whose score is -(sum of cost - 1), so
  used = entries + x without reading them all.

  Per-identifier state hash fields, by limit name N:
    N.i N.c N.p  sliding window: window index, current count, previous count
    N.t  token bucket: theoretical arrival time (%.17g, so it round-trips exactly)
    N.s N.c  fixed window: window start (ms), count
    seq  last reservation id (kept by reset, so ids are never reused)
    r:ID reservation record "expiresAt|name,ref,cost|..."
]]

local LOG, WINDOW, BUCKET, FIXED, MONTH = 1, 2, 3, 4, 5

--[[
  Numbers go to redis.call as strings made here: Redis 7.0 formats a number argument with
  %.17g, three times the cost of %d, and Lua's own `..` is slower still. Same text either way.
]]
local function num(v)
  if v % 1 == 0 then return string.format('%d', v) end
  return string.format('%.17g', v)
end

local function floor_div(a, b)
  local q = math.floor(a / b)
  if q * b > a then q = q - 1 elseif (q + 1) * b <= a then q = q + 1 end
  return q
end

local function server_now(arg)
  if arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- the lower bound of a log's live entries, for ZRANGEBYSCORE / ZCOUNT: entries have times >= 0,
-- the weight sentinel a negative score, which a clock near 0 must not take for an entry
local function live_from(cutoff)
  if cutoff < 0 then return '0' end
  return '(' .. num(cutoff)
end

-- the time of a log entry: its first 13 digits, or its score for a reservation ('r...')
local function entry_time(key, m)
  local b = string.byte(m)
  if b >= 48 and b <= 57 then return tonumber(string.sub(m, 1, 13)) end
  return tonumber(redis.call('ZSCORE', key, m))
end

local function member_cost(m)
  local c = string.match(m, ':(%d+)$')
  if c then return tonumber(c) end
  return 1
end

local function days_from_civil(y, m)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = m + 9
  if m > 2 then mp = m - 3 end
  local doy = math.floor((153 * mp + 2) / 5)
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local DAY = 86400000

-- [start, end) of the UTC calendar month holding now
local function month_bounds(now)
  local z = math.floor(now / DAY) + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local month = mp - 9
  if mp < 10 then month = mp + 3 end
  local year = yoe + era * 400
  if month <= 2 then year = year + 1 end
  local ny, nm = year, month + 1
  if month == 12 then ny, nm = year + 1, 1 end
  return days_from_civil(year, month) * DAY, days_from_civil(ny, nm) * DAY
end

local function fixed_bounds(code, now, window)
  if code == MONTH then return month_bounds(now) end
  local start = math.floor(now / window) * window
  return start, start + window
end

-- rolls two fixed-window counters (current c, previous p, stored at index i) to `index`
local function roll(i, c, p, index)
  if i == nil then return 0, 0 end
  if i ~= index then
    if index == i + 1 then p = c else p = 0 end
    c = 0
  end
  return c, p
end

-- used units x window: previous x (share still covered) + current
local function used_scaled(index, current, previous, window, now)
  return previous * (window - (now - index * window)) + current * window
end

local function bucket_remaining(tat, limit, window, t)
  if tat <= t then return limit end
  local interval = window / limit
  return math.min(limit, math.max(0, math.floor((t + window - tat) / interval)))
end

-- Each limit is a table: name, code, limit, window, cost, and its loaded state.
-- load: brings state to now (rolled; expired log entries excluded, and removed when `trim`).
local function load(l, fields, now, trim)
  local code, window = l.code, l.window
  if code == LOG then
    local key = l.key
    local cutoff = now - window
    l.cutoff = cutoff
    -- one read gives the weight sentinel (lowest score), the two oldest entries, and small
    -- counts; their times are in the members (scores would cost Redis a %.17g each)
    local head = redis.call('ZRANGE', key, '0', '2')
    local x, i, sentinel = 0, 1, 0
    if head[1] == '#x' then
      x, i, sentinel = -tonumber(redis.call('ZSCORE', key, '#x')), 2, 1
    end
    l.x_stored = x
    local oldest_at = head[i] and entry_time(key, head[i])
    local count
    if oldest_at and oldest_at <= cutoff then
      local upto = num(cutoff)
      if x > 0 then
        for _, m in ipairs(redis.call('ZRANGEBYSCORE', key, '0', upto)) do x = x - (member_cost(m) - 1) end
      end
      if trim then
        redis.call('ZREMRANGEBYSCORE', key, '0', upto)
        count = redis.call('ZCARD', key) - sentinel
      else
        count = redis.call('ZCOUNT', key, live_from(cutoff), '+inf')
      end
      -- in steady traffic one entry leaves per call: the next one is the new oldest
      local next_at = head[i + 1] and entry_time(key, head[i + 1])
      if next_at and next_at > cutoff then l.oldest, l.oldest_at = head[i + 1], next_at end
    else
      if oldest_at then l.oldest, l.oldest_at = head[i], oldest_at end
      if #head < 3 then count = #head - sentinel else count = redis.call('ZCARD', key) - sentinel end
    end
    if count == 0 then x = 0 end
    l.count, l.x = count, x
    l.used = count + x
    l.remaining = math.max(0, l.limit - l.used)
    return
  end
  -- the stored values, so persist() writes only what changed
  local s1, s2, s3 = tonumber(fields[l.f1]), tonumber(fields[l.f2]), tonumber(fields[l.f3])
  l.s1, l.s2, l.s3 = s1, s2, s3
  if code == WINDOW then
    local index = math.floor(now / window)
    local c, p = roll(s1, s2 or 0, s3 or 0, index)
    l.index, l.current, l.previous = index, c, p
  elseif code == BUCKET then
    l.tat = s1 or now
  else
    local start, finish = fixed_bounds(code, now, window)
    local c = s2 or 0
    if s1 ~= start then c = 0 end
    l.start, l.finish, l.count = start, finish, c
  end
end

local function window_remaining(l, now)
  local w = l.window
  return math.max(0, floor_div(l.limit * w - used_scaled(l.index, l.current, l.previous, w, now), w))
end

local function remaining(l, now)
  local code = l.code
  if code == LOG then return l.remaining end
  if code == WINDOW then return window_remaining(l, now) end
  if code == BUCKET then return bucket_remaining(l.tat, l.limit, l.window, now) end
  return math.max(0, l.limit - l.count)
end

-- adds a log entry at `at`; `hint` (the live count) makes the first try unique in practice
local function add_entry(key, at, cost, hint)
  local suffix = ''
  if cost ~= 1 then suffix = ':' .. num(cost) end
  local time = string.format('%013d', at)
  local k = hint % 1000
  local member
  for tries = 1, 1000 do
    member = string.format('%s%d%s', time, k, suffix)
    if redis.call('ZADD', key, 'NX', time, member) == 1 then return member end
    k = (k + 1) % 1000
  end
  k = hint
  repeat
    k = k + 1
    member = string.format('%s-%d%s', time, k, suffix)
  until redis.call('ZADD', key, 'NX', time, member) == 1
  return member
end

-- charges l.cost (> 0); returns the reservation reference. Hash writes happen in persist().
-- `reservation`: the id of the reservation being made, or 0.
local function charge(l, now, reservation)
  local code, cost = l.code, l.cost
  if code == LOG then
    local member
    if reservation > 0 then
      member = 'r' .. num(reservation)
      if cost ~= 1 then member = member .. ':' .. num(cost) end
      redis.call('ZADD', l.key, num(now), member)
    else
      member = add_entry(l.key, now, cost, l.count)
    end
    redis.call('PEXPIRE', l.key, l.window_arg)
    if l.count == 0 or (l.oldest and now < l.oldest_at) then l.oldest, l.oldest_at = member, now end
    l.count = l.count + 1
    l.used = l.used + cost
    l.x = l.x + cost - 1
    l.remaining = math.max(0, l.limit - l.used)
    return member
  elseif code == WINDOW then
    l.current = l.current + cost
    return l.index
  elseif code == BUCKET then
    l.tat = math.max(l.tat, now) + cost * (l.window / l.limit)
    return 0
  end
  l.count = l.count + cost
  return l.start
end

-- the weight sentinel of a log: member '#x', score -x; absent when x is 0
local function write_weight(key, x)
  if x > 0 then
    redis.call('ZADD', key, num(-x), '#x')
  else
    redis.call('ZREM', key, '#x')
  end
end

-- a hash field and its value into `writes`, unless the value is the one stored
local function put(writes, field, value, stored)
  if value ~= stored then
    writes[#writes + 1] = field
    writes[#writes + 1] = num(value)
  end
end

-- writes a limit's state: log weights to its sorted set, the rest as the hash fields that changed
local function persist(l, writes, charged)
  local code = l.code
  if code == LOG then
    if l.x ~= l.x_stored then write_weight(l.key, l.x) end
  elseif charged then
    if code == WINDOW then
      put(writes, l.f1, l.index, l.s1)
      put(writes, l.f2, l.current, l.s2)
      put(writes, l.f3, l.previous, l.s3)
    elseif code == BUCKET then
      writes[#writes + 1] = l.f1
      writes[#writes + 1] = string.format('%.17g', l.tat)
    else
      put(writes, l.f1, l.start, l.s1)
      put(writes, l.f2, l.count, l.s2)
    end
  end
end

-- when capacity returns (see LimitOutcome.resetAt in src/algorithms/types.ts)
local function reset_at(l, now, fits)
  local code, limit, cost = l.code, l.limit, l.need
  local rem = remaining(l, now)
  if fits and rem >= limit then return now end
  if code == LOG then
    local used = l.used
    local need = used + cost - limit
    if fits then need = used - (limit - rem - 1) end
    -- usually the oldest entry, already read, frees enough
    if l.oldest and member_cost(l.oldest) >= need then return l.oldest_at + l.window end
    local freed, offset = 0, 0
    while true do
      local batch = math.max(1, math.min(need - freed, 128))
      local entries = redis.call('ZRANGEBYSCORE', l.key, live_from(l.cutoff), '+inf', 'WITHSCORES', 'LIMIT', num(offset), num(batch))
      if #entries == 0 then return now end
      for i = 1, #entries, 2 do
        freed = freed + member_cost(entries[i])
        if freed >= need then return tonumber(entries[i + 1]) + l.window end
      end
      offset = offset + batch
    end
  elseif code == WINDOW then
    local w = l.window
    local target = limit - cost
    if fits then target = limit - rem - 1 end
    local start = l.index * w
    local t
    if l.current <= target then
      if l.previous == 0 then t = now else t = start + w - floor_div((target - l.current) * w, l.previous) end
    else
      t = start + 2 * w - floor_div(target * w, l.current)
    end
    return math.max(t, now)
  elseif code == BUCKET then
    local want = cost
    if fits then want = rem + 1 end
    local tat, w = l.tat, l.window
    local t = math.max(now, math.ceil(tat - w + want * (w / limit)))
    while bucket_remaining(tat, limit, w, t) < want do t = t + 1 end
    while t > now and bucket_remaining(tat, limit, w, t - 1) >= want do t = t - 1 end
    return t
  end
  return l.finish
end

-- parses per-limit arguments from ARGV[first]: n, then per limit name, code, limit, window, cost.
-- Each limit's table is made with every field it will hold: Lua 5.1 then sizes it once.
local function read_limits(first, keys_from)
  local n = tonumber(ARGV[first])
  local limits, by_name, fields = {}, {}, {}
  local k = keys_from
  for i = 1, n do
    local base = first - 4 + 5 * i
    local name, code = ARGV[base], tonumber(ARGV[base + 1])
    -- f1..f3: the limit's hash fields (see the top of this file); s1..s3: their stored values
    local l = {
      name = name, code = code, limit = tonumber(ARGV[base + 2]), window = tonumber(ARGV[base + 3]), window_arg = ARGV[base + 3], cost = tonumber(ARGV[base + 4]),
      key = false, need = 0, fits = false, cutoff = 0, x = 0, x_stored = 0, count = 0, used = 0, remaining = 0,
      oldest = false, oldest_at = 0, index = 0, current = 0, previous = 0, tat = 0, start = 0, finish = 0,
      f1 = false, f2 = false, f3 = false, s1 = false, s2 = false, s3 = false,
    }
    if code == LOG then
      l.key = KEYS[k]
      k = k + 1
    elseif code == WINDOW then
      l.f1, l.f2, l.f3 = name .. '.i', name .. '.c', name .. '.p'
    elseif code == BUCKET then
      l.f1 = name .. '.t'
    else
      l.f1, l.f2 = name .. '.s', name .. '.c'
    end
    if l.f1 then fields[#fields + 1] = l.f1 end
    if l.f2 then fields[#fields + 1] = l.f2 end
    if l.f3 then fields[#fields + 1] = l.f3 end
    limits[i] = l
    by_name[name] = l
  end
  return limits, by_name, fields, k
end

local function read_fields(hash, names)
  local fields = {}
  if #names > 0 then
    local values = redis.call('HMGET', hash, unpack(names))
    for i, name in ipairs(names) do fields[name] = values[i] end
  end
  return fields
end
