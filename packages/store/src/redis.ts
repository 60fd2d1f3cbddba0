import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/** A connection to one Redis server or to a Redis Cluster; the stores and queues take either. */
export type RedisClient = Redis | Cluster;

/**
 * `worker` connections wait for Redis forever (BullMQ's production guide: `maxRetriesPerRequest: null`);
 * `producer` connections fail fast so the API can answer 503 instead of hanging while Redis is away.
 */
export type RedisRole = 'worker' | 'producer';

export interface CreateRedisOptions extends RedisOptions {
  /**
   * Treat `url` as one seed node of a Redis Cluster and return an ioredis `Cluster` (REDIS_CLUSTER).
   * @defaultValue false
   */
  cluster?: boolean;
}

const retryStrategy = (attempt: number) => Math.min(attempt * 200, 2000);

function roleOptions(role: RedisRole): RedisOptions {
  return role === 'worker' ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 5000 };
}

/** A connection for `role`: a single server's, or with `cluster: true` a Redis Cluster's. */
export function createRedis(url: string, role: RedisRole, options?: CreateRedisOptions & { cluster?: false }): Redis;
export function createRedis(url: string, role: RedisRole, options?: CreateRedisOptions): RedisClient;
export function createRedis(url: string, role: RedisRole, { cluster = false, ...options }: CreateRedisOptions = {}): RedisClient {
  if (cluster) return createCluster(url, role, options);
  return new Redis(url, {
    ...roleOptions(role),
    // Batches concurrent commands into one round trip: thousands of per-client look-ups cost a few RTTs.
    enableAutoPipelining: true,
    retryStrategy,
    ...options,
  });
}

/**
 * An ioredis Cluster seeded from one node's URL (user, password and `rediss:` TLS come from it). Each
 * node connection gets the role's options; auto-pipelining batches per node, as on a single server.
 */
function createCluster(url: string, role: RedisRole, options: RedisOptions): Cluster {
  const seed = new URL(url);
  const { enableOfflineQueue, enableAutoPipelining, ...redisOptions } = { ...roleOptions(role), ...options };
  const clusterOptions: ClusterOptions = {
    enableAutoPipelining: enableAutoPipelining ?? true,
    enableOfflineQueue: enableOfflineQueue ?? true,
    clusterRetryStrategy: retryStrategy,
    redisOptions: {
      ...redisOptions,
      ...(seed.username && { username: decodeURIComponent(seed.username) }),
      ...(seed.password && { password: decodeURIComponent(seed.password) }),
      ...(seed.protocol === 'rediss:' && { tls: {} }),
    },
  };
  return new Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }], clusterOptions);
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
