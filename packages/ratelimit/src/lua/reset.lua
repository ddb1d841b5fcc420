--[[
  reset.lua: forgets an identifier's usage: every limit and its reservations (ARGV[1] = 'all'),
  or only the named limits. The last reservation id stays, so ids are never reused.

  KEYS[1]  state hash          <prefix>:{<id>}
  KEYS[2]  reservation index   <prefix>:{<id>}:res
  KEYS[3]  recent denials      <prefix>:{<id>}:dn
  KEYS[4..] the lists of the sliding-log limits to reset
  ARGV[1]  'all' or 'some'
  ARGV[2]  TTL of the state hash (ms)
  ARGV[3..] with 'some': the names of the limits to reset
  Returns  1
]]
--- @include "lib"

-- fields held in a log's header move back first (see "Hoisted state" in lib.lua)
state_unhoist(KEYS[1])
if ARGV[1] == 'all' then
  local seq = redis.call('HGET', KEYS[1], 'seq')
  redis.call('DEL', unpack(KEYS))
  if seq then
    redis.call('HSET', KEYS[1], 'seq', seq)
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
  return 1
end
for i = 4, #KEYS do redis.call('DEL', KEYS[i]) end
local fields = {}
for i = 3, #ARGV do
  for _, suffix in ipairs({ '.sw', '.tb', '.fw' }) do fields[#fields + 1] = ARGV[i] .. suffix end
end
if #fields > 0 then redis.call('HDEL', KEYS[1], unpack(fields)) end
return 1
