--[[
  anomaly.lua: the anomaly counters, mirroring src/anomaly/counting.ts operation for operation.
  Included by check.lua and settle.lua. All the counters are one state hash field, '~s', read with
  the limits' fields and written back in one step, binary (struct, no text to parse or format).

  Every call writes the whole field, and Redis pays for each of its bytes and values (read,
  copied, unpacked, packed), so the field is small and ordered by how often a value changes: a call
  unpacks only what it needs, packs the doubles from the first it changed and copies the bytes
  before them. A stepped rule (burst, denial storm) keeps its count (the calls in its current step
  and the 10 before it) beside its ring (the 10 steps before the current one) and the ring's sum: a
  call in the same step reads neither ring nor sum. counting.ts's count, the sum of its 11 slots,
  is the same double (integers, exact in any order). From the first byte:
    rings  none while both rings' sums are 0; the burst ring while only the storm's is 0; else the
           burst ring then the storm ring. A ring: '>I6' x 11, the calls of step s at slot s mod 11
           but for the current step (slot 0), exact below 2^48 calls in a step
    then 15 doubles ('>d', exact for integers below 2^53):
    1-5    episode ends (ms): burst, denial storm, cost spike; the burst and storm rings' sums
           (read when a step moves on or a rule is over its threshold)
    6-9    cost spike: normal hour, cost per call of the hour that set it, active hours, hour
           index (-1: unset)
    10-13  burst and storm step indexes (-1: unset), storm and burst counts
    14-15  cost spike: this hour's cost, its costly calls
  Rules arrive as "burstWindow|burstThreshold|stormWindow|stormThreshold|factor|minCost|minHours"
  (0 = rule off). A step is a tenth of the rule's window. A value of any other length (the 33 or 31
  doubles of earlier versions, or the 13 approximate counters they kept in '~n') is not read: the
  counters start afresh.
]]

local HOUR = 3600000
local STEPS = 10
local SLOTS = 11 -- STEPS + 1: the current step and the STEPS before it
local BASELINE_KEEP = 0.9
local NOISE_SIGMAS = 3 -- standard deviations of chance above factor x normal (NOISE_SIGMAS in counting.ts)

-- the field: rings of 0, RING_BYTES or 2 x RING_BYTES, then TAIL_BYTES (formats written out: no
-- library calls at load time)
local RING_BYTES, TAIL_BYTES = 66, 120
local RING_FORMAT = '>I6I6I6I6I6I6I6I6I6I6I6'
local RINGS_FORMAT = '>I6I6I6I6I6I6I6I6I6I6I6I6I6I6I6I6I6I6I6I6I6I6'
local RARE_FORMAT, COUNTERS_FORMAT = '>ddddd', '>dddddddddd' -- doubles 1-5, 6-15
-- a write from double d of the tail after rings of r bytes, at write_formats[r + d]: the r + 8 x
-- (d - 1) bytes before it copied ('c'), the doubles from it packed; made at the first call
local write_formats

local function make_write_formats()
  write_formats = {}
  for _, r in ipairs({ 0, RING_BYTES, 2 * RING_BYTES }) do
    for d = 1, 15 do write_formats[r + d] = '>c' .. (r + 8 * (d - 1)) .. string.rep('d', 16 - d) end
  end
end

-- rule specs as parsed, by their text: a library keeps them between calls (a few per app)
local parsed_rules, parsed_count = {}, 0

local function parse_rules(spec)
  local r = parsed_rules[spec]
  if r then return r end
  local bw, bt, dw, dt, factor, min_cost, min_hours = string.match(spec, '^([%d.]+)|([%d.]+)|([%d.]+)|([%d.]+)|([%d.]+)|([%d.]+)|([%d.]+)$')
  r = { tonumber(bw), tonumber(bt), tonumber(dw), tonumber(dt), tonumber(factor), tonumber(min_cost), tonumber(min_hours) }
  if parsed_count >= 64 then parsed_rules, parsed_count = {}, 0 end
  parsed_rules[spec] = r
  parsed_count = parsed_count + 1
  return r
end

-- the last spec seen, as locals of the library: most calls repeat it (no table reads per call)
local rules_spec, bw, bt, dw, dt, factor, min_cost, min_hours
local sqrt -- math.sqrt, set at the first cost-spike threshold (no globals at load time)

-- both rings (burst 1-11, storm 12-22), one table kept between calls, read from `rings_from` (the
-- field as read, its rings `rings_bytes` long) only when a call changes them
local ring, rings_from, rings_bytes = {}, nil, 0

