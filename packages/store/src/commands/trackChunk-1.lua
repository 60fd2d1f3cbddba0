--[[
  Adds device tokens to a chunk's results record (chunk-results.ts describes the layout), each once, and
  says which already have a final result (a chunk that runs again must not send them).

  KEYS[1] the chunk's hash

  ARGV[1] platform
  ARGV[2] the job's expiry (Unix seconds)
  ARGV[3] the most bytes a block holds (BLOCK_BYTES), for the blocks of tokens this script adds itself
  ARGV[4..] pairs: entry count, block of packed entries (`<varint n><token><varint n><client>`...);
            the tokens are distinct

  Returns 0 when the platform had no record in this chunk: the blocks are stored as blocks 0, 1, ... in
  the order given, so entry i of block b is at position b * 65536 + i. Otherwise an array, per entry given:
  its position, or -1 when the token already has a final result (or the chunk is done: nothing more of
  it is sent).
]]
local h, p = KEYS[1], ARGV[1]
local BLOCK_BYTES, BLOCK_ENTRIES = tonumber(ARGV[3]), 65535

if redis.call('HEXISTS', h, p .. ':n') == 0 then
  local fields, n, b = {}, 0, 0
  for i = 4, #ARGV, 2 do
    local count = tonumber(ARGV[i])
    fields[#fields + 1] = p .. ':m' .. b
    fields[#fields + 1] = ARGV[i + 1]
    fields[#fields + 1] = p .. ':c' .. b
    fields[#fields + 1] = string.rep('\0', 2 * count)
    n, b = n + count, b + 1
  end
  redis.call('HSET', h, p .. ':n', n, p .. ':b', b, unpack(fields))
  redis.call('EXPIREAT', h, ARGV[2])
  return 0
end

-- Runs again, or more tokens of a `localTime` chunk: find each token among those already recorded.
local function varint(s, at)
  local n, scale = 0, 1
  while true do
    local byte = string.byte(s, at)
    at = at + 1
    n = n + (byte % 128) * scale
    if byte < 128 then return n, at end
    scale = scale * 128
  end
end
-- Calls fn(token, entry, index) for each entry of a block.
local function entries(block, fn)
  local at, index = 1, 0
  while at <= #block do
    local start = at
    local tokenLength
    tokenLength, at = varint(block, at)
    local token = string.sub(block, at, at + tokenLength - 1)
    local clientLength
    clientLength, at = varint(block, at + tokenLength)
    at = at + clientLength
    fn(token, string.sub(block, start, at - 1), index)
    index = index + 1
  end
end

local done = redis.call('HEXISTS', h, p .. ':done') == 1
local blocks = tonumber(redis.call('HGET', h, p .. ':b'))
local known = {}
for b = 0, blocks - 1 do
  local found = redis.call('HMGET', h, p .. ':m' .. b, p .. ':c' .. b)
  local codes = found[2]
  entries(found[1], function(token, _, index)
    local final = string.byte(codes, 2 * index + 1) ~= 0 or string.byte(codes, 2 * index + 2) ~= 0
    known[token] = (final or done) and -1 or b * 65536 + index
  end)
end

local out, added, size, fields, count = {}, {}, 0, {}, 0
local b = blocks
local function close()
  if #added == 0 then return end
  fields[#fields + 1] = p .. ':m' .. b
  fields[#fields + 1] = table.concat(added)
  fields[#fields + 1] = p .. ':c' .. b
  fields[#fields + 1] = string.rep('\0', 2 * #added)
  count = count + #added
  added, size, b = {}, 0, b + 1
end
for i = 5, #ARGV, 2 do
  entries(ARGV[i], function(token, entry)
    local position = known[token]
    if position == nil then
      if done then
        position = -1
      else
        if #added > 0 and (size + #entry > BLOCK_BYTES or #added == BLOCK_ENTRIES) then close() end
        position = b * 65536 + #added
        added[#added + 1] = entry
        size = size + #entry
      end
      known[token] = position
    end
    out[#out + 1] = position
  end)
end
close()
if count > 0 then
  redis.call('HSET', h, p .. ':b', b, unpack(fields))
  redis.call('HINCRBY', h, p .. ':n', count)
end
return out
