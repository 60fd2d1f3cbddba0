import type { RedisClient } from './redis';
import { storeKeys } from './keys';

/** When the dead-token guard judges, and how strictly (README, "Configuration", DEAD_TOKEN_GUARD_*). */
export interface GuardSettings {
  /** Answers a window holds before it is judged. */
  window: number;
  /** A cause whose answers are more than this share (0..1) of the window's answers is a suspected misconfiguration. */
  share: number;
  /** A window older than this is judged on the answers it has. */
  waitMs: number;
}

/** A window that was just judged. Whoever closed it raises the alarm (once per window). */
export interface ClosedWindow {
  window: number;
  answers: number;
  /** The causes judged a misconfiguration in it (empty: every dead token in it was really dead). */
  suspected: string[];
}

export interface GuardVerdict {
  answers: number;
  suspected: ReadonlySet<string>;
}

// The Lua below is written as the store's script files are (KEYS / ARGV / returns first).
// Shared by both scripts: closes the open window, keeping its verdict for the chunks still waiting on it.
const CLOSE = `
local function close(key, share, now)
  local window = tonumber(redis.call('HGET', key, 'gen') or '0')
  local answers = tonumber(redis.call('HGET', key, 'n') or '0')
  local flat = redis.call('HGETALL', key)
  local suspected = {}
  for i = 1, #flat, 2 do
    if string.sub(flat[i], 1, 2) == 'd:' then
      if answers > 0 and tonumber(flat[i + 1]) / answers > share then suspected[#suspected + 1] = string.sub(flat[i], 3) end
      redis.call('HDEL', key, flat[i])
    end
  end
  local verdict = answers .. '|' .. table.concat(suspected, '\\n')
  redis.call('HSET', key, 'v:' .. window, verdict, 'gen', window + 1, 'n', 0, 'started', now)
  redis.call('HDEL', key, 'v:' .. (window - 1000))
  return { window, verdict }
end
`;

/*
  Adds one send group's answers to the open window and closes it when it is full or stale.

  KEYS[1] the guard's hash
  ARGV[1] window size, ARGV[2] share, ARGV[3] wait ms, ARGV[4] the sender's configuration fingerprint,
  ARGV[5] answers in the group, then pairs: cause, answers with that cause

  Returns { the window the answers went into, then for each window closed: its number, "answers|cause\\ncause" }
*/
const OBSERVE = `${CLOSE}
local key, size, share, wait, fingerprint = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
local out = { 0 }
local state = redis.call('HMGET', key, 'gen', 'n', 'started', 'fp')
if not state[1] then
  redis.call('HSET', key, 'gen', 0, 'n', 0, 'started', now, 'fp', fingerprint)
elseif tonumber(state[2]) > 0 and (state[4] ~= fingerprint or now - tonumber(state[3]) >= wait) then
  -- Answers under another configuration (a deploy) are judged apart from the old one's; a stale window first.
  local closed = close(key, share, now)
  out[#out + 1] = closed[1]
  out[#out + 1] = closed[2]
end
redis.call('HSET', key, 'fp', fingerprint)
-- A window's age counts from its first answer: an idle stretch before it does not make it stale.
if tonumber(redis.call('HGET', key, 'n')) == 0 then redis.call('HSET', key, 'started', now) end
local answers = redis.call('HINCRBY', key, 'n', ARGV[5])
for i = 6, #ARGV, 2 do redis.call('HINCRBY', key, 'd:' .. ARGV[i], ARGV[i + 1]) end
out[1] = tonumber(redis.call('HGET', key, 'gen'))
if answers >= size then
  local closed = close(key, share, now)
  out[#out + 1] = closed[1]
  out[#out + 1] = closed[2]
end
redis.call('PEXPIRE', key, 86400000)
return out`;

/*
  The verdict on one window, closing it when it has waited long enough.

  KEYS[1] the guard's hash
  ARGV[1] the window, ARGV[2] share, ARGV[3] wait ms

  Returns { 1, "answers|causes", closed (1 when this call closed it) } once judged; { 0, ms to wait } while
  open; { -1 } when unknown (expired).
*/
const VERDICT = `${CLOSE}
local key, window, share, wait = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local verdict = redis.call('HGET', key, 'v:' .. window)
if verdict then return { 1, verdict, 0 } end
local state = redis.call('HMGET', key, 'gen', 'started')
if not state[1] or tonumber(state[1]) ~= window then return { -1 } end
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
local left = tonumber(state[2]) + wait - now
if left > 0 then return { 0, left } end
return { 1, close(key, share, now)[2], 1 }`;

/**
 * The guard against mass invalidation, shared by every worker of one delivery scope through one Redis
 * hash. Answers that call a token dead for a reason a misconfiguration would also produce (a "cause":
 * sandbox vs production, wrong project, wrong topic) are not acted on at once: they are counted in a
 * window of recent answers (every answer with an HTTP status counts), and judged when the window is full
 * (`window` answers) or old (`waitMs`). A cause with more than `share` of the window's answers is a
 * suspected misconfiguration: those tokens stay registered. Otherwise they were really dead.
 *
 * Why windows that close, rather than a sliding share: nothing is deleted before its window is judged,
 * so a misconfiguration cannot delete the first few hundred tokens while the share is still building up.
 * Windows are also closed when the sender's configuration changes (a deploy), so the answers of a new,
 * wrong configuration are never diluted by the old one's healthy answers.
 */
export class DeadTokenGuard {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    scope: string,
    private readonly settings: GuardSettings,
  ) {
    this.key = storeKeys(prefix).deadTokenGuard(scope);
  }

  /** Counts one group's `answers`, `byCause` of them guarded; returns their window and any window closed. */
  async observe(answers: number, byCause: ReadonlyMap<string, number>, fingerprint: string): Promise<{ window: number; closed: ClosedWindow[] }> {
    const { window, share, waitMs } = this.settings;
    const pairs = [...byCause].flat();
    const out = (await this.redis.eval(OBSERVE, 1, this.key, window, share, waitMs, fingerprint, answers, ...pairs)) as [number, ...Array<number | string>];
    const closed: ClosedWindow[] = [];
    for (let i = 1; i + 1 < out.length; i += 2) closed.push({ window: Number(out[i]), ...parseVerdict(String(out[i + 1])) });
    return { window: Number(out[0]), closed };
  }

  /**
   * The verdict on `window`: judged (and `closed` when this call judged it), `waitMs` while it is still
   * open, or `unknown` when it is gone (expired with its hash).
   */
  async verdict(window: number): Promise<{ verdict: GuardVerdict; closed?: ClosedWindow } | { waitMs: number } | { unknown: true }> {
    const { share, waitMs } = this.settings;
    const out = (await this.redis.eval(VERDICT, 1, this.key, window, share, waitMs)) as [number, (number | string)?, number?];
    if (out[0] === 0) return { waitMs: Number(out[1]) };
    if (out[0] !== 1) return { unknown: true };
    const parsed = parseVerdict(String(out[1]));
    const verdict = { answers: parsed.answers, suspected: new Set(parsed.suspected) };
    return out[2] === 1 ? { verdict, closed: { window, ...parsed } } : { verdict };
  }
}

function parseVerdict(text: string): { answers: number; suspected: string[] } {
  const bar = text.indexOf('|');
  const causes = text.slice(bar + 1);
  return { answers: Number(text.slice(0, bar)), suspected: causes === '' ? [] : causes.split('\n') };
}
