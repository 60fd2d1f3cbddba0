import { DelayedError, Worker, type Job } from 'bullmq';
import type { Platform } from '@push/contract';
import type { Logger, WorkerEnv } from '@push/config';
import type { PushProvider } from '@push/providers';
import {
  JobStore,
  ProviderPause,
  RateLimiter,
  TokenRegistry,
  createRedis,
  queueName,
  queuePrefix,
  type ChunkJobData,
  type RedisClient,
} from '@push/store';
import { resolvedOnly } from './outcomes';
import { abandonChunk, deliverChunk, type DeliveryContext, type DeliveryEvents } from './pipeline';

/** What a delivery worker needs to know, as plain values (each worker app maps its configuration to them). */
export interface DeliverySettings {
  redisUrl: string;
  /** `redisUrl` is one seed node of a Redis Cluster. */
  redisCluster: boolean;
  redisPrefix: string;
  /** How long a job and its results are kept, in seconds. */
  retentionSeconds: number;
  /** Chunk jobs handled at once. */
  concurrency: number;
  /** How often to look for chunks of a crashed worker; a chunk's lock lasts twice this. */
  stalledIntervalMs: number;
  /** Tokens handed to the provider at once. */
  batchSize: number;
  /** Proactive provider limit shared by every worker of the platform, per minute (0: none). */
  rateLimitPerMinute: number;
}

/** The settings every worker app reads the same way; the provider's own (batch size, limit) come on top. */
export function workerSettings(env: WorkerEnv): Omit<DeliverySettings, 'batchSize' | 'rateLimitPerMinute'> {
  return {
    redisUrl: env.REDIS_URL,
    redisCluster: env.REDIS_CLUSTER,
    redisPrefix: env.REDIS_PREFIX,
    retentionSeconds: env.JOB_RETENTION_SECONDS,
    concurrency: env.WORKER_CONCURRENCY,
    stalledIntervalMs: env.STALLED_INTERVAL_MS,
  };
}

export interface DeliveryWorkerDeps {
  platform: Platform;
  provider: PushProvider;
  settings: DeliverySettings;
  logger: Logger;
  events?: DeliveryEvents;
}

/**
 * The message BullMQ fails a chunk with when it stalled more than `maxStalledCount` times (its
 * moveStalledJobsToWait script). The worker recognises such a failure only by this text, so a test runs
 * BullMQ into it and fails if the text changes.
 */
export const STALLED_TOO_OFTEN = /stalled more than allowable limit/;

export interface DeliveryWorker {
  worker: Worker<ChunkJobData>;
  /** Whether both Redis connections (stores and queue) are ready, for `push_redis_up`. */
  redisReady(): boolean;
  /** Stops taking chunks, lets in-flight ones finish, then closes provider and Redis connections. */
  close(): Promise<void>;
}

/** Thrown to let BullMQ retry a chunk with backoff; its message says why. */
export class ChunkRetryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = this.constructor.name;
  }
}

/**
 * A BullMQ worker on one platform queue running the delivery pipeline. BullMQ's retries (exponential
 * backoff with jitter) are the only retry loop; a provider's quota pause is shared through Redis
 * (ProviderPause), which every worker of the platform honours before each send.
 */
export function createDeliveryWorker({ platform, provider, settings, logger, events }: DeliveryWorkerDeps): DeliveryWorker {
  const redis: RedisClient = createRedis(settings.redisUrl, 'worker', { cluster: settings.redisCluster });
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  const prefix = settings.redisPrefix;
  const stopping = new AbortController();
  const ctx: DeliveryContext = {
    platform,
    provider,
    registry: new TokenRegistry(redis, prefix),
    jobs: new JobStore(redis, prefix, settings.retentionSeconds),
    limiter: new RateLimiter(redis, prefix, `provider-${queueName[platform]}`, settings.rateLimitPerMinute),
    pause: new ProviderPause(redis, prefix, queueName[platform]),
    batchSize: settings.batchSize,
    payloads: new Map(),
    logger,
    stopping: stopping.signal,
    ...(events && { events }),
  };

  const queueConnection = createRedis(settings.redisUrl, 'worker', { cluster: settings.redisCluster, enableAutoPipelining: false });
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
      throw new ChunkRetryError(`${run.remaining.length} tokens to retry: ${run.remaining[0]!.reason}`);
    },
    {
      connection: queueConnection,
      prefix: queuePrefix(prefix, platform),
      concurrency: settings.concurrency,
      // A crashed worker's chunk is picked up by another within about two stalled intervals.
      stalledInterval: settings.stalledIntervalMs,
      lockDuration: settings.stalledIntervalMs * 2,
      maxStalledCount: 5,
    },
  );
  worker.on('error', (err) => logger.error({ err: err.message }, 'worker error'));
  worker.on('failed', (job, err) => {
    // BullMQ fails a chunk that stalled too often without running it: its tokens still need a result.
    if (job && STALLED_TOO_OFTEN.test(err.message)) {
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
