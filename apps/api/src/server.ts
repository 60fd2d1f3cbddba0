import express, { type Express } from 'express';
import { DEFAULT_APP, failure, ok } from '@push/contract';
import { enabledPlatforms, operatorSecrets, type ApiConfig, type Logger } from '@push/config';
import {
  createMetricsRegistry,
  httpMetrics,
  pushMetrics,
  queueDepthMetric,
  redisUpMetric,
  scheduledJobsMetric,
  type Registry,
} from '@push/metrics';
import {
  appPrefix,
  AppStore,
  JobStore,
  RateLimiter,
  listQueues,
  queueDepth,
  storeScripts,
  systemClock,
  type Clock,
  type LaneQueues,
  type RedisClient,
} from '@push/store';
import { adminRoutes } from './admin';
import { appsApi } from './admin/apps-api';
import { appStores } from './app-stores';
import { requireApiKey } from './auth';
import { errorHandler, methodNotAllowed, notFound } from './errors';
import { metricsRoute, requestMetrics } from './metrics';
import { openApiDocument } from './openapi';
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
  // The scripts are defined on the connection now, before any auto-pipeline exists: ioredis copies the
  // defined commands into a pipeline when it makes one, so a script defined later is missing from it.
  storeScripts(redis);
  const apps = new AppStore(redis, prefix, config.secretsKey);
  const jobsOf = (id: string) => new JobStore(redis, appPrefix(prefix, id), config.JOB_RETENTION_SECONDS);
  const storesOf = appStores(redis, prefix, config.JOB_RETENTION_SECONDS);
  const platforms = enabledPlatforms(config);
  const limiters = config.apiKeys.map((_, i) => new RateLimiter(redis, prefix, `api-key-${i}`, config.API_RATE_LIMIT_PER_MINUTE));
  const operator = (page: 'metrics' | 'dashboards') => async () => operatorSecrets(config, page, await apps.any());

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  // Before everything else: every answer is counted, `/metrics` and the dashboards included.
  queueDepthMetric(
    metrics,
    listQueues(queues).map(({ lane, queue }) => ({ queue: queue.name, lane, depth: () => queueDepth(queue) })),
  );
  scheduledJobsMetric(metrics, async () => {
    const counts = await Promise.all([DEFAULT_APP, ...(await apps.ids())].map((id) => jobsOf(id).scheduledWaiting(clock.now())));
    return counts.reduce((sum, n) => sum + n, 0);
  });
  redisUpMetric(metrics, () => redis.status === 'ready');
  app.use(requestMetrics(httpMetrics(metrics)));
  app.get('/metrics', metricsRoute(metrics, operator('metrics')));
  app.all('/metrics', methodNotAllowed(['GET']));

  const openApi = openApiDocument(config.PUSH_MAX_CLIENTS);
  app.get('/openapi.json', (_req, res) => {
    res.json(openApi);
  });
  app.all('/openapi.json', methodNotAllowed(['GET']));

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
  push.use(requireApiKey(config.apiKeys, apps));
  push.use(
    rateLimitPerKey((key) =>
      key.id === DEFAULT_APP
        ? limiters[Number(key.key)]!
        : new RateLimiter(redis, appPrefix(prefix, key.id), 'requests', key.limits.requestsPerMinute ?? config.API_RATE_LIMIT_PER_MINUTE),
    ),
  );
  push.use(express.json({ limit: bodyLimitBytes(config.PUSH_MAX_CLIENTS), strict: true, verify: verifyUtf8Body }));
  push.use(
    pushRoutes(
      {
        redis,
        queues,
        platforms,
        maxClients: config.PUSH_MAX_CLIENTS,
        chunkClients: config.PUSH_CHUNK_CLIENTS,
        highMaxClients: config.PRIORITY_HIGH_MAX_CLIENTS,
        attempts: config.DELIVERY_ATTEMPTS,
        retryBaseDelayMs: config.RETRY_BASE_DELAY_MS,
        clock,
        pushes: pushMetrics(metrics),
      },
      storesOf,
    ),
  );
  push.use(
    tokenRoutes((res) => storesOf(res).registry, { web: platforms.includes('web'), allowedEndpoints: config.WEBPUSH_ALLOWED_ENDPOINTS }),
  );
  const cancelQueues = listQueues(queues).map(({ queue }) => queue);
  push.use(jobRoutes((res) => storesOf(res).jobs, cancelQueues));
  app.use('/push', push);
  app.use('/admin', appsApi(apps, config.adminTokens));
  app.use('/admin', adminRoutes({ jobsOf, apps, queues, passwords: operator('dashboards'), cancelQueues }));

  app.use(notFound);
  app.use(errorHandler(logger, () => redis.status === 'ready'));
  return app;
}
