import type { RedisClient } from './redis';
import { storeKeys } from './keys';

// A token bucket in one Redis key, shared by every process that uses the same name: the bucket holds
// up to `capacity` permits and refills `capacity` per `windowMs`. Redis' own clock keeps processes on
// different machines in agreement. Returns 0 when the permits were taken, else the ms until they exist.
const TAKE = `
local capacity, window, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - at) * capacity / window)
local wait = 0
if tokens >= want then tokens = tokens - want
else wait = math.ceil((want - tokens) * window / capacity) end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], window * 2)
return wait`;

/** A shared rate limit of `perWindow` permits per `windowMs` (0: unlimited). */
export class RateLimiter {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    name: string,
    private readonly perWindow: number,
    private readonly windowMs = 60_000,
  ) {
    this.key = storeKeys(prefix).rateLimit(name);
  }

  /** Takes `count` permits now, or returns the ms to wait before asking again (nothing taken). */
  async take(count = 1): Promise<number> {
    if (this.perWindow <= 0) return 0;
    // A request larger than the bucket could never pass; it is allowed once the bucket is full.
    const want = Math.min(count, this.perWindow);
    return Number(await this.redis.eval(TAKE, 1, this.key, this.perWindow, this.windowMs, want));
  }
}
