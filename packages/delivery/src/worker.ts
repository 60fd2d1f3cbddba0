import { createHash } from 'node:crypto';
import { Backoffs, DelayedError, Worker, type Job, type MinimalJob } from 'bullmq';
import { priorities, type Platform, type Priority } from '@push/contract';
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
  highLaneReserve,
  laneQueueName,
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
  /** One BullMQ worker per lane, each on its own queue with its own concurrency. */
  workers: Record<Priority, Worker<ChunkJobData>>;
  /** Whether every Redis connection (stores and queues) is ready, for `push_redis_up`. */
  redisReady(): boolean;
  /** The apps (besides `default`) whose provider connections are open now. */
  openApps(): string[];
  /** Whether any app but `default` exists (the operators' pages then refuse its API keys). */
  otherAppsExist(): Promise<boolean>;
  /** Stops taking chunks, lets in-flight ones finish, then closes provider and Redis connections. */
  close(): Promise<void>;
}

/**
 * How long an app's chunk may wait for its own pause or breaker in a worker slot before it is handed back
 * (delayed until the wait ends): short waits are cheaper in the slot, long ones would starve other apps.
 */
const APP_HAND_BACK_MS = 1000;

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
 * The BullMQ workers of one platform, one per lane, running the delivery pipeline for every app: each
 * chunk runs in its app's context (its registry, jobs, provider, pause, breaker, guard and limits under the
 * app's key prefix; app-contexts.ts). `normal` chunks use WORKER_CONCURRENCY slots and `high` chunks
 * HIGH_WORKER_CONCURRENCY slots of their own, so a high chunk starts at once however busy the normal lane
 * is. At the provider's limits the high lane goes first: normal takes leave a reserve in the shared token
 * bucket, and a quota pause ends for high sooner. BullMQ's retries (exponential backoff with jitter) are
 * the only retry loop; a provider's quota pause is shared through Redis (ProviderPause), which every
 * worker honours before each send of that app.
 */
