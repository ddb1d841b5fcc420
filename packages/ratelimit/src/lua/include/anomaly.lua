--[[
  anomaly.lua: the anomaly counters, mirroring src/anomaly.ts operation for operation.
  Included by check.lua. All the counters are one state hash field, '~a', read with the limits'
  fields and written back only when a value changed: 13 values joined by '|' ('' when unset):
    1-4    burst: window index, current, previous, episode end (ms)
    5-8    denial storm: the same
    9-13   cost spike: hour index, this hour's cost, baseline (%.17g), hours seen, episode end
  One field instead of 13 saves Redis a field lookup and a string per value on every check. The
  values stay strings in locals: only those a rule reads are parsed (tonumber is strtod, the
  costly part), unchanged ones are written back as they were read, and no table is made unless
  a rule fires, so a check leaves Lua's collector little to do.
  Rules arrive as "burstWindow|burstThreshold|stormWindow|stormThreshold|factor|minCost|minHours"
  (0 = rule off).
]]

-- 13 values (written out: a function library's top level cannot call `string`)
local ANOMALY_PATTERN = '^' .. '([^|]*)|([^|]*)|([^|]*)|([^|]*)|' .. '([^|]*)|([^|]*)|([^|]*)|([^|]*)|' .. '([^|]*)|([^|]*)|([^|]*)|([^|]*)|' .. '([^|]*)$'
local ANOMALY_FORMAT = '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s'
local HOUR = 3600000
local BASELINE_WEIGHT = 0.3

-- a stored value as a number: nil when unset ('' or absent)
local function value(x)
  if x and x ~= '' then return tonumber(x) end
  return nil
end

-- a count, amount or time as stored: 0 as '' (read back as 0 wherever it is read), so that the
-- common zeros cost no tonumber. Window and hour indexes are written with num(): unset differs.
local function text(x)
  if x == 0 then return '' end
  return num(x)
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

-- a sliding rule over the stored values (index, current, previous, episode end): counts `add`
-- (the sliding-window algorithm's counter) and fires, once per episode, past `threshold` per
-- window. Returns the values (changed ones as new text), whether any changed, and `fired`.
local function sliding(ti, tc, tp, te, window, threshold, now, add, code, fired)
  local index = math.floor(now / window)
  local i = value(ti)
  local c, prev = roll(i, value(tc) or 0, value(tp) or 0, index)
  local changed = i ~= index
  if changed then ti, tp = num(index), text(prev) end
  if add ~= 0 or changed then
    c = c + add
    tc = text(c)
    changed = true
  end
  local scaled = used_scaled(index, c, prev, window, now)
  if scaled > threshold * window then
    if now >= (value(te) or 0) then
      fired = fired or {}
      fired[#fired + 1] = code
      fired[#fired + 1] = floor_div(scaled, window)
      fired[#fired + 1] = threshold
    end
    te = text(now + window)
    changed = true
  end
  return ti, tc, tp, te, changed, fired
end

-- counts one call (`stored`: the field '~a' as read, or nil); returns nil, or a flat list of fired rules: code, value, threshold
local function observe(stored, writes, spec, now, allowed, cost, pending)
  local r = parse_rules(spec)
  local bw, bt, dw, dt, factor, min_cost, min_hours = r[1], r[2], r[3], r[4], r[5], r[6], r[7]
  local b1, b2, b3, b4, d1, d2, d3, d4, h1, h2, h3, h4, h5
  if stored then b1, b2, b3, b4, d1, d2, d3, d4, h1, h2, h3, h4, h5 = string.match(stored, ANOMALY_PATTERN) end
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
    local h_stored = value(h1)
    local h = h_stored or hour
    local c, b, n, e = 0, 0, 0, 0
    if h_stored then
      c, b, n, e = value(h2) or 0, value(h3) or 0, value(h4) or 0, value(h5) or 0
    end
    local e_stored = e
    moved = h_stored == nil or hour > h
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
    if moved then h1, h3, h4 = num(h), text(b), text(n) end
    if moved or charged then h2 = text(c) end
    if e ~= e_stored then h5 = text(e) end
    changed = changed or moved or charged or e ~= e_stored
  end
  if changed then
    writes[#writes + 1] = '~a'
    writes[#writes + 1] = string.format(ANOMALY_FORMAT, b1 or '', b2 or '', b3 or '', b4 or '', d1 or '', d2 or '', d3 or '', d4 or '',
      h1 or '', h2 or '', h3 or '', h4 or '', h5 or '')
  end
  return fired
end
