import { isExpired, type Payload, type Platform } from '@push/contract';
import { maskToken, type Logger } from '@push/config';
import type { PushProvider } from '@push/providers';
import type { ChunkJobData, JobStore, ProviderPause, RateLimiter, ResolvedToken, TokenRegistry, TokenResult } from '@push/store';
import { chunk, resolvedOnly, sortOutcomes, toResend, type RetryToken } from './outcomes';

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
  logger: Logger;
  events?: DeliveryEvents;
}

/**
 * How a chunk run ended. `retry` carries the tokens still without a final result; `interrupted` too,
 * when the worker stopped while the chunk waited for a provider pause that lasts until `resumeAt`.
 */
export type ChunkRun =
  | { kind: 'done'; counts: Record<string, number> }
  | { kind: 'retry'; remaining: RetryToken[]; clientsWithTokens: number }
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

/**
 * Delivers one chunk job: resolve clients to tokens, skip tokens that already have a final result
 * (a rerun after a crash or retry), send in provider-sized groups, record every final result, and
 * hand back what must be retried. A provider's quota answer pauses every worker of the platform and
 * resends the throttled tokens after the pause. On the `lastAttempt`, remaining temporary failures
 * become `failed`.
 */
export async function deliverChunk(ctx: DeliveryContext, data: ChunkJobData, lastAttempt: boolean): Promise<ChunkRun> {
  const { platform, jobs } = ctx;
  const log = ctx.logger.child({ jobId: data.jobId, chunk: data.chunk, platform });
  const payload = await payloadOf(jobs, data.jobId);
  if (!payload) {
    log.warn('job record expired or deleted; chunk dropped');
    return { kind: 'done', counts: {} };
  }

  // Job data holds no keys: a retried chunk reads the keys of its remaining tokens again.
  const resolved: ResolvedToken[] = data.resolved
    ? await ctx.registry.withKeys(data.resolved, platform)
    : await ctx.registry.resolve(data.clients, platform);
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
  const count = (results: readonly TokenResult[]) => {
    for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  };
  const record = async (results: TokenResult[]) => {
    await jobs.record(data.jobId, platform, results);
    count(results);
    ctx.events?.recorded?.(platform, results);
  };

  const retry: RetryToken[] = [];
  const groups = chunk(pending, ctx.batchSize);
  let pauses = 0;
  for (let group = groups.shift(); group; group = groups.shift()) {
    // The provider's pause first, then the proactive limit (which takes its permits when it answers 0).
    const held =
      (await waitOut(() => ctx.pause.remainingMs(), ctx.stopping)) ?? (await waitOut(() => ctx.limiter.take(group.length), ctx.stopping));
    if (held !== undefined) {
      const remaining = [group, ...groups, retry].flat().map(resolvedOnly);
      log.info({ remaining: remaining.length, waitMs: held }, 'stopping while sending is paused: chunk handed back');
      return { kind: 'interrupted', remaining, clientsWithTokens, resumeAt: Date.now() + held };
    }
    if (isExpired(payload, Date.now())) {
      await record(group.map((t) => ({ ...t, status: 'expired', reason: 'expiry passed before sending' })));
      continue;
    }
    const started = process.hrtime.bigint();
    const outcomes = await ctx.provider.send(
      group.map((t) => t.token),
      payload,
      { jobId: data.jobId, keys: group.map((t) => t.keys) },
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
      groups.unshift(sorted.retry.map(toResend));
    } else {
      retry.push(...sorted.retry);
    }
  }

  if (retry.length > 0 && !lastAttempt) {
    ctx.events?.retried?.(platform, retry.length);
    log.info({ retry: retry.length, reason: retry[0]!.reason, ...counts }, 'chunk partly sent: will retry');
    return { kind: 'retry', remaining: retry, clientsWithTokens };
  }
  if (retry.length > 0) {
    await record(retry.map(({ reason, ...t }) => ({ ...t, status: 'failed', reason: `retries exhausted: ${reason}` })));
  }
  await jobs.chunkDone(data.jobId, platform, data.chunk, clientsWithTokens);
  log.info(counts, 'chunk done');
  return { kind: 'done', counts };
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
    resolved.filter((_, i) => !final.has(i)).map((t) => ({ ...t, status: 'failed', reason: `internal error: ${reason}` })),
  );
  const clientsWithTokens = data.clientsWithTokens ?? new Set(resolved.map((t) => t.client)).size;
  await ctx.jobs.chunkDone(data.jobId, ctx.platform, data.chunk, clientsWithTokens);
  ctx.logger.error({ jobId: data.jobId, chunk: data.chunk, platform: ctx.platform, reason }, 'chunk abandoned');
}

const payloads = new Map<string, Payload>();

/** Job payloads are immutable: each worker reads one once. */
async function payloadOf(jobs: JobStore, jobId: string): Promise<Payload | undefined> {
  const cached = payloads.get(jobId);
  if (cached) return cached;
  const payload = await jobs.payload(jobId);
  if (payloads.size >= 1000) payloads.clear();
  if (payload) payloads.set(jobId, payload);
  return payload;
}
