import { createHash } from 'node:crypto';
import { Backoffs, DelayedError, Worker, type Job, type MinimalJob } from 'bullmq';
import { priorities, type Platform, type Priority } from '@push/contract';
import type { Logger, Secrets, WorkerEnv } from '@push/config';
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
  type Clock,
  type JobPlan,
  type RedisClient,
} from '@push/store';
import { AppContexts } from './app-contexts';
import { unavailableProvider, type AppProviderFactory } from './app-providers';
import { JobShare } from './job-share';
import { HighLaneGate } from './lane-gate';
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
  /** Chunk jobs of each lane handled at once (`high` on top of `normal`). */
  concurrency: Record<Priority, number>;
  /** How often to look for chunks of a crashed worker; a chunk's lock lasts twice this. */
  stalledIntervalMs: number;
  /** Timeout of one provider request (a breaker probe's lease is twice this). */
  providerTimeoutMs: number;
  /** How long a token may wait for an unavailable provider, from when it was due (creation, `sendAt`, local time). */
  deliveryWindowMs: number;
  /** The zone of clients that registered none, for `localTime` jobs (DEFAULT_TIMEZONE). */
  defaultTimeZone: string;
  /** The provider-wide breaker: failures in a row that open it, and how long it stays open. */
  breaker: { failures: number; baseDelayMs: number; maxDelayMs: number };
  /** The guard against mass invalidation (DEAD_TOKEN_GUARD_*). */
  deadTokenGuard: { window: number; share: number; minAnswers: number; waitMs: number; pauseMs: number };
  /** Tokens handed to the provider at once. */
  batchSize: number;
  /** Proactive provider limit shared by every worker of the platform (per app), per minute (0: none). */
  rateLimitPerMinute: number;
  /** The other apps' providers: how often their records are checked, closed after idle, how many open at once. */
  apps: { refreshMs: number; idleMs: number; maxOpen: number; secretsKey?: Buffer };
}

/** The settings every worker app reads the same way; the provider's own (batch size, limit) come on top. */
export function workerSettings(env: WorkerEnv & Pick<Secrets, 'secretsKey'>): Omit<DeliverySettings, 'batchSize' | 'rateLimitPerMinute'> {
  return {
    redisUrl: env.REDIS_URL,
    redisCluster: env.REDIS_CLUSTER,
    redisPrefix: env.REDIS_PREFIX,
    retentionSeconds: env.JOB_RETENTION_SECONDS,
    concurrency: { high: env.HIGH_WORKER_CONCURRENCY, normal: env.WORKER_CONCURRENCY },
    stalledIntervalMs: env.STALLED_INTERVAL_MS,
    providerTimeoutMs: env.PROVIDER_TIMEOUT_MS,
    deliveryWindowMs: env.DELIVERY_WINDOW_SECONDS * 1000,
    defaultTimeZone: env.DEFAULT_TIMEZONE,
    breaker: { failures: env.BREAKER_FAILURES, baseDelayMs: env.BREAKER_BASE_DELAY_MS, maxDelayMs: env.BREAKER_MAX_DELAY_MS },
    deadTokenGuard: {
      window: env.DEAD_TOKEN_GUARD_WINDOW,
      share: env.DEAD_TOKEN_GUARD_SHARE,
      minAnswers: env.DEAD_TOKEN_GUARD_MIN_ANSWERS,
      waitMs: env.DEAD_TOKEN_GUARD_WAIT_MS,
      pauseMs: env.DEAD_TOKEN_GUARD_PAUSE_SECONDS * 1000,
    },
    apps: {
      refreshMs: env.APP_REFRESH_MS,
      idleMs: env.APP_IDLE_MS,
      maxOpen: env.APP_MAX_OPEN,
      ...(env.secretsKey && { secretsKey: env.secretsKey }),
    },
  };
}

export interface DeliveryWorkerDeps {
  platform: Platform;
  /** The `default` app's provider (from the environment). */
  provider: PushProvider;
  /** Builds the other apps' providers (app-providers.ts). @defaultValue none: their tokens fail, saying so */
  appProvider?: AppProviderFactory;
  settings: DeliverySettings;
  logger: Logger;
  /** Observers (metrics); `forApp` gives an app's own (its `app` label), else these count for every app. */
  events?: DeliveryEvents & { forApp?(app: string): DeliveryEvents };
  /** The clock of scheduling decisions (tests). @defaultValue systemClock */
  clock?: Clock;
}

/**
 * How long an app's chunk may wait for its own pause or breaker in a worker slot before it is handed back
 * (delayed until the wait ends): short waits are cheaper in the slot, long ones would starve other apps.
 */
const APP_HAND_BACK_MS = 1000;

/**
 * The message BullMQ fails a chunk with when it stalled more than `maxStalledCount` times (its
 * moveStalledJobsToWait script). The worker recognises such a failure only by this text, so a test runs
 * BullMQ into it and fails if the text changes.
 */
export const STALLED_TOO_OFTEN = /stalled more than allowable limit/;

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
 * is, and normal chunks start no new send group while it runs (HighLaneGate). At the provider's limits the high lane goes first: normal takes leave a reserve in the shared token
 * bucket, and a quota pause ends for high sooner. BullMQ's retries (exponential backoff with jitter) are
 * the only retry loop; a provider's quota pause is shared through Redis (ProviderPause), which every
 * worker honours before each send of that app.
 */
