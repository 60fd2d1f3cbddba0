import { createHash } from 'node:crypto';
import { Backoffs, DelayedError, Worker, type Job, type MinimalJob } from 'bullmq';
import type { Platform } from '@push/contract';
import type { Config, Logger } from '@push/config';
import type { PushProvider } from '@push/providers';
import {
  AppStore,
  CHUNK_BACKOFF,
  DeadTokenGuard,
  JobStore,
  ProviderBreaker,
  ProviderPause,
  RateLimiter,
  TokenRegistry,
  appPrefix,
  createRedis,
  deliveryScope,
  queueName,
  queuePrefix,
  type ChunkJobData,
  type RedisClient,
} from '@push/store';
import { AppContexts } from './app-contexts';
import { appProviderFactory, type AppProviderFactory } from './app-providers';
import { resolvedOnly } from './outcomes';
import { abandonChunk, deliverChunk, type DeliveryContext, type DeliveryEvents } from './pipeline';

export interface DeliveryWorkerDeps {
  platform: Platform;
  /** The `default` app's provider (from the environment). */
  provider: PushProvider;
  /** Builds the other apps' providers. @defaultValue appProviderFactory(platform, config, logger) */
  appProvider?: AppProviderFactory;
  config: Config;
  logger: Logger;
  /** Observers (metrics); `forApp` gives an app's own (its `app` label), else these count for every app. */
  events?: DeliveryEvents & { forApp?(app: string): DeliveryEvents };
}

export interface DeliveryWorker {
  worker: Worker<ChunkJobData>;
  /** Whether both Redis connections (stores and queue) are ready, for `push_redis_up`. */
  redisReady(): boolean;
  /** The apps (besides `default`) whose provider connections are open now. */
  openApps(): string[];
  /** Whether any app but `default` exists (the operators' pages then refuse its API keys). */
  otherAppsExist(): Promise<boolean>;
  /** Stops taking chunks, lets in-flight ones finish, then closes provider and Redis connections. */
  close(): Promise<void>;
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
 * A BullMQ worker on one platform queue running the delivery pipeline for every app: each chunk runs in
 * its app's context (its registry, jobs, provider, pause, breaker, guard and limits under the app's key
 * prefix; app-contexts.ts). BullMQ's retries (exponential backoff with jitter) are the only retry loop; a
 * provider's quota pause is shared through Redis (ProviderPause), which every worker honours before each
 * send of that app.
 */
export function createDeliveryWorker({ platform, provider, appProvider, config, logger, events }: DeliveryWorkerDeps): DeliveryWorker {
  const redis: RedisClient = createRedis(config.REDIS_URL, 'worker', { cluster: config.REDIS_CLUSTER });
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  const prefix = config.REDIS_PREFIX;
  const limit = platform === 'ios' ? config.APNS_RATE_LIMIT_PER_MINUTE : config.FCM_RATE_LIMIT_PER_MINUTE;
  const stopping = new AbortController();
  const scope = deliveryScope(platform);
  const contextFor = (app: string | undefined, appProvider: PushProvider, tokensPerMinute?: number): DeliveryContext => {
    const own = appPrefix(prefix, app);
    const appEvents = app === undefined ? events : (events?.forApp?.(app) ?? events);
    return {
      platform,
      provider: appProvider,
      registry: new TokenRegistry(redis, own),
      jobs: new JobStore(redis, own, config.JOB_RETENTION_SECONDS),
      limiter: new RateLimiter(redis, own, `provider-${queueName[platform]}`, limit),
      ...(tokensPerMinute !== undefined && { quota: new RateLimiter(redis, own, 'tokens', tokensPerMinute) }),
      pause: new ProviderPause(redis, own, queueName[platform]),
      breaker: new ProviderBreaker(redis, own, scope, {
        failures: config.BREAKER_FAILURES,
        baseDelayMs: config.BREAKER_BASE_DELAY_MS,
        maxDelayMs: config.BREAKER_MAX_DELAY_MS,
        // A probe is one request: it has its answer within the provider timeout.
        probeLeaseMs: config.PROVIDER_TIMEOUT_MS * 2,
      }),
      guard: new DeadTokenGuard(redis, own, scope, {
        window: config.DEAD_TOKEN_GUARD_WINDOW,
        share: config.DEAD_TOKEN_GUARD_SHARE,
        waitMs: config.DEAD_TOKEN_GUARD_WAIT_MS,
      }),
      guardPolicy: {
        share: config.DEAD_TOKEN_GUARD_SHARE,
        minAnswers: config.DEAD_TOKEN_GUARD_MIN_ANSWERS,
        pauseMs: config.DEAD_TOKEN_GUARD_PAUSE_SECONDS * 1000,
      },
      fingerprint: appProvider.describe().then(
        (target) => createHash('sha256').update(JSON.stringify(target)).digest('hex').slice(0, 16),
        () => 'unknown',
      ),
      deliveryWindowMs: config.DELIVERY_WINDOW_SECONDS * 1000,
      batchSize: platform === 'ios' ? config.APNS_BATCH_SIZE : config.FCM_BATCH_SIZE,
      logger: app === undefined ? logger : logger.child({ app }),
      stopping: stopping.signal,
      ...(appEvents && { events: appEvents }),
    };
  };
  const apps = new AppStore(redis, prefix, config.secretsKey);
  const contexts = new AppContexts({
    defaultContext: contextFor(undefined, provider),
    apps,
    providerFor: appProvider ?? appProviderFactory(platform, config, logger),
    contextFor: (app, built, settings) => contextFor(app, built, settings.limits.tokensPerMinute),
    refreshMs: config.APP_REFRESH_MS,
    idleMs: config.APP_IDLE_MS,
    maxOpen: config.APP_MAX_OPEN,
    logger,
  });

  /** One run of a chunk in its app's context; throws to hand it back to BullMQ (retry or delay). */
  const runChunk = async (ctx: DeliveryContext, job: Job<ChunkJobData>, token?: string): Promise<Record<string, number>> => {
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
  };

  const queueConnection = createRedis(config.REDIS_URL, 'worker', { cluster: config.REDIS_CLUSTER, enableAutoPipelining: false });
  const worker: Worker<ChunkJobData> = new Worker<ChunkJobData>(
    queueName[platform],
    async (job: Job<ChunkJobData>, token?: string) => {
      const lease = await contexts.acquire(job.data.app);
      if (!lease) {
        logger.info({ app: job.data.app, jobId: job.data.jobId, chunk: job.data.chunk }, 'app deleted: chunk dropped');
        return {};
      }
      try {
        return await runChunk(lease.ctx, job, token);
      } finally {
        lease.release();
      }
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
      const abandon = async () => {
        const lease = await contexts.acquire(job.data.app);
        if (!lease) return;
        try {
          await abandonChunk(lease.ctx, job.data, 'the chunk stalled too many times');
        } finally {
          lease.release();
        }
      };
      void abandon().catch((e: Error) => logger.error({ err: e.message }, 'abandon failed'));
    }
    if (job && !(err instanceof ChunkRetryError))
      logger.error({ jobId: job.data.jobId, chunk: job.data.chunk, err: err.message }, 'chunk run failed');
  });

  return {
    worker,
    redisReady: () => redis.status === 'ready' && queueConnection.status === 'ready',
    openApps: () => contexts.openApps(),
    otherAppsExist: () => apps.any(),
    async close() {
      stopping.abort();
      await worker.close();
      await Promise.all([provider.close(), contexts.close()]);
      queueConnection.disconnect();
      redis.disconnect();
    },
  };
}
