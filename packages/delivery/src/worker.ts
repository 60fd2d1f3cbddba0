import { createHash } from 'node:crypto';
import { Backoffs, DelayedError, Worker, type Job, type MinimalJob } from 'bullmq';
import type { Platform } from '@push/contract';
import type { Config, Logger } from '@push/config';
import type { PushProvider } from '@push/providers';
import {
  CHUNK_BACKOFF,
  DeadTokenGuard,
  JobStore,
  ProviderBreaker,
  ProviderPause,
  RateLimiter,
  TokenRegistry,
  createRedis,
  deliveryScope,
  queueName,
  queuePrefix,
  type ChunkJobData,
  type RedisClient,
} from '@push/store';
import { resolvedOnly } from './outcomes';
import { abandonChunk, deliverChunk, type DeliveryContext, type DeliveryEvents } from './pipeline';

export interface DeliveryWorkerDeps {
  platform: Platform;
  provider: PushProvider;
  config: Config;
  logger: Logger;
  events?: DeliveryEvents;
}

export interface DeliveryWorker {
  worker: Worker<ChunkJobData>;
  /** Whether both Redis connections (stores and queue) are ready, for `push_redis_up`. */
  redisReady(): boolean;
  /** Stops taking chunks, lets in-flight ones finish, then closes provider and Redis connections. */
  close(): Promise<void>;
}

/** Each platform's proactive limit (per minute, 0: none) and send group size. */
function platformSettings(platform: Platform, config: Config): { limit: number; batchSize: number } {
  switch (platform) {
    case 'ios':
      return { limit: config.APNS_RATE_LIMIT_PER_MINUTE, batchSize: config.APNS_BATCH_SIZE };
    case 'android':
      return { limit: config.FCM_RATE_LIMIT_PER_MINUTE, batchSize: config.FCM_BATCH_SIZE };
    case 'web':
      return { limit: config.WEBPUSH_RATE_LIMIT_PER_MINUTE, batchSize: config.WEBPUSH_BATCH_SIZE };
  }
}

/** Thrown to let BullMQ retry a chunk with backoff; its message says why. */
export class ChunkRetryError extends Error {
  constructor(
    message: string,
    /** The provider's Retry-After for these tokens (0: none): the backoff is at least this long. */
    readonly retryAfterMs = 0,
  ) {
    super(message);
    this.name = this.constructor.name;
  }
}

/**
 * The backoff of CHUNK_BACKOFF jobs: BullMQ's own exponential backoff with jitter, lengthened to the
 * provider's Retry-After when it asked for more.
 */
export function chunkBackoff(attemptsMade: number, type?: string, err?: Error, job?: MinimalJob): number {
  if (type !== CHUNK_BACKOFF) throw new Error(`unknown backoff type ${type}`);
  const { delay = 0, jitter = 0 } = typeof job?.opts.backoff === 'object' ? job.opts.backoff : {};
  // BullMQ's exponential strategy is synchronous (classes/backoffs.ts).
  const exponential = Backoffs.builtinStrategies.exponential!(delay, jitter)(attemptsMade, type, err, job) as number;
  return Math.max(exponential, err instanceof ChunkRetryError ? err.retryAfterMs : 0);
}

/**
 * A BullMQ worker on one platform queue running the delivery pipeline. BullMQ's retries (exponential
 * backoff with jitter) are the only retry loop; a provider's quota pause is shared through Redis
 * (ProviderPause), which every worker of the platform honours before each send.
 */
