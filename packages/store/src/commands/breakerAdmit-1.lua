--[[
  May a send group go now? The provider breaker of one delivery scope (provider-breaker.ts).

  KEYS[1] the breaker (a hash: opens = times opened in a row, until = open until (ms), probe = the probe
          lease's end (ms), fails = provider failures in a row)

  ARGV[1] how long a probe's lease lasts, in ms
  ARGV[2] how often a caller waiting for another's probe asks again, in ms

  Returns { 1 } closed: send; { 2 } half-open and this caller holds the probe: send one request;
  { 0, ms } open, or another caller is probing: ask again in ms.
]]
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
local state = redis.call('HMGET', KEYS[1], 'opens', 'until', 'probe')
local opens, openUntil, probe = tonumber(state[1] or '0'), tonumber(state[2] or '0'), tonumber(state[3] or '0')
if now < openUntil then return { 0, openUntil - now } end
if opens == 0 then return { 1 } end
if probe > now then return { 0, math.min(probe - now, tonumber(ARGV[2])) } end
redis.call('HSET', KEYS[1], 'probe', now + tonumber(ARGV[1]))
return { 2 }
