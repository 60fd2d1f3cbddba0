--[[
  Marks one chunk of one platform finished, once, adding its counts to the job's; the job completes
  (finishedAt) when every chunk of every platform it was queued on is.

  KEYS[1] the job's hash
  KEYS[2] the job's set of finished "<platform>:<chunk>"

  ARGV[1] platform
  ARGV[2] chunk index
  ARGV[3] clients of the chunk that had at least one token on this platform
  ARGV[4] now (ms)
  ARGV[5] the job's expiry (Unix seconds)
  ARGV[6] the platforms of a job that does not list its own in its hash (`platforms`: created before jobs
          did), comma-separated
  ARGV[7..] pairs: count name (`tokens`, a status), how many the chunk adds (its results record's
          counts; none for a job of the old layout, whose scripts counted as they went)

  Returns -1 when the job no longer exists, 0 when the chunk was already done, else 1.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local p = ARGV[1]
-- A chunk without tokens on this platform (no client has a device there) has not started the job: a
-- scheduled job stays `scheduled` until something of it is due.
if tonumber(ARGV[3]) > 0 then redis.call('HSETNX', KEYS[1], 'startedAt', ARGV[4]) end
if redis.call('SADD', KEYS[2], p .. ':' .. ARGV[2]) == 0 then return 0 end
redis.call('EXPIREAT', KEYS[2], ARGV[5])
redis.call('HINCRBY', KEYS[1], p .. ':clients', ARGV[3])
for i = 7, #ARGV, 2 do
  if tonumber(ARGV[i + 1]) > 0 then redis.call('HINCRBY', KEYS[1], p .. ':' .. ARGV[i], ARGV[i + 1]) end
end
local done = redis.call('HINCRBY', KEYS[1], p .. ':chunksDone', 1)
local chunks = tonumber(redis.call('HGET', KEYS[1], 'chunks'))
if done < chunks then return 1 end
local listed = redis.call('HGET', KEYS[1], 'platforms') or ARGV[6]
for other in string.gmatch(listed, '[^,]+') do
  if other ~= p and tonumber(redis.call('HGET', KEYS[1], other .. ':chunksDone') or '0') < chunks then return 1 end
end
redis.call('HSETNX', KEYS[1], 'finishedAt', ARGV[4])
return 1
