import type { RedisClient } from './redis';
import { storeKeys } from './keys';
import { storeScripts } from './scripts';

/**
 * A shared rate limit of `perWindow` permits per `windowMs` (0: unlimited): a token bucket in one Redis
 * key (`commands/takePermits-1.lua`), shared by every process that uses the same name.
 */
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
    return Number(await storeScripts(this.redis).takePermits(this.key, this.perWindow, this.windowMs, want));
  }
}