export function createDeliveryWorker({ platform, provider, appProvider, config, logger, events }: DeliveryWorkerDeps): DeliveryWorker {
  const prefix = config.REDIS_PREFIX;
  const limit = platform === 'ios' ? config.APNS_RATE_LIMIT_PER_MINUTE : config.FCM_RATE_LIMIT_PER_MINUTE;
  const stopping = new AbortController();
  const scope = deliveryScope(platform);
  const fingerprints = new WeakMap<PushProvider, Promise<string>>();
  /** Identifies where a provider sends (its describe()), so the guard never mixes two configurations. */
  const fingerprintOf = (sender: PushProvider): Promise<string> => {
    let fingerprint = fingerprints.get(sender);
    if (!fingerprint) {
      fingerprint = sender.describe().then(
        (target) => createHash('sha256').update(JSON.stringify(target)).digest('hex').slice(0, 16),
        () => 'unknown',
      );
      fingerprints.set(sender, fingerprint);
    }
    return fingerprint;
  };
  const concurrency: Record<Priority, number> = { high: config.HIGH_WORKER_CONCURRENCY, normal: config.WORKER_CONCURRENCY };
  const connections: RedisClient[] = [];
  // Each lane has its own store connection: a high chunk's few commands never queue behind the normal
  // lane's pipelined results of thousands of tokens.
  const stores = Object.fromEntries(
    priorities.map((lane) => {
      const redis: RedisClient = createRedis(config.REDIS_URL, 'worker', { cluster: config.REDIS_CLUSTER });
      redis.on('error', (err: Error) => logger.warn({ err: err.message, lane }, 'redis connection error'));
      connections.push(redis);
      return [lane, redis];
    }),
  ) as Record<Priority, RedisClient>;

  /** The delivery context of one app (undefined: `default`) in one lane, around the app's provider. */
  const contextFor = (lane: Priority, app: string | undefined, sender: PushProvider, tokensPerMinute?: number): DeliveryContext => {
    const redis = stores[lane];
    const own = appPrefix(prefix, app);
    const appEvents = app === undefined ? events : (events?.forApp?.(app) ?? events);
    return {
      platform,
      provider: sender,
      registry: new TokenRegistry(redis, own),
      jobs: new JobStore(redis, own, config.JOB_RETENTION_SECONDS),
      limiter: new RateLimiter(
        redis,
        own,
        `provider-${queueName[platform]}`,
        limit,
        60_000,
        lane === 'normal' ? highLaneReserve(limit) : 0,
      ),
      ...(tokensPerMinute !== undefined && { quota: new RateLimiter(redis, own, 'tokens', tokensPerMinute) }),
      pause: new ProviderPause(redis, own, queueName[platform], lane),
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
      fingerprint: fingerprintOf(sender),
      deliveryWindowMs: config.DELIVERY_WINDOW_SECONDS * 1000,
      batchSize: platform === 'ios' ? config.APNS_BATCH_SIZE : config.FCM_BATCH_SIZE,
      ...(app !== undefined && { handBackAfterMs: APP_HAND_BACK_MS }),
      logger: app === undefined ? logger : logger.child({ app }),
      stopping: stopping.signal,
      ...(appEvents && { events: appEvents }),
    };
  };
  const apps = new AppStore(stores.normal, prefix, config.secretsKey);
  const contexts = new AppContexts({
    platform,
    defaultContexts: Object.fromEntries(priorities.map((lane) => [lane, contextFor(lane, undefined, provider)])),
    apps,
    providerFor: appProvider ?? appProviderFactory(platform, config, logger),
    contextFor: (app, sender, settings, lane) => contextFor(lane as Priority, app, sender, settings.limits.tokensPerMinute),
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

  /** Runs `use` with the chunk's app context in `lane`; a deleted app's chunk is dropped (undefined). */
  const withApp = async <T>(lane: Priority, data: ChunkJobData, use: (ctx: DeliveryContext) => Promise<T>): Promise<T | undefined> => {
    const lease = await contexts.acquire(data.app, lane);
    if (!lease) {
      logger.info({ app: data.app, jobId: data.jobId, chunk: data.chunk }, 'app deleted: chunk dropped');
      return undefined;
    }
    try {
      return await use(lease.ctx);
    } finally {
      lease.release();
    }
  };

  const laneWorker = (lane: Priority): Worker<ChunkJobData> => {
    const connection = createRedis(config.REDIS_URL, 'worker', { cluster: config.REDIS_CLUSTER, enableAutoPipelining: false });
    connections.push(connection);
    const worker: Worker<ChunkJobData> = new Worker<ChunkJobData>(
      laneQueueName(platform, lane),
      async (job: Job<ChunkJobData>, token?: string) => (await withApp(lane, job.data, (ctx) => runChunk(ctx, job, token))) ?? {},
      {
        connection,
        prefix: queuePrefix(prefix, platform),
        concurrency: concurrency[lane],
        // A crashed worker's chunk is picked up by another within about two stalled intervals.
        stalledInterval: config.STALLED_INTERVAL_MS,
        lockDuration: config.STALLED_INTERVAL_MS * 2,
        maxStalledCount: 5,
        settings: { backoffStrategy: chunkBackoff },
      },
    );
    worker.on('error', (err) => logger.error({ err: err.message, lane }, 'worker error'));
    worker.on('failed', (job, err) => {
      // BullMQ fails a chunk that stalled too often without running it: its tokens still need a result.
      if (job && /stalled more than allowable limit/.test(err.message)) {
        void withApp(lane, job.data, (ctx) => abandonChunk(ctx, job.data, 'the chunk stalled too many times')).catch((e: Error) =>
          logger.error({ err: e.message }, 'abandon failed'),
        );
      }
      if (job && !(err instanceof ChunkRetryError))
        logger.error({ jobId: job.data.jobId, chunk: job.data.chunk, lane, err: err.message }, 'chunk run failed');
    });
    return worker;
  };
  const workers = Object.fromEntries(priorities.map((lane) => [lane, laneWorker(lane)])) as Record<Priority, Worker<ChunkJobData>>;

  return {
    workers,
    redisReady: () => connections.every((c) => c.status === 'ready'),
    openApps: () => contexts.openApps(),
    otherAppsExist: () => apps.any(),
    async close() {
      stopping.abort();
      await Promise.all(Object.values(workers).map((w) => w.close()));
      await Promise.all([provider.close(), contexts.close()]);
      for (const connection of connections) connection.disconnect();
    },
  };
}
