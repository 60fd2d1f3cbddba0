--[[
  Pauses a provider for at least ARGV[1] ms: extends the pause only, so a shorter Retry-After never
  cuts a longer pause short.

  KEYS[1] the provider's pause key

  ARGV[1] the pause, in ms (at least 1)

  Returns nothing.
]]
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end
