--[[
  The dead-token guard of one delivery scope (dead-token-guard.ts): windows of recent answers, each judged
  once, when it is full or old. A cause with more than the share of a window's answers is suspected.

  KEYS[1] the guard (a hash: gen = the open window, n = its answers, started, fp = the sender's
          configuration fingerprint, causes = the causes seen in it, one a line, d:<cause> = its answers
          per cause, v:<window> = a judged window's verdict, the last 1,000 kept)

  ARGV[1] 'observe' or 'verdict'
  ARGV[2] the share (0..1)
  ARGV[3] how old (ms) a window is judged on the answers it has
  observe: ARGV[4] window size, ARGV[5] fingerprint, ARGV[6] answers in the send group, then pairs:
           ARGV[7] a cause, ARGV[8] its answers, ...
  verdict: ARGV[4] the window asked about

  Returns for observe: { the window the answers went into, then for each window this call closed: its
  number, its verdict "<answers>|<cause>\n<cause>..." }. For verdict: { 1, the verdict, 1 when this call
  judged it (else 0) }; { 0, ms until it will be judged } while open; { -1 } when it is gone (expired).
]]
local key, mode, share, wait = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)

-- Judges the open window, keeps its verdict for the chunks still waiting on it, opens the next one.
local function close()
  local window = tonumber(redis.call('HGET', key, 'gen') or '0')
  local answers = tonumber(redis.call('HGET', key, 'n') or '0')
  local suspected = {}
  for cause in string.gmatch(redis.call('HGET', key, 'causes') or '', '[^\n]+') do
    local count = tonumber(redis.call('HGET', key, 'd:' .. cause) or '0')
    if answers > 0 and count / answers > share then suspected[#suspected + 1] = cause end
    redis.call('HDEL', key, 'd:' .. cause)
  end
  local verdict = answers .. '|' .. table.concat(suspected, '\n')
  redis.call('HSET', key, 'v:' .. window, verdict, 'gen', window + 1, 'n', 0, 'started', now, 'causes', '')
  redis.call('HDEL', key, 'v:' .. (window - 1000))
  return { window, verdict }
end

if mode == 'verdict' then
  local window = tonumber(ARGV[4])
  local verdict = redis.call('HGET', key, 'v:' .. window)
  if verdict then return { 1, verdict, 0 } end
  local state = redis.call('HMGET', key, 'gen', 'started')
  if not state[1] or tonumber(state[1]) ~= window then return { -1 } end
  local left = tonumber(state[2]) + wait - now
  if left > 0 then return { 0, left } end
  return { 1, close()[2], 1 }
end

local size, fingerprint = tonumber(ARGV[4]), ARGV[5]
local out = { 0 }
local state = redis.call('HMGET', key, 'gen', 'n', 'started', 'fp')
if not state[1] then
  redis.call('HSET', key, 'gen', 0, 'n', 0, 'started', now, 'fp', fingerprint)
elseif tonumber(state[2]) > 0 and (state[4] ~= fingerprint or now - tonumber(state[3]) >= wait) then
  -- Answers under another configuration (a deploy) are judged apart from the old one's; a stale window first.
  local closed = close()
  out[#out + 1] = closed[1]
  out[#out + 1] = closed[2]
end
redis.call('HSET', key, 'fp', fingerprint)
-- A window's age counts from its first answer: an idle stretch before it does not make it stale.
if tonumber(redis.call('HGET', key, 'n')) == 0 then redis.call('HSET', key, 'started', now) end
local answers = redis.call('HINCRBY', key, 'n', ARGV[6])
for i = 7, #ARGV, 2 do
  if redis.call('HINCRBY', key, 'd:' .. ARGV[i], ARGV[i + 1]) == tonumber(ARGV[i + 1]) then
    redis.call('HSET', key, 'causes', (redis.call('HGET', key, 'causes') or '') .. ARGV[i] .. '\n')
  end
end
out[1] = tonumber(redis.call('HGET', key, 'gen'))
if answers >= size then
  local closed = close()
  out[#out + 1] = closed[1]
  out[#out + 1] = closed[2]
end
redis.call('PEXPIRE', key, 86400000)
return out
