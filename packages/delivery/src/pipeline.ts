import { chunk, isExpired, nextLocalTime, type Platform, type Priority } from '@push/contract';
import { maskToken, type Logger } from '@push/config';
import type { PushProvider } from '@push/providers';
import {
  systemClock,
  type ChunkJobData,
  type ClosedWindow,
  type Clock,
  type DeadTokenGuard,
  type JobPlan,
  type JobStore,
  type PlannedToken,
  type ProviderBreaker,
  type ProviderPause,
  type RateLimiter,
  type TokenRegistry,
  type TokenResult,
} from '@push/store';
import { judge, resolvedOnly, sortOutcomes, type RetryToken, type Suspect } from './outcomes';

/** Optional observers (metrics); the pipeline works the same without them. */
export interface DeliveryEvents {
  recorded?(platform: Platform, results: readonly TokenResult[]): void;
  sent?(platform: Platform, tokens: number, seconds: number): void;
  retried?(platform: Platform, tokens: number): void;
  paused?(platform: Platform, ms: number): void;
  deadRemoved?(platform: Platform, tokens: number): void;
  /** Tokens the provider called dead, kept registered because the guard suspects a misconfiguration. */
  deadKept?(platform: Platform, tokens: number): void;
  /** The dead-token guard judged a window a misconfiguration (once per window, by the worker that judged it). */
  misconfiguration?(platform: Platform, causes: readonly string[], answers: number): void;
  /** The provider breaker opened (or opened again after a failed probe) for `ms`. */
  breakerOpened?(platform: Platform, ms: number): void;
}

/** The dead-token guard's settings the pipeline applies (the window itself is the store's). */
export interface GuardPolicy {
  share: number;
  /** A judged window with fewer answers keeps its tokens without alarm or pause. */
  minAnswers: number;
  /** How long the platform pauses after a suspected misconfiguration. */
  pauseMs: number;
}

export interface DeliveryContext {
  platform: Platform;
  provider: PushProvider;
  registry: TokenRegistry;
  jobs: JobStore;
  /** Proactive provider limit, shared by every worker of the platform (per app: each has its own project). */
  limiter: RateLimiter;
  /** The app's own `tokensPerMinute` quota, over both platforms, when it has one. */
  quota?: RateLimiter;
  /** "Stop sending for a while" (FCM quota, a suspected misconfiguration), shared by every worker of the platform. */
  pause: ProviderPause;
  /** The provider-wide breaker, shared by every worker of the platform. */
  breaker: ProviderBreaker;
  /** The guard against mass invalidation, shared by every worker of the platform. */
  guard: DeadTokenGuard;
  guardPolicy: GuardPolicy;
  /** Identifies where this worker sends (provider.describe()), so the guard never mixes two configurations. */
  fingerprint: Promise<string>;
  /** How long a token may wait for an unavailable provider, from the job's creation (DELIVERY_WINDOW_SECONDS). */
  deliveryWindowMs: number;
  /** Tokens handed to the provider at once. */
  batchSize: number;
  /**
   * Set for apps other than `default`: a pause or open breaker longer than this hands the chunk back to the
   * queue (delayed until it ends) instead of waiting in its worker slot, so one app's throttling or failing
   * provider never fills the slots another app's chunks need.
   */
  handBackAfterMs?: number;
  /** Payloads, creation times and campaign controls of the jobs this worker has seen, by job id (they never change). */
  jobsSeen: Map<string, JobPlan>;
  /** The lane whose chunks this context delivers: the jobs' priority (Web Push `Urgency: high` for `high`). */
  lane?: Priority;
  /** Fired when the worker is shutting down: a chunk waiting out a pause hands its tokens back. */
  stopping?: AbortSignal;
  /**
   * Awaited before each send group of a chunk of `jobId` (`throttled`: the job has a `ratePerMinute`): a
   * normal chunk waits there while a high chunk of its process runs, or while its job has more than its
   * share of the process's slots sending (job-share.ts).
   */
  beforeSend?: (jobId: string, throttled: boolean) => Promise<void>;
  /** The zone of clients that registered none (DEFAULT_TIMEZONE), for `localTime` jobs. */
  defaultTimeZone: string;
  /** The time `sendAt`, `localTime` and `expiry` are read against. @defaultValue systemClock */
  clock?: Clock;
  logger: Logger;
  events?: DeliveryEvents;
}

