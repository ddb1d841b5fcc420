--[[
  lib.lua: the algorithms' math, mirroring src/algorithms/*.ts operation for operation.
  Included by the scripts (see scripts/build-lua.ts); not a script of its own.

  A sliding-log limit is one list, see sliding-log.lua.

  Per-identifier state hash fields, by limit name N, each one binary value of doubles (struct:
  exact for integers below 2^53, and read without strtod, the costly part of tonumber):
    N.w  sliding window: '>ddd' window index, current count, previous count
    N.b  token bucket: '>d' theoretical arrival time
    N.f  fixed window: '>dd' window start (ms), count
    ~s   anomaly counters (see anomaly.lua; '~n' held the approximate counters of earlier versions)
    ~e   '>d' the time (ms, in the calls' clock) the hash is kept alive until: its TTL is
         renewed only when that comes within a state TTL
    seq  last reservation id (kept by reset, so ids are never reused)
    r:ID reservation record "expiresAt|name,ref,cost|..."
  The names differ from the text fields of earlier versions (N.i N.c N.p N.t N.s, ~a), and a log
  is `...:log:N` where the sorted set was `...:l:N`: versions deployed side by side never read each
  other's values; the old ones expire with their TTLs.
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
-- load: brings state to now (rolled; expired log entries skipped); `values`: the HMGET of the
-- plan's hash fields, l.i1 the position of this limit's.
local function load(l, values, now)
  local code, window = l.code, l.window
  if code == LOG then
    log_load(l, now)
    return
  end
  -- the stored values (nil when unset), so persist() writes only what changed
  local v = values[l.i1]
  if code == WINDOW then
    local i, c, p
    if v then i, c, p = struct.unpack('>ddd', v) end
    l.s1, l.s2, l.s3 = i, c, p
    local index = math.floor(now / window)
    c, p = roll(i, c or 0, p or 0, index)
    l.index, l.current, l.previous = index, c, p
  elseif code == BUCKET then
    local tat
    if v then tat = struct.unpack('>d', v) end
    l.tat = tat or now
  else
    local s, c
    if v then s, c = struct.unpack('>dd', v) end
    l.s1, l.s2 = s, c
    local start, finish = fixed_bounds(code, now, window)
    c = c or 0
    if s ~= start then c = 0 end
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

-- charges l.cost (> 0); returns the reservation reference. Hash writes happen in persist().
-- `reservation`: the id of the reservation being made, or 0.
local function charge(l, now, reservation)
  local code, cost = l.code, l.cost
  if code == LOG then
    return log_charge(l, now, reservation)
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

-- writes a limit's state: a log to its list, the others' hash field into `writes` when it changed
local function persist(l, writes, charged, now, trim)
  local code = l.code
  if code == LOG then
    log_persist(l, now, trim)
  elseif charged then
    local n = #writes
    if code == WINDOW then
      if l.index ~= l.s1 or l.current ~= l.s2 or l.previous ~= l.s3 then
        writes[n + 1], writes[n + 2] = l.f1, struct.pack('>ddd', l.index, l.current, l.previous)
      end
    elseif code == BUCKET then
      writes[n + 1], writes[n + 2] = l.f1, struct.pack('>d', l.tat)
    elseif l.start ~= l.s1 or l.count ~= l.s2 then
      writes[n + 1], writes[n + 2] = l.f1, struct.pack('>dd', l.start, l.count)
    end
  end
end

-- when capacity returns (see LimitOutcome.resetAt in src/algorithms/types.ts)
-- (`rem`: remaining(l, now), which the caller has)
local function reset_at(l, now, fits, rem)
  local code, limit, cost = l.code, l.limit, l.need
  if fits and rem >= limit then return now end
  if code == LOG then
    local used = l.used
    local need = used + cost - limit
    if fits then need = used - (limit - rem - 1) end
    return log_reset_at(l, now, need)
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

--[[
  A plan of one sliding-window limit, checked (mode 1) without anomaly rules: the steps of
  check.lua (load, remaining, charge, persist, the hash's lazy TTL, reset_at) with locals only,
  as log_check does for a log. Appends the reply to `out`.
]]
local function window_check(hash, l, cost, now, ttl, out)
  local w, limit, field = l.window, l.limit, l.f1
  local values = redis.call('HMGET', hash, field, '~e')
  local v = values[1]
  local i, c, p
  if v then i, c, p = struct.unpack('>ddd', v) end
  local s1, s2, s3 = i, c, p
  local index = math.floor(now / w)
  c, p = roll(i, c or 0, p or 0, index)
  local rem = math.max(0, floor_div(limit * w - used_scaled(index, c, p, w, now), w))
  local need = cost
  if need < 1 then need = 1 end
  local fits = need <= rem
  if fits and cost > 0 then
    c = c + cost
    if index ~= s1 or c ~= s2 or p ~= s3 then
      local packed = struct.pack('>ddd', index, c, p)
      local kept = values[2]
      if not kept or struct.unpack('>d', kept) < now + ttl then
        local renew = ttl + math.floor(ttl / 4)
        redis.call('HSET', hash, field, packed, '~e', struct.pack('>d', now + renew))
        redis.call('PEXPIRE', hash, num(renew))
      else
        redis.call('HSET', hash, field, packed)
      end
    end
    rem = math.max(0, floor_div(limit * w - used_scaled(index, c, p, w, now), w))
  end
  local reset = now
  if not (fits and rem >= limit) then
    local target = limit - need
    if fits then target = limit - rem - 1 end
    local start = index * w
    local t
    if c <= target then
      if p == 0 then t = now else t = start + w - floor_div((target - c) * w, p) end
    else
      t = start + 2 * w - floor_div(target * w, c)
    end
    if t > now then reset = t end
  end
  local o = #out
  out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5], out[o + 6], out[o + 7], out[o + 8] = fits and 1 or 0, now, 0, 0, 0, fits and 1 or 0, rem, reset
end

-- a limit's table, made with every field it will hold (Lua 5.1 then sizes it once); its hash
-- field f1 (see the top of this file), if any, is appended to `names`, its position kept in i1
local function new_limit(name, code, limit, window, names)
  local l = {
    name = name, code = code, limit = limit, window = window, cost = 0,
    key = false, need = 0, fits = false, count = 0, used = 0, remaining = 0, exists = false, live = false, newest = 0,
    expiry = 0, dead = 0, freed = 0, oldest_at = false, oldest_cost = 0, pending = false, index = 0, current = 0, previous = 0, tat = 0, start = 0, finish = 0,
    f1 = false, s1 = false, s2 = false, s3 = false, i1 = false,
  }
  if code == WINDOW then
    l.f1 = name .. '.w'
  elseif code == BUCKET then
    l.f1 = name .. '.b'
  elseif code ~= LOG then
    l.f1 = name .. '.f'
  end
  if l.f1 then
    local n = #names + 1
    names[n], l.i1 = l.f1, n
  end
  return l
end

-- parses per-limit arguments from ARGV[first]: n, then per limit name, code, limit, window, cost
local function read_limits(first, keys_from)
  local n = tonumber(ARGV[first])
  local limits, by_name, names = {}, {}, {}
  local k = keys_from
  for i = 1, n do
    local base = first - 4 + 5 * i
    local l = new_limit(ARGV[base], tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3]), names)
    l.cost = tonumber(ARGV[base + 4])
    if l.code == LOG then
      l.key = KEYS[k]
      k = k + 1
    end
    limits[i] = l
    by_name[l.name] = l
  end
  return limits, by_name, names, k
end

local NO_VALUES = {}

-- the values of hash fields `names`, by position
local function read_fields(hash, names)
  if #names == 0 then return NO_VALUES end
  return redis.call('HMGET', hash, unpack(names))
end

--[[
  Plans: a check names its plan by an id; the definition comes with it when the library may not
  know it ("<id>:<definition>"), and is kept here, parsed, while the library stays loaded (an EVAL
  script starts with none: its client always sends it). A definition is
  "<state TTL ms>:<reservation TTL ms>:<anomaly rules or ''>:<name>,<code>,<limit>,<window ms>;..."
]]
local plans, plan_count = {}, 0

local function learn_plan(arg)
  local id, state_ttl, reservation_ttl, rules, spec = string.match(arg, '^([^:]+):(%d+):(%d+):([^:]*):(.+)$')
  if not id then return nil end
  local plan = plans[id]
  if plan then return plan end
  plan = {
    state_ttl = tonumber(state_ttl), reservation_ttl = tonumber(reservation_ttl), rules = rules, limits = {}, n = 0, names = {}, anomaly_names = {},
    counters = false, expiry_at = 0, anomaly_at = 0, log1 = false, window1 = false,
  }
  local names = plan.names
  for name, code, limit, window in string.gmatch(spec, '([%w_-]+),(%d+),(%d+),(%d+)') do
    local l = new_limit(name, tonumber(code), tonumber(limit), tonumber(window), names)
    plan.n = plan.n + 1
    plan.limits[plan.n] = l
    if l.code ~= LOG then plan.counters = true end
  end
  -- one sliding-log or sliding-window limit: check.lua's short paths (log_check, window_check)
  plan.log1 = plan.n == 1 and plan.limits[1].code == LOG
  plan.window1 = plan.n == 1 and plan.limits[1].code == WINDOW
  names[#names + 1] = '~e'
  plan.expiry_at = #names
  for i, f in ipairs(names) do plan.anomaly_names[i] = f end
  plan.anomaly_names[#names + 1] = '~s'
  plan.anomaly_at = #names + 1
  if plan_count >= 256 then plans, plan_count = {}, 0 end
  -- by id, and by the whole argument for callers that always send it (EVAL, a cluster)
  plans[id], plans[arg] = plan, plan
  plan_count = plan_count + 1
  return plan
end
