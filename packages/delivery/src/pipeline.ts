import { isExpired, type Payload, type Platform } from '@push/contract';
import { maskToken, type Logger } from '@push/config';
import type { PushProvider } from '@push/providers';
import type { ChunkJobData, JobStore, RateLimiter, ResolvedToken, TokenRegistry, TokenResult } from '@push/store';
import { chunk, sortOutcomes, type RetryToken } from './outcomes';

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
  /** Tokens handed to the provider at once. */
  batchSize: number;
  logger: Logger;
  events?: DeliveryEvents;
}

/** How a chunk run ended. `retry` and `pause` carry the tokens still without a final result. */
export type ChunkRun =
  | { kind: 'done'; counts: Record<string, number> }
  | { kind: 'retry'; remaining: RetryToken[]; clientsWithTokens: number }
  | { kind: 'pause'; remaining: RetryToken[]; clientsWithTokens: number; pauseMs: number };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Delivers one chunk job: resolve clients to tokens, skip tokens that already have a final result
 * (a rerun after a crash or retry), send in provider-sized groups, record every final result, and
 * hand back what must be retried. On the `lastAttempt`, remaining temporary failures become `failed`,
 * unless the provider asked for a pause and `mayPause` allows one more.
 */
export async function deliverChunk(
  ctx: DeliveryContext,
  data: ChunkJobData,
  { lastAttempt, mayPause }: { lastAttempt: boolean; mayPause: boolean },
): Promise<ChunkRun> {
  const { platform, jobs } = ctx;
  const log = ctx.logger.child({ jobId: data.jobId, chunk: data.chunk, platform });
  const payload = await payloadOf(jobs, data.jobId);
  if (!payload) {
    log.warn('job record expired or deleted; chunk dropped');
    return { kind: 'done', counts: {} };
  }

  const resolved: ResolvedToken[] = data.resolved ?? (await ctx.registry.resolve(data.clients, platform));
  const clientsWithTokens = data.clientsWithTokens ?? new Set(resolved.map((t) => t.client)).size;
  const final = await jobs.track(data.jobId, platform, resolved.map((t) => t.token));
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
  let pauseMs: number | undefined;
  for (const group of chunk(pending, ctx.batchSize)) {
    if (pauseMs !== undefined) {
      // The provider asked us to stop: what is left waits for the queue to resume.
      retry.push(...group.map((t) => ({ ...t, reason: 'not sent: provider quota pause' })));
      continue;
    }
    if (isExpired(payload, Date.now())) {
      await record(group.map((t) => ({ ...t, status: 'expired', reason: 'expiry passed before sending' })));
      continue;
    }
    for (let wait = await ctx.limiter.take(group.length); wait > 0; wait = await ctx.limiter.take(group.length)) {
      await sleep(wait);
    }
    const started = process.hrtime.bigint();
    const outcomes = await ctx.provider.send(group.map((t) => t.token), payload);
    ctx.events?.sent?.(platform, group.length, Number(process.hrtime.bigint() - started) / 1e9);
    const sorted = sortOutcomes(group, outcomes);
    await record(sorted.final);
    if (sorted.dead.length > 0) {
      await Promise.all(sorted.dead.map((token) => ctx.registry.remove(token)));
      ctx.events?.deadRemoved?.(platform, sorted.dead.length);
      log.info({ tokens: sorted.dead.map(maskToken) }, 'dead tokens removed from the registry');
    }
    retry.push(...sorted.retry);
    pauseMs = sorted.pauseMs;
  }

  if (retry.length > 0 && pauseMs !== undefined && mayPause) {
    ctx.events?.paused?.(platform, pauseMs);
    log.warn({ pauseMs, remaining: retry.length, ...counts }, 'provider throttled: pausing the queue');
    return { kind: 'pause', remaining: retry, clientsWithTokens, pauseMs };
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
  const final = await ctx.jobs.track(data.jobId, ctx.platform, resolved.map((t) => t.token));
  if (!final) return;
  await ctx.jobs.record(data.jobId, ctx.platform, resolved
    .filter((_, i) => !final.has(i))
    .map((t) => ({ ...t, status: 'failed', reason: `internal error: ${reason}` })));
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
