import express, { type Express } from 'express';
import { failure, ok } from '@push/contract';
import { enabledPlatforms, type ApiConfig, type Logger } from '@push/config';
import { createMetricsRegistry, httpMetrics, queueDepthMetric, redisUpMetric, scheduledJobsMetric, type Registry } from '@push/metrics';
import {
  JobStore,
  RateLimiter,
  TokenRegistry,
  listQueues,
  queueDepth,
  systemClock,
  type Clock,
  type LaneQueues,
  type RedisClient,
} from '@push/store';
import { adminRoutes } from './admin';
import { requireApiKey } from './auth';
import { errorHandler, methodNotAllowed, notFound } from './errors';
import { metricsRoute, requestMetrics } from './metrics';
import { rateLimitPerKey } from './rate-limit';
import { verifyUtf8Body } from './validation';
import { jobRoutes } from './routes/jobs';
import { pushRoutes } from './routes/push';
import { tokenRoutes } from './routes/tokens';

export interface ApiDeps {
  config: ApiConfig;
  logger: Logger;
  /** The API's own connection (fail-fast). */
  redis: RedisClient;
  queues: LaneQueues;
  /**
   * The process's metrics registry, served at `GET /metrics`; `index.ts` passes one with the default
   * process metrics. @defaultValue a new registry with the API's own metrics only
   */
  metrics?: Registry;
  /** The clock `sendAt` and `localTime` are read against (tests). @defaultValue systemClock */
  clock?: Clock;
}

/** Room for PUSH_MAX_CLIENTS ids of typical length, plus the payload. */
export function bodyLimitBytes(maxClients: number): number {
  return maxClients * 64 + 64 * 1024;
}

/** The API as an Express app; `index.ts` only wires the process around it. */
export function createServer(deps: ApiDeps): Express {
  const { config, logger, redis, queues, metrics = createMetricsRegistry({ defaultMetrics: false }), clock = systemClock } = deps;
  const prefix = config.REDIS_PREFIX;
  const jobs = new JobStore(redis, prefix, config.JOB_RETENTION_SECONDS);
  const registry = new TokenRegistry(redis, prefix);
  const platforms = enabledPlatforms(config);
  const limiters = config.apiKeys.map((_, i) => new RateLimiter(redis, prefix, `api-key-${i}`, config.API_RATE_LIMIT_PER_MINUTE));

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  // Before everything else: every answer is counted, `/metrics` and the dashboards included.
  queueDepthMetric(
    metrics,
    listQueues(queues).map(({ lane, queue }) => ({ queue: queue.name, lane, depth: () => queueDepth(queue) })),
  );
  scheduledJobsMetric(metrics, () => jobs.scheduledWaiting(clock.now()));
  redisUpMetric(metrics, () => redis.status === 'ready');
  app.use(requestMetrics(httpMetrics(metrics)));
  app.get('/metrics', metricsRoute(metrics, config.metricsTokens));
  app.all('/metrics', methodNotAllowed(['GET']));

  app.get('/healthz', (_req, res) => {
    res.json(ok({ status: 'ok' }));
  });
  app.get('/readyz', async (_req, res) => {
    const ready =
      redis.status === 'ready' &&
      (await redis.ping().then(
        () => true,
        () => false,
      ));
    if (ready) res.json(ok({ redis: 'ready' }));
    else res.status(503).json(failure(503, 'REDIS_UNAVAILABLE', 'Redis does not answer'));
  });

  const push = express.Router();
  push.use(requireApiKey(config.apiKeys));
  push.use(rateLimitPerKey((i) => limiters[i]!));
  push.use(express.json({ limit: bodyLimitBytes(config.PUSH_MAX_CLIENTS), strict: true, verify: verifyUtf8Body }));
  push.use(
    pushRoutes({
      redis,
      prefix,
      jobs,
      queues,
      platforms,
      maxClients: config.PUSH_MAX_CLIENTS,
      chunkClients: config.PUSH_CHUNK_CLIENTS,
      highMaxClients: config.PRIORITY_HIGH_MAX_CLIENTS,
      attempts: config.DELIVERY_ATTEMPTS,
      retryBaseDelayMs: config.RETRY_BASE_DELAY_MS,
      clock,
    }),
  );
  const cancel = { jobs, queues: listQueues(queues).map(({ queue }) => queue) };
  push.use(tokenRoutes(registry, { web: platforms.includes('web'), allowedEndpoints: config.WEBPUSH_ALLOWED_ENDPOINTS }));
  push.use(jobRoutes(jobs, cancel));
  app.use('/push', push);
  app.use('/admin', adminRoutes({ jobs, queues, passwords: config.adminPasswords, cancel }));

  app.use(notFound);
  app.use(errorHandler(logger, () => redis.status === 'ready'));
  return app;
}
