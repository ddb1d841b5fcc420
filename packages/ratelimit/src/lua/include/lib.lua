--[[
  lib.lua: the algorithms' math, mirroring src/algorithms/*.ts operation for operation.
  Included by the scripts (see scripts/build-lua.ts); not a script of its own.

  Per-identifier state hash fields, by limit name N:
    N.x  sliding log: sum of (cost - 1) over the entries in its sorted set
    N.i N.c N.p  sliding window: window index, current count, previous count
    N.t  token bucket: theoretical arrival time (%.17g, so it round-trips exactly)
    N.s N.c  fixed window: window start (ms), count
    seq  last sequence number (unique sorted-set members, reservation ids)
    r:ID reservation record "expiresAt|name,ref,cost|..."
]]

local LOG, WINDOW, BUCKET, FIXED, MONTH = 1, 2, 3, 4, 5

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

-- sorted-set member of a log entry: "seq", or "seq:cost" when cost ~= 1
local function log_member(seq, cost)
  if cost == 1 then return tostring(seq) end
  return seq .. ':' .. cost
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

local function bucket_remaining(tat, limit, window, t)
  if tat <= t then return limit end
  local interval = window / limit
  return math.min(limit, math.max(0, math.floor((t + window - tat) / interval)))
end

-- Each limit is a table: name, code, limit, window, cost, and its loaded state.
-- load: brings state to now (rolled, expired entries excluded) without writing.
local function load(l, fields, now)
  local code, window = l.code, l.window
  if code == LOG then
    local cutoff = now - window
    l.cutoff = cutoff
    local count = redis.call('ZCOUNT', l.key, '(' .. cutoff, '+inf')
    local x = tonumber(fields[l.name .. '.x']) or 0
    local expired_extra = 0
    if x > 0 then
      for _, m in ipairs(redis.call('ZRANGEBYSCORE', l.key, '-inf', cutoff)) do
        expired_extra = expired_extra + member_cost(m) - 1
      end
    end
    if count == 0 then
      l.x = 0
    else
      l.x = x - expired_extra
    end
    l.x_stored = x
    l.used = count + l.x
    l.remaining = math.max(0, l.limit - l.used)
  elseif code == WINDOW then
    local index = math.floor(now / window)
    local i = tonumber(fields[l.name .. '.i'])
    local c, p = tonumber(fields[l.name .. '.c']) or 0, tonumber(fields[l.name .. '.p']) or 0
    if i == nil then
      c, p = 0, 0
    elseif i ~= index then
      if index == i + 1 then p = c else p = 0 end
      c = 0
    end
    l.index, l.current, l.previous = index, c, p
  elseif code == BUCKET then
    l.tat = tonumber(fields[l.name .. '.t']) or now
  else
    local start, finish = fixed_bounds(code, now, window)
    local s = tonumber(fields[l.name .. '.s'])
    local c = tonumber(fields[l.name .. '.c']) or 0
    if s ~= start then c = 0 end
    l.start, l.finish, l.count = start, finish, c
  end
end

local function window_remaining(l, now)
  local w = l.window
  local used_scaled = l.previous * (w - (now - l.index * w)) + l.current * w
  return math.max(0, floor_div(l.limit * w - used_scaled, w))
end

local function remaining(l, now)
  local code = l.code
  if code == LOG then return l.remaining end
  if code == WINDOW then return window_remaining(l, now) end
  if code == BUCKET then return bucket_remaining(l.tat, l.limit, l.window, now) end
  return math.max(0, l.limit - l.count)
end

-- charges l.cost (> 0); returns the reservation reference. Writes happen in persist().
local function charge(l, now, seq)
  local code, cost = l.code, l.cost
  if code == LOG then
    l.added = log_member(seq, cost)
    l.used = l.used + cost
    l.x = l.x + cost - 1
    l.remaining = math.max(0, l.limit - l.used)
    return seq
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

-- writes a limit's state; `charged` says whether this call charged it
local function persist(l, writes, charged, now)
  local code, name = l.code, l.name
  if code == LOG then
    if l.cutoff then redis.call('ZREMRANGEBYSCORE', l.key, '-inf', l.cutoff) end
    if charged then
      redis.call('ZADD', l.key, now, l.added)
      redis.call('PEXPIRE', l.key, l.window)
    end
    if l.x ~= l.x_stored then
      writes[#writes + 1] = name .. '.x'
      writes[#writes + 1] = l.x
    end
  elseif charged then
    if code == WINDOW then
      writes[#writes + 1] = name .. '.i'
      writes[#writes + 1] = l.index
      writes[#writes + 1] = name .. '.c'
      writes[#writes + 1] = l.current
      writes[#writes + 1] = name .. '.p'
      writes[#writes + 1] = l.previous
    elseif code == BUCKET then
      writes[#writes + 1] = name .. '.t'
      writes[#writes + 1] = string.format('%.17g', l.tat)
    else
      writes[#writes + 1] = name .. '.s'
      writes[#writes + 1] = l.start
      writes[#writes + 1] = name .. '.c'
      writes[#writes + 1] = l.count
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
    local freed, offset = 0, 0
    while true do
      local batch = math.max(1, math.min(need - freed, 128))
      local entries = redis.call('ZRANGEBYSCORE', l.key, '(' .. l.cutoff, '+inf', 'WITHSCORES', 'LIMIT', offset, batch)
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

-- parses per-limit arguments starting at ARGV[first]: name, code, limit, window, cost
local function read_limits(first, keys_from)
  local n = tonumber(ARGV[first])
  local limits, by_name, fields = {}, {}, {}
  local k = keys_from
  for i = 1, n do
    local base = first + 1 + (i - 1) * 5
    local l = {
      name = ARGV[base],
      code = tonumber(ARGV[base + 1]),
      limit = tonumber(ARGV[base + 2]),
      window = tonumber(ARGV[base + 3]),
      cost = tonumber(ARGV[base + 4]),
    }
    local name = l.name
    if l.code == LOG then
      l.key = KEYS[k]
      k = k + 1
      fields[#fields + 1] = name .. '.x'
    elseif l.code == WINDOW then
      fields[#fields + 1] = name .. '.i'
      fields[#fields + 1] = name .. '.c'
      fields[#fields + 1] = name .. '.p'
    elseif l.code == BUCKET then
      fields[#fields + 1] = name .. '.t'
    else
      fields[#fields + 1] = name .. '.s'
      fields[#fields + 1] = name .. '.c'
    end
    limits[i] = l
    by_name[name] = l
  end
  return limits, by_name, fields
end

local function read_fields(hash, names)
  local fields = {}
  if #names > 0 then
    local values = redis.call('HMGET', hash, unpack(names))
    for i, name in ipairs(names) do fields[name] = values[i] end
  end
  return fields
end
