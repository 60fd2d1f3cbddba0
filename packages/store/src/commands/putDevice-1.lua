--[[
  Rewrites one client's device lines ("<code><createdAt ms>[.<keys>]:<token>", one per line; keys, of a
  web subscription, hold no ':'): the line of token
  ARGV[1] is removed, and ARGV[2] appended when given. The key is deleted when no line is left.

  KEYS[1] the client's devices string

  ARGV[1] the token whose line is removed
  ARGV[2] (optional) the line to add

  Returns how many lines the client has now.
]]
local kept = {}
local current = redis.call('GET', KEYS[1])
if current then
  for line in string.gmatch(current, '[^\n]+') do
    if string.sub(line, (string.find(line, ':', 1, true) or 0) + 1) ~= ARGV[1] then kept[#kept + 1] = line end
  end
end
if ARGV[2] then kept[#kept + 1] = ARGV[2] end
if #kept == 0 then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], table.concat(kept, '\n')) end
return #kept
