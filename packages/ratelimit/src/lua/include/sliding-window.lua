--[[
  sliding-window.lua: the sliding-window counter (src/algorithms/sliding-window.ts), in integers
  scaled by the window length, exactly as there, operation for operation: window_load,
  window_remaining, window_charge, window_outcome, window_adjust; window_persist writes, and
  window_check is a whole check of a plan of one such limit, written out straight. roll and
  used_scaled are also the anomaly counters' (anomaly.lua), as rollWindow and usedScaled are in
  TypeScript.

  State hash field N.w: '>ddd' window index, current count, previous count.
]]

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

local function window_left(index, current, previous, limit, window, now)
  return math.max(0, floor_div(limit * window - used_scaled(index, current, previous, window, now), window))
end

-- when capacity returns: the earliest t at which used_scaled(t) <= target x window
local function window_reset_at(index, current, previous, limit, window, now, need, fits, rem)
  if fits and rem >= limit then return now end
  local target = limit - need
  if fits then target = limit - rem - 1 end
  local start = index * window
  local t
  if current <= target then
    if previous == 0 then t = now else t = start + window - floor_div((target - current) * window, previous) end
  else
    t = start + 2 * window - floor_div(target * window, current)
  end
  return math.max(t, now)
end

-- the counters rolled to the window holding now. The stored values stay in s1..s3, so
-- window_persist writes only what changed
local function window_load(l, values, now)
  local v = values[l.i1]
  local i, c, p
  if v then i, c, p = struct.unpack('>ddd', v) end
  l.s1, l.s2, l.s3 = i, c, p
  local index = math.floor(now / l.window)
  c, p = roll(i, c or 0, p or 0, index)
  l.index, l.current, l.previous = index, c, p
end

local function window_remaining(l, now)
  return window_left(l.index, l.current, l.previous, l.limit, l.window, now)
end

-- the reference is the window's index
local function window_charge(l, now, reservation)
  l.current = l.current + l.cost
  return l.index
end

-- fits, remaining, resetAt (see LimitOutcome in src/algorithms/types.ts)
local function window_outcome(l, now)
  local fits, rem = l.fits, window_remaining(l, now)
  return fits, rem, window_reset_at(l.index, l.current, l.previous, l.limit, l.window, now, l.need, fits, rem)
end

-- a charge of `reserved` in window `ref` becomes l.cost: in the current or the previous
-- window; older ones have left
local function window_adjust(l, now, ref, reserved)
  local delta = l.cost - reserved
  if ref == l.index then
    l.current = math.max(0, l.current + delta)
  elseif ref == l.index - 1 then
    l.previous = math.max(0, l.previous + delta)
  end
end

local function window_persist(l, writes, now, trim)
  if l.index ~= l.s1 or l.current ~= l.s2 or l.previous ~= l.s3 then
    local n = #writes
    writes[n + 1], writes[n + 2] = l.f1, struct.pack('>ddd', l.index, l.current, l.previous)
  end
end

--[[
  A plan of one sliding-window limit, checked (mode 1) without anomaly rules: the steps above
  (window_load, window_remaining, window_charge, window_persist with the hash's lazy TTL, then
  window_outcome) written out straight, with locals only and no function calls but the
  commands and struct: every table read and Lua call costs Redis as much as a handful of
  arithmetic steps. floor_div(a, b) is the three lines after each `floor(a / b)`. Appends the
  reply to `out`.
]]
local function window_check(hash, l, cost, now, ttl, out)
  -- math.floor once: each use of a global's field is two table reads
  local floor, w, limit, field = math.floor, l.window, l.limit, l.f1
  local values = redis.call('HMGET', hash, field, '~e')
  local v = values[1]
  local index = floor(now / w)
  local c, p = 0, 0
  if v then
    -- roll
    local i
    i, c, p = struct.unpack('>ddd', v)
    if i ~= index then
      if index == i + 1 then p = c else p = 0 end
      c = 0
    end
  end
  -- remaining: floor_div(limit x w - used_scaled, w), at least 0
  local cover = w - (now - index * w)
  local a = limit * w - (p * cover + c * w)
  local rem = floor(a / w)
  if rem * w > a then rem = rem - 1 elseif (rem + 1) * w <= a then rem = rem + 1 end
  if rem < 0 then rem = 0 end
  local need = cost
  if need < 1 then need = 1 end
  local fits = need <= rem
  if fits and cost > 0 then
    -- charge (the count grows, so the field changed), then the hash's TTL, renewed (to a quarter
    -- more than needed) only when it would end too soon
    c = c + cost
    local packed = struct.pack('>ddd', index, c, p)
    local kept = values[2]
    if not kept or struct.unpack('>d', kept) < now + ttl then
      local renew = ttl + floor(ttl / 4)
      redis.call('HSET', hash, field, packed, '~e', struct.pack('>d', now + renew))
      redis.call('PEXPIRE', hash, num(renew))
    else
      redis.call('HSET', hash, field, packed)
    end
    a = limit * w - (p * cover + c * w)
    rem = floor(a / w)
    if rem * w > a then rem = rem - 1 elseif (rem + 1) * w <= a then rem = rem + 1 end
    if rem < 0 then rem = 0 end
  end
  -- outcome: the earliest t at which used_scaled(t) <= target x w
  local reset = now
  if not (fits and rem >= limit) then
    local target = limit - need
    if fits then target = limit - rem - 1 end
    local t, q
    if c <= target then
      if p ~= 0 then
        a = (target - c) * w
        q = floor(a / p)
        if q * p > a then q = q - 1 elseif (q + 1) * p <= a then q = q + 1 end
        t = index * w + w - q
      end
    else
      a = target * w
      q = floor(a / c)
      if q * c > a then q = q - 1 elseif (q + 1) * c <= a then q = q + 1 end
      t = index * w + 2 * w - q
    end
    if t and t > now then reset = t end
  end
  local f = fits and 1 or 0
  local o = #out
  out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5], out[o + 6], out[o + 7], out[o + 8] = f, now, 0, 0, 0, f, rem, reset
end
