--[[
  anomaly.lua: the anomaly counters, mirroring src/anomaly.ts operation for operation.
  Included by check.lua. All the counters are one state hash field, '~n', read with the limits'
  fields and written back only when a value changed: 13 doubles (struct '>d' x 13, exact for
  integers below 2^53, read and written in one step, no text to parse or format):
    1-4    burst: window index (-1: unset), current, previous, episode end (ms)
    5-8    denial storm: the same
    9-13   cost spike: hour index (-1: unset), this hour's cost, baseline, hours seen, episode end
  Rules arrive as "burstWindow|burstThreshold|stormWindow|stormThreshold|factor|minCost|minHours"
  (0 = rule off).
]]

local ANOMALY_FORMAT = '>ddddddddddddd'
local HOUR = 3600000
local BASELINE_WEIGHT = 0.3

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

-- a sliding rule over the stored values (index (-1 unset), current, previous, episode end):
-- counts `add` (the sliding-window algorithm's counter) and fires, once per episode, past
-- `threshold` per window. Returns the new values, whether any changed, and `fired`.
local function sliding(i, c, p, e, window, threshold, now, add, code, fired)
  local index = math.floor(now / window)
  local stored = i
  if i < 0 then i = nil end
  c, p = roll(i, c, p, index)
  c = c + add
  local changed = stored ~= index or add ~= 0
  local scaled = used_scaled(index, c, p, window, now)
  if scaled > threshold * window then
    if now >= e then
      fired = fired or {}
      fired[#fired + 1] = code
      fired[#fired + 1] = floor_div(scaled, window)
      fired[#fired + 1] = threshold
    end
    e = now + window
    changed = true
  end
  return index, c, p, e, changed, fired
end

-- counts one call (`stored`: the field '~n' as read, or nil); returns nil, or a flat list of
-- fired rules: code, value, threshold
local function observe(stored, writes, spec, now, allowed, cost, pending)
  local r = parse_rules(spec)
  local bw, bt, dw, dt, factor, min_cost, min_hours = r[1], r[2], r[3], r[4], r[5], r[6], r[7]
  local b1, b2, b3, b4, d1, d2, d3, d4, h1, h2, h3, h4, h5 = -1, 0, 0, 0, -1, 0, 0, 0, -1, 0, 0, 0, 0
  if stored then b1, b2, b3, b4, d1, d2, d3, d4, h1, h2, h3, h4, h5 = struct.unpack(ANOMALY_FORMAT, stored) end
  local changed, moved, fired = false, false, nil
  if bw > 0 then b1, b2, b3, b4, changed, fired = sliding(b1, b2, b3, b4, bw, bt, now, 1 + pending, 1, fired) end
  if dw > 0 then
    local denied = 1
    if allowed then denied = 0 end
    d1, d2, d3, d4, moved, fired = sliding(d1, d2, d3, d4, dw, dt, now, denied + pending, 2, fired)
    changed = changed or moved
  end
  if factor > 0 then
    local hour = math.floor(now / HOUR)
    local h = hour
    local c, b, n, e = 0, 0, 0, 0
    if h1 >= 0 then h, c, b, n, e = h1, h2, h3, h4, h5 end
    local e_stored = e
    moved = h1 < 0 or hour > h
    if hour > h then
      if n == 0 then b = c else b = b * (1 - BASELINE_WEIGHT) + c * BASELINE_WEIGHT end
      n = n + 1
      local k = h + 1
      while k < hour and k < h + 48 do
        b = b * (1 - BASELINE_WEIGHT)
        n = n + 1
        k = k + 1
      end
      c = 0
      h = hour
    end
    local charged = allowed and cost ~= 0
    if charged then c = c + cost end
    local threshold = math.max(factor * b, min_cost)
    if n >= min_hours and c > threshold then
      if now >= e then
        fired = fired or {}
        fired[#fired + 1] = 3
        fired[#fired + 1] = c
        fired[#fired + 1] = math.floor(threshold)
      end
      e = (hour + 1) * HOUR
    end
    if moved then h1, h3, h4 = h, b, n end
    if moved or charged then h2 = c end
    if e ~= e_stored then h5 = e end
    changed = changed or moved or charged or e ~= e_stored
  end
  if changed then
    local w = #writes
    writes[w + 1], writes[w + 2] = '~n', struct.pack(ANOMALY_FORMAT, b1, b2, b3, b4, d1, d2, d3, d4, h1, h2, h3, h4, h5)
  end
  return fired
end
