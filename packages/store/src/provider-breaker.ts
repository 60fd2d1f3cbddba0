import type { RedisClient } from './redis';
import { storeKeys } from './keys';

/** When the breaker opens and for how long (README, "Configuration", BREAKER_*). */
export interface BreakerSettings {
  /** Provider failures in a row, across tokens and workers, that open the breaker. */
  failures: number;
  /** How long it stays open the first time; doubled at each failed probe. */
  baseDelayMs: number;
  /** The longest it stays open (a Retry-After may ask for more). */
  maxDelayMs: number;
  /** How long one probe may take before another worker may probe. */
  probeLeaseMs: number;
}

/** How often a worker waiting for another worker's probe asks again. */
const PROBE_POLL_MS = 100;

// The Lua below is written as the store's script files are (KEYS / ARGV / returns first).

/*
  May a send group go now?

  KEYS[1] the breaker's hash
  ARGV[1] probe lease ms, ARGV[2] poll ms

  Returns { 1 } closed: send; { 2 } half-open and this caller holds the probe: send one request;
  { 0, ms } open, or another caller is probing: ask again in ms.
*/
const ADMIT = `
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
local state = redis.call('HMGET', KEYS[1], 'opens', 'until', 'probe')
local opens, openUntil, probe = tonumber(state[1] or '0'), tonumber(state[2] or '0'), tonumber(state[3] or '0')
if now < openUntil then return { 0, openUntil - now } end
if opens == 0 then return { 1 } end
if probe > now then return { 0, math.min(probe - now, tonumber(ARGV[2])) } end
redis.call('HSET', KEYS[1], 'probe', now + tonumber(ARGV[1]))
return { 2 }`;

/*
  Counts one send group's answers: provider failures (5xx, timeouts, connection errors) against answers
  about the tokens themselves.

  KEYS[1] the breaker's hash
  ARGV[1] failures, ARGV[2] other answers, ARGV[3] the longest Retry-After (ms, 0: none), ARGV[4] 1 for a
  probe, ARGV[5] failures that open it, ARGV[6] base delay ms, ARGV[7] max delay ms

  Returns { 0 } closed; { 1, ms until it may be probed, times opened in a row, 1 when this call opened it }
*/
const OBSERVE = `
local failed, answered, retryAfter, probe = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1'
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
local state = redis.call('HMGET', KEYS[1], 'opens', 'until', 'fails')
local opens, openUntil, fails = tonumber(state[1] or '0'), tonumber(state[2] or '0'), tonumber(state[3] or '0')
if answered > 0 and answered >= failed then
  -- The provider answers: closed, and the count of failures in a row starts again.
  if opens > 0 or fails > 0 then redis.call('DEL', KEYS[1]) end
  return { 0 }
end
if failed == 0 then return { 0 } end
fails = fails + failed
if probe or (opens == 0 and fails >= tonumber(ARGV[5])) or (opens > 0 and now >= openUntil) then
  -- Open (again): each time for twice as long, at least what the provider's Retry-After asked.
  opens = opens + 1
  local delay = math.max(math.min(tonumber(ARGV[7]), tonumber(ARGV[6]) * 2 ^ (opens - 1)), retryAfter)
  redis.call('HSET', KEYS[1], 'opens', opens, 'until', now + delay, 'fails', 0, 'probe', 0)
  redis.call('PEXPIRE', KEYS[1], delay + 86400000)
  return { 1, delay, opens, 1 }
end
if opens > 0 then return { 1, openUntil - now, opens, 0 } end
redis.call('HSET', KEYS[1], 'fails', fails)
redis.call('PEXPIRE', KEYS[1], 86400000)
return { 0 }`;

export type BreakerAdmission = { go: true; probe: boolean } | { go: false; waitMs: number };

/**
 * A provider-wide circuit breaker, shared by every worker of one delivery scope through one Redis hash.
 * When requests fail for the provider's reasons (5xx, timeouts, refused or reset connections) many
 * times in a row, across tokens and workers, it opens: nobody sends until it may be probed. Then one
 * worker sends one request (the probe, under a lease) while the others wait; an answer closes it, a
 * failure opens it again for twice as long (at most `maxDelayMs`, at least the provider's Retry-After).
 */
export class ProviderBreaker {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    scope: string,
    private readonly settings: BreakerSettings,
  ) {
    this.key = storeKeys(prefix).providerBreaker(scope);
  }

  async admit(): Promise<BreakerAdmission> {
    const out = (await this.redis.eval(ADMIT, 1, this.key, this.settings.probeLeaseMs, PROBE_POLL_MS)) as number[];
    if (out[0] === 0) return { go: false, waitMs: Number(out[1]) };
    return { go: true, probe: out[0] === 2 };
  }

  /**
   * Counts one group's provider failures against its other answers. Returns whether the breaker is open
   * now, and for how long at most.
   */
  async observe(
    failures: number,
    answers: number,
    retryAfterMs: number,
    probe: boolean,
  ): Promise<{ open: false } | { open: true; waitMs: number; opens: number; openedNow: boolean }> {
    const { failures: threshold, baseDelayMs, maxDelayMs } = this.settings;
    const out = (await this.redis.eval(
      OBSERVE, 1, this.key, failures, answers, Math.ceil(retryAfterMs), probe ? 1 : 0, threshold, baseDelayMs, maxDelayMs,
    )) as number[];
    return out[0] === 1 ? { open: true, waitMs: Number(out[1]), opens: Number(out[2]), openedNow: out[3] === 1 } : { open: false };
  }
}
