--[[
  Records final per-token results in a chunk's results record (chunk-results.ts) exactly once: a token
  that already has a final result keeps it, and is neither counted nor listed again.

  KEYS[1] the chunk's hash

  ARGV[1] platform
  ARGV[2] now (ms), the time of these results
  ARGV[3] k, the number of classes: distinct status and reason pairs of this call
  ARGV[4..3+2k] each class's status, reason
  ARGV[4+2k..] pairs: a token's position (trackChunk-1.lua), its class (1..k); by ascending position

  Returns -1 when the platform has no record in this chunk (the job expired), else how many results were
  new (0 too once the chunk is done: a late write of a run that lost its chunk changes nothing).
]]
local h, p = KEYS[1], ARGV[1]
if redis.call('HEXISTS', h, p .. ':n') == 0 then return -1 end
if redis.call('HEXISTS', h, p .. ':done') == 1 then return 0 end
local k = tonumber(ARGV[3])
local first = 4 + 2 * k

-- Which results are new: the token's code is still 0 (and it is not listed twice in this call).
local codes, new, used, previous = {}, {}, {}, nil
for i = first, #ARGV, 2 do
  local position = tonumber(ARGV[i])
  if position ~= previous then
    previous = position
    local b = math.floor(position / 65536)
    if codes[b] == nil then codes[b] = redis.call('HGET', h, p .. ':c' .. b) or '' end
    local at = (position % 65536) * 2 + 1
    if string.byte(codes[b], at) == 0 and string.byte(codes[b], at + 1) == 0 then
      local class = tonumber(ARGV[i + 1])
      new[#new + 1] = { b, at, class }
      used[class] = (used[class] or 0) + 1
    end
  end
end
if #new == 0 then return 0 end

-- Each class with new results gets the next code of this chunk and platform.
local classes = 0
for _ in pairs(used) do classes = classes + 1 end
local code = tonumber(redis.call('HGET', h, p .. ':kn') or '0')
if code + classes > 65535 then return redis.error_reply('more than 65535 result classes in one chunk') end
local fields, codeOf, counts = { p .. ':kn', code + classes }, {}, {}
for class = 1, k do
  if used[class] then
    code = code + 1
    codeOf[class] = string.char(math.floor(code / 256), code % 256)
    local status = ARGV[2 + 2 * class]
    fields[#fields + 1] = p .. ':k' .. code
    fields[#fields + 1] = ARGV[2] .. ',' .. status .. ',' .. ARGV[3 + 2 * class]
    counts[status] = (counts[status] or 0) + used[class]
  end
end

-- The touched code blocks, rewritten with the new codes (positions ascend, so one pass per block).
local pieces, block, last = {}, nil, 1
local function flush()
  if block == nil then return end
  pieces[#pieces + 1] = string.sub(codes[block], last)
  fields[#fields + 1] = p .. ':c' .. block
  fields[#fields + 1] = table.concat(pieces)
end
for _, r in ipairs(new) do
  if r[1] ~= block then
    flush()
    pieces, block, last = {}, r[1], 1
  end
  pieces[#pieces + 1] = string.sub(codes[block], last, r[2] - 1)
  pieces[#pieces + 1] = codeOf[r[3]]
  last = r[2] + 2
end
flush()
redis.call('HSET', h, unpack(fields))
for status, n in pairs(counts) do redis.call('HINCRBY', h, p .. ':' .. status, n) end
return #new
