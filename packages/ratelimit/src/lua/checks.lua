--[[
  checks.lua: several checks in one call, each run exactly as check.lua runs it, one after the
  other in the order given: what a client sends when it has several checks ready at once (one
  command and one round trip for all of them). Keys of one server only: on a cluster the checks'
  keys are in different slots.

  KEYS     every check's keys, one check's after the other's
  ARGV     per check: its number of keys, its number of arguments, then those arguments
  Returns  per check, its check.lua reply

  The server clock is read once for all: checks that ask for it (ARGV[1] = '') get that time.
]]
local out, k, a = {}, 1, 1
local now
while a <= #all_args do
  local nk, na = tonumber(all_args[a]), tonumber(all_args[a + 1])
  local args = { unpack(all_args, a + 2, a + 1 + na) }
  if args[1] == '' then
    now = now or server_now('')
    args[1] = now
  end
  out[#out + 1] = check_one({ unpack(all_keys, k, k + nk - 1) }, args)
  k, a = k + nk, a + 2 + na
end
return out
