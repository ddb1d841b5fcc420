--[[
  anomaly.lua: the anomaly counters, mirroring src/anomaly/counting.ts operation for operation.
  Included by check.lua and settle.lua. All the counters are one state hash field, '~c', read with
  the limits' fields and written back in one step, binary (struct, little-endian: no byte swaps).

  Redis pays for each byte and value of the field a call reads, copies, unpacks and packs, so it is
  small and ordered by how often a value changes: a call unpacks what it needs, packs the doubles
  from the first it changed and copies the bytes before them. A stepped rule (burst, denial storm)
  keeps its count (calls in its current step and the 10 before) beside its ring (the 10 steps
  before): a call in the same step reads no ring. counting.ts's count, the sum of its 11 slots, is
  the same double (integers, exact in any order). From the first byte:
    rings  none while both are all 0; else 'B' kb x 16 + ks, then the burst ring in slots of kb
           bytes and the storm ring in slots of ks (0: all 0, left out), the fewest bytes that hold
           its largest slot (kb + ks is never 13, see pack_rings). A ring: 11 slots 'I<k>', the
           calls of step s at slot s mod 11, the current step's slot 0
    then 13 doubles ('d', exact for integers below 2^53):
    1-3    episode ends (ms): burst, denial storm, cost spike (read when a rule is over its threshold)
    4-7    cost spike: normal hour, cost per call of the hour that set it, active hours, hour (-1: unset)
    8-11   burst and storm steps (-1: unset), storm and burst counts
    12-13  cost spike: this hour's cost, its costly calls
  Rules arrive as "burstWindow|burstThreshold|stormWindow|stormThreshold|factor|minCost|minHours"
  (0 = rule off). A step is a tenth of the rule's window. A value of any other length is not read:
  the counters start afresh. Earlier versions kept theirs in '~s' (33 or 31 doubles) and '~n' (13
  approximate counters): a version deployed beside one of them keeps its own counters.
]]

local HOUR, STEPS = 3600000, 10
local SLOTS = STEPS + 1 -- the current step and the STEPS before it
-- NOISE_SIGMAS: standard deviations of chance above factor x normal (as in counting.ts)
local BASELINE_KEEP, NOISE_SIGMAS = 0.9, 3

-- the field: rings of 0 or 1 + 11 x (kb + ks) bytes (13: the 248 of the 31 doubles before), the tail
local TAIL_BYTES, OLD_SLOT_BYTES = 104, 13
local UNTILS_FORMAT, COUNTERS_FORMAT = '<ddd', '<dddddddddd' -- doubles 1-3, 4-13
local NORMAL_FORMAT, COUNTERS_TAIL_FORMAT = '<dd', '<dddddddd' -- doubles 4-5, 6-13
-- set at the first call (no globals at load time): library functions, and the formats:
-- write_formats[length of a field][d], a write from its tail's double d (the bytes before copied:
-- 'c'); ring_formats[slot bytes]; rings_formats[kb x 16 + ks], the header and both rings
local write_formats, ring_formats, rings_formats
local byte, unpack_t, sqrt

local function first_call()
  byte, unpack_t, sqrt = string.byte, unpack, math.sqrt
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

-- both rings (burst 1-11, storm 12-22): one table kept between calls, read only when a call
-- changes them; the bytes a slot of each needs (0: all 0)
local ring, burst_width, storm_width = {}, 0, 0

-- the bytes a slot holding `top` needs (1-8), 0 for 0
local function width(top)
  local k, over = 0, 1
  while top >= over do k, over = k + 1, over * 256 end
  return k
end

-- the rings of the field `stored` (`rings` bytes of it) into `ring`
local function load_rings(stored, rings)
  local head = rings > 0 and byte(stored, 1) or 0
  local ks = head % 16
  local kb = (head - ks) / 16
  local r = ring
  if kb > 0 then
    r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11] = unpack_s(ring_formats[kb], stored, 2)
  else
    r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11] = 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
  end
  if ks > 0 then
    r[12], r[13], r[14], r[15], r[16], r[17], r[18], r[19], r[20], r[21], r[22] = unpack_s(ring_formats[ks], stored, 2 + SLOTS * kb)
  else
    r[12], r[13], r[14], r[15], r[16], r[17], r[18], r[19], r[20], r[21], r[22] = 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
  end
  burst_width, storm_width = kb, ks
end

