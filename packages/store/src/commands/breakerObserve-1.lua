--[[
  Counts one send group's answers for the provider breaker of one delivery scope (provider-breaker.ts):
  provider failures (5xx, timeouts, connection errors) against answers about the tokens themselves.

  KEYS[1] the breaker (a hash: opens, until, probe, fails; see breakerAdmit-1.lua)

  ARGV[1] provider failures in the group
  ARGV[2] other answers in the group
  ARGV[3] the longest Retry-After among the failures, in ms (0: none)
  ARGV[4] 1 when the group was the probe
  ARGV[5] failures in a row that open the breaker
  ARGV[6] how long it opens the first time, in ms (doubled each time in a row)
  ARGV[7] the longest it opens, in ms (a longer Retry-After wins)

  Returns { 0 } closed; { 1, ms until it may be probed, times opened in a row, 1 when this call opened it (else 0) }.
]]
local failed, answered, retryAfter, probe = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1'
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
local state = redis.call('HMGET', KEYS[1], 'opens', 'until', 'fails')
local opens, openUntil, fails = tonumber(state[1] or '0'), tonumber(state[2] or '0'), tonumber(state[3] or '0')
if answered > 0 and answered >= failed then
  -- The provider answers: closed, and the count of failures in a row starts again.
  if opens > 0 or fails > 0 then redis.call('DEL', KEYS[1]) end
  return { 0 }
end
if failed == 0 then return { 0 } end
fails = fails + failed
if probe or (opens == 0 and fails >= tonumber(ARGV[5])) or (opens > 0 and now >= openUntil) then
  -- Open (again): each time for twice as long, at least what the provider's Retry-After asked.
  opens = opens + 1
  local delay = math.max(math.min(tonumber(ARGV[7]), tonumber(ARGV[6]) * 2 ^ (opens - 1)), retryAfter)
  redis.call('HSET', KEYS[1], 'opens', opens, 'until', now + delay, 'fails', 0, 'probe', 0)
  redis.call('PEXPIRE', KEYS[1], delay + 86400000)
  return { 1, delay, opens, 1 }
end
if opens > 0 then return { 1, openUntil - now, opens, 0 } end
redis.call('HSET', KEYS[1], 'fails', fails)
redis.call('PEXPIRE', KEYS[1], 86400000)
return { 0 }