/**
 * How a chunk run ended. `retry` carries the tokens still without a final result (`reason`: the first
 * retry's; the longest Retry-After they got); `later` too, for a run that resumes at `resumeAt` (epoch ms)
 * without using up an attempt: the worker stopped while the chunk waited for a pause, the breaker or the
 * guard, a throttled job's next step is not due soon, or clients of a `localTime` job are not due yet.
 * `reserved`: sends the run reserved in the job's throttle schedule for when it resumes.
 */
export type ChunkRun =
  | { kind: 'done'; counts: Record<string, number> }
  | { kind: 'retry'; remaining: PlannedToken[]; reason: string; clientsWithTokens: number; retryAfterMs: number }
  | { kind: 'later'; remaining: PlannedToken[]; clientsWithTokens: number; resumeAt: number; reserved?: number };

/** A throttled job's sends go out in steps, this many a second (each step a reservation in its schedule). */
export const THROTTLE_STEPS_PER_SECOND = 10;

/**
 * A throttled chunk sleeps through a wait for its next step up to this long; a longer one hands the chunk
 * back to the queue until then, so a slow campaign does not hold the worker's slots.
 */
export const THROTTLE_HOLD_MS = 1000;

/** Tokens per step of a job throttled to `ratePerMinute`: THROTTLE_STEPS_PER_SECOND steps a second, 1 at least. */
export function throttleStep(ratePerMinute: number, batchSize: number): number {
  return Math.max(1, Math.min(batchSize, Math.floor(ratePerMinute / (60 * THROTTLE_STEPS_PER_SECOND))));
}

/**
 * Quota pauses one chunk run sits out before its throttled tokens count as a failed attempt (so a
 * provider that throttles without end still lets the chunk finish, through BullMQ's retries).
 */
export const MAX_PAUSES_PER_RUN = 3;

/**
 * Waits while `next()` answers a delay in ms. Returns undefined once it answers 0, or the delay still
 * ahead when `stopping` fires (the worker is shutting down and must not sit out a long pause).
 */
async function waitOut(next: () => Promise<number>, stopping?: AbortSignal): Promise<number | undefined> {
  for (let wait = await next(); wait > 0; wait = await next()) {
    if (stopping?.aborted) return wait;
    await sleep(wait, stopping);
  }
  return undefined;
}

/** Waits `ms`, or less when `signal` fires first. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}

type Turn = { kind: 'go'; probe: boolean } | { kind: 'late' } | { kind: 'stopped'; waitMs: number };

/**
 * Waits until this worker may send: no pause (quota, misconfiguration) and the breaker closed, or
 * half-open with this worker holding the probe. `late` once `deadline` passes while waiting.
 */
async function waitForTurn(ctx: DeliveryContext, deadline: number): Promise<Turn> {
  for (;;) {
    const pauseMs = await ctx.pause.remainingMs();
    const admission = pauseMs > 0 ? { go: false as const, waitMs: pauseMs } : await ctx.breaker.admit();
    if (admission.go) return { kind: 'go', probe: admission.probe };
    const now = Date.now();
    if (now >= deadline) return { kind: 'late' };
    if (ctx.stopping?.aborted) return { kind: 'stopped', waitMs: admission.waitMs };
    // A long hold of this app's sending hands the chunk back rather than keep a worker slot other apps need.
    if (ctx.handBackAfterMs !== undefined && admission.waitMs > ctx.handBackAfterMs) return { kind: 'stopped', waitMs: admission.waitMs };
    await sleep(Math.min(admission.waitMs, deadline - now), ctx.stopping);
  }
}

/**
 * Delivers one chunk job: resolve clients to tokens, skip tokens that already have a final result
 * (a rerun after a crash or retry), send in provider-sized groups, record every final result, and
 * hand back what must be retried.
 *
 * - A provider's quota answer pauses every worker of the platform; the throttled tokens are resent after it.
 * - Provider failures (5xx, timeouts, connection errors) feed the shared breaker. While it is open
 *   nobody sends, one probe at a time tests the provider, and the failed tokens wait in line without
 *   spending an attempt, until the job's delivery window (or the payload's expiry) ends.
 * - Answers that call a token dead wait for the dead-token guard's verdict on their window: dead tokens
 *   are removed, a suspected misconfiguration keeps them (`failed`) and pauses the platform.
 * - Token-level failures use the token's attempts; on the `lastAttempt` they become `failed`.
 * - Campaign controls: a `localTime` job's tokens wait for their client's time, a throttled job sends in
 *   steps of its shared schedule, and a canceled job's tokens end `canceled` (checked just before every send).
 */
