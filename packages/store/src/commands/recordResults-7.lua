--[[
  Records final per-token results exactly once: a token that already has a final result keeps it,
  and is neither counted nor streamed again.

  KEYS[1] the job's hash
  KEYS[2] the job's token -> "p" (pending) or final status hash, for this platform
  KEYS[3..7] the job's result stream of each status, in the order ARGV[3..7] names them

  ARGV[1] platform
  ARGV[2] the job's expiry (Unix seconds)
  ARGV[3..7] the status of each result stream KEYS[3..7]
  ARGV[8..] groups of four: token, client, status, reason

  Returns -1 when the job no longer exists, else how many results were new.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local stream = {}
for k = 3, #KEYS do stream[ARGV[k]] = KEYS[k] end
local counts, recorded = {}, 0
for i = #KEYS + 1, #ARGV, 4 do
  local token, client, status, reason = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local current = redis.call('HGET', KEYS[2], token)
  if current == false or current == 'p' then
    if current == false then counts.tokens = (counts.tokens or 0) + 1 end
    redis.call('HSET', KEYS[2], token, status)
    counts[status] = (counts[status] or 0) + 1
    redis.call('XADD', stream[status], '*', 'c', client, 'p', ARGV[1], 't', token, 'r', reason)
    recorded = recorded + 1
  end
end
for name, n in pairs(counts) do redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':' .. name, n) end
for k = 2, #KEYS do redis.call('EXPIREAT', KEYS[k], ARGV[2]) end
return recorded
