--[[
  Marks device tokens as part of a job, each counted once in "<platform>:tokens", and returns the
  indexes of those that already have a final result (a chunk that runs again must not send them).

  KEYS[1] the job's hash
  KEYS[2] the job's token -> "p" (pending) or final status hash, for this platform

  ARGV[1] platform
  ARGV[2] the job's expiry (Unix seconds)
  ARGV[3] now (ms), the job's startedAt if it has none
  ARGV[4..] the tokens

  Returns -1 when the job no longer exists (a late write must not resurrect counters without an
  expiry), else the 0-based indexes (into ARGV[4..]) of the tokens that already have a final result.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local new, final = 0, {}
for i = 4, #ARGV do
  if redis.call('HSETNX', KEYS[2], ARGV[i], 'p') == 1 then new = new + 1
  elseif redis.call('HGET', KEYS[2], ARGV[i]) ~= 'p' then final[#final + 1] = i - 4 end
end
if new > 0 then redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':tokens', new) end
redis.call('HSETNX', KEYS[1], 'startedAt', ARGV[3])
redis.call('EXPIREAT', KEYS[2], ARGV[2])
return final
