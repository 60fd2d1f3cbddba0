--[[
  The schedule of a throttled job (ratePerMinute), shared by every worker of every platform: reserves the
  next ARGV[2] sends, evenly spaced ARGV[1] ms apart after those reserved before, and says when they may
  start. Time that nobody used is not saved up, so a job that waited never sends a burst to catch up.
  Redis' own clock keeps workers on different machines in agreement.

  KEYS[1] the job's schedule (a string: the ms at which the next reservation may start)

  ARGV[1] ms between two sends (60000 / ratePerMinute; may be fractional)
  ARGV[2] sends to reserve
  ARGV[3] the job's expiry (Unix seconds)

  Returns the ms from now until the reserved sends may start (0: at once).
]]
local t = redis.call('TIME')
local now = t[1] * 1000 + t[2] / 1000
local start = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], string.format('%.3f', start + tonumber(ARGV[2]) * tonumber(ARGV[1])))
redis.call('EXPIREAT', KEYS[1], ARGV[3])
return math.ceil(start - now)
