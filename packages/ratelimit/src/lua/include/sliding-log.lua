--[[
  sliding-log.lua: the exact sliding log (src/algorithms/sliding-log.ts) as one Redis list,
  operation for operation: log_load, log_remaining, log_charge, log_outcome, log_adjust;
  log_persist writes, and log_check is a whole check of a plan of one such limit.

    body       one entry per charge, oldest first. An entry is its time in ms as 6 bytes ('>I6');
               a cost other than 1 sets LOG_COST in that word and follows as a double ('>I6d'); a
               reserved entry also sets LOG_HELD and carries its reservation id ('>I6dd'), so
               settle finds exactly it (ids are never reused) and nothing else. The flags make
               entries self-delimiting in the header's cache (times stay below 2^46)
    last       the header, '>dI6' (14 bytes): the sum of the costs of every entry in the key not
               yet dropped (expired ones not yet seen included) and the newest entry's time (ms,
               in the clock of the calls); then the cache: the oldest entries, moved out of the
               body LOG_CACHE at a time (LPOP), concatenated. A header can also hold a plan's
               counters between its fixed part and its cache (hoisted state, see lib.lua): any
               path but that plan's usual check moves them back to the state hash first

  A check pops the header (RPOP), drops the expired entries at the front of its cache, and pushes
  the charged entry and the new header back in one RPUSH: two commands, both O(1) in the log's
  length, and only the entries that decide are decoded (the header and the cache's first two
  time words in one unpack). When the cache runs out, the next entries move into it (one LPOP per
  LOG_CACHE checks). Times only grow, so entries are appended; an older time (callers' clocks
  apart) puts the cache back into the body and is inserted in order (rare, linear, exact). The
  key's TTL is set to two windows when a charge's time enters a new window-long span of time
  (floor(now / window)) and when the list is created: at most once a window, and an entry always
  lives a window past its time. A unit entry is 6 bytes of payload, 8 in the list's listpack, 6
  in the cache, and the layout is the same at every length (a quicklist of listpacks: no
  conversion step). While the header holds hoisted state, the key lives as long as the state TTL
  instead (logwin_hoisted in check.lua).
]]

local LOG_CACHE, LOG_CHUNK = 16, 128
local LOG_COST, LOG_HELD = 2 ^ 47, 2 ^ 46
-- the header's fixed part; with the cache's first two time words; with the cache after it
local LOG_HEAD, LOG_HEAD2, LOG_HEADC, LOG_FIXED = '>dI6', '>dI6I6I6', '>dI6c0', 14
-- numbers go to redis.call as text (see num())
local LOG_CACHE_ARG = '16'

-- the entry at byte p of s: its time, its cost, the byte after it
local function log_entry(s, p)
  local v = struct.unpack('>I6', s, p)
  if v < LOG_COST then return v, 1, p + 6 end
  local cost = struct.unpack('>d', s, p + 6)
  v = v - LOG_COST
  if v < LOG_HELD then return v, cost, p + 14 end
  return v - LOG_HELD, cost, p + 22
end

local function log_pack(at, cost, id)
  if id > 0 then return struct.pack('>I6dd', at + LOG_COST + LOG_HELD, cost, id) end
  if cost ~= 1 then return struct.pack('>I6d', at + LOG_COST, cost) end
  return struct.pack('>I6', at)
end

