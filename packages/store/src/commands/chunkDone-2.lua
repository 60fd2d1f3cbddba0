--[[
  Marks one chunk of one platform finished, once; the job completes (finishedAt) when every chunk of
  every platform it was queued on is.

  KEYS[1] the job's hash
  KEYS[2] the job's set of finished "<platform>:<chunk>"

  ARGV[1] platform
  ARGV[2] chunk index
  ARGV[3] clients of the chunk that had at least one token on this platform
  ARGV[4] now (ms)
  ARGV[5] the job's expiry (Unix seconds)
  ARGV[6..] the platforms of a job that does not list its own in its hash (`platforms`: created before jobs did)

  Returns -1 when the job no longer exists, 0 when the chunk was already done, else 1.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
-- A chunk without tokens on this platform (no client has a device there) has not started the job: a
-- scheduled job stays `scheduled` until something of it is due.
if tonumber(ARGV[3]) > 0 then redis.call('HSETNX', KEYS[1], 'startedAt', ARGV[4]) end
if redis.call('SADD', KEYS[2], ARGV[1] .. ':' .. ARGV[2]) == 0 then return 0 end
redis.call('EXPIREAT', KEYS[2], ARGV[5])
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':clients', ARGV[3])
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':chunksDone', 1)
local chunks = tonumber(redis.call('HGET', KEYS[1], 'chunks'))
local platforms = {}
local listed = redis.call('HGET', KEYS[1], 'platforms')
if listed then
  for p in string.gmatch(listed, '[^,]+') do platforms[#platforms + 1] = p end
else
  for i = 6, #ARGV do platforms[#platforms + 1] = ARGV[i] end
end
for _, p in ipairs(platforms) do
  if tonumber(redis.call('HGET', KEYS[1], p .. ':chunksDone') or '0') < chunks then return 1 end
end
redis.call('HSETNX', KEYS[1], 'finishedAt', ARGV[4])
return 1
