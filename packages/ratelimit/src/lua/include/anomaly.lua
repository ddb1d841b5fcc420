--[[
  anomaly.lua: the anomaly counters, mirroring src/anomaly.ts operation for operation.
  Included by check.lua. All the counters are one state hash field, '~a', read with the limits'
  fields and written back only when a value changed: 13 values joined by '|' ('' when unset):
    1-4    burst: window index, current, previous, episode end (ms)
    5-8    denial storm: the same
    9-13   cost spike: hour index, this hour's cost, baseline (%.17g), hours seen, episode end
  One field instead of 13 saves Redis a field lookup and a string per value on every check.
  Rules arrive as "burstWindow|burstThreshold|stormWindow|stormThreshold|factor|minCost|minHours"
  (0 = rule off).
]]

local ANOMALY_FIELDS = { '~a' }
local ANOMALY_VALUES = 13
-- 13 values (written out: a function library's top level cannot call `string`)
local ANOMALY_PATTERN = '^' .. '([^|]*)|([^|]*)|([^|]*)|([^|]*)|' .. '([^|]*)|([^|]*)|([^|]*)|([^|]*)|' .. '([^|]*)|([^|]*)|([^|]*)|([^|]*)|' .. '([^|]*)$'
local BURST = { i = 1, c = 2, p = 3, e = 4 }
local STORM = { i = 5, c = 6, p = 7, e = 8 }
local HOUR = 3600000
local BASELINE_WEIGHT = 0.3

-- the counters as numbers (nil when unset), and as stored (strings), from the stored field
local function read_counters(stored)
  local raw = { string.match(stored or '', ANOMALY_PATTERN) }
  local v = {}
  for i = 1, ANOMALY_VALUES do
    local x = raw[i]
    v[i] = x and tonumber(x)
  end
  return v, raw
end

-- the counters as the stored field: unchanged values keep their stored text
local function write_counters(v, raw)
  local out = {}
  for i = 1, ANOMALY_VALUES do
    local x, r = v[i], raw[i]
    if x == nil then out[i] = ''
    elseif r and x == tonumber(r) then out[i] = r
    else out[i] = num(x) end
  end
  return table.concat(out, '|')
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

-- adds `add` to a sliding-window counter (the sliding-window algorithm's) at `f` of `v`;
-- returns count x window and whether a value changed
local function slide(v, f, window, now, add)
  local index = math.floor(now / window)
  local i = v[f.i]
  local c, prev = roll(i, v[f.c] or 0, v[f.p] or 0, index)
  local changed = i ~= index
  if changed then v[f.i], v[f.p] = index, prev end
  if add ~= 0 or changed then
    c = c + add
    v[f.c] = c
    changed = true
  end
  return used_scaled(index, c, prev, window, now), changed
end

-- a sliding rule: counts `add`, and fires (once per episode) past `threshold` per window;
-- returns whether a value changed
local function sliding(v, fired, code, f, window, threshold, now, add)
  local scaled, changed = slide(v, f, window, now, add)
  if scaled > threshold * window then
    if now >= (v[f.e] or 0) then
      fired[#fired + 1] = code
      fired[#fired + 1] = floor_div(scaled, window)
      fired[#fired + 1] = threshold
    end
    v[f.e] = now + window
    changed = true
  end
  return changed
end

-- counts one call; returns a flat list of fired rules: code, value, threshold
local function observe(fields, writes, spec, now, allowed, cost, pending)
  local r = parse_rules(spec)
  local bw, bt, dw, dt, factor, min_cost, min_hours = r[1], r[2], r[3], r[4], r[5], r[6], r[7]
  local v, raw = read_counters(fields['~a'])
  local changed = false
  local fired = {}
  if bw > 0 then changed = sliding(v, fired, 1, BURST, bw, bt, now, 1 + pending) end
  if dw > 0 then
    local denied = 1
    if allowed then denied = 0 end
    changed = sliding(v, fired, 2, STORM, dw, dt, now, denied + pending) or changed
  end
  if factor > 0 then
    local hour = math.floor(now / HOUR)
    local stored = v[9]
    local h = stored or hour
    local c, b, n, e = 0, 0, 0, 0
    if stored then
      c, b, n, e = v[10] or 0, v[11] or 0, v[12] or 0, v[13] or 0
    end
    local e_stored = e
    local moved = stored == nil or hour > h
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
        fired[#fired + 1] = 3
        fired[#fired + 1] = c
        fired[#fired + 1] = math.floor(threshold)
      end
      e = (hour + 1) * HOUR
    end
    if moved then
      v[9], v[11], v[12] = h, b, n
      changed = true
    end
    if moved or charged then
      v[10] = c
      changed = true
    end
    if e ~= e_stored then
      v[13] = e
      changed = true
    end
  end
  if changed then
    writes[#writes + 1] = '~a'
    writes[#writes + 1] = write_counters(v, raw)
  end
  return fired
end
