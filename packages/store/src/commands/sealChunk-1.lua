--[[
  Marks one platform of a chunk done in its results record (chunk-results.ts): from now on nothing more
  is recorded there, so the counts it returns are final.

  KEYS[1] the chunk's hash

  ARGV[1] platform
  ARGV[2..] the statuses to count

  Returns the platform's tokens, then its count of each status of ARGV[2..] (all 0 when the chunk had no
  token on this platform).
]]
local h, p = KEYS[1], ARGV[1]
local fields = { p .. ':n' }
for i = 2, #ARGV do fields[#fields + 1] = p .. ':' .. ARGV[i] end
local counts = redis.call('HMGET', h, unpack(fields))
if counts[1] then redis.call('HSET', h, p .. ':done', 1) end
for i = 1, #counts do counts[i] = tonumber(counts[i] or 0) end
return counts
