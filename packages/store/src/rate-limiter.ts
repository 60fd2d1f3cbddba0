import { batched } from './batched';
import type { RedisClient } from './redis';
import { storeKeys } from './keys';
import { storeScripts } from './scripts';

/**
 * Permits a `normal` take leaves in a provider's bucket for the `high` lane: one second of quota. When
 * normal work keeps the bucket near empty, a high chunk still finds this many permits at once, and while
 * both wait, normal waits for the reserve to refill on top of its own permits.
 */
export function highLaneReserve(perMinute: number): number {
  return Math.ceil(perMinute / 60);
}

/**
 * A shared rate limit of `perWindow` permits per `windowMs` (0: unlimited): a token bucket in one Redis
 * key (`commands/takePermits-1.lua`), shared by every process that uses the same name. Takes through
 * this instance leave `reserve` permits in the bucket for takes with a smaller reserve.
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
    return this.perWindow <= 0 ? 0 : this.takeNow(count);
  }

  /**
   * `take`, where concurrent callers take theirs together, in one script call: all of them or none (a
   * worker's send groups, which wait and ask again; not requests, each of which must pass or fail alone).
   */
  async takeTogether(count: number): Promise<number> {
    return this.perWindow <= 0 ? 0 : this.takeShared(count);
  }

  private readonly takeShared = batched(async (counts: number[]) => {
    const wait = await this.takeNow(counts.reduce((sum, n) => sum + n, 0));
    return counts.map(() => wait);
  });

  private async takeNow(count: number): Promise<number> {
    // A request larger than the bucket could never pass; it is allowed once the bucket is full.
    const want = Math.min(count, this.perWindow);
    // A reserve that would leave no room for `want` could never be met: it shrinks to what fits.
    const reserve = Math.min(this.reserve, this.perWindow - want);
    return Number(await storeScripts(this.redis).takePermits(this.key, this.perWindow, this.windowMs, want, reserve));
  }
}
