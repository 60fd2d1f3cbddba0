import type { RedisClient } from './redis';
import { storeKeys } from './keys';
import { storeScripts } from './scripts';

/**
 * A pause of all sending to one provider, shared by every worker through one Redis key: when FCM
 * answers 429 with Retry-After, no worker sends again until it has passed. (BullMQ's own
 * `worker.rateLimit` + `RateLimitError` hands the job straight back to another slot of the same worker
 * when concurrency > 1, so it cannot be relied on for this.)
 */
export class ProviderPause {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    name: string,
  ) {
    this.key = storeKeys(prefix).providerPause(name);
  }

  /** Pauses for at least `ms` (`commands/extendPause-1.lua`: a shorter pause never cuts a longer one short). */
  async pause(ms: number): Promise<void> {
    await storeScripts(this.redis).extendPause(this.key, Math.max(1, Math.ceil(ms)));
  }

  /** Milliseconds until sending may resume (0: not paused). */
  async remainingMs(): Promise<number> {
    return Math.max(0, await this.redis.pttl(this.key));
  }
}
