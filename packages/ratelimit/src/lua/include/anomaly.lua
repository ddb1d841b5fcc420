--[[
  anomaly.lua: the anomaly counters, mirroring src/anomaly.ts operation for operation.
  Included by check.lua. State hash fields:
    ~b.i ~b.c ~b.p ~b.e  burst: window index, current, previous, episode end (ms)
    ~d.i ~d.c ~d.p ~d.e  denial storm: the same
    ~h.i ~h.c ~h.b ~h.n ~h.e  cost spike: hour index, this hour's cost, baseline (%.17g),
                              hours seen, episode end
  Rules arrive as "burstWindow|burstThreshold|stormWindow|stormThreshold|factor|minCost|minHours"
  (0 = rule off).
]]

local ANOMALY_FIELDS = { '~b.i', '~b.c', '~b.p', '~b.e', '~d.i', '~d.c', '~d.p', '~d.e', '~h.i', '~h.c', '~h.b', '~h.n', '~h.e' }
local BURST = { i = '~b.i', c = '~b.c', p = '~b.p', e = '~b.e' }
local STORM = { i = '~d.i', c = '~d.c', p = '~d.p', e = '~d.e' }
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

-- adds `add` to a sliding-window counter (the sliding-window algorithm's) named by `f`; returns
-- count x window. Writes only what changes: index and previous count when the window moved.
local function slide(fields, writes, f, window, now, add)
  local index = math.floor(now / window)
  local i = tonumber(fields[f.i])
  local c, prev = roll(i, tonumber(fields[f.c]) or 0, tonumber(fields[f.p]) or 0, index)
  if i ~= index then
    put(writes, f.i, index)
    put(writes, f.p, prev)
  end
  if add ~= 0 or i ~= index then
    c = c + add
    put(writes, f.c, c)
  end
  return used_scaled(index, c, prev, window, now)
end

-- a sliding rule: counts `add`, and fires (once per episode) past `threshold` per window
local function sliding(fields, writes, fired, code, f, window, threshold, now, add)
  local scaled = slide(fields, writes, f, window, now, add)
  if scaled > threshold * window then
    if now >= (tonumber(fields[f.e]) or 0) then
      fired[#fired + 1] = code
      fired[#fired + 1] = floor_div(scaled, window)
      fired[#fired + 1] = threshold
    end
    put(writes, f.e, now + window)
  end
end

-- counts one call; returns a flat list of fired rules: code, value, threshold
local function observe(fields, writes, spec, now, allowed, cost, pending)
  local r = parse_rules(spec)
  local bw, bt, dw, dt, factor, min_cost, min_hours = r[1], r[2], r[3], r[4], r[5], r[6], r[7]
  local fired = {}
  if bw > 0 then sliding(fields, writes, fired, 1, BURST, bw, bt, now, 1 + pending) end
  if dw > 0 then
    local denied = 1
    if allowed then denied = 0 end
    sliding(fields, writes, fired, 2, STORM, dw, dt, now, denied + pending)
  end
  if factor > 0 then
    local hour = math.floor(now / HOUR)
    local stored = tonumber(fields['~h.i'])
    local h = stored or hour
    local c, b, n, e = 0, 0, 0, 0
    if stored then
      c, b, n = tonumber(fields['~h.c']) or 0, tonumber(fields['~h.b']) or 0, tonumber(fields['~h.n']) or 0
      e = tonumber(fields['~h.e']) or 0
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
      put(writes, '~h.i', h)
      put(writes, '~h.b', b)
      put(writes, '~h.n', n)
    end
    if moved or charged then put(writes, '~h.c', c) end
    put(writes, '~h.e', e, e_stored)
  end
  return fired
end
