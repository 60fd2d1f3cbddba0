import { batched } from './batched';
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

/** Whether the breaker is open, for how long at most, and whether this observation opened it. */
export type BreakerState = { open: false } | { open: true; waitMs: number; opens: number; openedNow: boolean };

/** One send group's provider failures, other answers and longest Retry-After (ms). */
interface GroupAnswers {
  failures: number;
  answers: number;
  retryAfterMs: number;
}

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

  /** May a send group go now? Concurrent callers share one script call (`batched`). */
  admit(): Promise<BreakerAdmission> {
    return this.admitTogether();
  }

  private readonly admitTogether = batched(async (callers: void[]): Promise<BreakerAdmission[]> => {
    const out = await storeScripts(this.redis).breakerAdmit(this.key, this.settings.probeLeaseMs, PROBE_POLL_MS);
    const first: BreakerAdmission = out[0] === 0 ? { go: false, waitMs: Number(out[1]) } : { go: true, probe: out[0] === 2 };
    // One probe at a time: the first caller holds it; the others wait, as the script tells a caller while another probes.
    const others: BreakerAdmission = first.go && first.probe ? { go: false, waitMs: PROBE_POLL_MS } : first;
    return callers.map((_, i) => (i === 0 ? first : others));
  });

  /**
   * Counts one group's provider failures against its other answers. Returns whether the breaker is open
   * now, and for how long at most. The groups of concurrent callers are counted together, in one script
   * call (the probe's alone); `openedNow` is true for one of them.
   */
  observe(failures: number, answers: number, retryAfterMs: number, probe: boolean): Promise<BreakerState> {
    return probe ? this.observeNow({ failures, answers, retryAfterMs }, true) : this.observeTogether({ failures, answers, retryAfterMs });
  }

  private readonly observeTogether = batched(async (groups: GroupAnswers[]): Promise<BreakerState[]> => {
    const sum = { failures: 0, answers: 0, retryAfterMs: 0 };
    for (const g of groups) {
      sum.failures += g.failures;
      sum.answers += g.answers;
      sum.retryAfterMs = Math.max(sum.retryAfterMs, g.retryAfterMs);
    }
    const state = await this.observeNow(sum, false);
    return groups.map((_, i) => (i === 0 || !state.open ? state : { ...state, openedNow: false }));
  });

  private async observeNow({ failures, answers, retryAfterMs }: GroupAnswers, probe: boolean): Promise<BreakerState> {
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
