--[[
  anomaly.lua: the anomaly counters, mirroring src/anomaly/counting.ts operation for operation.
  Included by check.lua and settle.lua. All the counters are one state hash field, '~s', read with
  the limits' fields and written back in one step: 33 doubles (struct '>d' x 33, exact for
  integers below 2^53, no text to parse or format):
    1-13   burst: step index (-1: unset), 11 exact counts by step (step s at slot s mod 11),
           episode end (ms)
    14-26  denial storm: the same
    27-31  cost spike: hour index (-1: unset), this hour's cost, normal hour, active hours, episode end
    32-33  cost spike: this hour's costly calls, cost per call of the hour that set the normal hour
  Rules arrive as "burstWindow|burstThreshold|stormWindow|stormThreshold|factor|minCost|minHours"
  (0 = rule off). A step is a tenth of the rule's window. A value of another length (the 31
  doubles of the version before the noise margin, or the 13 approximate counters earlier versions
  kept in '~n') is not read: the counters start afresh.
]]

local ANOMALY_FORMAT = '>ddddddddddddddddddddddddddddddddd' -- 33 doubles (no library calls at load time)
local HOUR = 3600000
local STEPS = 10
local BASELINE_KEEP = 0.9
local NOISE_SIGMAS = 3 -- standard deviations of chance above factor x normal (NOISE_SIGMAS in counting.ts)

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

-- a stepped rule over v[at .. at + 12] (step, 11 counts, episode end): counts `add` and fires,
-- once per episode, past `threshold` calls in the current step and the 10 before it
local function stepped(v, at, window, threshold, now, add, code, fired)
  local step = math.floor(now * STEPS / window)
  local slots = STEPS + 1
  local last = v[at]
  if last < 0 then last = step end
  if step > last then
    local k = last + 1
    while k <= step and k <= last + slots do
      v[at + 1 + k % slots] = 0
      k = k + 1
    end
    last = step
  end
  v[at] = last
  if add ~= 0 and step >= last - STEPS then
    v[at + 1 + step % slots] = v[at + 1 + step % slots] + add
  end
  local count = 0
  for i = at + 1, at + slots do count = count + v[i] end
  if count > threshold then
    if now >= v[at + 12] then
      fired = fired or {}
      fired[#fired + 1] = code
      fired[#fired + 1] = count
      fired[#fired + 1] = threshold
    end
    v[at + 12] = now + window
  end
  return fired
end

-- counts one call (`stored`: the field '~s' as read, or nil; `calls`: 1 for a check or reserve,
-- 0 for a settle); returns nil, or a flat list of fired rules: code, value, threshold
local function observe(stored, writes, spec, now, allowed, cost, pending, calls)
  local r = parse_rules(spec)
  local bw, bt, dw, dt, factor, min_cost, min_hours = r[1], r[2], r[3], r[4], r[5], r[6], r[7]
  local v
  if stored and #stored == 264 then
    v = { struct.unpack(ANOMALY_FORMAT, stored) }
  else
    v = {}
    for i = 1, 33 do v[i] = 0 end
    v[1], v[14], v[27] = -1, -1, -1
  end
  local fired = nil
  if bw > 0 then fired = stepped(v, 1, bw, bt, now, calls + pending, 1, fired) end
  if dw > 0 then
    local denied = calls
    if allowed then denied = 0 end
    fired = stepped(v, 14, dw, dt, now, denied + pending, 2, fired)
  end
  if factor > 0 then
    local hour = math.floor(now / HOUR)
    if v[27] < 0 then v[27] = hour end
    if hour > v[27] then
      -- only active hours count: an idle hour says nothing about a normal one
      if v[28] > 0 then
        if v[30] == 0 or v[28] >= v[29] * BASELINE_KEEP then
          v[29] = v[28]
          v[33] = v[28] / math.max(v[32], 1)
        else
          v[29] = v[29] * BASELINE_KEEP
        end
        v[30] = v[30] + 1
      end
      v[28] = 0
      v[32] = 0
      v[27] = hour
    end
    if allowed and hour == v[27] then
      v[28] = math.max(0, v[28] + cost)
      if cost > 0 then v[32] = v[32] + calls end
    end
    -- factor x normal plus the noise margin, in the order counting.ts computes it (same double)
    local threshold = math.max(factor * v[29] + NOISE_SIGMAS * math.sqrt(factor * v[29] * v[33]), min_cost)
    if v[30] >= min_hours and v[28] > threshold then
      if now >= v[31] then
        fired = fired or {}
        fired[#fired + 1] = 3
        fired[#fired + 1] = v[28]
        fired[#fired + 1] = math.floor(threshold)
      end
      v[31] = now + HOUR
    end
  end
  local w = #writes
  writes[w + 1], writes[w + 2] = '~s', struct.pack(ANOMALY_FORMAT, unpack(v, 1, 33))
  return fired
end
