import type { CommonBehaviour, TokenList } from './types';

/** Matches a token against a TokenList in O(1) for exact entries (prefix entries are few). */
export class TokenMatcher {
  private readonly exact: Set<string>;
  private readonly prefixes: string[];

  constructor(list: TokenList = []) {
    this.exact = new Set(list.filter((t) => !t.endsWith('*')));
    this.prefixes = list.filter((t) => t.endsWith('*')).map((t) => t.slice(0, -1));
  }

  get empty(): boolean {
    return this.exact.size === 0 && this.prefixes.length === 0;
  }

  has(token: string): boolean {
    if (this.exact.has(token)) return true;
    for (const p of this.prefixes) if (token.startsWith(p)) return true;
    return false;
  }
}

export const COMMON_DEFAULTS = {
  latencyMs: 0,
  jitterMs: 0,
  errorRate: 0,
  outageUntil: 0,
  outageStatus: 503,
  slowMs: 1000,
  retryAfterSeconds: 1,
  recordLimit: 100_000,
} satisfies CommonBehaviour;

/** The per-token lists, across the simulators. */
export type ListName =
  'dead' | 'bad' | 'flakyOnce' | 'throttled' | 'slow' | 'wrongTopic' | 'senderMismatch' | 'deviceThrottled' | 'badRequest';

/**
 * The live behaviour of one simulator: the plain settings, the token lists compiled into matchers (so a
 * request costs a few Set look-ups), and the flaky-once memory.
 */
export class BehaviourState<B extends CommonBehaviour> {
  private settings: B;
  private matchers = new Map<string, TokenMatcher>();
  private flakySeen = new Set<string>();

  constructor(
    private readonly defaults: B,
    private readonly listKeys: readonly ListName[],
    initial: Partial<B>,
  ) {
    this.settings = { ...defaults };
    this.update(initial);
  }

  get current(): Readonly<B> {
    return this.settings;
  }

  /** Merges `partial`; a key given as undefined goes back to its default. */
  update(partial: Partial<B>): void {
    const next = { ...this.settings } as Record<string, unknown>;
    for (const [key, value] of Object.entries(partial)) {
      if (value !== undefined) next[key] = value;
      else if (key in this.defaults) next[key] = (this.defaults as Record<string, unknown>)[key];
      else delete next[key];
    }
    this.settings = next as B;
    for (const key of this.listKeys) {
      this.matchers.set(key, new TokenMatcher(next[key] as TokenList | undefined));
    }
  }

  /** Whether `token` is in the list named `key`. */
  in(key: ListName, token: string): boolean {
    const m = this.matchers.get(key);
    return m !== undefined && !m.empty && m.has(token);
  }

  /** True the first time a flaky-once token is seen (that request must fail), false afterwards. */
  flakyFirstTime(token: string): boolean {
    if (!this.in('flakyOnce', token) || this.flakySeen.has(token)) return false;
    this.flakySeen.add(token);
    return true;
  }

  resetMemory(): void {
    this.flakySeen.clear();
  }

  /** The status to answer while an outage lasts, or 0 when there is none. */
  outageStatus(now: number): number {
    const s = this.settings;
    return s.outageUntil !== undefined && now < s.outageUntil ? (s.outageStatus ?? 503) : 0;
  }

  randomError(): boolean {
    const rate = this.settings.errorRate ?? 0;
    return rate > 0 && Math.random() < rate;
  }

  /** How long to hold this answer: latency ± jitter, plus slowMs for slow tokens. */
  delayFor(token: string | undefined): number {
    const s = this.settings;
    let ms = s.latencyMs ?? 0;
    const jitter = s.jitterMs ?? 0;
    if (jitter > 0) ms += (Math.random() * 2 - 1) * jitter;
    if (token !== undefined && this.in('slow', token)) ms += s.slowMs ?? 0;
    return ms > 0 ? ms : 0;
  }
}

/**
 * FCM-like per-project quota: a bucket of `perMinute` tokens refilled continuously. take() answers 0
 * when the request may go, else the seconds to wait (for Retry-After).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private perMinute: number,
    now = Date.now(),
  ) {
    this.tokens = perMinute;
    this.last = now;
  }

  setRate(perMinute: number, now = Date.now()): void {
    if (perMinute === this.perMinute) return;
    this.refill(now);
    // A quota switched on starts with a full minute's worth, like a fresh project.
    this.tokens = this.perMinute <= 0 ? perMinute : Math.min(this.tokens, perMinute);
    this.perMinute = perMinute;
  }

  take(now = Date.now()): number {
    if (this.perMinute <= 0) return 0;
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) * 60) / this.perMinute));
  }

  private refill(now: number): void {
    if (this.perMinute > 0) this.tokens = Math.min(this.perMinute, this.tokens + ((now - this.last) * this.perMinute) / 60_000);
    this.last = now;
  }
}
