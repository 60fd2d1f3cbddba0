--[[
  Apps as the first unit of fair share (docs/lanes.md): places a new job's waiting chunks among the waiting
  chunks of the same app in one queue, so that the app holds one BullMQ priority ("slot") per round
  whatever number of jobs it runs, and its jobs take turns within its slots.

  The app's index holds its waiting chunks by slot. Its order is today's fair share inside the app: by
  round within their job (chunk k: round k + 1), first come first served within a round. A new chunk of
  round r goes after the app's waiting chunks of rounds up to r, taking the slot that position had; the
  chunk it displaces goes to a slot past the app's last one. So the app gains as many slots as it has new
  chunks, every one at its end, and no other app's chunk moves: at most twice the new job's chunks change
  priority, whatever the app's backlog (a displaced chunk of a job loses its place within that job, which
  fair share does not promise). An app with nothing waiting starts afresh at round 1 (least attained
  service, as a job did before apps): its chunks keep the priority they were added with.

  Chunks taken by a worker leave BullMQ's prioritized set; the index forgets them when they reach its head
  (or when a new chunk displaces one). Chunks not in the prioritized set (delayed, already taken) are not
  placed.

  KEYS[1] the app's index (sorted set: chunk job id -> slot), under the queue's {hash tag}
  KEYS[2] the queue's prioritized set (BullMQ: score = priority * 2^32 + arrival counter)
  KEYS[3] the queue's priority counter (BullMQ)

  ARGV[1] the queue's job key prefix (BullMQ: `<prefix>:<queue>:`; a chunk job's hash is it + its id)
  ARGV[2] BullMQ's highest priority (slots past it share it)
  ARGV[3] seconds the index lives after its last change
  ARGV[4...] the new job's chunk job ids (`<job id>-<chunk>`), in chunk order

  Returns how many chunks changed priority.
]]
local index, prioritized, counter = KEYS[1], KEYS[2], KEYS[3]
local jobPrefix, limit = ARGV[1], tonumber(ARGV[2])
local rcall = redis.call

local function round(id)
  return tonumber(string.match(id, '-(%d+)$')) + 1
end

local function waiting(id)
  return rcall('ZSCORE', prioritized, id) ~= false
end

-- Chunks to give a new slot, then what BullMQ's changePriority does to each (a prioritized job): a new
-- score (priority, then arrival order), and the priority in the job's hash (what a retry goes back to).
local moves = {}
local function setSlot(id, slot)
  moves[#moves + 1] = { id, math.min(slot, limit) }
end
local function applyMoves()
  if #moves == 0 then return end
  local last = rcall('INCRBY', counter, #moves)
  for i, move in ipairs(moves) do
    rcall('ZADD', prioritized, move[2] * 0x100000000 + (last - #moves + i) % 0x100000000, move[1])
    rcall('HSET', jobPrefix .. move[1], 'priority', move[2])
  end
end

-- ZADD of many members, a bounded number of arguments a call.
local function indexAll(slotsAndIds)
  for i = 1, #slotsAndIds, 1000 do
    rcall('ZADD', index, unpack(slotsAndIds, i, math.min(i + 999, #slotsAndIds)))
  end
end

-- Forget the chunks that left the head.
while true do
  local head = rcall('ZRANGE', index, 0, 0)[1]
  if not head or waiting(head) then break end
  rcall('ZREM', index, head)
end

local count = rcall('ZCARD', index)
local new = {}
if count == 0 then
  -- Nothing of the app waits: its chunks keep their rounds (a chunk a worker took already is forgotten
  -- once it reaches the head).
  local slotsAndIds = {}
  for i = 4, #ARGV do
    new[#new + 1] = ARGV[i]
    slotsAndIds[#slotsAndIds + 1] = round(ARGV[i])
    slotsAndIds[#slotsAndIds + 1] = ARGV[i]
  end
  indexAll(slotsAndIds)
else
  for i = 4, #ARGV do
    local id = ARGV[i]
    -- Already placed (a retried request queueing the same job again), or already taken.
    if not rcall('ZSCORE', index, id) and waiting(id) then new[#new + 1] = id end
  end
  local tail = tonumber(rcall('ZRANGE', index, -1, -1, 'WITHSCORES')[2])
  -- The app's entries by rank, read a page at a time as the merge reaches them.
  local ids, slotOf = {}, {}
  local function entry(rank)
    if ids[rank] == nil then
      local page = rcall('ZRANGE', index, rank, rank + 255, 'WITHSCORES')
      for i = 1, #page, 2 do
        ids[rank + (i - 1) / 2] = page[i]
        slotOf[rank + (i - 1) / 2] = tonumber(page[i + 1])
      end
    end
    return ids[rank], slotOf[rank]
  end
  -- Read by rank while merging, written after: placements would shift the ranks.
  local slots, displaced, freshUsed = {}, {}, {}
  local e, n = 0, 1
  while n <= #new do
    local id = e < count and entry(e) or nil
    if id and round(id) <= round(new[n]) then
      e = e + 1
    else
      -- The new chunk's position in the merged order, and the slot at that position.
      local position = e + n - 1
      local slot
      if position < count then
        local holder
        holder, slot = entry(position)
        displaced[#displaced + 1] = holder
      else
        slot = tail + position - count + 1
        freshUsed[position] = true
      end
      slots[n] = slot
      n = n + 1
    end
  end
  local slotsAndIds = {}
  for i, id in ipairs(new) do
    slotsAndIds[#slotsAndIds + 1] = slots[i]
    slotsAndIds[#slotsAndIds + 1] = id
    if math.min(slots[i], limit) ~= math.min(round(id), limit) then setSlot(id, slots[i]) end
  end
  -- The displaced chunks take the new slots past the end that no new chunk took, in order.
  local position = count
  for _, id in ipairs(displaced) do
    while freshUsed[position] do position = position + 1 end
    local slot = tail + position - count + 1
    position = position + 1
    if waiting(id) then
      slotsAndIds[#slotsAndIds + 1] = slot
      slotsAndIds[#slotsAndIds + 1] = id
      setSlot(id, slot)
    else
      rcall('ZREM', index, id)
    end
  end
  indexAll(slotsAndIds)
  applyMoves()
end
if #new > 0 then rcall('EXPIRE', index, ARGV[3]) end
return #moves