export function createDeliveryWorker({ platform, provider, config, logger, events }: DeliveryWorkerDeps): DeliveryWorker {
  const redis: RedisClient = createRedis(config.REDIS_URL, 'worker', { cluster: config.REDIS_CLUSTER });
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  const prefix = config.REDIS_PREFIX;
  const { limit, batchSize } = platformSettings(platform, config);
  const stopping = new AbortController();
  const scope = deliveryScope(platform);
  const ctx: DeliveryContext = {
    platform,
    provider,
    registry: new TokenRegistry(redis, prefix),
    jobs: new JobStore(redis, prefix, config.JOB_RETENTION_SECONDS),
    limiter: new RateLimiter(redis, prefix, `provider-${queueName[platform]}`, limit),
    pause: new ProviderPause(redis, prefix, queueName[platform]),
    breaker: new ProviderBreaker(redis, prefix, scope, {
      failures: config.BREAKER_FAILURES,
      baseDelayMs: config.BREAKER_BASE_DELAY_MS,
      maxDelayMs: config.BREAKER_MAX_DELAY_MS,
      // A probe is one request: it has its answer within the provider timeout.
      probeLeaseMs: config.PROVIDER_TIMEOUT_MS * 2,
    }),
    guard: new DeadTokenGuard(redis, prefix, scope, {
      window: config.DEAD_TOKEN_GUARD_WINDOW,
      share: config.DEAD_TOKEN_GUARD_SHARE,
      waitMs: config.DEAD_TOKEN_GUARD_WAIT_MS,
    }),
    guardPolicy: {
      share: config.DEAD_TOKEN_GUARD_SHARE,
      minAnswers: config.DEAD_TOKEN_GUARD_MIN_ANSWERS,
      pauseMs: config.DEAD_TOKEN_GUARD_PAUSE_SECONDS * 1000,
    },
    fingerprint: provider.describe().then(
      (target) => createHash('sha256').update(JSON.stringify(target)).digest('hex').slice(0, 16),
      () => 'unknown',
    ),
    deliveryWindowMs: config.DELIVERY_WINDOW_SECONDS * 1000,
    batchSize,
    logger,
    stopping: stopping.signal,
    ...(events && { events }),
  };

  const queueConnection = createRedis(config.REDIS_URL, 'worker', { cluster: config.REDIS_CLUSTER, enableAutoPipelining: false });
  const worker: Worker<ChunkJobData> = new Worker<ChunkJobData>(
    queueName[platform],
    async (job: Job<ChunkJobData>, token?: string) => {
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      let run;
      try {
        run = await deliverChunk(ctx, job.data, lastAttempt);
      } catch (error) {
        if (lastAttempt) await abandonChunk(ctx, job.data, (error as Error).message);
        throw error;
      }
      if (run.kind === 'done') return run.counts;
      const resolved = run.remaining.map(resolvedOnly);
      await job.updateData({ ...job.data, resolved, clientsWithTokens: run.clientsWithTokens });
      if (run.kind === 'interrupted') {
        // Back to the queue for when the pause ends, without using up an attempt (BullMQ's DelayedError).
        await job.moveToDelayed(run.resumeAt, token);
        throw new DelayedError();
      }
      throw new ChunkRetryError(`${run.remaining.length} tokens to retry: ${run.remaining[0]!.reason}`, run.retryAfterMs);
    },
    {
      connection: queueConnection,
      prefix: queuePrefix(prefix, platform),
      concurrency: config.WORKER_CONCURRENCY,
      // A crashed worker's chunk is picked up by another within about two stalled intervals.
      stalledInterval: config.STALLED_INTERVAL_MS,
      lockDuration: config.STALLED_INTERVAL_MS * 2,
      maxStalledCount: 5,
      settings: { backoffStrategy: chunkBackoff },
    },
  );
  worker.on('error', (err) => logger.error({ err: err.message }, 'worker error'));
  worker.on('failed', (job, err) => {
    // BullMQ fails a chunk that stalled too often without running it: its tokens still need a result.
    if (job && /stalled more than allowable limit/.test(err.message)) {
      void abandonChunk(ctx, job.data, 'the chunk stalled too many times').catch((e: Error) =>
        logger.error({ err: e.message }, 'abandon failed'),
      );
    }
    if (job && !(err instanceof ChunkRetryError))
      logger.error({ jobId: job.data.jobId, chunk: job.data.chunk, err: err.message }, 'chunk run failed');
  });

  return {
    worker,
    redisReady: () => redis.status === 'ready' && queueConnection.status === 'ready',
    async close() {
      stopping.abort();
      await worker.close();
      await provider.close();
      queueConnection.disconnect();
      redis.disconnect();
    },
  };
}