export async function deliverChunk(ctx: DeliveryContext, data: ChunkJobData, lastAttempt: boolean): Promise<ChunkRun> {
  const { platform, jobs } = ctx;
  const clock = ctx.clock ?? systemClock;
  const log = ctx.logger.child({ jobId: data.jobId, chunk: data.chunk, platform });
  // Three independent reads, sent together (one round trip on the auto-pipelined connection).
  const [plan, firstResolved, canceled] = await Promise.all([
    planOf(ctx, data.jobId),
    data.resolved ?? ctx.registry.resolve(data.clients, platform),
    jobs.isCanceled(data.jobId),
  ]);
  if (!plan) {
    log.warn('job record expired or deleted; chunk dropped');
    return { kind: 'done', counts: {} };
  }
  const { payload, ratePerMinute } = plan;

  let resolved: PlannedToken[] = firstResolved;
  const clientsWithTokens = data.clientsWithTokens ?? new Set(resolved.map((t) => t.client)).size;
  if (canceled) return endCanceled(ctx, data, resolved, clientsWithTokens, {});
  if (plan.localTime !== undefined && data.resolved === undefined) resolved = await planLocalTimes(ctx, plan, resolved);
  const now = clock.now();
  const later = resolved.filter((t) => t.due !== undefined && t.due > now);
  const dueNow = later.length === 0 ? resolved : resolved.filter((t) => t.due === undefined || t.due <= now);
  // The delivery window opens when the tokens were due: at creation, at `sendAt`, or at their local time.
  const due = dueNow.reduce((latest, t) => Math.max(latest, t.due ?? 0), Math.max(plan.createdAt, (plan.sendAt ?? 0) * 1000));
  const deadline = Math.min(due + ctx.deliveryWindowMs, payload.expiry !== undefined ? payload.expiry * 1000 : Infinity);

  const final = await jobs.track(data.jobId, platform, data.chunk, dueNow);
  if (!final) return { kind: 'done', counts: {} };
  const pending = withoutResult(dueNow, final);

  const counts: Record<string, number> = { tokens: pending.length };
  const record = async (results: TokenResult[]) => {
    if (results.length === 0) return;
    await jobs.record(data.jobId, platform, data.chunk, results);
    for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
    ctx.events?.recorded?.(platform, results);
  };

  const fingerprint = await ctx.fingerprint;
  const retry: RetryToken[] = [];
  const suspects: Array<Suspect & { window: number }> = [];
  const groups = chunk(pending, ratePerMinute === undefined ? ctx.batchSize : throttleStep(ratePerMinute, ctx.batchSize));
  /** Everything still without a final result (`later`'s tokens included). */
  const rest = (): PlannedToken[] => [...groups.flat(), ...retry, ...suspects.map((s) => s.token), ...later].map(resolvedOnly);
  const handBack = (waitMs: number, why: string, reserved?: number): ChunkRun => {
    const remaining = rest();
    log.info({ remaining: remaining.length, waitMs }, why);
    return { kind: 'later', remaining, clientsWithTokens, resumeAt: Date.now() + waitMs, ...(reserved !== undefined && { reserved }) };
  };
  const stopped = 'stopping while sending is held: chunk handed back';
  let reserved = data.reserved ?? 0;
  let retryAfterMs = 0;
  let lastFailure: string | undefined;
  let pauses = 0;
  for (let group = groups.shift(); group; group = groups.shift()) {
    await ctx.beforeSend?.(data.jobId, ratePerMinute !== undefined);
    // A step reserved in a throttled job's schedule, for the group about to go (kept if it is handed back).
    let step: number | undefined;
    if (ratePerMinute !== undefined) {
      // A resumed run's first step was reserved before it was handed back, for the time it resumes.
      const wait = reserved > 0 ? 0 : await jobs.throttle(data.jobId, ratePerMinute, group.length);
      reserved = 0;
      step = group.length;
      const startAt = Date.now() + wait;
      if (wait <= THROTTLE_HOLD_MS) await sleep(wait, ctx.stopping);
      if (wait > THROTTLE_HOLD_MS || ctx.stopping?.aborted) {
        groups.unshift(group);
        const why = wait > THROTTLE_HOLD_MS ? 'throttled: chunk handed back until its next step' : stopped;
        return handBack(Math.max(0, startAt - Date.now()), why, step);
      }
    }
    const turn = await waitForTurn(ctx, deadline);
    if (turn.kind === 'stopped') {
      groups.unshift(group);
      return handBack(turn.waitMs, stopped, step);
    }
    if (turn.kind === 'late' || isExpired(payload, clock.now())) {
      const left = [group, ...groups.splice(0)].flat();
      await record(
        isExpired(payload, clock.now())
          ? left.map((t) => ({ client: t.client, token: t.token, status: 'expired', reason: 'expiry passed before sending' }))
          : left.map((t) => ({
              client: t.client,
              token: t.token,
              status: 'failed',
              reason: `not sent within DELIVERY_WINDOW_SECONDS: ${lastFailure === undefined ? 'sending stayed paused' : `the provider kept failing (${lastFailure})`}`,
            })),
      );
      break;
    }
    if (turn.probe && group.length > 1) {
      // Half-open: one request tests the provider; the rest of the group waits for its answer.
      groups.unshift(group.slice(1));
      group = group.slice(0, 1);
    }
    const size = group.length;
    // The app's quota, then the proactive provider limit (each takes its permits when it answers 0).
    const held =
      (ctx.quota && (await waitOut(() => ctx.quota!.takeTogether(size), ctx.stopping))) ??
      (await waitOut(() => ctx.limiter.takeTogether(size), ctx.stopping));
    if (held !== undefined) {
      groups.unshift(group);
      return handBack(held, stopped, step);
    }
    // The last moment before a provider sees the group: from a cancel's answer on, nothing more goes out.
    if (await jobs.isCanceled(data.jobId)) {
      // A probe this worker held goes unused: its lease runs out and another worker probes.
      groups.unshift(group);
      return endCanceled(ctx, data, rest(), clientsWithTokens, counts);
    }

    // Keys (Web Push) never travel in job data or hand-backs: tokens without theirs read them again.
    group = await ctx.registry.withKeys(group, platform);
    const started = process.hrtime.bigint();
    const outcomes = await ctx.provider.send(
      group.map((t) => t.token),
      payload,
      { jobId: data.jobId, keys: group.map((t) => t.keys), ...(ctx.lane && { priority: ctx.lane }) },
    );
    ctx.events?.sent?.(platform, group.length, Number(process.hrtime.bigint() - started) / 1e9);
    const sorted = sortOutcomes(group, outcomes);
    // The results, the breaker's and the guard's observations are independent: sent together, one round trip.
    const [, breaker, observed] = await Promise.all([
      record(sorted.final),
      ctx.breaker.observe(sorted.outage.length, sorted.answers, sorted.retryAfterMs ?? 0, turn.probe),
      sorted.answers > 0 ? ctx.guard.observe(sorted.answers, sorted.causes, fingerprint) : undefined,
    ]);
    if (sorted.outage.length > 0) {
      lastFailure = sorted.outage[0]!.reason;
      if (breaker.open) {
        // The provider's fault, not the tokens': back in line, no attempt spent (a probe's token last).
        groups.push(sorted.outage.map(resolvedOnly));
        if (breaker.openedNow) {
          ctx.events?.breakerOpened?.(platform, breaker.waitMs);
          log.warn({ waitMs: breaker.waitMs, opens: breaker.opens, reason: lastFailure }, 'provider failing: breaker open, sending held');
        }
      } else {
        retry.push(...sorted.outage);
        retryAfterMs = Math.max(retryAfterMs, sorted.retryAfterMs ?? 0);
      }
    }

    if (observed) {
      await onJudged(ctx, observed.closed, log);
      for (const suspect of sorted.suspects) suspects.push({ ...suspect, window: observed.window });
    }

    if (sorted.pauseMs !== undefined && pauses < MAX_PAUSES_PER_RUN) {
      pauses++;
      await ctx.pause.pause(sorted.pauseMs);
      ctx.events?.paused?.(platform, sorted.pauseMs);
      log.warn({ pauseMs: sorted.pauseMs, throttled: sorted.retry.length }, 'provider throttled: pausing all sending');
      groups.unshift(sorted.retry.map(resolvedOnly));
    } else {
      retry.push(...sorted.retry);
      retryAfterMs = Math.max(retryAfterMs, sorted.retryAfterMs ?? 0);
    }
  }

  const settled = await settle(ctx, suspects, log);
  if ('stoppedWaitMs' in settled) return handBack(settled.stoppedWaitMs, stopped);
  await record(settled.results);
  retry.push(...settled.retry);
  if (settled.dead.length > 0) {
    await Promise.all(settled.dead.map((token) => ctx.registry.remove(token)));
    ctx.events?.deadRemoved?.(platform, settled.dead.length);
    log.info({ tokens: settled.dead.map(maskToken) }, 'dead tokens removed from the registry');
  }
  if (settled.kept > 0) ctx.events?.deadKept?.(platform, settled.kept);

  if (retry.length > 0 && !lastAttempt) {
    ctx.events?.retried?.(platform, retry.length);
    log.info({ retry: retry.length, reason: retry[0]!.reason, ...counts }, 'chunk partly sent: will retry');
    return { kind: 'retry', remaining: [...retry, ...later].map(resolvedOnly), reason: retry[0]!.reason, clientsWithTokens, retryAfterMs };
  }
  await record(retry.map(({ client, token, reason }) => ({ client, token, status: 'failed', reason: `retries exhausted: ${reason}` })));
  if (later.length > 0) {
    const next = later.reduce((soonest, t) => Math.min(soonest, t.due!), Infinity);
    log.info({ waiting: later.length, next: new Date(next).toISOString(), ...counts }, "chunk waits for its clients' local time");
    return { kind: 'later', remaining: later, clientsWithTokens, resumeAt: Date.now() + Math.max(0, clock.msUntil(next)) };
  }
  await jobs.chunkDone(data.jobId, platform, data.chunk, clientsWithTokens);
  // Debug, not info: one line per chunk is one per push for one-user pushes, thousands a second.
  log.debug(counts, 'chunk done');
  return { kind: 'done', counts };
}

