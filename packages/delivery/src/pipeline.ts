import { chunk, isExpired, type Payload, type Platform, type Priority } from '@push/contract';
import { maskToken, type Logger } from '@push/config';
import type { PushProvider } from '@push/providers';
import type {
  ChunkJobData,
  ClosedWindow,
  DeadTokenGuard,
  JobStore,
  ProviderBreaker,
  ProviderPause,
  RateLimiter,
  ResolvedToken,
  TokenRegistry,
  TokenResult,
} from '@push/store';
import { judge, resolvedOnly, sortOutcomes, type RetryToken, type Suspect } from './outcomes';

/** What a worker keeps of a job: its payload and when it was created. */
export interface JobMeta {
  payload: Payload;
  createdAt: number;
}

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
  /** Proactive provider limit, shared by every worker of the platform. */
  limiter: RateLimiter;
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
  /** Payloads and creation times of the jobs this worker has seen, by job id (they never change). */
  jobsSeen: Map<string, JobMeta>;
  /** The lane whose chunks this context delivers: the jobs' priority (Web Push `Urgency: high` for `high`). */
  lane?: Priority;
  /** Fired when the worker is shutting down: a chunk waiting out a pause hands its tokens back. */
  stopping?: AbortSignal;
  logger: Logger;
  events?: DeliveryEvents;
}

/**
 * How a chunk run ended. `retry` carries the tokens still without a final result (and the longest
 * Retry-After they got); `interrupted` too, when the worker stopped while the chunk waited for a pause,
 * the breaker or the guard, until `resumeAt`.
 */
export type ChunkRun =
  | { kind: 'done'; counts: Record<string, number> }
  | { kind: 'retry'; remaining: RetryToken[]; clientsWithTokens: number; retryAfterMs: number }
  | { kind: 'interrupted'; remaining: ResolvedToken[]; clientsWithTokens: number; resumeAt: number };

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
 */
export async function deliverChunk(ctx: DeliveryContext, data: ChunkJobData, lastAttempt: boolean): Promise<ChunkRun> {
  const { platform, jobs } = ctx;
  const log = ctx.logger.child({ jobId: data.jobId, chunk: data.chunk, platform });
  const job = await jobOf(ctx, data.jobId);
  if (!job) {
    log.warn('job record expired or deleted; chunk dropped');
    return { kind: 'done', counts: {} };
  }
  const { payload } = job;
  const deadline = Math.min(job.createdAt + ctx.deliveryWindowMs, payload.expiry !== undefined ? payload.expiry * 1000 : Infinity);

  const resolved: ResolvedToken[] = data.resolved ?? (await ctx.registry.resolve(data.clients, platform));
  const clientsWithTokens = data.clientsWithTokens ?? new Set(resolved.map((t) => t.client)).size;
  const final = await jobs.track(
    data.jobId,
    platform,
    resolved.map((t) => t.token),
  );
  if (!final) return { kind: 'done', counts: {} };
  // A token listed under two clients, or twice, is sent once.
  const seen = new Set<string>();
  const pending = resolved.filter((t, i) => !final.has(i) && !seen.has(t.token) && seen.add(t.token));

  const counts: Record<string, number> = { tokens: pending.length };
  const record = async (results: TokenResult[]) => {
    if (results.length === 0) return;
    await jobs.record(data.jobId, platform, results);
    for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
    ctx.events?.recorded?.(platform, results);
  };

  const fingerprint = await ctx.fingerprint;
  const retry: RetryToken[] = [];
  const suspects: Array<Suspect & { window: number }> = [];
  const groups = chunk(pending, ctx.batchSize);
  const handBack = (waitMs: number): ChunkRun => {
    const remaining = [...groups.flat(), ...retry, ...suspects.map((s) => s.token)].map(resolvedOnly);
    log.info({ remaining: remaining.length, waitMs }, 'stopping while sending is held: chunk handed back');
    return { kind: 'interrupted', remaining, clientsWithTokens, resumeAt: Date.now() + waitMs };
  };
  let retryAfterMs = 0;
  let lastFailure: string | undefined;
  let pauses = 0;
  for (let group = groups.shift(); group; group = groups.shift()) {
    const turn = await waitForTurn(ctx, deadline);
    if (turn.kind === 'stopped') {
      groups.unshift(group);
      return handBack(turn.waitMs);
    }
    if (turn.kind === 'late' || isExpired(payload, Date.now())) {
      const left = [group, ...groups.splice(0)].flat();
      await record(
        isExpired(payload, Date.now())
          ? left.map((t) => ({ client: t.client, token: t.token, status: 'expired', reason: 'expiry passed before sending' }))
          : left.map((t) => ({
              client: t.client,
              token: t.token,
              status: 'failed',
              reason: `not sent within DELIVERY_WINDOW_SECONDS: the provider kept failing (${lastFailure ?? 'unavailable'})`,
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
    const held = await waitOut(() => ctx.limiter.take(size), ctx.stopping);
    if (held !== undefined) {
      groups.unshift(group);
      return handBack(held);
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
    await record(sorted.final);

    const breaker = await ctx.breaker.observe(sorted.outage.length, sorted.answers, sorted.retryAfterMs ?? 0, turn.probe);
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

    if (sorted.answers > 0) {
      const observed = await ctx.guard.observe(sorted.answers, sorted.causes, fingerprint);
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
  if ('stoppedWaitMs' in settled) return handBack(settled.stoppedWaitMs);
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
    return { kind: 'retry', remaining: retry, clientsWithTokens, retryAfterMs };
  }
  await record(retry.map(({ reason, ...t }) => ({ ...t, status: 'failed', reason: `retries exhausted: ${reason}` })));
  await jobs.chunkDone(data.jobId, platform, data.chunk, clientsWithTokens);
  log.info(counts, 'chunk done');
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
 * Gives up on a chunk whose last attempt failed unexpectedly (not a provider answer): every token
 * still without a final result is recorded `failed` with the error, so the job can complete.
 */
export async function abandonChunk(ctx: DeliveryContext, data: ChunkJobData, reason: string): Promise<void> {
  const resolved = data.resolved ?? (await ctx.registry.resolve(data.clients, ctx.platform));
  const final = await ctx.jobs.track(
    data.jobId,
    ctx.platform,
    resolved.map((t) => t.token),
  );
  if (!final) return;
  await ctx.jobs.record(
    data.jobId,
    ctx.platform,
    resolved
      .filter((_, i) => !final.has(i))
      .map((t) => ({ client: t.client, token: t.token, status: 'failed', reason: `internal error: ${reason}` })),
  );
  const clientsWithTokens = data.clientsWithTokens ?? new Set(resolved.map((t) => t.client)).size;
  await ctx.jobs.chunkDone(data.jobId, ctx.platform, data.chunk, clientsWithTokens);
  ctx.logger.error({ jobId: data.jobId, chunk: data.chunk, platform: ctx.platform, reason }, 'chunk abandoned');
}

/** Job payloads and creation times are immutable: each worker reads one once (the cache is the worker's, in its context). */
async function jobOf(ctx: DeliveryContext, jobId: string): Promise<JobMeta | undefined> {
  const cached = ctx.jobsSeen.get(jobId);
  if (cached) return cached;
  const job = await ctx.jobs.meta(jobId);
  if (ctx.jobsSeen.size >= 1000) ctx.jobsSeen.clear();
  if (job) ctx.jobsSeen.set(jobId, job);
  return job;
}