-- up to k entries of the body from index `from`, the header (last in the list) left out
local function log_rows(key, from, k)
  local rows = redis.call('LRANGE', key, num(from), num(from + k))
  -- the header, or one past those asked for
  rows[#rows] = nil
  return rows
end

-- log_scan's walk from byte p of `cache` (`used` the sum so far; `ended`: no body to read): drops
-- the expired entries, moving the body's next ones into the cache as it runs out (see log_scan)
local function log_drop(key, used, cache, p, cutoff, pop, ended)
  local moved, at, c, q = 0, false, 0, 0
  while true do
    if p > #cache then
      if ended then break end
      local rows
      if pop then
        rows = redis.call('LPOP', key, LOG_CACHE_ARG) or {}
      else
        rows = log_rows(key, moved, LOG_CACHE)
      end
      if #rows < LOG_CACHE then ended = true end
      cache, p, moved = table.concat(rows), 1, moved + #rows
    else
      at, c, q = log_entry(cache, p)
      if at > cutoff then break end
      used, p, at = used - c, q, false
    end
  end
  return used, cache, p, at, c, moved
end

-- from byte p of `cache` (`used` the sum so far; the header taken), the oldest live entry, the
-- expired ones before it dropped: usually the first or second time word decides, in one unpack;
-- else log_drop walks on. Returns used, the cache, the byte of that entry, its time and cost
-- (false, 0: the log is empty)
local function log_oldest(key, used, cache, p, cutoff)
  if #cache >= p + 11 then
    local v, w = unpack_s('>I6I6', cache, p)
    if v < LOG_COST then
      if v > cutoff then return used, cache, p, v, 1 end
      if w < LOG_COST and w > cutoff then return used - 1, cache, p + 6, w, 1 end
    end
  end
  local at, c
  used, cache, p, at, c = log_drop(key, used, cache, p, cutoff, true, false)
  return used, cache, p, at, c
end

--[[
  Reads a log on to its oldest live entry: header `h` (false: no key), the expired entries dropped
  from the sum. With `pop` the header has been popped and entries move into the cache as they are
  needed (LPOP); without, nothing is written and the entries read are counted in `moved`
  (log_persist moves them). Returns used, newest, the cache and the byte of its oldest live entry,
  that entry's time and cost (false, 0: the log is empty), moved.
]]
local function log_scan(key, h, cutoff, pop)
  local used, newest, p = 0, 0, 1
  local cache = ''
  if h then
    used, newest, p = struct.unpack(LOG_HEAD, h)
    cache = h
  end
  local at, c, moved
  used, cache, p, at, c, moved = log_drop(key, used, cache, p, cutoff, pop, not h)
  return used, newest, cache, p, at, c, moved
end

-- when capacity returns: the time the entry that frees `need` leaves the window, walking from the
-- oldest: the cache's entries from byte p, then the body's from index `from`
local function log_walk(key, cache, p, from, cutoff, window, now, need)
  local freed = 0
  while p <= #cache do
    local at, cost, q = log_entry(cache, p)
    if at > cutoff then
      freed = freed + cost
      if freed >= need then return at + window end
    end
    p = q
  end
  while true do
    local rows = log_rows(key, from, LOG_CHUNK)
    for _, e in ipairs(rows) do
      local at, cost = log_entry(e, 1)
      if at > cutoff then
        freed = freed + cost
        if freed >= need then return at + window end
      end
    end
    if #rows < LOG_CHUNK then return now end
    from = from + LOG_CHUNK
  end
end

-- an entry older than the newest (header popped): the cache's entries go back to the head of the
-- body and the entry before the first younger one (the first element with those bytes is it)
local function log_insert(key, cache, p, entry, now)
  local back = {}
  while p <= #cache do
    local _, _, q = log_entry(cache, p)
    table.insert(back, 1, string.sub(cache, p, q - 1))
    p = q
  end
  if #back > 0 then redis.call('LPUSH', key, unpack(back)) end
  local from, pivot = 0, nil
  while not pivot do
    local rows = redis.call('LRANGE', key, num(from), num(from + LOG_CHUNK - 1))
    for _, e in ipairs(rows) do
      if log_entry(e, 1) > now then
        pivot = e
        break
      end
    end
    if #rows < LOG_CHUNK then break end
    from = from + LOG_CHUNK
  end
  if pivot then redis.call('LINSERT', key, 'BEFORE', pivot, entry) else redis.call('RPUSH', key, entry) end
end

--[[
  Writes a log whose header is not in the list (popped, or never there): `entry` (or false) and
  the header with the cache from byte p (its live part). An empty cache means nothing live is
  left in the body either: the list is then left gone. Returns the cache as written.
]]
local function log_store(key, window, now, entry, used, newest, cache, p)
  local rest = ''
  if p <= #cache then rest = string.sub(cache, p) end
  if not entry and rest == '' then return '' end
  local renew = false
  if entry then
    if now < newest then
      log_insert(key, rest, 1, entry, now)
      rest, entry, renew = '', false, true
    else
      renew = now >= newest - newest % window + window
      newest = now
    end
  end
  local head = struct.pack(LOG_HEADC, used, newest, rest)
  local created
  if entry then created = redis.call('RPUSH', key, entry, head) == 2 else created = redis.call('RPUSH', key, head) == 1 end
  if renew or created then redis.call('PEXPIRE', key, num(2 * window)) end
  return rest
end

--[[
  Takes the header (RPOP) of a log to be written back, and reads on to its oldest live entry, as
  log_scan with `pop` (log_oldest: usually the cache's first two time words decide); `fast` says
  that the cache is still the header itself (no entry moved in from the body).
  `h`: the header when the caller has taken it already (false: no key); nil: take it here.
]]
local function log_take(key, cutoff, h)
  if h == nil then h = call('RPOP', key) end
  if h and log_hoisted(h) then
    -- back in the list before the hash is written (see "Hoisted state" in lib.lua), then taken again
    call('RPUSH', key, h)
    h = log_unhoist_at(key, h)
    call('RPOP', key)
  end
  if not h then return 0, 0, '', 1, false, 0, false end
  local used, newest = unpack_s(LOG_HEAD, h)
  local cache, p, at, c
  used, cache, p, at, c = log_oldest(key, used, h, LOG_FIXED + 1, cutoff)
  return used, newest, cache, p, at, c, cache == h
end

--[[
  Loads a log limit (its list, not the hash's `values`): what log_scan returns, kept in l for
  log_persist and log_outcome (the cache in s1 from byte `index`; the body's entries from index
  `dead` not read yet). A check or a reserve (l.pop, set per call by check.lua) takes the header
  (RPOP) and the cache's expired entries as the short path does, and log_persist always writes
  the header back; a peek reads (LINDEX) and writes nothing.
]]
local function log_load(l, values, now)
  local key = l.key
  local used, newest, cache, p, at, c, moved
  if l.pop then
    used, newest, cache, p, at, c = log_take(key, now - l.window)
    moved = 0
  else
    local h = redis.call('LINDEX', key, '-1')
    if h and log_hoisted(h) then h = log_unhoist_at(key, h) end
    used, newest, cache, p, at, c, moved = log_scan(key, h, now - l.window, false)
  end
  l.newest, l.s1, l.index, l.dead = newest, cache, p, moved
  l.oldest_at, l.oldest_cost = at, c
  l.used, l.pending = used, false
  l.remaining = math.max(0, l.limit - used)
end

local function log_remaining(l, now)
  return l.remaining
end

-- charges l.cost at now (the entry is written by log_persist); the reference is the time (with
-- the reservation id in the entry, settle finds exactly it)
local function log_charge(l, now, reservation)
  local cost = l.cost
  l.pending = log_pack(now, cost, reservation)
  if not l.oldest_at or now < l.oldest_at then l.oldest_at, l.oldest_cost = now, cost end
  l.used = l.used + cost
  l.remaining = math.max(0, l.limit - l.used)
  return now
end

-- writes the header log_load took back, with the live rest of the cache and the charged entry
local function log_persist(l, writes, now, trim)
  l.s1 = log_store(l.key, l.window, now, l.pending, l.used, l.newest, l.s1, l.index)
  l.index = 1
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
  return fits, rem, log_walk(l.key, l.s1, l.index, l.dead, now - l.window, l.window, now, need)
end

local log_now, log_unit = false, ''

--[[
  The rest of a check after log_take, for the short path and a plan's straight-line path
  (logwin_check in check.lua): writes the header back, with the entry of `cost` when `charge`
  (every limit fits), and returns remaining and resetAt. `used` .. `fast`: what log_take
  returned; `need`: max(cost, 1); `fits`: this limit's own answer.
]]
local function log_finish(key, limit, window, cost, need, fits, charge, now, used, newest, cache, p, at, c, fast)
  local remaining = limit - used
  if remaining < 0 then remaining = 0 end
  local entry = false
  if charge then
    if cost == 1 then
      if now ~= log_now then log_now, log_unit = now, pack('>I6', now) end
      entry = log_unit
    else
      entry = struct.pack('>I6d', now + LOG_COST, cost)
    end
    if not at or now < at then at, c = now, cost end
    used = used + cost
    remaining = limit - used
    if remaining < 0 then remaining = 0 end
  end
  local rest
  if fast and entry and now >= newest and now < newest - newest % window + window then
    -- the usual write: in order, within the span the TTL was last set in
    rest = sub(cache, p)
    if call('RPUSH', key, entry, pack(LOG_HEADC, used, now, rest)) == 2 then call('PEXPIRE', key, num(2 * window)) end
  else
    rest = log_store(key, window, now, entry, used, newest, cache, p)
  end
  if fits and remaining >= limit then return remaining, now end
  local wanted = used + need - limit
  if fits then wanted = used - (limit - remaining - 1) end
  if at and c >= wanted then return remaining, at + window end
  return remaining, log_walk(key, rest, 1, 0, now - window, window, now, wanted)
end

--[[
  A plan of one sliding-log limit, checked (mode 1) without anomaly rules: the steps of check.lua
  and the functions above, with locals only (every table access costs Redis about as much as an
  arithmetic step, and a Lua call with its arguments as much as twenty). `h`: the log's header,
  taken (RPOP) by the caller. The usual check (a unit cost that fits, in time order, within the
  span the TTL was last set in, the expired entry or the one after it in the header's first two
  time words) is written out here: one unpack decides, one RPUSH writes the entry and the new
  header. Anything else goes through log_take and log_finish. A unit entry's bytes are made once
  for the checks of a call that share their time. Writes the check's reply (see check.lua: no
  status, it is the sign of remaining) to out[o + 1], out[o + 2]; returns o + 2.
]]
local function log_check(key, h, limit, window, cost, now, out, o)
  if cost == 1 and h and #h >= 26 then
    local used, newest, v, w = unpack_s(LOG_HEAD2, h)
    local cutoff, p, at = now - window, false, 0
    if v < LOG_COST then
      if v > cutoff then
        p, at = 15, v
      elseif w < LOG_COST and w > cutoff then
        p, at, used = 21, w, used - 1
      end
    end
    if p and used < limit and now >= newest and now < newest - newest % window + window then
      used = used + 1
      if now ~= log_now then log_now, log_unit = now, pack('>I6', now) end
      if call('RPUSH', key, log_unit, pack(LOG_HEADC, used, now, sub(h, p))) == 2 then call('PEXPIRE', key, num(2 * window)) end
      -- fits with room left: the oldest live entry (a unit) frees the one unit needed
      out[o + 1], out[o + 2] = limit - used, at + window
      return o + 2
    end
  end
  local used, newest, cache, p, at, c, fast = log_take(key, now - window, h)
  local need = cost
  if need < 1 then need = 1 end
  local fits = need <= limit - used
  local remaining, reset = log_finish(key, limit, window, cost, need, fits, fits and cost > 0, now, used, newest, cache, p, at, c, fast)
  if fits then out[o + 1] = remaining else out[o + 1] = -1 - remaining end
  out[o + 2] = reset
  return o + 2
end

-- a reserved entry (time `at`, `reserved` units, reservation `id`) becomes l.cost; 0 removes
-- it. One gone from the window, or reset since, changes nothing
local function log_adjust(l, now, at, reserved, id)
  if at <= now - l.window then return end
  local key, cost = l.key, l.cost
  local h = redis.call('LINDEX', key, '-1')
  if not h then return end
  if log_hoisted(h) then h = log_unhoist_at(key, h) end
  local used, newest = struct.unpack(LOG_HEAD, h)
  local cache = string.sub(h, LOG_FIXED + 1)
  local entry = log_pack(at, reserved, id)
  local settled = cost > 0 and log_pack(at, cost, 0)
  -- in the body (no header has an entry's bytes: it is 14 bytes and whole entries), else in the cache
  local index = redis.call('LPOS', key, entry)
  if index then
    if settled then redis.call('LSET', key, num(index), settled) else redis.call('LREM', key, '1', entry) end
  else
    local p, found = 1, false
    while p <= #cache do
      local _, _, q = log_entry(cache, p)
      if string.sub(cache, p, q - 1) == entry then
        cache = string.sub(cache, 1, p - 1) .. (settled or '') .. string.sub(cache, q)
        found = true
        break
      end
      p = q
    end
    if not found then return end
  end
  -- the newest time stays (an entry removed leaves it at least the newest's: order is kept)
  redis.call('LSET', key, '-1', struct.pack(LOG_HEADC, used - reserved + cost, newest, cache))
end
