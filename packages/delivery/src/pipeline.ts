import { isExpired, nextLocalTime, type Platform } from '@push/contract';
import { maskToken, type Logger } from '@push/config';
import type { PushProvider } from '@push/providers';
import {
  systemClock,
  type ChunkJobData,
  type Clock,
  type JobPlan,
  type JobStore,
  type PlannedToken,
  type ProviderPause,
  type RateLimiter,
  type TokenRegistry,
  type TokenResult,
} from '@push/store';
import { chunk, resolvedOnly, sortOutcomes, type RetryToken } from './outcomes';

/** Optional observers (metrics); the pipeline works the same without them. */
export interface DeliveryEvents {
  recorded?(platform: Platform, results: readonly TokenResult[]): void;
  sent?(platform: Platform, tokens: number, seconds: number): void;
  retried?(platform: Platform, tokens: number): void;
  paused?(platform: Platform, ms: number): void;
  deadRemoved?(platform: Platform, tokens: number): void;
}

export interface DeliveryContext {
  platform: Platform;
  provider: PushProvider;
  registry: TokenRegistry;
  jobs: JobStore;
  /** Proactive provider limit, shared by every worker of the platform. */
  limiter: RateLimiter;
  /** The provider's own "stop sending for a while" (FCM quota), shared by every worker of the platform. */
  pause: ProviderPause;
  /** Tokens handed to the provider at once. */
  batchSize: number;
  /** Fired when the worker is shutting down: a chunk waiting out a pause hands its tokens back. */
  stopping?: AbortSignal;
  /** The zone of clients that registered none (DEFAULT_TIMEZONE), for `localTime` jobs. */
  defaultTimeZone: string;
  /** The time `sendAt`, `localTime` and `expiry` are read against. @defaultValue systemClock */
  clock?: Clock;
  logger: Logger;
  events?: DeliveryEvents;
}

/**
 * How a chunk run ended. `retry` carries the tokens still without a final result (`reason`: the first
 * retry's); `later` too, for a run that resumes at `resumeAt` (epoch ms) without using up an attempt: the
 * worker stopped during a provider pause, a throttled job's next send is not due soon, or clients of a
 * `localTime` job are not due yet. `reserved`: sends the run reserved in the job's throttle schedule.
 */
export type ChunkRun =
  | { kind: 'done'; counts: Record<string, number> }
  | { kind: 'retry'; remaining: PlannedToken[]; reason: string; clientsWithTokens: number }
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

/**
 * Delivers one chunk job: resolve clients to tokens, skip tokens that already have a final result
 * (a rerun after a crash or retry), send in provider-sized groups, record every final result, and
 * hand back what must be retried. A provider's quota answer pauses every worker of the platform and
 * resends the throttled tokens after the pause. On the `lastAttempt`, remaining temporary failures
 * become `failed`. Campaign controls: a `localTime` job's tokens wait for their client's time, a throttled
 * job sends in steps of its shared schedule, and a canceled job's tokens end `canceled` (checked just
 * before every send).
 */
