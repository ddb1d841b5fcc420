--[[
  token-bucket.lua: the token bucket as GCRA (src/algorithms/token-bucket.ts), with the same
  floating-point operations in the same order, so both agree to the bit, operation for
  operation: bucket_load, bucket_remaining, bucket_charge, bucket_outcome, bucket_adjust;
  bucket_persist writes.

  State hash field N.tb: '>dd' theoretical arrival time (tat), kept time (lib.lua).
]]

-- units left at t for a bucket at `tat`
local function bucket_left(tat, limit, window, t)
  if tat <= t then return limit end
  local interval = window / limit
  return min(limit, max(0, floor((t + window - tat) / interval)))
end

-- nothing to bring up to date: tat means the same at any time
local function bucket_load(l, values, now)
  local v = values[l.i1]
  local tat, kept
  if v then tat, kept = struct.unpack('>dd', v) end
  l.tat, l.kept = tat or now, kept or 0
end

local function bucket_remaining(l, now)
  return bucket_left(l.tat, l.limit, l.window, now)
end

-- nothing to refer to: a settle moves tat by the difference
local function bucket_charge(l, now, reservation)
  l.tat = max(l.tat, now) + l.cost * (l.window / l.limit)
  return 0
end

-- fits, remaining, resetAt (see LimitOutcome in src/algorithms/types.ts)
local function bucket_outcome(l, now)
  local fits, rem, limit = l.fits, bucket_remaining(l, now), l.limit
  if fits and rem >= limit then return fits, rem, now end
  local want = l.need
  if fits then want = rem + 1 end
  local tat, w = l.tat, l.window
  local t = max(now, math.ceil(tat - w + want * (w / limit)))
  -- the estimate may be off by a unit in the last place: settle on the exact first moment
  while bucket_left(tat, limit, w, t) < want do t = t + 1 end
  while t > now and bucket_left(tat, limit, w, t - 1) >= want do t = t - 1 end
  return fits, rem, t
end

-- a charge of `reserved` becomes l.cost
local function bucket_adjust(l, now, ref, reserved)
  local delta = l.cost - reserved
  local tat = max(l.tat, now) + delta * (l.window / l.limit)
  if delta < 0 then tat = max(tat, now) end
  l.tat = tat
end

-- appends the field to `writes`; `kept`: the hash's kept time after this write
local function bucket_persist(l, writes, now, trim, kept)
  local n = #writes
  writes[n + 1], writes[n + 2] = l.f1, struct.pack('>dd', l.tat, kept)
end
