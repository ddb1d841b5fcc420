--[[
  check.lua: checks every limit of a plan; when all have room (and the mode charges), charges
  them all. Denied calls write nothing but a log's header, taken (RPOP) and written back with its
  expired entries removed (the same bytes when none expired); a peek writes nothing (but hoisted
  state it meets moves back to the state hash: see lib.lua). Several
  checks go in one call, run one after the other in the order given, exactly as if sent alone;
  the server clock is read once for all of them.

  Only the keys a check uses are declared: during a cluster slot migration, Redis refuses a
  multi-key script (TRYAGAIN) when some declared keys are missing, and a sliding-log plan writes
  the state hash on a plain check only to move hoisted state back (see lib.lua), its log's header
  put back first.

  Checks that follow each other with the same time, mode, plan and costs (the usual batch: one
  plan, one cost) are one group: their arguments are sent and decoded once, and a group of plain
  checks of one sliding-log or sliding-window limit runs its short path in a loop.

  KEYS     per check, in order: the state hash <prefix>:{<id>} when the plan has a counter or
           bucket, the call reserves, or it counts anomalies; then one list per sliding-log
           limit, in plan order (see sliding-log.lua); then with mode 2 the reservation index
           <prefix>:{<id>}:res
  ARGV     per group, in order (the `check` script: one check in mode 1, with neither the count
           nor the mode):
           the number of checks in the group
           now (ms): hexadecimal digits, or '=' and the number in decimal (a time that is not a
           whole number of at least 0), or '' for the server clock (TIME, read once per call)
           mode: 0 peek (read only, but for anomaly counters when it carries rules: deny-cache hits
           reported), 1 check, 2 reserve
           plan: its id, or "<id>:<definition>" (see learn_plan in plan.lua)
           only when the plan has anomaly rules: the call's cost in the cost-spike unit, and
           denials answered meanwhile from a deny cache, to count as calls and denials
           one cost per limit
  Returns  one flat list: per group its now when it asked for the server clock, then per check:
           status (1 allowed, 0 denied; + 2 when followed by the reservation id, its expiry,
           anomalies fired k and 3 per anomaly: rule (1 burst, 2 denial storm, 3 cost spike),
           value, threshold), then per limit: remaining when the call fits it, -1 - remaining when
           it does not, and resetAt. A plan of one limit without anomaly rules (plan.bare) has no
           status but in mode 2: the call is allowed when its one limit fits. A group whose plan
           the library does not know ends the list: it and the groups after it did not run
]]
--- @include "lib"
--- @include "fixed-window"
--- @include "sliding-window"
--- @include "sliding-log"
--- @include "token-bucket"
--- @include "plan"
--- @include "anomaly"

-- the state hash's field-value pairs, one list reused by every check (emptied after each write)
local writes = {}

-- logwin_check's field-value pairs: read to an explicit count, so never emptied
local plan_writes = {}