/**
 * Waits for the guard's verdict on every window the suspects' answers went into, then judges them.
 * A verdict that is gone (its window expired) sends those tokens again, as a token retry.
 */
async function settle(
  ctx: DeliveryContext,
  suspects: ReadonlyArray<Suspect & { window: number }>,
  log: Logger,
): Promise<{ results: TokenResult[]; dead: string[]; kept: number; retry: RetryToken[] } | { stoppedWaitMs: number }> {
  const out = { results: [] as TokenResult[], dead: [] as string[], kept: 0, retry: [] as RetryToken[] };
  for (const window of new Set(suspects.map((s) => s.window))) {
    const mine = suspects.filter((s) => s.window === window);
    for (;;) {
      const answer = await ctx.guard.verdict(window);
      if ('waitMs' in answer) {
        if (ctx.stopping?.aborted) return { stoppedWaitMs: answer.waitMs };
        await sleep(answer.waitMs, ctx.stopping);
        continue;
      }
      if ('unknown' in answer) {
        out.retry.push(...mine.map((s) => ({ ...resolvedOnly(s.token), reason: `${s.outcome.reason} (verdict lost: sent again)` })));
        break;
      }
      if (answer.closed) await onJudged(ctx, [answer.closed], log);
      for (const suspect of mine) {
        const { result, dead } = judge(suspect, answer.verdict, ctx.guardPolicy.share);
        out.results.push(result);
        if (dead) out.dead.push(suspect.token.token);
        else if (suspect.outcome.status === 'invalid') out.kept++;
      }
      break;
    }
  }
  return out;
}

