--[[
  lib.lua: helpers the algorithms and scripts share. Included by the scripts (see
  scripts/build-lua.ts); not a script of its own. Each algorithm has its own include, opposite
  its TypeScript file (src/algorithms/<algorithm>.ts): fixed-window.lua, sliding-window.lua,
  sliding-log.lua, token-bucket.lua, each with the same operations as the TypeScript record
  (<prefix>_load, _remaining, _charge, _outcome, _adjust, and _persist, the write that the
  memory store does not need); plan.lua parses plans and dispatches by algorithm code.

  Per-identifier state hash <prefix>:{<id>} (a sliding-log limit is its own list, see
  sliding-log.lua), fields by limit name N, each one binary value of doubles (struct: exact for
  integers below 2^53, and read without strtod, the costly part of tonumber):
    N.w  sliding window (sliding-window.lua)
    N.b  token bucket (token-bucket.lua)
    N.f  fixed window (fixed-window.lua)
    ~s   anomaly counters (see anomaly.lua; '~n' held the approximate counters of earlier versions)
    ~e   '>d' the time (ms, in the calls' clock) the hash is kept alive until: its TTL is
         renewed only when that comes within a state TTL
    seq  last reservation id (kept by reset, so ids are never reused)
    r:ID reservation record "expiresAt|name,ref,cost|..."
  The names differ from the text fields of earlier versions (N.i N.c N.p N.t N.s, ~a), and a log
  is `...:log:N` where the sorted set was `...:l:N`: versions deployed side by side never read each
  other's values; the old ones expire with their TTLs.
]]

-- algorithm codes (AlgorithmCode in src/plan.ts)
local LOG, WINDOW, BUCKET, FIXED, MONTH = 1, 2, 3, 4, 5

--[[
  Numbers go to redis.call as strings made here: Redis 7.0 formats a number argument with
  %.17g, three times the cost of %d, and Lua's own `..` is slower still. Same text either way.
]]
local function num(v)
  if v % 1 == 0 then return string.format('%d', v) end
  return string.format('%.17g', v)
end

-- floor(a / b) for integers, exact (floorDiv in src/algorithms/math.ts)
local function floor_div(a, b)
  local q = math.floor(a / b)
  if q * b > a then q = q - 1 elseif (q + 1) * b <= a then q = q + 1 end
  return q
end

local function server_now(arg)
  if arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local NO_VALUES = {}

-- the values of hash fields `names`, by position
local function read_fields(hash, names)
  if #names == 0 then return NO_VALUES end
  return redis.call('HMGET', hash, unpack(names))
end
