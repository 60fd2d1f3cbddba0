import type { Priority } from '@push/contract';
import { batched } from './batched';
import type { RedisClient } from './redis';
import { storeKeys } from './keys';
import { storeScripts } from './scripts';

/**
 * How much sooner the `high` lane resumes than `normal` when a pause ends: its chunks send first, so the
 * quota that comes back serves them before the normal backlog takes it again.
 */
export const HIGH_LANE_HEAD_START_MS = 500;

/**
 * A pause of all sending to one provider, shared by every worker through one Redis key: when FCM
 * answers 429 with Retry-After, no worker sends again until it has passed: the `high` lane at its end,
 * `normal` HIGH_LANE_HEAD_START_MS later (the key lasts that much longer). (BullMQ's own
 * `worker.rateLimit` + `RateLimitError` hands the job straight back to another slot of the same worker
 * when concurrency > 1, so it cannot be relied on for this.)
 */
export class ProviderPause {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    name: string,
    /** The lane this instance waits for. */
    private readonly lane: Priority,
  ) {
    this.key = storeKeys(prefix).providerPause(name);
  }

  /**
   * Pauses every lane for at least `ms`, the provider's Retry-After (`commands/extendPause-1.lua`: a
   * shorter pause never cuts a longer one short).
   */
  async pause(ms: number): Promise<void> {
    await storeScripts(this.redis).extendPause(this.key, Math.max(1, Math.ceil(ms)) + HIGH_LANE_HEAD_START_MS);
  }

  /** Milliseconds until this lane may send again (0: not paused). Concurrent callers share one read. */
  async remainingMs(): Promise<number> {
    const ttl = await this.readTtl();
    return Math.max(0, this.lane === 'high' ? ttl - HIGH_LANE_HEAD_START_MS : ttl);
  }

  private readonly readTtl = batched(async (callers: void[]) => {
    const ttl = await this.redis.pttl(this.key);
    return callers.map(() => ttl);
  });
}
