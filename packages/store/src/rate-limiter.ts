import type { RedisClient } from './redis';
import { storeKeys } from './keys';

// A token bucket in one Redis key, shared by every process that uses the same name: the bucket holds
// up to `capacity` permits and refills `capacity` per `windowMs`. Redis' own clock keeps processes on
// different machines in agreement. A take must leave `reserve` permits in the bucket (the high lane's
// precedence: normal takes leave them for it). Returns 0 when the permits were taken, else the ms until
// they exist.
const TAKE = `
local capacity, window, want, reserve = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - at) * capacity / window)
local wait = 0
if tokens - want >= reserve then tokens = tokens - want
else wait = math.ceil((want + reserve - tokens) * window / capacity) end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], window * 2)
return wait`;

/**
 * Permits a `normal` take leaves in a provider's bucket for the `high` lane: one second of quota. When
 * normal work keeps the bucket near empty, a high chunk still finds this many permits at once, and while
 * both wait, normal waits for the reserve to refill on top of its own permits.
 */
export function highLaneReserve(perMinute: number): number {
  return Math.ceil(perMinute / 60);
}

/**
 * A shared rate limit of `perWindow` permits per `windowMs` (0: unlimited). Takes through this instance
 * leave `reserve` permits in the bucket for takes with a smaller reserve.
 */
export class RateLimiter {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    name: string,
    private readonly perWindow: number,
    private readonly windowMs = 60_000,
    private readonly reserve = 0,
  ) {
    this.key = storeKeys(prefix).rateLimit(name);
  }

  /** Takes `count` permits now, or returns the ms to wait before asking again (nothing taken). */
  async take(count = 1): Promise<number> {
    if (this.perWindow <= 0) return 0;
    // A request larger than the bucket could never pass; it is allowed once the bucket is full.
    const want = Math.min(count, this.perWindow);
    // A reserve that would leave no room for `want` could never be met: it shrinks to what fits.
    const reserve = Math.min(this.reserve, this.perWindow - want);
    return Number(await this.redis.eval(TAKE, 1, this.key, this.perWindow, this.windowMs, want, reserve));
  }
}