export async function deliverChunk(ctx: DeliveryContext, data: ChunkJobData, lastAttempt: boolean): Promise<ChunkRun> {
  const { platform, jobs } = ctx;
  const clock = ctx.clock ?? systemClock;
  const log = ctx.logger.child({ jobId: data.jobId, chunk: data.chunk, platform });
  const plan = await planOf(jobs, data.jobId);
  if (!plan) {
    log.warn('job record expired or deleted; chunk dropped');
    return { kind: 'done', counts: {} };
  }
  const { payload, ratePerMinute } = plan;

  let resolved: PlannedToken[] = data.resolved ?? (await ctx.registry.resolve(data.clients, platform));
  const clientsWithTokens = data.clientsWithTokens ?? new Set(resolved.map((t) => t.client)).size;
  if (await jobs.isCanceled(data.jobId)) return endCanceled(ctx, data, resolved, clientsWithTokens, {});
  if (plan.localTime !== undefined && data.resolved === undefined) resolved = await planLocalTimes(ctx, plan, resolved);
  const now = clock.now();
  const later = resolved.filter((t) => t.due !== undefined && t.due > now);
  const dueNow = later.length === 0 ? resolved : resolved.filter((t) => t.due === undefined || t.due <= now);

  const final = await jobs.track(
    data.jobId,
    platform,
    dueNow.map((t) => t.token),
  );
  if (!final) return { kind: 'done', counts: {} };
  // A token listed under two clients, or twice, is sent once.
  const seen = new Set<string>();
  const pending = dueNow.filter((t, i) => !final.has(i) && !seen.has(t.token) && seen.add(t.token));

  const counts: Record<string, number> = { tokens: pending.length };
  const count = (results: readonly TokenResult[]) => {
    for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  };
  const record = async (results: TokenResult[]) => {
    await jobs.record(data.jobId, platform, results);
    count(results);
    ctx.events?.recorded?.(platform, results);
  };

  const retry: RetryToken[] = [];
  const groups = chunk(pending, ratePerMinute === undefined ? ctx.batchSize : throttleStep(ratePerMinute, ctx.batchSize));
  /** Everything still without a final result, from `group` on. */
  const rest = (group: PlannedToken[]): PlannedToken[] => [group, ...groups, retry.map(resolvedOnly), later].flat();
  const handBack = (group: PlannedToken[], waitMs: number, reserved: number | undefined, why: string): ChunkRun => {
    const remaining = rest(group);
    log.info({ remaining: remaining.length, waitMs }, why);
    return { kind: 'later', remaining, clientsWithTokens, resumeAt: Date.now() + waitMs, ...(reserved !== undefined && { reserved }) };
  };
  let reserved = data.reserved ?? 0;
  let pauses = 0;
  for (let group = groups.shift(); group; group = groups.shift()) {
    if (ratePerMinute !== undefined) {
      // A resumed run's first step was reserved before it was handed back, for the time it resumes.
      const wait = reserved > 0 ? 0 : await jobs.throttle(data.jobId, ratePerMinute, group.length);
      reserved = 0;
      if (wait > THROTTLE_HOLD_MS) return handBack(group, wait, group.length, 'throttled: chunk handed back until its next step');
      if (wait > 0) {
        const startAt = Date.now() + wait;
        await sleep(wait, ctx.stopping);
        if (ctx.stopping?.aborted)
          return handBack(group, Math.max(0, startAt - Date.now()), group.length, 'stopping: throttled chunk handed back');
      }
    }
    // The provider's pause first, then the proactive limit (which takes its permits when it answers 0).
    const held =
      (await waitOut(() => ctx.pause.remainingMs(), ctx.stopping)) ?? (await waitOut(() => ctx.limiter.take(group.length), ctx.stopping));
    if (held !== undefined) {
      return handBack(
        group,
        held,
        ratePerMinute === undefined ? undefined : group.length,
        'stopping while sending is paused: chunk handed back',
      );
    }
    // The last moment before a provider sees the group: from a cancel's answer on, nothing more goes out.
    if (await jobs.isCanceled(data.jobId)) return endCanceled(ctx, data, rest(group), clientsWithTokens, counts);
    if (isExpired(payload, clock.now())) {
      await record(group.map((t) => ({ client: t.client, token: t.token, status: 'expired', reason: 'expiry passed before sending' })));
      continue;
    }
    const started = process.hrtime.bigint();
    const outcomes = await ctx.provider.send(
      group.map((t) => t.token),
      payload,
      { jobId: data.jobId },
    );
    ctx.events?.sent?.(platform, group.length, Number(process.hrtime.bigint() - started) / 1e9);
    const sorted = sortOutcomes(group, outcomes);
    await record(sorted.final);
    if (sorted.dead.length > 0) {
      await Promise.all(sorted.dead.map((token) => ctx.registry.remove(token)));
      ctx.events?.deadRemoved?.(platform, sorted.dead.length);
      log.info({ tokens: sorted.dead.map(maskToken) }, 'dead tokens removed from the registry');
    }
    if (sorted.pauseMs !== undefined && pauses < MAX_PAUSES_PER_RUN) {
      pauses++;
      await ctx.pause.pause(sorted.pauseMs);
      ctx.events?.paused?.(platform, sorted.pauseMs);
      log.warn({ pauseMs: sorted.pauseMs, throttled: sorted.retry.length }, 'provider throttled: pausing all sending');
      groups.unshift(sorted.retry.map(resolvedOnly));
    } else {
      retry.push(...sorted.retry);
    }
  }

  if (retry.length > 0 && !lastAttempt) {
    ctx.events?.retried?.(platform, retry.length);
    log.info({ retry: retry.length, reason: retry[0]!.reason, ...counts }, 'chunk partly sent: will retry');
    return { kind: 'retry', remaining: [...retry.map(resolvedOnly), ...later], reason: retry[0]!.reason, clientsWithTokens };
  }
  if (retry.length > 0) {
    await record(retry.map(({ client, token, reason }) => ({ client, token, status: 'failed', reason: `retries exhausted: ${reason}` })));
  }
  if (later.length > 0) {
    const next = Math.min(...later.map((t) => t.due!));
    log.info({ waiting: later.length, next: new Date(next).toISOString(), ...counts }, "chunk waits for its clients' local time");
    return { kind: 'later', remaining: later, clientsWithTokens, resumeAt: Date.now() + Math.max(0, clock.msUntil(next)) };
  }
  await jobs.chunkDone(data.jobId, platform, data.chunk, clientsWithTokens);
  log.info(counts, 'chunk done');
  return { kind: 'done', counts };
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
  const final = await ctx.jobs.track(
    data.jobId,
    ctx.platform,
    tokens.map((t) => t.token),
  );
  if (!final) return undefined;
  const seen = new Set<string>();
  const results: TokenResult[] = tokens
    .filter((t, i) => !final.has(i) && !seen.has(t.token) && seen.add(t.token))
    .map((t) => ({ client: t.client, token: t.token, status, reason }));
  await ctx.jobs.record(data.jobId, ctx.platform, results);
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

const plans = new Map<string, JobPlan>();

/** Job payloads and campaign controls are immutable: each worker reads a job's once. */
async function planOf(jobs: JobStore, jobId: string): Promise<JobPlan | undefined> {
  const cached = plans.get(jobId);
  if (cached) return cached;
  const plan = await jobs.plan(jobId);
  if (plans.size >= 1000) plans.clear();
  if (plan) plans.set(jobId, plan);
  return plan;
}
