--[[
  plan.lua: a plan's limits as Lua tables, and the operations on one limit, each dispatched by
  its algorithm code to that algorithm's include (as src/model.ts dispatches to the records of
  src/algorithms/): load, remaining, charge, outcome, adjust, and persist, which writes. A
  limit's table also holds its algorithm's operations (on_load, on_remaining, on_charge,
  on_outcome, on_persist), so check.lua's loops call them without a dispatch step.
]]

-- a limit's table, made with every field it will hold (Lua 5.1 then sizes it once); its hash
-- field f1 (see lib.lua), if any, is appended to `names`, its position kept in i1
local function new_limit(name, code, limit, window, names)
  local l = {
    name = name, code = code, limit = limit, window = window, cost = 0,
    key = false, pop = false, need = 0, fits = false, count = 0, used = 0, remaining = 0, newest = 0,
    expiry = 0, kept = 0, dead = 0, oldest_at = false, oldest_cost = 0, pending = false, index = 0, current = 0, previous = 0, tat = 0, start = 0, finish = 0,
    f1 = false, s1 = false, s2 = false, s3 = false, i1 = false,
    on_load = false, on_remaining = false, on_charge = false, on_outcome = false, on_persist = false,
  }
  if code == LOG then
    l.on_load, l.on_remaining, l.on_charge, l.on_outcome, l.on_persist = log_load, log_remaining, log_charge, log_outcome, log_persist
  elseif code == WINDOW then
    l.f1 = name .. '.sw'
    l.on_load, l.on_remaining, l.on_charge, l.on_outcome, l.on_persist = window_load, window_remaining, window_charge, window_outcome, window_persist
  elseif code == BUCKET then
    l.f1 = name .. '.tb'
    l.on_load, l.on_remaining, l.on_charge, l.on_outcome, l.on_persist = bucket_load, bucket_remaining, bucket_charge, bucket_outcome, bucket_persist
  else
    l.f1 = name .. '.fw'
    l.on_load, l.on_remaining, l.on_charge, l.on_outcome, l.on_persist = fixed_load, fixed_remaining, fixed_charge, fixed_outcome, fixed_persist
  end
  if l.f1 then
    local n = #names + 1
    names[n], l.i1 = l.f1, n
  end
  return l
end

-- parses per-limit arguments from ARGV[first]: n, then per limit name, code, limit, window, cost
local function read_limits(first, keys_from)
  local n = tonumber(ARGV[first])
  local limits, by_name, names = {}, {}, {}
  local k = keys_from
  for i = 1, n do
    local base = first - 4 + 5 * i
    local l = new_limit(ARGV[base], tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3]), names)
    l.cost = tonumber(ARGV[base + 4])
    if l.code == LOG then
      l.key = KEYS[k]
      k = k + 1
    end
    limits[i] = l
    by_name[l.name] = l
  end
  return limits, by_name, names, k
end

-- brings a limit to now. `values`: the HMGET of the plan's hash fields (l.i1 the position of this
-- limit's field); a log reads its own list
local function load(l, values, now)
  l.on_load(l, values, now)
end

local function remaining(l, now)
  return l.on_remaining(l, now)
end

-- charges l.cost (> 0); returns the reservation reference. Writes happen in persist().
-- `reservation`: the id of the reservation being made, or 0.
local function charge(l, now, reservation)
  return l.on_charge(l, now, reservation)
end

-- fits, remaining, resetAt of a loaded limit (l.fits and l.need set by the check)
local function outcome(l, now)
  return l.on_outcome(l, now)
end

-- writes a limit's state: a log to its list (expired entries trimmed with `trim`), the others'
-- hash field into `writes` when `charged` and it changed, with `kept`, the hash's kept time after
-- this write (see keep_alive in lib.lua)
local function persist(l, writes, charged, now, trim, kept)
  if charged or l.code == LOG then l.on_persist(l, writes, now, trim, kept) end
end

-- settles what reservation `id` charged (`reserved` units, reference `ref` as text) to l.cost,
-- and writes it: a log in its list, the others into `writes` (with `kept`, as persist)
local function adjust(l, values, writes, now, ref, reserved, id, kept)
  local code = l.code
  ref = tonumber(ref)
  if code == LOG then
    -- a reservation made by the sorted-set log of earlier versions names a member: nothing to find
    if ref then log_adjust(l, now, ref, reserved, id) end
    return
  end
  load(l, values, now)
  if code == WINDOW then
    window_adjust(l, now, ref, reserved)
  elseif code == BUCKET then
    bucket_adjust(l, now, ref, reserved)
  else
    fixed_adjust(l, now, ref, reserved)
  end
  persist(l, writes, true, now, false, kept)
