import { Worker, type Job } from 'bullmq';
import type { Platform } from '@push/contract';
import type { Config, Logger } from '@push/config';
import type { PushProvider } from '@push/providers';
import {
  JobStore, RateLimiter, TokenRegistry, createRedis, queueName, queuePrefix, type ChunkJobData, type RedisClient,
} from '@push/store';
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
  /** Stops taking chunks, lets in-flight ones finish, then closes provider and Redis connections. */
  close(): Promise<void>;
}

/** Quota pauses a chunk may take per delivery attempt before a pause counts as a failed attempt. */
const MAX_PAUSES_PER_ATTEMPT = 3;

/** Thrown to let BullMQ retry a chunk with backoff; its message says why. */
export class ChunkRetryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = this.constructor.name;
  }
}

/**
 * A BullMQ worker on one platform queue running the delivery pipeline. BullMQ's retries (exponential
 * backoff with jitter) are the only retry loop; a provider's quota pause stops the whole queue through
 * `worker.rateLimit`, which every worker of the platform honours.
 */
export function createDeliveryWorker({ platform, provider, config, logger, events }: DeliveryWorkerDeps): DeliveryWorker {
  const redis: RedisClient = createRedis(config.REDIS_URL, 'worker');
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const prefix = config.REDIS_PREFIX;
  const limit = platform === 'ios' ? config.APNS_RATE_LIMIT_PER_MINUTE : config.FCM_RATE_LIMIT_PER_MINUTE;
  const ctx: DeliveryContext = {
    platform,
    provider,
    registry: new TokenRegistry(redis, prefix),
    jobs: new JobStore(redis, prefix, config.JOB_RETENTION_SECONDS),
    limiter: new RateLimiter(redis, prefix, `provider-${queueName[platform]}`, limit),
    batchSize: platform === 'ios' ? config.APNS_BATCH_SIZE : config.FCM_BATCH_SIZE,
    logger,
    ...(events && { events }),
  };

  const queueConnection = createRedis(config.REDIS_URL, 'worker', { enableAutoPipelining: false });
  const worker: Worker<ChunkJobData> = new Worker<ChunkJobData>(
    queueName[platform],
    async (job: Job<ChunkJobData>) => {
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      // A quota pause costs no attempt, but a chunk the provider throttles without end must still end.
      const mayPause = (job.data.pauses ?? 0) < MAX_PAUSES_PER_ATTEMPT * (job.attemptsMade + 1);
      let run;
      try {
        run = await deliverChunk(ctx, job.data, { lastAttempt, mayPause });
      } catch (error) {
        if (lastAttempt) await abandonChunk(ctx, job.data, (error as Error).message);
        throw error;
      }
      if (run.kind === 'done') return run.counts;
      const pauses = (job.data.pauses ?? 0) + (run.kind === 'pause' ? 1 : 0);
      const resolved = run.remaining.map(({ client, token }) => ({ client, token }));
      await job.updateData({ ...job.data, resolved, clientsWithTokens: run.clientsWithTokens, pauses });
      if (run.kind === 'pause') {
        await worker.rateLimit(run.pauseMs);
        throw Worker.RateLimitError();
      }
      throw new ChunkRetryError(`${run.remaining.length} tokens to retry: ${run.remaining[0]!.reason}`);
    },
    {
      connection: queueConnection,
      prefix: queuePrefix(prefix, platform),
      concurrency: config.WORKER_CONCURRENCY,
      // A crashed worker's chunk is picked up by another within about two stalled intervals.
      stalledInterval: config.STALLED_INTERVAL_MS,
      lockDuration: config.STALLED_INTERVAL_MS * 2,
      maxStalledCount: 5,
    },
  );
  worker.on('error', (err) => logger.error({ err: err.message }, 'worker error'));
  worker.on('failed', (job, err) => {
    if (job && !(err instanceof ChunkRetryError)) logger.error({ jobId: job.data.jobId, chunk: job.data.chunk, err: err.message }, 'chunk run failed');
  });

  return {
    worker,
    async close() {
      await worker.close();
      await provider.close();
      queueConnection.disconnect();
      redis.disconnect();
    },
  };
}
