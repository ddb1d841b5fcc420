--[[
  sliding-log.lua: the exact sliding log (src/algorithms/sliding-log.ts) as one Redis list,
  operation for operation: log_load, log_remaining, log_charge, log_outcome, log_adjust;
  log_persist writes, and log_check is a whole check of a plan of one such limit.

    element 0   header, struct '>dI6I6': the sum of the costs of every entry in the list (expired
                ones not yet removed included), the newest entry's time, and the time until which
                the key was last kept alive (all ms, in the clock of the calls)
    element 1.. one per charge, oldest first: the time as 6 bytes ('>I6'); a cost other than 1
                follows as a double ('>d'); a reserved entry is '>I6dd': time, cost, reservation id,
                so settle finds exactly it (ids are never reused) and nothing else

  A check reads the header and the next few entries (one LRANGE): the first live entry is all
  that decides in the usual case (see log_outcome). A charge is one RPUSH at the tail (O(1):
  times only grow; an older time, from callers' clocks apart, is inserted in order). Expired
  entries are removed lazily, LOG_TRIM at a time, so most checks write only the header (LSET 0)
  and the entry. The key's TTL is renewed only when it would end within a window of the newest
  entry: then to two windows. A unit entry is 6 bytes of payload, 8 in the list's listpack, and
  the layout is the same at every length (a quicklist of listpacks: no conversion step).
]]

local LOG_READ, LOG_READ_ARG = 3, '3' -- entries read with the header (numbers go to redis.call as text: see num())
local LOG_TRIM = 2 -- expired entries removed together (fewer than LOG_READ: the first read finds a live one)
local LOG_CHUNK = 128

local function log_entry(e)
  if #e == 6 then return struct.unpack('>I6', e), 1 end
  local at, cost = struct.unpack('>I6d', e)
  return at, cost
end

-- loads a log limit (its list, not the hash's `values`): skips expired entries (counted in
-- l.dead, their costs in l.freed) and keeps the oldest live one (l.oldest_at, l.oldest_cost;
-- false when none)
local function log_load(l, values, now)
  local key, cutoff = l.key, now - l.window
  local rows = redis.call('LRANGE', key, '0', LOG_READ_ARG)
  local exists = rows[1] ~= nil
  local stored, newest, expiry = 0, 0, 0
  if exists then stored, newest, expiry = struct.unpack('>dI6I6', rows[1]) end
  local dead, freed, i, full = 0, 0, 2, #rows == LOG_READ + 1
  local at, cost = false, 0
  while true do
    local e = rows[i]
    if not e then
      if not full then break end
      rows = redis.call('LRANGE', key, string.format('%d', dead + 1), string.format('%d', dead + LOG_CHUNK))
      full, i, e = #rows == LOG_CHUNK, 1, rows[1]
      if not e then break end
    end
    at, cost = log_entry(e)
    if at > cutoff then break end
    at, dead, freed, i = false, dead + 1, freed + cost, i + 1
  end
  l.exists, l.newest, l.expiry, l.live = exists, newest, expiry, at ~= false
  l.dead, l.freed, l.oldest_at, l.oldest_cost = dead, freed, at, cost
  l.used = stored - freed
  l.pending = false
  l.remaining = math.max(0, l.limit - l.used)
end

local function log_remaining(l, now)
  return l.remaining
end

-- charges l.cost at now (the entry is written by log_persist); the reference is the time (with
-- the reservation id in the entry, settle finds exactly it)
local function log_charge(l, now, reservation)
  local cost = l.cost
  if reservation > 0 then
    l.pending = struct.pack('>I6dd', now, cost, reservation)
  elseif cost ~= 1 then
    l.pending = struct.pack('>I6d', now, cost)
  else
    l.pending = struct.pack('>I6', now)
  end
  if not l.oldest_at or now < l.oldest_at then l.oldest_at, l.oldest_cost = now, cost end
  l.used = l.used + cost
  l.remaining = math.max(0, l.limit - l.used)
  return now
end

local function log_header(used, newest, expiry)
  return struct.pack('>dI6I6', used, newest, expiry)
end

-- writes what changed: expired entries once LOG_TRIM have piled up (with `trim`), the header, the
-- entry charged, and the TTL when it would end within a window of the newest entry
local function log_write(key, window, now, entry, trim, dead, live, exists, expiry, used, newest, freed)
  local cut = trim and dead > 0 and (dead >= LOG_TRIM or not live)
  if not entry and not cut then return end
  if cut and not live then
    -- nothing live is left: start afresh
    redis.call('DEL', key)
    if not entry then return end
    exists, expiry, cut = false, 0, false
  end
  if exists and not cut then used = used + freed end
  if not exists then newest = 0 end
  local ordered, renew = true, false
  if entry then
    if now < newest then ordered = false else newest = now end
    if expiry < newest + window then expiry, renew = newest + 2 * window, true end
  end
  local header = log_header(used, newest, expiry)
  if cut then
    redis.call('LTRIM', key, string.format('%d', dead + 1), '-1')
    redis.call('LPUSH', key, header)
    if entry and ordered then redis.call('RPUSH', key, entry) end
  elseif not exists then
    redis.call('RPUSH', key, header, entry)
  else
    redis.call('LSET', key, '0', header)
    if entry and ordered then redis.call('RPUSH', key, entry) end
  end
  if not ordered then
    -- before the first entry younger than this one (the first element with those bytes is it)
    local pivot
    for _, e in ipairs(redis.call('LRANGE', key, '1', '-1')) do
      if log_entry(e) > now then
        pivot = e
        break
      end
    end
    if pivot then redis.call('LINSERT', key, 'BEFORE', pivot, entry) else redis.call('RPUSH', key, entry) end
  end
  if renew then redis.call('PEXPIRE', key, string.format('%d', expiry - now)) end
end

local function log_persist(l, writes, now, trim)
  log_write(l.key, l.window, now, l.pending, trim, l.dead, l.live, l.exists, l.expiry, l.used, l.newest, l.freed)
end

-- when capacity returns: the time the entry that frees `need` leaves the window, walking from
-- the oldest (past the first, which the caller has tried)
local function log_walk(key, window, now, need)
  local cutoff = now - window
  local freed, from = 0, 1
  while true do
    local rows = redis.call('LRANGE', key, string.format('%d', from), string.format('%d', from + LOG_CHUNK - 1))
    if #rows == 0 then return now end
    for _, e in ipairs(rows) do
      local at, cost = log_entry(e)
      if at > cutoff then
        freed = freed + cost
        if freed >= need then return at + window end
      end
    end
    from = from + LOG_CHUNK
  end
end

-- fits, remaining, resetAt (see LimitOutcome in src/algorithms/types.ts): resetAt is when the
-- entry that frees what must leave the window does
local function log_outcome(l, now)
  local fits, rem, limit = l.fits, l.remaining, l.limit
  if fits and rem >= limit then return fits, rem, now end
  local used = l.used
  local need = used + l.need - limit
  if fits then need = used - (limit - rem - 1) end
  -- usually the oldest entry frees enough
  if l.oldest_at and l.oldest_cost >= need then return fits, rem, l.oldest_at + l.window end
  return fits, rem, log_walk(l.key, l.window, now, need)
end

--[[
  A plan of one sliding-log limit, checked (mode 1) without anomaly rules: the steps of check.lua
  and the functions above, with locals only (every table access costs Redis about as much as an
  arithmetic step). Appends the reply to `out`; returns false, having written nothing, when the
  entries read are all expired (the general path then reads on).
]]
local function log_check(key, limit, window, cost, now, out)
  local cutoff = now - window
  local rows = redis.call('LRANGE', key, '0', LOG_READ_ARG)
  local header = rows[1]
  local used, newest, expiry = 0, 0, 0
  if header then used, newest, expiry = struct.unpack('>dI6I6', header) end
  local dead, freed, i = 0, 0, 2
  local e = rows[2]
  local at, c = false, 0
  while e do
    if #e == 6 then
      at, c = struct.unpack('>I6', e), 1
    else
      at, c = struct.unpack('>I6d', e)
    end
    if at > cutoff then break end
    dead, freed, i, at = dead + 1, freed + c, i + 1, false
    e = rows[i]
  end
  if not at and dead == LOG_READ then return false end
  local live = at ~= false
  local usage = used - freed
  local need = cost
  if need < 1 then need = 1 end
  local remaining = limit - usage
  if remaining < 0 then remaining = 0 end
  local fits = need <= remaining
  local entry = false
  if fits and cost > 0 then
    if cost == 1 then entry = struct.pack('>I6', now) else entry = struct.pack('>I6d', now, cost) end
    if not at or now < at then at, c = now, cost end
    usage = usage + cost
    remaining = limit - usage
    if remaining < 0 then remaining = 0 end
  end
  log_write(key, window, now, entry, true, dead, live, header ~= nil, expiry, usage, newest, freed)
  local reset = now
  if not (fits and remaining >= limit) then
    local wanted = usage + need - limit
    if fits then wanted = usage - (limit - remaining - 1) end
    if at and c >= wanted then reset = at + window else reset = log_walk(key, window, now, wanted) end
  end
  local o = #out
  out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5], out[o + 6], out[o + 7], out[o + 8] = fits and 1 or 0, now, 0, 0, 0, fits and 1 or 0, remaining, reset
  return true
end

-- a reserved entry (time `at`, `reserved` units, reservation `id`) becomes l.cost; 0 removes
-- it. One gone from the window, or reset since, changes nothing
local function log_adjust(l, now, at, reserved, id)
  if at <= now - l.window then return end
  local key, cost = l.key, l.cost
  local entry = struct.pack('>I6dd', at, reserved, id)
  local index = redis.call('LPOS', key, entry)
  if not index then return end
  local used, newest, expiry = struct.unpack('>dI6I6', redis.call('LINDEX', key, '0'))
  if cost > 0 then
    local settled
    if cost == 1 then settled = struct.pack('>I6', at) else settled = struct.pack('>I6d', at, cost) end
    redis.call('LSET', key, string.format('%d', index), settled)
  else
    redis.call('LREM', key, '1', entry)
  end
  redis.call('LSET', key, '0', log_header(used - reserved + cost, newest, expiry))
end
