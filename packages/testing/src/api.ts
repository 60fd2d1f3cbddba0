import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createLogger, loadApiConfig, type ApiConfig } from '@push/config';
import { DEFAULT_APP, platforms, type Platform } from '@push/contract';
import {
  appPrefix,
  createLaneQueues,
  createRedis,
  listQueues,
  TokenRegistry,
  waitForReady,
  type Clock,
  type LaneQueues,
  type RedisClient,
} from '@push/store';
import { createServer } from '@push/api/server';
import { fetchJson, JSON_CONTENT_TYPE, type HttpAnswer } from './http';
import { deleteKeys, testRedisUrl, uniquePrefix } from './redis';

export const TEST_API_KEY = 'test-key-0123456789abcdef';

export interface TestApi {
  url: string;
  apiKey: string;
  prefix: string;
  /** The environment the API's config was parsed from (workers of the same stack start from it). */
  env: Record<string, string>;
  config: ApiConfig;
  redis: RedisClient;
  /** Every platform's queue of every lane (`queues.ios.normal`). */
  queues: LaneQueues;
  /** fetch() against the API with the API key and JSON content type already set. */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpAnswer>;
  close(): Promise<void>;
}

/**
 * Starts the real API on a free port with its own Redis key prefix; `close()` deletes its keys. `clock`:
 * the time it reads `sendAt` and `localTime` against (default: the system's).
 */
export async function startTestApi(name: string, env: Record<string, string> = {}, clock?: Clock): Promise<TestApi> {
  const prefix = uniquePrefix(name);
  const rawEnv = {
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: prefix,
    IM_API_KEY: TEST_API_KEY,
    API_RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: 'silent',
    ...env,
  };
  const config = loadApiConfig(rawEnv);
  const redis = createRedis(config.REDIS_URL, 'producer');
  // Connection errors while a test stops Redis are expected: the API answers 503 for them.
  redis.on('error', () => undefined);
  await waitForReady(redis);
  const queues = createLaneQueues(() => {
    const connection = createRedis(config.REDIS_URL, 'producer');
    connection.on('error', () => undefined);
    return connection;
  }, prefix);
  for (const { queue } of listQueues(queues)) queue.on('error', () => undefined);
  const app = createServer({ config, logger: createLogger('api', 'silent'), redis, queues, ...(clock && { clock }) });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    apiKey: TEST_API_KEY,
    prefix,
    env: rawEnv,
    config,
    redis,
    queues,
    request: (method, path, body, headers = {}) =>
      // A minute: a test's deadline, not the helper's (a million-client request takes seconds under load).
      fetchJson(url + path, method, body, { 'IM-API-KEY': TEST_API_KEY, 'Content-Type': JSON_CONTENT_TYPE, ...headers }, 60_000),
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await Promise.all(
        listQueues(queues).map(async ({ queue }) => {
          const client = await queue.client;
          await queue.close();
          client.disconnect();
        }),
      );
      await deleteKeys(redis, prefix);
      redis.disconnect();
    },
  };
}

/**
 * Registers a device for each of `clients` on each of `on` (straight into the registry of `app`), so that a
 * small push to them is queued there: the API queues one only where a client has a device.
 */
export async function registerDevices(
  api: TestApi,
  clients: readonly string[],
  on: readonly Platform[] = platforms,
  app: string = DEFAULT_APP,
): Promise<void> {
  const registry = new TokenRegistry(api.redis, appPrefix(api.prefix, app));
  for (const client of clients)
    for (const platform of on) {
      const token = platform === 'web' ? `https://fcm.googleapis.com/fcm/send/${client}` : `${platform}-${client}`;
      await registry.register(client, platform, token, Date.now(), platform === 'web' ? { keys: 'packed-keys' } : {});
    }
}