-- the rings' bytes as they are now: '' when both are all 0
local function pack_rings()
  local kb, ks = burst_width, storm_width
  if kb == 0 and ks == 0 then return '' end
  -- 13 would make the length of an earlier version's field: a slot one byte wider
  if kb + ks == OLD_SLOT_BYTES then
    if ks > 0 and ks < 8 then ks = ks + 1 else kb = kb + 1 end
  end
  local f = rings_formats[kb * 16 + ks]
  if kb == 0 then return pack(f, ks, unpack_t(ring, SLOTS + 1, 2 * SLOTS)) end
  if ks == 0 then return pack(f, kb * 16, unpack_t(ring, 1, SLOTS)) end
  return pack(f, kb * 16 + ks, unpack_t(ring, 1, 2 * SLOTS))
end

-- a stepped rule (ring at ring[at + 1 .. at + 11], read from `stored` unless false), at a call
-- in step `step`, not its current step `last` (`count` calls): the ring moves on to `step` (as
-- counting.ts clears the steps in between), or a call stamped in an earlier step still in the
-- window counts there. Returns the current step, the count, what is left to add, whether the ring changed
local function restep(at, last, step, count, add, stored, rings)
  -- a ring of zeros stays one (and an unset step is set)
  if count == 0 and step > last or last < 0 then return step, count, add, false end
  local wide
  if step > last then
    if stored then load_rings(stored, rings) end
    -- the current step's calls into its slot, then the steps that left the window out of the count
    local r, a = ring, at
    local current = count - (r[a + 1] + r[a + 2] + r[a + 3] + r[a + 4] + r[a + 5] + r[a + 6] + r[a + 7] + r[a + 8] + r[a + 9] + r[a + 10] + r[a + 11])
    r[a + 1 + last % SLOTS] = current
    local k = last + 1
    while k <= step and k <= last + SLOTS do
      local slot = a + 1 + k % SLOTS
      count = count - r[slot]
      r[slot] = 0
      k = k + 1
    end
    -- the widest slot is the current step's or one that was there: a loop only when it may shrink
    wide = width(current)
    local was = storm_width
    if a == 0 then was = burst_width end
    if count == 0 then
      wide = 0
    elseif wide < was then
      local top = 0
      for i = a + 1, a + SLOTS do
        if r[i] > top then top = r[i] end
      end
      wide = width(top)
    end
    last = step
  elseif add ~= 0 and step >= last - STEPS then
    if stored then load_rings(stored, rings) end
    local slot = at + 1 + step % SLOTS
    ring[slot] = ring[slot] + add
    count, add = count + add, 0
    wide = width(ring[slot])
    local was = storm_width
    if at == 0 then was = burst_width end
    if was > wide then wide = was end
  else
    return last, count, 0, false
  end
  if at == 0 then burst_width = wide else storm_width = wide end
  return last, count, add, true
end

local function fire(fired, code, value, threshold)
  fired = fired or {}
  local n = #fired
  fired[n + 1], fired[n + 2], fired[n + 3] = code, value, threshold
  return fired
end