end

--[[
  Plans: a check names its plan by an id; the definition comes with it when the library may not
  know it ("<id>:<definition>"), and is kept here, parsed, while the library stays loaded (an EVAL
  script starts with none: its client always sends it). A definition is
  "<state TTL ms>:<reservation TTL ms>:<anomaly rules or ''>:<name>,<code>,<limit>,<window ms>;..."
]]
local plans, plan_count = {}, 0

local function learn_plan(arg)
  local id, state_ttl, reservation_ttl, rules, spec = string.match(arg, '^([^:]+):(%d+):(%d+):([^:]*):(.+)$')
  if not id then return nil end
  local plan = plans[id]
  if plan then return plan end
  plan = {
    state_ttl = tonumber(state_ttl), reservation_ttl = tonumber(reservation_ttl), rules = rules, limits = {}, n = 0, names = {}, anomaly_names = {},
    counters = false, anomaly_at = 0, log1 = false, window1 = false, bare = false, lone = false,
    -- a plan of one sliding log and one or two sliding windows (logwin_check in check.lua): the
    -- log and its position in the plan, the windows in plan order (w2 false when one) and theirs
    log = false, log_at = 0, w1 = false, w2 = false, w1_at = 0, w2_at = 0,
    -- with two windows: the fields its usual check hoists into the log's header, and how long the
    -- log then lives (see "Hoisted state" in lib.lua)
    hoists = false, hoist_ttl = 0,
    -- the hash fields a check reads: the limits' (read_names, with '~x' last when one is a
    -- sliding window), or with the anomaly counters and '~x' (anomaly_names, '~c' at anomaly_at)
    read_names = {},
  }
  local names = plan.names
  for name, code, limit, window in string.gmatch(spec, '([%w_-]+),(%d+),(%d+),(%d+)') do
    local l = new_limit(name, tonumber(code), tonumber(limit), tonumber(window), names)
    plan.n = plan.n + 1
    plan.limits[plan.n] = l
    if l.code ~= LOG then plan.counters = true end
  end
  -- one sliding-log or sliding-window limit: check.lua's short paths (log_check, window_check)
  plan.log1 = plan.n == 1 and plan.limits[1].code == LOG
  plan.window1 = plan.n == 1 and plan.limits[1].code == WINDOW
  -- one limit and no anomaly rules: a check's reply has no status but in mode 2 (see check.lua)
  plan.bare = plan.n == 1 and rules == ''
  -- the `check` script's short path (check_alone in check.lua): the limit of a bare plan of one sliding log
  plan.lone = plan.log1 and plan.bare and plan.limits[1]
  local logs, windows, log_at, at = {}, {}, 0, {}
  for i, l in ipairs(plan.limits) do
    if l.code == LOG then
      logs[#logs + 1], log_at = l, i
    elseif l.code == WINDOW then
      windows[#windows + 1] = l
      at[#windows] = i
    end
  end
  -- more windows take check_one's path
  if #logs == 1 and (#windows == 1 or #windows == 2) and #windows == plan.n - 1 then
    plan.log, plan.log_at, plan.w1, plan.w2 = logs[1], log_at, windows[1], windows[2] or false
    plan.w1_at, plan.w2_at = at[1], at[2] or 0
  end
  -- the header holds the fields' names in at most 255 bytes
  if plan.w2 and #plan.w1.f1 + #plan.w2.f1 + 4 <= 255 then
    plan.hoists = plan.w1.f1 .. ',' .. plan.w2.f1 .. (rules ~= '' and ',~c' or '')
    plan.hoist_ttl = math.max(plan.state_ttl, 2 * plan.log.window)
  end
  -- no '~e': the counters' fields carry the kept time (see keep_alive in lib.lua)
  for i, f in ipairs(names) do
    plan.anomaly_names[i], plan.read_names[i] = f, f
  end
  plan.anomaly_names[#names + 1], plan.anomaly_names[#names + 2] = '~c', '~x'
  plan.anomaly_at = #names + 1
  -- only a sliding window's field can be hoisted (and the anomaly counters, read with '~x' above)
  if #windows > 0 then plan.read_names[#names + 1] = '~x' end
  if plan_count >= 256 then plans, plan_count = {}, 0 end
  -- by id, and by the whole argument for callers that always send it (EVAL, a cluster)
  plans[id], plans[arg] = plan, plan
  plan_count = plan_count + 1
  return plan
end
