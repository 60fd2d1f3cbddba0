--[[
  Writes a new job's record and its expiry together (a record without an expiry would outlive retention):
  one command, where a MULTI would cost the caller a pipeline of its own on the API's hot path.

  KEYS[1] the job's hash

  ARGV[1] the job's expiry (Unix seconds)
  ARGV[2..] field, value, field, value, ... of the record

  Returns 1.
]]
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIREAT', KEYS[1], ARGV[1])
return 1
