--[[
  fixed-window.lua: the fixed-window counter (src/algorithms/fixed-window.ts), over windows of
  the limit's length (code FIXED) or UTC calendar months (code MONTH), operation for operation:
  fixed_load, fixed_remaining, fixed_charge, fixed_outcome, fixed_adjust; fixed_persist writes.

  State hash field N.fw: '>ddd' window start (ms), count, kept time (lib.lua).
]]

local DAY = 86400000

local function days_from_civil(y, m)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = m + 9
  if m > 2 then mp = m - 3 end
  local doy = floor((153 * mp + 2) / 5)
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

-- [start, end) of the UTC calendar month holding now
local function month_bounds(now)
  local z = floor(now / DAY) + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local month = mp - 9
  if mp < 10 then month = mp + 3 end
  local year = yoe + era * 400
  if month <= 2 then year = year + 1 end
  local ny, nm = year, month + 1
  if month == 12 then ny, nm = year + 1, 1 end
  return days_from_civil(year, month) * DAY, days_from_civil(ny, nm) * DAY
end

local function fixed_bounds(code, now, window)
  if code == MONTH then return month_bounds(now) end
  local start = floor(now / window) * window
  return start, start + window
end

-- the window holding now; the count restarts in a new one. The stored values stay in s1, s2
-- (and the kept time in kept), so fixed_persist writes only what changed
local function fixed_load(l, values, now)
  local v = values[l.i1]
  local s, c, kept
  if v then s, c, kept = struct.unpack('>ddd', v) end
  l.s1, l.s2, l.kept = s, c, kept or 0
  local start, finish = fixed_bounds(l.code, now, l.window)
  c = c or 0
  if s ~= start then c = 0 end
  l.start, l.finish, l.count = start, finish, c
end

local function fixed_remaining(l, now)
  return max(0, l.limit - l.count)
end

-- the reference is the window's start
local function fixed_charge(l, now, reservation)
  l.count = l.count + l.cost
  return l.start
end

-- fits, remaining, resetAt (see LimitOutcome in src/algorithms/types.ts)
local function fixed_outcome(l, now)
  local fits, rem = l.fits, fixed_remaining(l, now)
  if fits and rem >= l.limit then return fits, rem, now end
  return fits, rem, l.finish
end

-- a charge of `reserved` in the window starting at `ref` becomes l.cost
local function fixed_adjust(l, now, ref, reserved)
  if ref == l.start then l.count = max(0, l.count + l.cost - reserved) end
end

-- appends the field to `writes` when it changed; `kept`: the hash's kept time after this write
local function fixed_persist(l, writes, now, trim, kept)
  if l.start ~= l.s1 or l.count ~= l.s2 then
    local n = #writes
    writes[n + 1], writes[n + 2] = l.f1, struct.pack('>ddd', l.start, l.count, kept)
  end
end
