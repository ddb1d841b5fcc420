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
local HOUR = 3600000
local BASELINE_WEIGHT = 0.3

local function add_field(writes, name, value)
  writes[#writes + 1] = name
  writes[#writes + 1] = value
end

-- adds `add` to a sliding-window counter (the sliding-window algorithm's); returns count x window
local function slide(fields, writes, p, window, now, add)
  local index = math.floor(now / window)
  local c, prev = roll(tonumber(fields[p .. '.i']), tonumber(fields[p .. '.c']) or 0, tonumber(fields[p .. '.p']) or 0, index)
  c = c + add
  add_field(writes, p .. '.i', index)
  add_field(writes, p .. '.c', c)
  add_field(writes, p .. '.p', prev)
  return used_scaled(index, c, prev, window, now)
end

-- counts one call; returns a flat list of fired rules: code, value, threshold
local function observe(fields, writes, spec, now, allowed, cost, pending)
  local bw, bt, dw, dt, factor, min_cost, min_hours = string.match(spec, '^([%d.]+)|([%d.]+)|([%d.]+)|([%d.]+)|([%d.]+)|([%d.]+)|([%d.]+)$')
  bw, bt, dw, dt = tonumber(bw), tonumber(bt), tonumber(dw), tonumber(dt)
  factor, min_cost, min_hours = tonumber(factor), tonumber(min_cost), tonumber(min_hours)
  local fired = {}
  local function sliding(code, p, window, threshold, add)
    local scaled = slide(fields, writes, p, window, now, add)
    if scaled > threshold * window then
      if now >= (tonumber(fields[p .. '.e']) or 0) then
        fired[#fired + 1] = code
        fired[#fired + 1] = floor_div(scaled, window)
        fired[#fired + 1] = threshold
      end
      add_field(writes, p .. '.e', now + window)
    end
  end
  if bw > 0 then sliding(1, '~b', bw, bt, 1 + pending) end
  if dw > 0 then
    local denied = 1
    if allowed then denied = 0 end
    sliding(2, '~d', dw, dt, denied + pending)
  end
  if factor > 0 then
    local hour = math.floor(now / HOUR)
    local h = tonumber(fields['~h.i'])
    local c, b, n, e = 0, 0, 0, 0
    if h == nil then
      h = hour
    else
      c, b, n = tonumber(fields['~h.c']) or 0, tonumber(fields['~h.b']) or 0, tonumber(fields['~h.n']) or 0
      e = tonumber(fields['~h.e']) or 0
    end
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
    if allowed then c = c + cost end
    local threshold = math.max(factor * b, min_cost)
    if n >= min_hours and c > threshold then
      if now >= e then
        fired[#fired + 1] = 3
        fired[#fired + 1] = c
        fired[#fired + 1] = math.floor(threshold)
      end
      e = (hour + 1) * HOUR
    end
    add_field(writes, '~h.i', h)
    add_field(writes, '~h.c', c)
    add_field(writes, '~h.b', string.format('%.17g', b))
    add_field(writes, '~h.n', n)
    add_field(writes, '~h.e', e)
  end
  return fired
end
