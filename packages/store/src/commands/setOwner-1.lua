--[[
  Sets the owner (client) of one token in its reverse-index bucket.

  KEYS[1] the token's bucket hash

  ARGV[1] the token's field in the bucket (10 bytes of its SHA-256)
  ARGV[2] the client

  Returns the previous owner, or nil.
]]
local previous = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return previous