export function createDeliveryWorker({
  platform,
  provider,
  appProvider,
  settings,
  logger,
  events,
  clock,
}: DeliveryWorkerDeps): DeliveryWorker {
  const prefix = settings.redisPrefix;
  const limit = settings.rateLimitPerMinute;
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
  const gate = new HighLaneGate();
  // Keyed by job id alone, as jobsSeen below: the API makes every job id a fresh UUID, whatever the app.
  const share = new JobShare();
  const connections: RedisClient[] = [];
  // One cache for both lanes and every app: a job's payload is read once per worker process (job ids are unique).
  const jobsSeen = new Map<string, JobPlan>();
  // Each lane has its own store connection: a high chunk's few commands never queue behind the normal
  // lane's pipelined results of thousands of tokens.
  const stores = Object.fromEntries(
    priorities.map((lane) => {
      const redis: RedisClient = createRedis(settings.redisUrl, 'worker', { cluster: settings.redisCluster });
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
      jobs: new JobStore(redis, own, settings.retentionSeconds),
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
        ...settings.breaker,
        // A probe is one request: it has its answer within the provider timeout.
        probeLeaseMs: settings.providerTimeoutMs * 2,
      }),
      guard: new DeadTokenGuard(redis, own, scope, {
        window: settings.deadTokenGuard.window,
        share: settings.deadTokenGuard.share,
        waitMs: settings.deadTokenGuard.waitMs,
      }),
      guardPolicy: {
        share: settings.deadTokenGuard.share,
        minAnswers: settings.deadTokenGuard.minAnswers,
        pauseMs: settings.deadTokenGuard.pauseMs,
      },
      fingerprint: fingerprintOf(sender),
      deliveryWindowMs: settings.deliveryWindowMs,
      batchSize: settings.batchSize,
      ...(app !== undefined && { handBackAfterMs: APP_HAND_BACK_MS }),
      jobsSeen,
      defaultTimeZone: settings.defaultTimeZone,
      ...(clock && { clock }),
      lane,
      logger: app === undefined ? logger : logger.child({ app }),
      stopping: stopping.signal,
      ...(lane === 'normal' && {
        beforeSend: async (jobId: string, throttled: boolean) => {
          await gate.normal(stopping.signal);
          await share.turn(jobId, throttled, stopping.signal);
        },
      }),
      ...(appEvents && { events: appEvents }),
    };
  };
  const apps = new AppStore(stores.normal, prefix, settings.apps.secretsKey);
  const contexts = new AppContexts({
    platform,
    defaultContexts: Object.fromEntries(priorities.map((lane) => [lane, contextFor(lane, undefined, provider)])),
    apps,
    providerFor: appProvider ?? (() => unavailableProvider(platform, 'this worker was started without app support (no appProvider)')),
    contextFor: (app, sender, appSettings, lane) => contextFor(lane as Priority, app, sender, appSettings.limits.tokensPerMinute),
    refreshMs: settings.apps.refreshMs,
    idleMs: settings.apps.idleMs,
    maxOpen: settings.apps.maxOpen,
    logger,
  });

  /** One run of a chunk in its app's context; throws to hand it back to BullMQ (retry or delay). */
  const runChunk = async (
    lane: Priority,
    ctx: DeliveryContext,
    job: Job<ChunkJobData>,
    token?: string,
  ): Promise<Record<string, number>> => {
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    let run;
    try {
      const deliver = () => deliverChunk(ctx, job.data, lastAttempt);
      run = await (lane === 'high' ? gate.high(deliver) : share.run(job.data.jobId, deliver));
    } catch (error) {
      if (lastAttempt) await abandonChunk(ctx, job.data, (error as Error).message);
      throw error;
    }
    if (run.kind === 'done') return run.counts;
    const resolved = run.remaining.map(resolvedOnly);
    const reserved = run.kind === 'later' ? run.reserved : undefined;
    await job.updateData({ ...job.data, resolved, clientsWithTokens: run.clientsWithTokens, reserved });
    if (run.kind === 'later') {
      // Back to the queue until then, without using up an attempt (BullMQ's DelayedError).
      await job.moveToDelayed(run.resumeAt, token);
      throw new DelayedError();
    }
    throw new ChunkRetryError(`${run.remaining.length} tokens to retry: ${run.reason}`, run.retryAfterMs);
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
    const connection = createRedis(settings.redisUrl, 'worker', { cluster: settings.redisCluster, enableAutoPipelining: false });
    connections.push(connection);
    const worker: Worker<ChunkJobData> = new Worker<ChunkJobData>(
      laneQueueName(platform, lane),
      async (job: Job<ChunkJobData>, token?: string) => (await withApp(lane, job.data, (ctx) => runChunk(lane, ctx, job, token))) ?? {},
      {
        connection,
        prefix: queuePrefix(prefix, platform),
        concurrency: settings.concurrency[lane],
        // A crashed worker's chunk is picked up by another within about two stalled intervals.
        stalledInterval: settings.stalledIntervalMs,
        lockDuration: settings.stalledIntervalMs * 2,
        maxStalledCount: 5,
        settings: { backoffStrategy: chunkBackoff },
      },
    );
    worker.on('error', (err) => logger.error({ err: err.message, lane }, 'worker error'));
    worker.on('failed', (job, err) => {
      // BullMQ fails a chunk that stalled too often without running it: its tokens still need a result.
      if (job && STALLED_TOO_OFTEN.test(err.message)) {
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