-- the reply, one list reused by every call of a loaded library (Redis reads it when the call
-- returns; what is left past this call's end is cleared)
local reply = {}

-- loads limit l and says whether the call fits it (kept in l.need and l.fits for its outcome)
local function decide(l, values, now)
  l.on_load(l, values, now)
  -- a used-up limit denies every call, even one that costs it nothing
  local need = l.cost
  if need < 1 then need = 1 end
  l.need = need
  local fits = need <= l.on_remaining(l, now)
  l.fits = fits
  return fits
end

-- a check's status followed by its reservation and fired rules (see Returns), at out[o + 1 ..]; returns the last index
local function reply_status(out, o, allowed, reservation, expires_at, fired)
  out[o + 1], out[o + 2], out[o + 3], out[o + 4] = allowed and 3 or 2, reservation, expires_at, fired and #fired / 3 or 0
  o = o + 4
  if fired then
    for _, v in ipairs(fired) do
      o = o + 1
      out[o] = v
    end
  end
  return o
end

-- one check on the general path: `plan` with its limits' costs set, `counting` when a counter
-- is charged. Appends the check's reply to out[o + 1 ..]; returns the next key's index and o
local function check_one(keys, k, plan, mode, spike_cost, pending, counting, now, out, o)
  local rules = plan.rules
  -- rules come with a peek only to count deny-cache hits it reports
  local watching = rules ~= ''
  local hash
  if plan.counters or watching or mode == 2 then
    hash = keys[k]
    k = k + 1
  end
  local limits, n = plan.limits, plan.n
  for i = 1, n do
    local l = limits[i]
    if l.code == LOG then
      l.key = keys[k]
      k = k + 1
    end
  end
  local values = NO_VALUES
  local names = watching and plan.anomaly_names or plan.read_names
  if hash and #names > 0 then
    -- '~x' last: fields held in a log's header move back first (see "Hoisted state" in lib.lua)
    values = redis.call('HMGET', hash, unpack(names))
    local x = names[#names] == '~x' and values[#names]
    if x then
      state_unhoist(hash, x)
      values = redis.call('HMGET', hash, unpack(names))
    end
  end

  -- the counters first, then the logs: a checked log's header is taken (RPOP) as it loads, so
  -- no counter field that fails to unpack comes between that and its write-back
  local allowed, kept = true, 0
  for i = 1, n do
    local l = limits[i]
    if l.code ~= LOG then
      if not decide(l, values, now) then allowed = false end
      if l.kept > kept then kept = l.kept end
    end
  end
  for i = 1, n do
    local l = limits[i]
    if l.code == LOG and not decide(l, values, now) then allowed = false end
  end

  local reservation, expires_at = 0, 0
  local fired
  if mode ~= 0 or watching then
    if allowed and mode == 2 then reservation = redis.call('HINCRBY', hash, 'seq', 1) end
    -- the hash's TTL, decided before its fields are packed (they carry the kept time), when it is
    -- written: a counter charged, a reservation, or anomaly counters
    local renew, parts = false, nil
    local ttl = plan.state_ttl
    if kept < now + ttl and (watching or reservation > 0 or (counting and allowed and mode ~= 0)) then kept, renew = keep_alive(hash, kept, now, ttl) end
    for i = 1, n do
      local l = limits[i]
      local charged = allowed and l.cost > 0 and mode ~= 0
      if charged then
        local ref = l.on_charge(l, now, reservation)
        -- the reservation record (see settle.lua) names what each limit charged
        if reservation > 0 then
          parts = parts or {}
          parts[#parts + 1] = l.name .. ',' .. num(ref) .. ',' .. num(l.cost)
        end
      end
      if mode ~= 0 and (charged or l.code == LOG) then l.on_persist(l, writes, now, true, kept) end
    end
    if reservation > 0 then
      local res = keys[k]
      k = k + 1
      local upto = num(now)
      local expired = redis.call('ZRANGEBYSCORE', res, '-inf', upto)
      for _, id in ipairs(expired) do redis.call('HDEL', hash, 'r:' .. id) end
      if #expired > 0 then redis.call('ZREMRANGEBYSCORE', res, '-inf', upto) end
      expires_at = now + plan.reservation_ttl
      writes[#writes + 1] = 'r:' .. reservation
      writes[#writes + 1] = num(expires_at) .. '|' .. (parts and table.concat(parts, '|') or '')
      redis.call('ZADD', res, num(expires_at), num(reservation))
      redis.call('PEXPIRE', res, num(plan.state_ttl))
    elseif mode == 2 then
      k = k + 1
    end
    if watching then
      if mode == 0 then
        fired = observe(values[plan.anomaly_at], writes, #writes, rules, now, false, 0, pending, 0)
      else
        fired = observe(values[plan.anomaly_at], writes, #writes, rules, now, allowed, spike_cost, pending, 1)
      end
    end
    local w = #writes
    if w > 0 then
      write_state(hash, writes, w, kept, renew)
      for i = 1, w + 2 do writes[i] = nil end
    end
  end

  -- the reply, appended to the call's one flat list (a table per check costs Redis a conversion)
  if reservation > 0 or fired then
    o = reply_status(out, o, allowed, reservation, expires_at, fired)
  elseif mode == 2 or not plan.bare then
    o = o + 1
    out[o] = allowed and 1 or 0
  end
  for i = 1, n do
    local l = limits[i]
    local fits, rem, reset = l.on_outcome(l, now)
    if not fits then rem = -1 - rem end
    out[o + 1], out[o + 2] = rem, reset
    o = o + 2
  end
  return k, o
end

-- the reply of a plan of one log and two windows to its usual check (every limit fits and is
-- charged): its status, then each limit's remaining and resetAt at the positions the plan keeps
-- for them (see logwin_check); returns o
local function usual_reply(out, o, plan, fired, log_remaining, log_reset, r1, reset1, r2, reset2)
  if fired then
    o = reply_status(out, o, true, 0, 0, fired)
  else
    o = o + 1
    out[o] = 1
  end
  local a = o + 2 * plan.log_at
  out[a - 1], out[a] = log_remaining, log_reset
  a = o + 2 * plan.w1_at
  out[a - 1], out[a] = r1, reset1
  a = o + 2 * plan.w2_at
  out[a - 1], out[a] = r2, reset2
  return o + 6
end

--[[
  logwin_check's usual check on state hoisted into its log's header `h` (popped; see "Hoisted
  state" in lib.lua): the windows and anomaly counters are read from the header and written back
  in it with the charged entry, in one RPUSH, and the reply is the usual check's. Returns o; or
  false and the header without them (its expired entries dropped) when the header holds another
  plan's fields or the check is not the usual one: they have moved back to the state hash, and
  logwin_check goes on from there.
]]
local function logwin_hoisted(hash, key, h, plan, spike_cost, pending, now, out, o)
  local fields = plan.hoists
  local used, newest, x, n = unpack_s('>dI6I2B', h)
  if not fields or n ~= #fields or string.find(h, fields, 18, true) ~= 18 then return false, log_unhoist(key, h) end
  local log, l1, l2 = plan.log, plan.w1, plan.w2
  local l_limit, l_window, cost1, cost2 = log.limit, log.window, l1.cost, l2.cost
  newest = newest - HOIST
  -- the log's oldest live entry, the expired ones before it dropped (the cache refilled from the
  -- body as it runs out)
  local cache, p, at, c
  used, cache, p, at, c = log_oldest(key, used, h, 17 + x, now - l_window)
  -- the windows rolled to now, and their room (as window_read, on the header's values)
  local b = 18 + n
  local kept, i1, c1, p1, i2, c2, p2 = unpack_s('>ddddddd', h, b)
  local r1, r2
  i1, c1, p1, r1 = window_roll(i1, c1, p1, l1.limit, l1.window, now)
  i2, c2, p2, r2 = window_roll(i2, c2, p2, l2.limit, l2.window, now)
  -- the usual check (see logwin_check): all fit and are charged, the log one unit in time order
  if not (log.cost == 1 and cost1 > 0 and cost2 > 0 and at and c >= 1 and now >= newest and used < l_limit and cost1 <= r1 and cost2 <= r2) then
    log_unhoist(key, h)
    return false, pack(LOG_HEADC, used, newest, sub(cache, p))
  end
  local ttl = plan.hoist_ttl
  if kept < now + ttl then
    local renew = ttl + floor(ttl / 4)
    kept = now + renew
    call('PEXPIRE', key, num(renew))
    keep_hash(hash, renew, kept)
  end
  used = used + 1
  if now ~= log_now then log_now, log_unit = now, pack('>I6', now) end
  c1, r1, c2, r2 = c1 + cost1, r1 - cost1, c2 + cost2, r2 - cost2
  local counters, fired = '', nil
  if plan.rules ~= '' then counters, fired = observe_check(sub(h, b + 56, 16 + x), plan.rules, now, true, spike_cost, pending) end
  -- 2: the header was the log's last element, so RPOP removed the key and its TTL
  if call('RPUSH', key, log_unit, pack(HOIST_HEAD, used, now + HOIST, 57 + n + #counters, n, fields, kept, i1, c1, p1, i2, c2, p2, counters, sub(cache, p))) == 2 then
    local left = math.ceil(kept - now)
    call('PEXPIRE', key, num(left))
    keep_hash(hash, left, kept)
  end
  return usual_reply(out, o, plan, fired, l_limit - used, at + l_window, r1, window_reset(l1.limit, l1.window, i1, c1, p1, r1, cost1, true, now), r2,
    window_reset(l2.limit, l2.window, i2, c2, p2, r2, cost2, true, now))
end

--[[
  A plan of one sliding log and one or two sliding-window counters, checked (mode 1), with or
  without anomaly rules (a request limit with hourly and token budgets: the usual AI plan):
  check_one's steps for these two algorithms on locals (a window's state is five locals, not five
  table slots: every table access and Lua call costs Redis as much as a handful of arithmetic
  steps). `hash`, `key`: the state hash and the log. The log's header is taken first: when it
  holds the plan's hoisted state, logwin_hoisted runs the check. Otherwise the windows' fields
  come first in the HMGET, in plan order, then the anomaly counters and '~x'. With two windows,
  the usual check hoists them and the counters into the log's header (see lib.lua). Appends the
  check's reply to out[o + 1 ..]; returns o.
]]
local function logwin_check(hash, key, plan, spike_cost, pending, counting, now, out, o)
  local h = call('RPOP', key)
  if h and log_hoisted(h) then
    local done
    done, h = logwin_hoisted(hash, key, h, plan, spike_cost, pending, now, out, o)
    if done then return done end
  end
  local rules = plan.rules
  local watching = rules ~= ''
  local l1, l2 = plan.w1, plan.w2
  -- the windows' fields, then the anomaly counters, then '~x' (hoisted state: see lib.lua)
  local values, xi
  for _ = 1, 2 do
    if l2 then
      if watching then values, xi = call('HMGET', hash, l1.f1, l2.f1, '~c', '~x'), 4 else values, xi = call('HMGET', hash, l1.f1, l2.f1, '~x'), 3 end
    elseif watching then
      values, xi = call('HMGET', hash, l1.f1, '~c', '~x'), 3
    else
      values, xi = call('HMGET', hash, l1.f1, '~x'), 2
    end
    local x = values[xi]
    if not x then break end
    if x == plan.log.name then
      -- this log's header, taken above, holds none: what it held expired with it
      call('HDEL', hash, '~x')
    else
      -- another log's header holds them: back to the hash (this header put back meanwhile: see
      -- "Hoisted state" in lib.lua), and read again
      if h then call('RPUSH', key, h) end
      state_unhoist(hash, x)
      h = call('RPOP', key)
    end
  end
  -- the log's header is taken already: a counter field that cannot be read (not a window's 32
  -- bytes) fails the call only after it is put back
  local v1, v2 = values[1], l2 and values[2]
  if v1 and #v1 ~= 32 or v2 and #v2 ~= 32 then
    if h then call('RPUSH', key, h) end
    return error('a sliding-window field is not 32 bytes')
  end
  -- load and decide: each window, then the log (its header written back below: nothing that
  -- can fail comes between, the fields' length checked above)
  local allowed = true
  local cost1, cost2 = l1.cost, 0
  local i1, c1, p1, kept, r1 = window_read(values[1], l1.limit, l1.window, now)
  local n1 = cost1
  if n1 < 1 then n1 = 1 end
  if n1 > r1 then allowed = false end
  local i2, c2, p2, r2, n2
  if l2 then
    local k2
    cost2 = l2.cost
    i2, c2, p2, k2, r2 = window_read(values[2], l2.limit, l2.window, now)
    if k2 > kept then kept = k2 end
    n2 = cost2
    if n2 < 1 then n2 = 1 end
    if n2 > r2 then allowed = false end
  end
  local log = plan.log
  local l_cost, l_limit, l_window = log.cost, log.limit, log.window
  local used, newest, cache, p, at, c, fast = log_take(key, now - l_window, h)
  local l_need = l_cost
  if l_need < 1 then l_need = 1 end
  local l_fits = l_need <= l_limit - used
  if not l_fits then allowed = false end
  local ttl = plan.state_ttl
  if allowed and l2 and l_cost == 1 and cost1 > 0 and cost2 > 0 and at and c >= 1 and kept >= now + ttl and now >= newest and now < newest - newest % l_window + l_window then
    --[[
      The usual check, written straight through: every limit fits and is charged, the log one
      unit in time order within the span its TTL was last set in (log_finish's usual write), two
      windows, the hash's TTL far off. Every limit keeps room to report: the log's oldest live
      entry (`c`: at least a unit, as every entry is) frees the one unit a call needs, the
      windows' resets as window_reset works them out. The windows and counters are hoisted:
      they leave the hash for the log's header, and the next usual checks take logwin_hoisted.
    ]]
    used = used + 1
    if now ~= log_now then log_now, log_unit = now, pack('>I6', now) end
    c1, r1, c2, r2 = c1 + cost1, r1 - cost1, c2 + cost2, r2 - cost2
    local counters, fired = '', nil
    if watching then counters, fired = observe_check(values[3], rules, now, true, spike_cost, pending) end
    -- hoisted from here on: the windows and counters go into the log's header (see lib.lua), and
    -- the log lives as long as they must
    local fields, renew = plan.hoists, plan.hoist_ttl + floor(plan.hoist_ttl / 4)
    if watching then call('HDEL', hash, l1.f1, l2.f1, '~c') else call('HDEL', hash, l1.f1, l2.f1) end
    call('HSET', hash, '~x', log.name)
    call('RPUSH', key, log_unit, pack(HOIST_HEAD, used, now + HOIST, 57 + #fields + #counters, #fields, fields, now + renew, i1, c1, p1, i2, c2, p2, counters, sub(cache, p)))
    call('PEXPIRE', key, num(renew))
    keep_hash(hash, renew, now + renew)
    return usual_reply(out, o, plan, fired, l_limit - used, at + l_window, r1, window_reset(l1.limit, l1.window, i1, c1, p1, r1, n1, true, now), r2,
      window_reset(l2.limit, l2.window, i2, c2, p2, r2, n2, true, now))
  end
  -- the hash's TTL, decided before the counters are packed (they carry the kept time)
  local renew = false
  if kept < now + ttl and (watching or (counting and allowed)) then kept, renew = keep_alive(hash, kept, now, ttl) end
  local l_remaining, l_reset = log_finish(key, l_limit, l_window, l_cost, l_need, l_fits, allowed and l_cost > 0, now, used, newest, cache, p, at, c, fast)
  -- the fields to write: each charged window's, then the anomaly counters
  local s1, s2, counters, fired = false, false, false, nil
  if allowed then
    if cost1 > 0 then
      c1, r1 = c1 + cost1, r1 - cost1
      s1 = pack('>dddd', i1, c1, p1, kept)
    end
    if cost2 > 0 then
      c2, r2 = c2 + cost2, r2 - cost2
      s2 = pack('>dddd', i2, c2, p2, kept)
    end
  end
  if watching then counters, fired = observe_check(values[plan.anomaly_at], rules, now, allowed, spike_cost, pending) end
  if s1 and s2 and counters and not renew then
    -- the usual write: both windows charged and the counters, the hash's TTL far off
    call('HSET', hash, l1.f1, s1, l2.f1, s2, '~c', counters)
  else
    local w = 0
    if s1 then
      plan_writes[1], plan_writes[2] = l1.f1, s1
      w = 2
    end
    if s2 then
      plan_writes[w + 1], plan_writes[w + 2] = l2.f1, s2
      w = w + 2
    end
    if counters then
      plan_writes[w + 1], plan_writes[w + 2] = '~c', counters
      w = w + 2
    end
    if w > 0 then write_state(hash, plan_writes, w, kept, renew) end
  end
  -- the reply, in plan order
  if fired then
    o = reply_status(out, o, allowed, 0, 0, fired)
  else
    o = o + 1
    out[o] = allowed and 1 or 0
  end
  local log_at, first = plan.log_at, true
  for i = 1, plan.n do
    if i == log_at then
      if l_fits then out[o + 1] = l_remaining else out[o + 1] = -1 - l_remaining end
      out[o + 2] = l_reset
    elseif first then
      first = false
      -- remaining after a charge: fits by what it had before
      local fits = allowed or n1 <= r1
      if fits then out[o + 1] = r1 else out[o + 1] = -1 - r1 end
      out[o + 2] = window_reset(l1.limit, l1.window, i1, c1, p1, r1, n1, fits, now)
    else
      local fits = allowed or n2 <= r2
      if fits then out[o + 1] = r2 else out[o + 1] = -1 - r2 end
      out[o + 2] = window_reset(l2.limit, l2.window, i2, c2, p2, r2, n2, fits, now)
    end
    o = o + 2
  end
  return o
end

-- `single`: the `check` script, whose one check comes without its group's count and mode (1)
local function check_all(keys, args, single)
  if not floor then lib_init() end
  -- a call that failed midway (a command's error) may have left writes behind: never carry them
  if writes[1] ~= nil then
    for i = #writes, 1, -1 do writes[i] = nil end
  end
  local out, o, k, a, n = reply, 0, 1, 1, #args
  -- the clock is read once for every group that asks for it
  local clock
  while a <= n do
    local count = 1
    if not single then
      count = nums[args[a]] or arg_num(args[a])
      a = a + 1
    end
    local now = args[a]
    local clocked = now == ''
    if clocked then
      clock = clock or server_now('')
      now = clock
    else
      now = tonumber(now, 16) or tonumber(sub(now, 2))
    end
    local mode = 1
    if not single then
      mode = nums[args[a + 1]]
      a = a + 1
    end
    local plan = plans[args[a + 1]] or learn_plan(args[a + 1])
    if not plan then break end
    a = a + 2
    local watching = plan.rules ~= ''
    local spike_cost, pending = 0, 0
    if watching then
      spike_cost, pending = nums[args[a]] or arg_num(args[a]), nums[args[a + 1]] or arg_num(args[a + 1])
      a = a + 2
    end
    if clocked then
      o = o + 1
      out[o] = now
    end
    if mode == 1 and not watching and (plan.log1 or plan.window1) then
      local c = nums[args[a]] or arg_num(args[a])
      local l = plan.limits[1]
      if plan.log1 then
        local limit, window = l.limit, l.window
        for _ = 1, count do
          local key = keys[k]
          o = log_check(key, call('RPOP', key), limit, window, c, now, out, o)
          k = k + 1
        end
      else
        local ttl = plan.state_ttl
        for _ = 1, count do
          o = window_check(keys[k], l, c, now, ttl, out, o)
          k = k + 1
        end
      end
    else
      local limits, counting = plan.limits, false
      for i = 1, plan.n do
        local c = nums[args[a + i - 1]] or arg_num(args[a + i - 1])
        local l = limits[i]
        l.cost = c
        if l.code == LOG then l.pop = mode ~= 0 elseif c > 0 then counting = true end
      end
      if mode == 1 and plan.log then
        for _ = 1, count do
          o = logwin_check(keys[k], keys[k + 1], plan, spike_cost, pending, counting, now, out, o)
          k = k + 2
        end
      else
        for _ = 1, count do
          k, o = check_one(keys, k, plan, mode, spike_cost, pending, counting, now, out, o)
        end
      end
    end
    a = a + plan.n
  end
  for i = o + 1, #out do out[i] = nil end
  return out
end

--[[
  The `check` script: one check in mode 1 (see ARGV). Of a plan of one sliding log without rules
  (plan.lone), with a time in hexadecimal (the usual call), it goes to log_check from here, with
  the fewest steps; any other through check_all.
]]
local function check_alone(keys, args)
  local plan, now = plans[args[2]], tonumber(args[1], 16)
  local l = plan and plan.lone
  if not l or not now then return check_all(keys, args, true) end
  if not floor then lib_init() end
  local key, out = keys[1], reply
  local o = log_check(key, call('RPOP', key), l.limit, l.window, nums[args[3]] or arg_num(args[3]), now, out, 0)
  for i = o + 1, #out do out[i] = nil end
  return out
end