/** A window judged by this worker: a suspected misconfiguration raises the alarm and pauses the platform. */
async function onJudged(ctx: DeliveryContext, closed: readonly ClosedWindow[], log: Logger): Promise<void> {
  for (const { answers, suspected } of closed) {
    if (suspected.length === 0) continue;
    if (answers < ctx.guardPolicy.minAnswers) {
      log.warn(
        { causes: suspected, answers },
        'tokens called dead kept: too many of too few answers to tell dead tokens from a misconfiguration',
      );
      continue;
    }
    ctx.events?.misconfiguration?.(ctx.platform, suspected, answers);
    log.error(
      { causes: suspected, answers, pauseMs: ctx.guardPolicy.pauseMs },
      `suspected misconfiguration: ${suspected.join('; ')}: tokens kept, sending paused`,
    );
    if (ctx.guardPolicy.pauseMs > 0) await ctx.pause.pause(ctx.guardPolicy.pauseMs);
  }
}

/**
 * The tokens still without a final result: those `track` did not report final (`final`: their indexes), each
 * once (a token listed under two clients, or twice, is sent once).
 */
function withoutResult<T extends PlannedToken>(tokens: readonly T[], final: ReadonlySet<number>): T[] {
  const seen = new Set<string>();
  return tokens.filter((t, i) => !final.has(i) && !seen.has(t.token) && seen.add(t.token));
}

