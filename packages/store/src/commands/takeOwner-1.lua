--[[
  Removes one token from its reverse-index bucket.

  KEYS[1] the token's bucket hash

  ARGV[1] the token's field in the bucket (10 bytes of its SHA-256)

  Returns the owner it had (a client), or nil.
]]
local previous = redis.call('HGET', KEYS[1], ARGV[1])
if previous then redis.call('HDEL', KEYS[1], ARGV[1]) end
return previous
