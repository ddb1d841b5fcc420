--[[
  sliding-window.lua: the sliding-window counter (src/algorithms/sliding-window.ts), in integers
  scaled by the window length, exactly as there, operation for operation: window_load,
  window_remaining, window_charge, window_outcome, window_adjust; window_persist writes, and
  window_check is a whole check of a plan of one such limit, written out straight (rollWindow
  and usedScaled of the TypeScript are written into window_load and window_remaining).

  State hash field N.sw: '>dddd' window index, current count, previous count, kept time (lib.lua).
]]

--[[
  The operations, each written out straight on the limit's fields (a Lua call costs Redis as much
  as a handful of arithmetic steps): floor(a / b) is `(a - a % b) / b`, and floor_div(a, b) (exact,
  see lib.lua) is that and the line after it.
]]

-- the counters rolled to the window holding now. The stored values stay in s1..s3 (and the
-- kept time in kept), so window_persist writes only what changed
local function window_load(l, values, now)
  local v = values[l.i1]
  local w = l.window
  local index = (now - now % w) / w
  local i, c, p, kept = false, 0, 0, 0
  if v then i, c, p, kept = unpack_s('>dddd', v) end
  l.s1, l.s2, l.s3, l.kept = i, c, p, kept
  -- roll
  if i ~= index then
    if i and index == i + 1 then p = c else p = 0 end
    c = 0
  end
  l.index, l.current, l.previous = index, c, p
end

-- floor_div(limit x w - used units x w, w), at least 0: used units x w are previous x (share of
-- it the sliding window still covers) + current x w. Kept in l.remaining for window_outcome
local function window_remaining(l, now)
  local w = l.window
  local a = l.limit * w - (l.previous * (w - (now - l.index * w)) + l.current * w)
  local rem = (a - a % w) / w
  if rem * w > a then rem = rem - 1 elseif (rem + 1) * w <= a then rem = rem + 1 end
  if rem < 0 then rem = 0 end
  l.remaining = rem
  return rem
end

-- the reference is the window's index. Used units grow by the cost and costs are whole numbers
-- (src/costs.ts): remaining falls by it (a charge comes only after the limit fit)
local function window_charge(l, now, reservation)
  local cost = l.cost
  l.current = l.current + cost
  l.remaining = l.remaining - cost
  return l.index
end

--[[
  resetAt (the earliest t at which used units x w <= target x w) of counters at window `index`
  with `c` (after any charge) and `p`, `rem` remaining, for a call of `need` that fits or not
]]
local function window_reset(limit, w, index, c, p, rem, need, fits, now)
  if fits and rem >= limit then return now end
  local target = limit - need
  if fits then target = limit - rem - 1 end
  local start = index * w
  local t, a, q
  if c <= target then
    if p == 0 then return now end
    a = (target - c) * w
    q = (a - a % p) / p
    if q * p > a then q = q - 1 elseif (q + 1) * p <= a then q = q + 1 end
    t = start + w - q
  else
    a = target * w
    q = (a - a % c) / c
    if q * c > a then q = q - 1 elseif (q + 1) * c <= a then q = q + 1 end
    t = start + 2 * w - q
  end
  if t > now then return t end
  return now
end

-- fits, remaining, resetAt (see LimitOutcome in src/algorithms/types.ts)
local function window_outcome(l, now)
  local fits, rem = l.fits, l.remaining
  return fits, rem, window_reset(l.limit, l.window, l.index, l.current, l.previous, rem, l.need, fits, now)
end

-- a charge of `reserved` in window `ref` becomes l.cost: in the current or the previous
-- window; older ones have left
local function window_adjust(l, now, ref, reserved)
  local delta = l.cost - reserved
  if ref == l.index then
    l.current = max(0, l.current + delta)
  elseif ref == l.index - 1 then
    l.previous = max(0, l.previous + delta)
  end
end

-- appends the field to `writes` when it changed; `kept`: the hash's kept time after this write
local function window_persist(l, writes, now, trim, kept)
  if l.index ~= l.s1 or l.current ~= l.s2 or l.previous ~= l.s3 then
    local n = #writes
    writes[n + 1], writes[n + 2] = l.f1, struct.pack('>dddd', l.index, l.current, l.previous, kept)
  end
end

-- counters at window `i` (false: none) with `c` and `p`, rolled to the window holding now: its
-- index, the current and previous counts, and the units remaining (window_load and
-- window_remaining, on locals)
local function window_roll(i, c, p, limit, w, now)
  local index = (now - now % w) / w
  if i ~= index then
    if i and index == i + 1 then p = c else p = 0 end
    c = 0
  end
  -- remaining: floor_div(limit x w - used_scaled, w), at least 0
  local a = limit * w - (p * (w - (now - index * w)) + c * w)
  local rem = (a - a % w) / w
  if rem * w > a then rem = rem - 1 elseif (rem + 1) * w <= a then rem = rem + 1 end
  if rem < 0 then rem = 0 end
  return index, c, p, rem
end

-- the counters of field value `v` (nil: none) rolled to the window holding now: its index, the
-- current and previous counts, the kept time, and the units remaining
local function window_read(v, limit, w, now)
  local i, c, p, kept, rem = false, 0, 0, 0, 0
  if v then i, c, p, kept = unpack_s('>dddd', v) end
  i, c, p, rem = window_roll(i, c, p, limit, w, now)
  return i, c, p, kept, rem
end

--[[
  A plan of one sliding-window limit, checked (mode 1) without anomaly rules: the steps above
  (window_load, window_remaining, window_charge, window_persist with the hash's lazy TTL, then
  window_outcome) on locals, with window_read and window_reset: every table read and Lua call
  costs Redis as much as a handful of arithmetic steps. One HGET reads the counters and the kept
  time (no '~e' unless the TTL is due; '~x' only when the field is missing: hoisted state, see
  lib.lua), one HSET writes them. floor_div(a, b) is the three lines
  after each `(a - a % b) / b` (floor(a / b) without a call). Writes the check's reply (see
  check.lua: no status, it is the sign of remaining) to out[o + 1], out[o + 2]; returns o + 2.
]]
local function window_check(hash, l, cost, now, ttl, out, o)
  local w, limit, field = l.window, l.limit, l.f1
  local v = call('HGET', hash, field)
  -- a hoisted field is not in the hash: '~x' names the log that holds it (see lib.lua)
  if not v and state_unhoist(hash) then v = call('HGET', hash, field) end
  local index, c, p, kept, rem = window_read(v, limit, w, now)
  local need = cost
  if need < 1 then need = 1 end
  local fits = need <= rem
  if fits and cost > 0 then
    -- charge (the count grows, so the field changed) and the hash's TTL (see keep_alive)
    c = c + cost
    if kept < now + ttl then
      local renew
      kept, renew = keep_alive(hash, kept, now, ttl)
      if renew then
        call('HSET', hash, field, pack('>dddd', index, c, p, kept), '~e', pack('>d', kept))
        call('PEXPIRE', hash, num(renew))
      else
        call('HSET', hash, field, pack('>dddd', index, c, p, kept))
      end
    else
      call('HSET', hash, field, pack('>dddd', index, c, p, kept))
    end
    -- used_scaled grew by cost x w, and costs are whole numbers (src/costs.ts): floor_div fell by
    -- cost, and rem >= need >= cost
    rem = rem - cost
  end
  if fits then out[o + 1] = rem else out[o + 1] = -1 - rem end
  out[o + 2] = window_reset(limit, w, index, c, p, rem, need, fits, now)
  return o + 2
end
