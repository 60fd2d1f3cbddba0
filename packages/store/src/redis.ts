import { Redis, type RedisOptions } from 'ioredis';

export type RedisClient = Redis;

/**
 * `worker` connections wait for Redis forever (BullMQ's production guide: `maxRetriesPerRequest: null`);
 * `producer` connections fail fast so the API can answer 503 instead of hanging while Redis is away.
 */
export type RedisRole = 'worker' | 'producer';

export function createRedis(url: string, role: RedisRole, options: RedisOptions = {}): RedisClient {
  return new Redis(url, {
    ...(role === 'worker'
      ? { maxRetriesPerRequest: null }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 5000 }),
    // Batches concurrent commands into one round trip: thousands of per-client look-ups cost a few RTTs.
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    ...options,
  });
}

/** Resolves once the connection is ready (or rejects after `timeoutMs`). */
export async function waitForReady(redis: RedisClient, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}