local function load_rings()
  if not rings_from then return end
  if rings_bytes > 0 then
    ring[1], ring[2], ring[3], ring[4], ring[5], ring[6], ring[7], ring[8], ring[9], ring[10], ring[11] = unpack_s(RING_FORMAT, rings_from)
  else
    for i = 1, SLOTS do ring[i] = 0 end
  end
  if rings_bytes > RING_BYTES then
    ring[12], ring[13], ring[14], ring[15], ring[16], ring[17], ring[18], ring[19], ring[20], ring[21], ring[22] = unpack_s(RING_FORMAT, rings_from, 1 + RING_BYTES)
  else
    for i = SLOTS + 1, 2 * SLOTS do ring[i] = 0 end
  end
  rings_from = nil
end

--[[
  A stepped rule whose ring is ring[at + 1 .. at + 11], at a call in step `step` other than its
  current step `last` (`count` calls, `sum` of them in the ring): the ring moves on to `step`
  (counting.ts's clearing of the steps in between) or, for a call stamped in an earlier step still
  in the window, takes `add` in that step's slot. Returns the current step, the count, the ring's
  sum, what is left to add to the count, and whether the ring changed.
]]
local function restep(at, last, step, count, sum, add)
  if last < 0 then return step, count, sum, add, false end
  if step > last then
    load_rings()
    ring[at + 1 + last % SLOTS] = count - sum
    local k = last + 1
    while k <= step and k <= last + SLOTS do
      ring[at + 1 + k % SLOTS] = 0
      k = k + 1
    end
    sum = 0
    for i = at + 1, at + SLOTS do sum = sum + ring[i] end
    return step, sum, sum, add, true
  end
  if add ~= 0 and step >= last - STEPS then
    load_rings()
    local slot = at + 1 + step % SLOTS
    ring[slot] = ring[slot] + add
    return last, count + add, sum + add, 0, true
  end
  return last, count, sum, 0, false
end

local function fire(fired, code, value, threshold)
  fired = fired or {}
  local n = #fired
  fired[n + 1], fired[n + 2], fired[n + 3] = code, value, threshold
  return fired
end

--[[
  Counts one call (`stored`: the field '~s' as read, or nil; `calls`: 1 for a check or reserve,
  0 for a settle); returns nil, or a flat list of fired rules: code, value, threshold.
  `from`: the first double of the tail the call changed (0: the rings too; 16: none). floor(q) is
  q - q % 1, with no call: Lua's % is q - floor(q / 1) * 1, the same double for every q.
]]
local function observe(stored, writes, spec, now, allowed, cost, pending, calls)
  if spec ~= rules_spec then
    local r = parse_rules(spec)
    rules_spec, bw, bt, dw, dt, factor, min_cost, min_hours = spec, r[1], r[2], r[3], r[4], r[5], r[6], r[7]
    if not write_formats then make_write_formats() end
  end
  local normal, per_call, hours, hour, b_step, s_step, s_count, b_count, c_cost, c_calls
  local b_until, s_until, c_until, b_sum, s_sum -- read together (b_until set) when needed
  local rings, from = -1, 16
  if stored then
    rings = #stored - TAIL_BYTES
    if rings == RING_BYTES or rings == 0 or rings == 2 * RING_BYTES then
      normal, per_call, hours, hour, b_step, s_step, s_count, b_count, c_cost, c_calls = unpack_s(COUNTERS_FORMAT, stored, rings + 41)
      rings_from, rings_bytes = stored, rings
    else
      rings = -1
    end
  end
  if rings < 0 then
    normal, per_call, hours, hour, b_step, s_step, s_count, b_count, c_cost, c_calls = 0, 0, 0, -1, -1, -1, 0, 0, 0, 0
    b_until, s_until, c_until, b_sum, s_sum = 0, 0, 0, 0, 0
    for i = 1, 2 * SLOTS do ring[i] = 0 end
    rings_from = nil
    from = 0
  end
  local fired = nil
  -- burst and denial storm: count `add` in the current step and fire, once per episode, past the
  -- threshold in it and the 10 steps before it
  if bw > 0 then
    local step, add = now * STEPS / bw, calls + pending
    step = step - step % 1
    if step ~= b_step then
      if b_count == 0 and step > b_step then
        -- a ring of zeros stays one (and an unset step is set)
        b_step = step
        if from > 10 then from = 10 end
      else
        if not b_until then b_until, s_until, c_until, b_sum, s_sum = unpack_s(RARE_FORMAT, stored, rings + 1) end
        local moved
        b_step, b_count, b_sum, add, moved = restep(0, b_step, step, b_count, b_sum, add)
        if moved then from = 0 elseif from > 10 then from = 10 end
      end
    end
    if add ~= 0 then
      b_count = b_count + add
      if from > 13 then from = 13 end
    end
    if b_count > bt then
      if not b_until then b_until, s_until, c_until, b_sum, s_sum = unpack_s(RARE_FORMAT, stored, rings + 1) end
      if now >= b_until then fired = fire(fired, 1, b_count, bt) end
      b_until = now + bw
      if from > 1 then from = 1 end
    end
  end
  if dw > 0 then
    local step, add = now * STEPS / dw, pending
    if not allowed then add = calls + pending end
    step = step - step % 1
    if step ~= s_step then
      if s_count == 0 and step > s_step then
        s_step = step
        if from > 11 then from = 11 end
      else
        if not b_until then b_until, s_until, c_until, b_sum, s_sum = unpack_s(RARE_FORMAT, stored, rings + 1) end
        local moved
        s_step, s_count, s_sum, add, moved = restep(SLOTS, s_step, step, s_count, s_sum, add)
        if moved then from = 0 elseif from > 11 then from = 11 end
      end
    end
    if add ~= 0 then
      s_count = s_count + add
      if from > 12 then from = 12 end
    end
    if s_count > dt then
      if not b_until then b_until, s_until, c_until, b_sum, s_sum = unpack_s(RARE_FORMAT, stored, rings + 1) end
      if now >= s_until then fired = fire(fired, 2, s_count, dt) end
      s_until = now + dw
      if from > 2 then from = 2 end
    end
  end
  if factor > 0 then
    local h = now / HOUR
    h = h - h % 1
    if hour ~= h then
      if hour < 0 then hour = h end
      if h > hour then
        -- only active hours count: an idle hour says nothing about a normal one
        if c_cost > 0 then
          if hours == 0 or c_cost >= normal * BASELINE_KEEP then
            normal = c_cost
            per_call = c_cost / max(c_calls, 1)
          else
            normal = normal * BASELINE_KEEP
          end
          hours = hours + 1
        end
        c_cost = 0
        c_calls = 0
        hour = h
      end
      if from > 6 then from = 6 end
    end
    if allowed and h == hour then
      -- max(0, c_cost + cost), with no call
      c_cost = c_cost + cost
      if c_cost <= 0 then c_cost = 0 end
      if cost > 0 then c_calls = c_calls + calls end
      if from > 14 then from = 14 end
    end
    if hours >= min_hours then
      -- factor x normal plus the noise margin, in the order counting.ts computes it (same double),
      -- and at least min_cost
      if not sqrt then sqrt = math.sqrt end
      local threshold = factor * normal + NOISE_SIGMAS * sqrt(factor * normal * per_call)
      if min_cost > threshold then threshold = min_cost end
      if c_cost > threshold then
        if not b_until then b_until, s_until, c_until, b_sum, s_sum = unpack_s(RARE_FORMAT, stored, rings + 1) end
        if now >= c_until then fired = fire(fired, 3, c_cost, floor(threshold)) end
        c_until = now + HOUR
        if from > 3 then from = 3 end
      end
    end
  end
  -- the field: the bytes before double `from` as they were, the doubles from it packed
  local value = stored
  if from >= 12 then
    if from == 14 then
      value = pack(write_formats[rings + 14], stored, c_cost, c_calls)
    elseif from == 13 then
      value = pack(write_formats[rings + 13], stored, b_count, c_cost, c_calls)
    elseif from == 12 then
      value = pack(write_formats[rings + 12], stored, s_count, b_count, c_cost, c_calls)
    end
  elseif from >= 10 then
    value = pack(write_formats[rings + 10], stored, b_step, s_step, s_count, b_count, c_cost, c_calls)
  elseif from >= 6 then
    value = pack(write_formats[rings + 6], stored, normal, per_call, hours, hour, b_step, s_step, s_count, b_count, c_cost, c_calls)
  else
    if not b_until then b_until, s_until, c_until, b_sum, s_sum = unpack_s(RARE_FORMAT, stored, rings + 1) end
    -- the rings as they were, or as they are now; 'c0' copies a whole string: '' when none
    local before = stored
    if from == 0 then
      before = ''
      if s_sum ~= 0 then
        before = pack(RINGS_FORMAT, unpack(ring, 1, 2 * SLOTS))
      elseif b_sum ~= 0 then
        before = pack(RING_FORMAT, unpack(ring, 1, SLOTS))
      end
      rings = #before
    end
    if rings == 0 then before = '' end
    value = pack(write_formats[rings + 1], before, b_until, s_until, c_until, b_sum, s_sum, normal, per_call, hours, hour, b_step, s_step, s_count, b_count, c_cost, c_calls)
  end
  local w = #writes
  writes[w + 1], writes[w + 2] = '~s', value
  return fired
end
