--[[
  anomaly.lua: the anomaly counters, mirroring src/anomaly/counting.ts operation for operation.
  Included by check.lua and settle.lua. All the counters are one state hash field, '~s', read with
  the limits' fields and written back in one step, binary (struct, little-endian: no byte swaps).

  Every call writes the whole field, and Redis pays for each of its bytes and values (read,
  copied, unpacked, packed), so the field is small and ordered by how often a value changes: a call
  unpacks only what it needs, packs the doubles from the first it changed and copies the bytes
  before them. A stepped rule (burst, denial storm) keeps its count (the calls in its current step
  and the 10 before it) beside its ring (the 10 steps before the current one): a call in the same
  step does not read the ring. counting.ts's count, the sum of its 11 slots, is the same double
  (integers, exact in any order). From the first byte:
    rings  none while both are all 0; else 'B' kb x 16 + ks, then the burst ring in slots of kb
           bytes and the storm ring in slots of ks bytes (0: left out, all 0), each the fewest
           bytes that hold its largest slot (kb + ks is never 13, see pack_rings). A ring: 11 slots
           ('I<k>'), the calls of step s at slot s mod 11 but for the current step (slot 0)
    then 13 doubles ('d', exact for integers below 2^53):
    1-3    episode ends (ms): burst, denial storm, cost spike (read when a rule is over its threshold)
    4-7    cost spike: normal hour, cost per call of the hour that set it, active hours, hour
           index (-1: unset)
    8-11   burst and storm step indexes (-1: unset), storm and burst counts
    12-13  cost spike: this hour's cost, its costly calls
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

-- the field: rings of 0 or 1 + 11 x (kb + ks) bytes, then TAIL_BYTES (the 31 doubles of an earlier
-- version, 248 bytes, would read as kb + ks = 13: never written)
local TAIL_BYTES, OLD_SLOT_BYTES = 104, 13
local UNTILS_FORMAT, COUNTERS_FORMAT = '<ddd', '<dddddddddd' -- doubles 1-3, 4-13
--[[
  Made at the first call (string.rep: not at load time). write_formats[n]: nil when n is no length
  of the field, else by double d of the tail the format of a write from d: the bytes before it
  copied ('c'), the doubles from it packed. ring_formats[k]: a ring of k-byte slots;
  rings_formats[kb x 16 + ks]: the rings' header and both rings.
]]
local write_formats, ring_formats, rings_formats
local byte -- string.byte

local function make_formats()
  byte = string.byte
  write_formats, ring_formats, rings_formats = {}, {}, {}
  for j = 0, 16 do
    if j ~= OLD_SLOT_BYTES then
      local rings = j == 0 and 0 or 1 + SLOTS * j
      local row = {}
      for d = 1, 13 do row[d] = '<c' .. (rings + 8 * (d - 1)) .. string.rep('d', 14 - d) end
      write_formats[rings + TAIL_BYTES] = row
    end
  end
  local slots = { [0] = '' }
  for k = 1, 8 do
    slots[k] = string.rep('I' .. k, SLOTS)
    ring_formats[k] = '<' .. slots[k]
  end
  for kb = 0, 8 do
    for ks = 0, 8 do rings_formats[kb * 16 + ks] = '<B' .. slots[kb] .. slots[ks] end
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

-- both rings (burst 1-11, storm 12-22): one table kept between calls, read only when a call
-- changes them
local ring = {}

-- the rings of the field `stored` (`rings` bytes of it) into `ring`
local function load_rings(stored, rings)
  for i = 1, 2 * SLOTS do ring[i] = 0 end
  if rings == 0 then return end
  local ks = byte(stored, 1) % 16
  local kb = (byte(stored, 1) - ks) / 16
  if kb > 0 then
    ring[1], ring[2], ring[3], ring[4], ring[5], ring[6], ring[7], ring[8], ring[9], ring[10], ring[11] = unpack_s(ring_formats[kb], stored, 2)
  end
  if ks > 0 then
    ring[12], ring[13], ring[14], ring[15], ring[16], ring[17], ring[18], ring[19], ring[20], ring[21], ring[22] = unpack_s(ring_formats[ks], stored, 2 + SLOTS * kb)
  end
end

-- the bytes a slot of ring[at + 1 .. at + 11] needs (1-8), 0 when all its slots are 0
local function ring_width(at)
  local top = 0
  for i = at + 1, at + SLOTS do
    if ring[i] > top then top = ring[i] end
  end
  local k, over = 0, 1
  while top >= over do k, over = k + 1, over * 256 end
  return k
end

-- the rings' bytes as they are now: '' when both are all 0
local function pack_rings()
  local kb, ks = ring_width(0), ring_width(SLOTS)
  if kb == 0 and ks == 0 then return '' end
  -- 13 would make the length of an earlier version's field: a slot one byte wider
  if kb + ks == OLD_SLOT_BYTES then
    if ks > 0 and ks < 8 then ks = ks + 1 else kb = kb + 1 end
  end
  local f = rings_formats[kb * 16 + ks]
  if kb == 0 then return pack(f, ks, unpack(ring, SLOTS + 1, 2 * SLOTS)) end
  if ks == 0 then return pack(f, kb * 16, unpack(ring, 1, SLOTS)) end
  return pack(f, kb * 16 + ks, unpack(ring, 1, 2 * SLOTS))
end

--[[
  A stepped rule whose ring is ring[at + 1 .. at + 11], at a call in step `step` other than its
  current step `last` (`count` calls): the ring (read from `stored` first unless `stored` is false)
  moves on to `step` (counting.ts's clearing of the steps in between) or, for a call stamped in an
  earlier step still in the window, takes `add` in that step's slot. Returns the current step, the
  count, what is left to add to it, and whether the ring changed.
]]
local function restep(at, last, step, count, add, stored, rings)
  if last < 0 then return step, count, add, false end
  if step > last then
    if stored then load_rings(stored, rings) end
    local sum = 0
    for i = at + 1, at + SLOTS do sum = sum + ring[i] end
    ring[at + 1 + last % SLOTS] = count - sum
    local k = last + 1
    while k <= step and k <= last + SLOTS do
      ring[at + 1 + k % SLOTS] = 0
      k = k + 1
    end
    count = 0
    for i = at + 1, at + SLOTS do count = count + ring[i] end
    return step, count, add, true
  end
  if add ~= 0 and step >= last - STEPS then
    if stored then load_rings(stored, rings) end
    local slot = at + 1 + step % SLOTS
    ring[slot] = ring[slot] + add
    return last, count + add, 0, true
  end
  return last, count, 0, false
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
  `from`: the first double of the tail the call writes (0: the rings too); the burst count and
  the hour's cost and calls are written by every call. floor(q) is q - q % 1, with no call: Lua's
  % is q - floor(q / 1) * 1, the same double for every q.
]]
local function observe(stored, writes, spec, now, allowed, cost, pending, calls)
  if spec ~= rules_spec then
    local r = parse_rules(spec)
    rules_spec, bw, bt, dw, dt, factor, min_cost, min_hours = spec, r[1], r[2], r[3], r[4], r[5], r[6], r[7]
    if not write_formats then make_formats() end
  end
  local normal, per_call, hours, hour, b_step, s_step, s_count, b_count, c_cost, c_calls
  local b_until, s_until, c_until -- read when needed
  local row, rings, from = stored and write_formats[#stored], 0, 11
  if row then
    rings = #stored - TAIL_BYTES
    normal, per_call, hours, hour, b_step, s_step, s_count, b_count, c_cost, c_calls = unpack_s(COUNTERS_FORMAT, stored, rings + 25)
  else
    normal, per_call, hours, hour, b_step, s_step, s_count, b_count, c_cost, c_calls = 0, 0, 0, -1, -1, -1, 0, 0, 0, 0
    b_until, s_until, c_until = 0, 0, 0
    for i = 1, 2 * SLOTS do ring[i] = 0 end
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
        if from > 8 then from = 8 end
      else
        local moved
        b_step, b_count, add, moved = restep(0, b_step, step, b_count, add, from > 0 and stored, rings)
        if moved then from = 0 elseif from > 8 then from = 8 end
      end
    end
    b_count = b_count + add
    if b_count > bt then
      if not b_until then b_until, s_until, c_until = unpack_s(UNTILS_FORMAT, stored, rings + 1) end
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
        if from > 9 then from = 9 end
      else
        local moved
        s_step, s_count, add, moved = restep(SLOTS, s_step, step, s_count, add, from > 0 and stored, rings)
        if moved then from = 0 elseif from > 9 then from = 9 end
      end
    end
    if add ~= 0 then
      s_count = s_count + add
      if from > 10 then from = 10 end
    end
    if s_count > dt then
      if not b_until then b_until, s_until, c_until = unpack_s(UNTILS_FORMAT, stored, rings + 1) end
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
      if from > 4 then from = 4 end
    end
    if allowed and h == hour then
      -- max(0, c_cost + cost), with no call
      c_cost = c_cost + cost
      if c_cost <= 0 then c_cost = 0 end
      if cost > 0 then c_calls = c_calls + calls end
    end
    if hours >= min_hours then
      -- factor x normal plus the noise margin, in the order counting.ts computes it (same double),
      -- and at least min_cost
      if not sqrt then sqrt = math.sqrt end
      local threshold = factor * normal + NOISE_SIGMAS * sqrt(factor * normal * per_call)
      if min_cost > threshold then threshold = min_cost end
      if c_cost > threshold then
        if not b_until then b_until, s_until, c_until = unpack_s(UNTILS_FORMAT, stored, rings + 1) end
        if now >= c_until then fired = fire(fired, 3, c_cost, floor(threshold)) end
        c_until = now + HOUR
        if from > 3 then from = 3 end
      end
    end
  end
  -- the field: the bytes before double `from` as they were, the doubles from it packed
  local value
  if from == 11 then
    value = pack(row[11], stored, b_count, c_cost, c_calls)
  elseif from >= 8 then
    value = pack(row[8], stored, b_step, s_step, s_count, b_count, c_cost, c_calls)
  elseif from >= 4 then
    value = pack(row[4], stored, normal, per_call, hours, hour, b_step, s_step, s_count, b_count, c_cost, c_calls)
  else
    if not b_until then b_until, s_until, c_until = unpack_s(UNTILS_FORMAT, stored, rings + 1) end
    -- the rings as they were, or as they are now; 'c0' copies a whole string: '' when none
    local before = stored
    if from == 0 then
      before = pack_rings()
      rings = #before
    end
    if rings == 0 then before = '' end
    value = pack(write_formats[rings + TAIL_BYTES][1], before, b_until, s_until, c_until, normal, per_call, hours, hour, b_step, s_step, s_count, b_count, c_cost, c_calls)
  end
  local w = #writes
  writes[w + 1], writes[w + 2] = '~s', value
  return fired
end