/**
 * Gives up on a chunk whose last attempt failed unexpectedly (not a provider answer): every token
 * still without a final result is recorded `failed` with the error, so the job can complete.
 */
export async function abandonChunk(ctx: DeliveryContext, data: ChunkJobData, reason: string): Promise<void> {
  const resolved = data.resolved ?? (await ctx.registry.resolve(data.clients, ctx.platform));
  const clientsWithTokens = data.clientsWithTokens ?? new Set(resolved.map((t) => t.client)).size;
  await endChunk(ctx, data, resolved, clientsWithTokens, 'failed', `internal error: ${reason}`);
  ctx.logger.error({ jobId: data.jobId, chunk: data.chunk, platform: ctx.platform, reason }, 'chunk abandoned');
}

/**
 * Ends a chunk without sending: every token of `tokens` without a final result is recorded `status`
 * (with `reason`), and the chunk is done. Returns how many were recorded (undefined: the job expired).
 */
async function endChunk(
  ctx: DeliveryContext,
  data: ChunkJobData,
  tokens: readonly PlannedToken[],
  clientsWithTokens: number,
  status: 'canceled' | 'failed',
  reason: string,
): Promise<number | undefined> {
  const final = await ctx.jobs.track(data.jobId, ctx.platform, data.chunk, tokens);
  if (!final) return undefined;
  const results: TokenResult[] = withoutResult(tokens, final).map((t) => ({ client: t.client, token: t.token, status, reason }));
  await ctx.jobs.record(data.jobId, ctx.platform, data.chunk, results);
  ctx.events?.recorded?.(ctx.platform, results);
  await ctx.jobs.chunkDone(data.jobId, ctx.platform, data.chunk, clientsWithTokens);
  return results.length;
}

/** Ends a chunk of a canceled job: its tokens without a final result end `canceled`, never sent. */
async function endCanceled(
  ctx: DeliveryContext,
  data: ChunkJobData,
  tokens: readonly PlannedToken[],
  clientsWithTokens: number,
  counts: Record<string, number>,
): Promise<ChunkRun> {
  const canceled = await endChunk(ctx, data, tokens, clientsWithTokens, 'canceled', 'the job was canceled');
  const all = { ...counts, canceled: canceled ?? 0 };
  ctx.logger.info({ jobId: data.jobId, chunk: data.chunk, platform: ctx.platform, ...all }, 'chunk of a canceled job ended');
  return { kind: 'done', counts: all };
}

/**
 * Gives each token of a `localTime` job its client's delivery time: the first `localTime` in the client's
 * zone (else DEFAULT_TIMEZONE) at or after the job's `sendAt`, or its creation.
 */
async function planLocalTimes(ctx: DeliveryContext, plan: JobPlan, tokens: readonly PlannedToken[]): Promise<PlannedToken[]> {
  const clients = [...new Set(tokens.map((t) => t.client))];
  const zones = await ctx.registry.timeZones(clients);
  const from = Math.max((plan.sendAt ?? 0) * 1000, plan.createdAt);
  const byZone = new Map<string, number>();
  const dueOf = new Map<string, number>();
  clients.forEach((client, i) => {
    const zone = zones[i] ?? ctx.defaultTimeZone;
    let due = byZone.get(zone);
    if (due === undefined) byZone.set(zone, (due = nextLocalTime(from, plan.localTime!, zone)));
    dueOf.set(client, due);
  });
  return tokens.map((t) => ({ ...t, due: dueOf.get(t.client)! }));
}

/** Job payloads, creation times and campaign controls are immutable: each worker reads a job's once. */
async function planOf(ctx: DeliveryContext, jobId: string): Promise<JobPlan | undefined> {
  const cached = ctx.jobsSeen.get(jobId);
  if (cached) return cached;
  const plan = await ctx.jobs.plan(jobId);
  if (ctx.jobsSeen.size >= 1000) ctx.jobsSeen.clear();
  if (plan) ctx.jobsSeen.set(jobId, plan);
  return plan;
}
