--[[
  Records final per-token results in a chunk's results record (chunk-results.ts) exactly once: a token
  that already has a final result keeps it, and is neither counted nor listed again.

  KEYS[1] the chunk's hash

  ARGV[1] platform
  ARGV[2] now (ms), the time of these results
  ARGV[3] k, the number of classes: distinct status and reason pairs of this call
  ARGV[4..3+2k] each class's status, reason
  ARGV[4+2k..] runs of results, three values each: the first token's position (trackChunk-1.lua), how
               many tokens from there, their class (1..k); runs ascend and do not overlap

  Returns -1 when the platform has no record in this chunk (the job expired), else how many results were
  new (0 too once the chunk is done: a late write of a run that lost its chunk changes nothing).
]]
local h, p = KEYS[1], ARGV[1]
local state = redis.call('HMGET', h, p .. ':n', p .. ':done', p .. ':kn')
if not state[1] then return -1 end
if state[2] then return 0 end
local k = tonumber(ARGV[3])

-- Which results are new: the token's code is still 0. A whole run at once when all of it is (the usual).
local codes, new, used, newCount, after = {}, {}, {}, 0, -1
for i = 4 + 2 * k, #ARGV, 3 do
  local position, count, class = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  if position <= after then return redis.error_reply('runs of results must ascend without overlapping') end
  after = position + count - 1
  local b = math.floor(position / 65536)
  if codes[b] == nil then codes[b] = redis.call('HGET', h, p .. ':c' .. b) or '' end
  local at = (position % 65536) * 2 + 1
  if string.sub(codes[b], at, at + 2 * count - 1) == string.rep('\0', 2 * count) then
    new[#new + 1] = { b, at, count, class }
    used[class] = (used[class] or 0) + count
    newCount = newCount + count
  else
    for j = 0, count - 1 do
      local o = at + 2 * j
      if string.byte(codes[b], o) == 0 and string.byte(codes[b], o + 1) == 0 then
        new[#new + 1] = { b, o, 1, class }
        used[class] = (used[class] or 0) + 1
        newCount = newCount + 1
      end
    end
  end
end
if newCount == 0 then return 0 end

-- Each class with new results gets the next code of this chunk and platform.
local code = tonumber(state[3] or '0')
local classes = 0
for _ in pairs(used) do classes = classes + 1 end
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

-- The touched code blocks, rewritten with the new codes (runs ascend, so one pass per block).
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
  pieces[#pieces + 1] = string.rep(codeOf[r[4]], r[3])
  last = r[2] + 2 * r[3]
end
flush()
redis.call('HSET', h, unpack(fields))
for status, n in pairs(counts) do redis.call('HINCRBY', h, p .. ':' .. status, n) end
return newCount
