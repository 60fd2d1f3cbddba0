--[[
  A token bucket in one key, shared by every process that uses it: it holds up to ARGV[1] permits and
  refills ARGV[1] per ARGV[2] ms. Redis' own clock keeps processes on different machines in agreement.

  KEYS[1] the bucket (a hash: tokens, at)

  ARGV[1] capacity: permits per window
  ARGV[2] the window, in ms
  ARGV[3] permits wanted now (at most the capacity)
  ARGV[4] permits this take must leave in the bucket (at most capacity - wanted): the high lane's
          reserve, which normal takes leave alone

  Returns 0 when the permits were taken, else the ms until they exist (nothing taken).
]]
local capacity, window, want, reserve = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - at) * capacity / window)
local wait = 0
if tokens - want >= reserve then tokens = tokens - want
else wait = math.ceil((want + reserve - tokens) * window / capacity) end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], window * 2)
return wait
