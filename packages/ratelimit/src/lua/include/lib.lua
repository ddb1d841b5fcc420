--[[
  lib.lua: helpers the algorithms and scripts share. Included by the scripts (see
  scripts/build-lua.ts); not a script of its own. Each algorithm has its own include, opposite
  its TypeScript file (src/algorithms/<algorithm>.ts): fixed-window.lua, sliding-window.lua,
  sliding-log.lua, token-bucket.lua, each with the same operations as the TypeScript record
  (<prefix>_load, _remaining, _charge, _outcome, _adjust, and _persist, the write that the
  memory store does not need); plan.lua parses plans and dispatches by algorithm code.

  Per-identifier state hash <prefix>:{<id>} (a sliding-log limit is its own list, see
  sliding-log.lua), fields by limit name N, each one binary value of doubles (struct: exact for
  integers below 2^53, and read without strtod, the costly part of tonumber). A counter's last
  double is the time the hash was known to be kept alive until when the field was written (its
  "kept" time, see keep_alive), so a check reads no other field to decide the TTL:
    N.sw sliding window (sliding-window.lua)
    N.tb token bucket (token-bucket.lua)
    N.fw fixed window (fixed-window.lua)
    ~c   anomaly counters (see anomaly.lua; '~s' and '~n' held those of earlier versions)
    ~e   '>d' the time (ms, in the calls' clock) the hash is kept alive until: its TTL is
         renewed only when that comes within a state TTL
    ~x   the name of the sliding log whose header holds some of these fields (hoisted state, below)
    seq  last reservation id (kept by reset, so ids are never reused)
    r:ID reservation record "expiresAt|name,ref,cost|..."
  The names differ from those of earlier versions (text fields N.i N.c N.p N.t N.s, ~a; counters
  without a kept time N.w N.b N.f), and a log is `...:log3:N` (`...:log2:N` held it before its
  header could hold hoisted state, see below; `...:log:N` held the list with its
  header first, `...:l:N` the sorted set): versions deployed side by side never read each other's
  values; the old ones expire with their TTLs.
]]

-- algorithm codes (AlgorithmCode in src/plan.ts)
local LOG, WINDOW, BUCKET, FIXED, MONTH = 1, 2, 3, 4, 5

-- library functions as upvalues (a global's field costs two table reads a use); set by
-- lib_init(), which every entry whose helpers use them calls first (check_alone, check_all,
-- settle): a Functions library cannot read globals while it loads
local floor, max, min, call, pack, unpack_s, sub

local function lib_init()
  floor, max, min, call, pack, unpack_s, sub = math.floor, math.max, math.min, redis.call, struct.pack, struct.unpack, string.sub
end

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
  local q = floor(a / b)
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

--[[
  Numeric arguments (modes, costs) by their text: tonumber is strtod, about ten times a table
  read, and a caller's costs repeat. Kept while the library is loaded, at most NUMS_MAX texts.
]]
local NUMS_MAX = 1024
local nums, nums_count = { ['0'] = 0, ['1'] = 1, ['2'] = 2 }, 3

local function arg_num(text)
  local v = nums[text]
  if v then return v end
  v = tonumber(text)
  if nums_count >= NUMS_MAX then nums, nums_count = { ['0'] = 0, ['1'] = 1, ['2'] = 2 }, 3 end
  nums[text], nums_count = v, nums_count + 1
  return v
end

--[[
  The state hash's lazy TTL (check.lua and settle.lua): renewed, to a quarter more than needed,
  only when it would end within a state TTL, and never shortened. `kept`: the latest kept time
  known from the fields read (0: none); when it is too soon, '~e' (the hash's own, which plans of
  another state TTL may have set later) decides. Returns the kept time after a write now, and the
  TTL to set (ms), or false when the hash is kept long enough.
]]
local function keep_alive(hash, kept, now, ttl)
  if kept < now + ttl then
    local e = redis.call('HGET', hash, '~e')
    if e then
      e = struct.unpack('>d', e)
      if e > kept then kept = e end
    end
    if kept < now + ttl then
      local renew = ttl + floor(ttl / 4)
      return now + renew, renew
    end
  end
  return kept, false
end

-- HSET of writes[1..n] (field, value, ...), and with `renew` (see keep_alive) '~e' and the TTL
local function write_state(hash, writes, n, kept, renew)
  if renew then
    writes[n + 1], writes[n + 2] = '~e', struct.pack('>d', kept)
    redis.call('HSET', hash, unpack(writes, 1, n + 2))
    redis.call('PEXPIRE', hash, num(renew))
  else
    redis.call('HSET', hash, unpack(writes, 1, n))
  end
end

--[[
  Hoisted state. A plan of one sliding log and two sliding-window counters (logwin_check in
  check.lua) keeps those counters, and the anomaly counters when it has rules, in its log's
  header while its checks take the usual path: its check then makes two Redis calls (RPOP,
  RPUSH) where it would make four. Such a header (see sliding-log.lua) has HOIST added to its
  newest time, and between that and its cache:
    '>I2' X   the bytes that follow, up to the cache
    'B' n     then n bytes: the hash fields it holds, comma-separated ("<w1>.sw,<w2>.sw[,~c]")
    '>d'      kept: the time (ms, in the calls' clock) the log and the state hash are kept alive until
    '>ddd'    per window: index, current, previous (as the field, without its kept time)
    the rest  the anomaly counters' field, when the fields name '~c'
  The state hash names that log in '~x'. Every other path that reads those fields, or the log's
  header, moves them back first (state_unhoist, log_unhoist), so a field lives in one place at a
  time; '~x' is set if and only if a log header holds fields (a '~x' whose log is gone, or holds
  none, is removed when met). The log is kept alive as long as the state TTL, the hash at least as
  long (keep_hash). The state hash is not among the keys a lone log's check declares: a header
  taken (RPOP) is put back before the fields are written to the hash, so that a failure there (a
  cluster slot in migration) loses nothing.
]]
local HOIST = 2 ^ 47
-- a log's key is its state hash's and this, then the limit's name (keys.ts)
local LOG_INFIX = ':log3:'
-- such a header: used, newest + HOIST, X, n, the fields, kept, both windows, the counters, the cache
local HOIST_HEAD = '>dI6I2Bc0dddddddc0c0'

-- whether a log header holds hoisted fields (the top bit of its newest time, big-endian, byte 9)
local function log_hoisted(h)
  return #h >= 17 and string.byte(h, 9) >= 128
end

-- keeps the state hash alive at least `ttl` ms, recording `kept` in '~e' (see keep_alive) when it
-- extends it: it must outlive the log holding its fields (its '~x' says where they are)
local function keep_hash(hash, ttl, kept)
  local left = redis.call('PTTL', hash)
  -- -1: no TTL (made by this call's HSET), -2: no hash
  if left == -1 or left >= 0 and left < ttl then
    redis.call('HSET', hash, '~e', struct.pack('>d', kept))
    redis.call('PEXPIRE', hash, ttl)
  end
end

-- moves the fields held in header `h` of log `key` back to the state hash (each window's with the
-- header's kept time) and removes '~x'; returns the header without them, cache kept
local function log_unhoist(key, h)
  local used, newest, x, n = struct.unpack('>dI6I2B', h)
  local fields = string.sub(h, 18, 17 + n)
  local kept = struct.unpack('>d', h, 18 + n)
  local at, stop = 26 + n, 16 + x
  local hash = string.sub(key, 1, #key - #LOG_INFIX - #string.match(key, '[^:]*$'))
  local writes, w = {}, 0
  for f in string.gmatch(fields, '[^,]+') do
    if f == '~c' then
      writes[w + 1], writes[w + 2] = f, string.sub(h, at, stop)
    else
      local i, c, p = struct.unpack('>ddd', h, at)
      at = at + 24
      writes[w + 1], writes[w + 2] = f, struct.pack('>dddd', i, c, p, kept)
    end
    w = w + 2
  end
  redis.call('HSET', hash, unpack(writes, 1, w))
  redis.call('HDEL', hash, '~x')
  -- the log's TTL, or when it is gone (its header was its last element, popped) what the last
  -- write gave it: kept less that write's time
  local left = redis.call('PTTL', key)
  if left <= 0 then left = math.max(1, math.ceil(kept - (newest - HOIST))) end
  keep_hash(hash, left, kept)
  return struct.pack('>dI6c0', used, newest - HOIST, string.sub(h, stop + 1))
end

-- the header of log `key` as read in place (LINDEX), its hoisted fields moved back: rewritten
local function log_unhoist_at(key, h)
  h = log_unhoist(key, h)
  redis.call('LSET', key, '-1', h)
  return h
end

-- a state hash whose '~x' is `x` (nil: read here): the fields log x's header holds move back ('~x'
-- is removed even when the log is gone: what it held expired with it). Whether there was a '~x'
local function state_unhoist(hash, x)
  x = x or redis.call('HGET', hash, '~x')
  if not x then return false end
  local key = hash .. LOG_INFIX .. x
  local h = redis.call('LINDEX', key, '-1')
  if h and log_hoisted(h) then log_unhoist_at(key, h) else redis.call('HDEL', hash, '~x') end
  return true
end
