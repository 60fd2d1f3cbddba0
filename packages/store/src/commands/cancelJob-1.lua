--[[
  Cancels a job that has not finished: from now on no worker hands any more of it to a provider (each
  checks canceledAt just before sending), and its tokens without a final result end "canceled".

  KEYS[1] the job's hash

  ARGV[1] now (ms)

  Returns -1 when the job does not exist, 0 when it had already finished (completed, not canceled), else
  the ms of its canceledAt (this call's, or the first cancel's: canceling again answers the same).
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local canceled = redis.call('HGET', KEYS[1], 'canceledAt')
if canceled then return tonumber(canceled) end
if redis.call('HEXISTS', KEYS[1], 'finishedAt') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'canceledAt', ARGV[1])
return tonumber(ARGV[1])