-- counts one call (`stored`: the field '~c' as read, or nil; `calls`: 1 for a check or reserve,
-- 0 for a settle) and puts the field in writes[w + 1], writes[w + 2]; returns nil, or a flat list of fired rules: code, value, threshold. `from`: the
-- first double of the tail written (0: the rings too; the last 3 always). floor(q) is q - q % 1,
-- no call: Lua's % is q - floor(q / 1) * 1, the same double for every q
local function observe(stored, writes, w, spec, now, allowed, cost, pending, calls)
  if spec ~= rules_spec then
    local r = parse_rules(spec)
    rules_spec, bw, bt, dw, dt, factor, min_cost, min_hours = spec, r[1], r[2], r[3], r[4], r[5], r[6], r[7]
    if not write_formats then first_call() end
  end
  local normal, per_call, hours, hour, b_step, s_step, s_count, b_count, c_cost, c_calls
  local b_until, s_until, c_until -- read when needed
  local row, rings, from = stored and write_formats[#stored], 0, 11
  if row then
    rings = #stored - TAIL_BYTES
    normal, per_call, hours, hour, b_step, s_step, s_count, b_count, c_cost, c_calls = unpack_s(COUNTERS_FORMAT, stored, rings + 25)
  else
    normal, per_call, hours, hour, b_step, s_step, s_count, b_count, c_cost, c_calls = 0, 0, 0, -1, -1, -1, 0, 0, 0, 0
    b_until, s_until, c_until, from = 0, 0, 0, 0
    load_rings(nil, 0)
  end
  local fired = nil
  -- burst and denial storm: count `add` in the current step and fire, once per episode, past the
  -- threshold in it and the 10 steps before it
  if bw > 0 then
    local step, add = now * STEPS / bw, calls + pending
    step = step - step % 1
    if step ~= b_step then
      local moved
      b_step, b_count, add, moved = restep(0, b_step, step, b_count, add, from > 0 and stored, rings)
      if moved then from = 0 elseif from > 8 then from = 8 end
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
      local moved
      s_step, s_count, add, moved = restep(SLOTS, s_step, step, s_count, add, from > 0 and stored, rings)
      if moved then from = 0 elseif from > 9 then from = 9 end
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
            normal, per_call = c_cost, c_cost / max(c_calls, 1)
          else
            normal = normal * BASELINE_KEEP
          end
          hours = hours + 1
        end
        c_cost, c_calls, hour = 0, 0, h
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
      -- factor x normal plus the noise margin, as counting.ts computes it (same double); min_cost at least
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
    if from == 0 then
      stored = pack_rings()
      rings = #stored
    end
    if rings == 0 then stored = '' end
    value = pack(write_formats[rings + TAIL_BYTES][1], stored, b_until, s_until, c_until, normal, per_call, hours, hour, b_step, s_step, s_count, b_count, c_cost, c_calls)
  end
  writes[w + 1], writes[w + 2] = '~c', value
  return fired
end

-- observe's field, written by observe_check when it hands a call over
local handed = {}

-- the steps and hour of the last time observe_check saw, under the rules it saw them with: the
-- checks of one call share their time
local steps_now, steps_spec, steps_b, steps_s, steps_h = false, false, 0, 0, 0

--[[
  observe for one check (calls = 1): returns the field's new value, and the fired rules (nil:
  none). The usual check moves no ring, starts no episode and stays in its hour: it changes only
  the last doubles (the counts, and a step whose count is 0), worked out here on locals with no
  call but the unpack and the pack. Anything else (new rules, a field to start afresh, a ring to
  move, a rule over its threshold, a new hour) goes to observe, from the same field: the same
  value either way.
]]
local function observe_check(stored, spec, now, allowed, cost, pending)
  local row = spec == rules_spec and stored and write_formats[#stored]
  if row then
    if now ~= steps_now or spec ~= steps_spec then
      -- a rule that is off (0) has no step: never read
      local b, s, h = now * STEPS / bw, now * STEPS / dw, now / HOUR
      steps_now, steps_spec, steps_b, steps_s, steps_h = now, spec, b - b % 1, s - s % 1, h - h % 1
    end
    -- doubles 6-13; normal and per_call (4, 5) only for a threshold
    local hours, hour, b_step, s_step, s_count, b_count, c_cost, c_calls = unpack_s(COUNTERS_TAIL_FORMAT, stored, #stored - 63)
    local from, usual = 11, true
    if bw > 0 then
      local step, add = steps_b, 1 + pending
      if step ~= b_step then
        -- as restep: a count of 0 (or an unset step) moves to the step with no ring to write
        if b_count == 0 and step > b_step or b_step < 0 then b_step, from = step, 8 else usual = false end
      end
      b_count = b_count + add
      if b_count > bt then usual = false end
    end
    if usual and dw > 0 then
      local step, add = steps_s, pending
      if not allowed then add = 1 + pending end
      if step ~= s_step then
        if s_count == 0 and step > s_step or s_step < 0 then
          s_step = step
          if from > 9 then from = 9 end
        else
          usual = false
        end
      end
      if add ~= 0 then
        s_count = s_count + add
        if from > 10 then from = 10 end
      end
      if s_count > dt then usual = false end
    end
    if usual and factor > 0 then
      if steps_h ~= hour then
        usual = false
      else
        if allowed then
          c_cost = c_cost + cost
          if c_cost <= 0 then c_cost = 0 end
          if cost > 0 then c_calls = c_calls + 1 end
        end
        -- the threshold is min_cost at least: below it, nothing to work out
        if hours >= min_hours and c_cost > min_cost then
          local normal, per_call = unpack_s(NORMAL_FORMAT, stored, #stored - 79)
          local threshold = factor * normal + NOISE_SIGMAS * sqrt(factor * normal * per_call)
          if min_cost > threshold then threshold = min_cost end
          if c_cost > threshold then usual = false end
        end
      end
    end
    if usual then
      if from == 11 then return pack(row[11], stored, b_count, c_cost, c_calls), nil end
      return pack(row[8], stored, b_step, s_step, s_count, b_count, c_cost, c_calls), nil
    end
  end
  local fired = observe(stored, handed, 0, spec, now, allowed, cost, pending, 1)
  return handed[2], fired
end
