--[[
  reset.lua: forgets an identifier's usage: every limit, its reservations and its sequence
  (ARGV[1] = 'all'), or only the named limits.

  KEYS[1]  state hash          <prefix>:{<id>}
  KEYS[2]  reservation index   <prefix>:{<id>}:res
  KEYS[3..] the sorted sets of the sliding-log limits to reset
  ARGV[1]  'all' or 'some'
  ARGV[2..] with 'some': the names of the limits to reset
  Returns  1
]]

if ARGV[1] == 'all' then
  redis.call('DEL', unpack(KEYS))
  return 1
end
for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
local fields = {}
for i = 2, #ARGV do
  for _, suffix in ipairs({ '.x', '.i', '.c', '.p', '.t', '.s' }) do fields[#fields + 1] = ARGV[i] .. suffix end
end
if #fields > 0 then redis.call('HDEL', KEYS[1], unpack(fields)) end
return 1
