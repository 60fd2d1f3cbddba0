import express, { type Express } from 'express';
import type { Queue } from 'bullmq';
import { failure, ok, type Platform } from '@push/contract';
import type { Config, Logger } from '@push/config';
import { JobStore, RateLimiter, TokenRegistry, type ChunkJobData, type RedisClient } from '@push/store';
import { requireApiKey } from './auth';
import { errorHandler, methodNotAllowed, notFound } from './errors';
import { rateLimitPerKey } from './rate-limit';
import { jobRoutes } from './routes/jobs';
import { pushRoutes } from './routes/push';
import { tokenRoutes } from './routes/tokens';

export interface ApiDeps {
  config: Config;
  logger: Logger;
  /** The API's own connection (fail-fast). */
  redis: RedisClient;
  queues: Record<Platform, Queue<ChunkJobData>>;
}

/** Room for PUSH_MAX_CLIENTS ids of typical length, plus the payload. */
export function bodyLimitBytes(maxClients: number): number {
  return maxClients * 64 + 64 * 1024;
}

/** The API as an Express app; `index.ts` only wires the process around it. */
export function createServer({ config, logger, redis, queues }: ApiDeps): Express {
  const prefix = config.REDIS_PREFIX;
  const jobs = new JobStore(redis, prefix, config.JOB_RETENTION_SECONDS);
  const registry = new TokenRegistry(redis, prefix);
  const limiters = config.apiKeys.map(
    (_, i) => new RateLimiter(redis, prefix, `api-key-${i}`, config.API_RATE_LIMIT_PER_MINUTE),
  );

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.get('/healthz', (_req, res) => {
    res.json(ok({ status: 'ok' }));
  });
  app.get('/readyz', async (_req, res) => {
    const ready = redis.status === 'ready' && (await redis.ping().then(() => true, () => false));
    if (ready) res.json(ok({ redis: 'ready' }));
    else res.status(503).json(failure(503, 'REDIS_UNAVAILABLE', 'Redis does not answer'));
  });

  const push = express.Router();
  push.use(requireApiKey(config.apiKeys));
  push.use(rateLimitPerKey((i) => limiters[i]!));
  push.use(express.json({ limit: bodyLimitBytes(config.PUSH_MAX_CLIENTS), strict: true }));
  push.use(
    pushRoutes({
      redis,
      prefix,
      jobs,
      queues,
      maxClients: config.PUSH_MAX_CLIENTS,
      chunkClients: config.PUSH_CHUNK_CLIENTS,
      attempts: config.DELIVERY_ATTEMPTS,
      retryBaseDelayMs: config.RETRY_BASE_DELAY_MS,
    }),
  );
  push.use(tokenRoutes(registry));
  push.use(jobRoutes(jobs));
  push.all('/push2clients', methodNotAllowed(['POST']));
  push.all('/tokens', methodNotAllowed(['POST', 'DELETE']));
  app.use('/push', push);

  app.use(notFound);
  app.use(errorHandler(logger, () => redis.status === 'ready'));
  return app;
}
