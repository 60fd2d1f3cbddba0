import type { RedisClient } from './redis';
import { storeKeys } from './keys';
import { storeScripts } from './scripts';

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

export type BreakerAdmission = { go: true; probe: boolean } | { go: false; waitMs: number };

/**
 * A provider-wide circuit breaker, shared by every worker of one delivery scope through one Redis hash.
 * When requests fail for the provider's reasons (5xx, timeouts, refused or reset connections) many
 * times in a row, across tokens and workers, it opens: nobody sends until it may be probed. Then one
 * worker sends one request (the probe, under a lease) while the others wait; an answer closes it, a
 * failure opens it again for twice as long (at most `maxDelayMs`, at least the provider's Retry-After).
 * (The scripts: `commands/breakerAdmit-1.lua`, `commands/breakerObserve-1.lua`.)
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
    const out = await storeScripts(this.redis).breakerAdmit(this.key, this.settings.probeLeaseMs, PROBE_POLL_MS);
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
    const out = await storeScripts(this.redis).breakerObserve(
      this.key,
      failures,
      answers,
      Math.ceil(retryAfterMs),
      probe ? 1 : 0,
      threshold,
      baseDelayMs,
      maxDelayMs,
    );
    return out[0] === 1 ? { open: true, waitMs: Number(out[1]), opens: Number(out[2]), openedNow: out[3] === 1 } : { open: false };
  }
}
