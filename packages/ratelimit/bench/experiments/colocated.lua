--[[
  A design study, not the library: the three-limit plan's usual check with its two windows and
  its anomaly counters kept in the log's header instead of the state hash, so a check makes two
  Redis calls (RPOP, RPUSH) where logwin_check makes four (HMGET, RPOP, RPUSH, HSET).
  colocated.ts splices it into the library in place of logwin_check and counts instructions.

  Header: '>dI6I2' used, newest time, X (the bytes that follow for the windows and counters);
  8 doubles (each window's index, current, previous, kept time); the anomaly counters (X - 64
  bytes, anomaly.lua's field as it is); then the log's cache, as in sliding-log.lua.

  Steady state only: it assumes every call is allowed and charged, at most one entry expires per
  check, and the hash is never read (no plan change, no reservation, no settle, no TTL renewal of
  the hash); what the library would need to keep every behaviour is in docs/benchmarks.md.
]]
local function logwin_ext(hash, key, plan, spike_cost, pending, counting, now, out, o)
  local rules = plan.rules
  local l1, l2, log = plan.w1, plan.w2, plan.log
  local cost1, cost2 = l1.cost, l2.cost
  local h = call('RPOP', key)
  local used, newest, x, v, w = 0, 0, 0, 0, 0
  local i1, c1, p1, kept, i2, c2, p2, k2 = false, 0, 0, 0, false, 0, 0, 0
  local counters = nil
  local cache, p = '', 1
  if h then
    used, newest, x = unpack_s('>dI6I2', h)
    i1, c1, p1, kept, i2, c2, p2, k2 = unpack_s('>dddddddd', h, 17)
    counters = sub(h, 81, 16 + x)
    p = 17 + x
    cache = h
    if #h < p + 11 then
      local rows = call('LPOP', key, LOG_CACHE_ARG) or {}
      cache, p = sub(h, p) .. table.concat(rows), 1
    end
    if #cache >= p + 11 then v, w = unpack_s('>I6I6', cache, p) end
  end
  local cutoff = now - log.window
  local at
  if v > cutoff then at = v elseif w > cutoff then at, p, used = w, p + 6, used - 1 elseif v > 0 then at, p, used = w, p + 6, used - 1 else at = now end
  -- windows rolled (the library's window_roll)
  local r1, r2
  i1, c1, p1, r1 = window_roll(i1, c1, p1, l1.limit, l1.window, now)
  i2, c2, p2, r2 = window_roll(i2, c2, p2, l2.limit, l2.window, now)
  local ttl = plan.state_ttl
  if kept < now + ttl then kept = now + ttl + floor(ttl / 4) end
  used = used + 1
  if now ~= log_now then log_now, log_unit = now, pack('>I6', now) end
  c1, r1, c2, r2 = c1 + cost1, r1 - cost1, c2 + cost2, r2 - cost2
  local fired
  counters, fired = observe_check(counters, rules, now, true, spike_cost, pending)
  local head = pack('>dI6I2ddddddddc0c0', used, now, 64 + #counters, i1, c1, p1, kept, i2, c2, p2, kept, counters, sub(cache, p))
  if call('RPUSH', key, log_unit, head) == 2 then call('PEXPIRE', key, num(2 * log.window)) end
  return usual_reply(out, o, plan, fired, log.limit - used, at + log.window, r1, window_reset(l1.limit, l1.window, i1, c1, p1, r1, 1, true, now), r2,
    window_reset(l2.limit, l2.window, i2, c2, p2, r2, 1, true, now))
end
