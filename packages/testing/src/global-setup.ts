import { hasRedisServer, startRedisServer, waitForRedis } from '@push/store';

/**
 * The Redis every test uses (contract, `npm test`): REDIS_URL if set, else a `redis-server` started
 * here, else a testcontainers Redis (needs a Docker engine).
 */
export default async function globalSetup(): Promise<void> {
  // The processes tests start log JSON lines, which tests read (outside production they default to pretty).
  process.env.LOG_FORMAT ??= 'json';
  if (process.env.REDIS_URL) {
    await waitForRedis(process.env.REDIS_URL);
    return;
  }
  if (hasRedisServer()) {
    const server = await startRedisServer();
    process.env.REDIS_URL = server.url;
    (globalThis as Record<string, unknown>).__pushRedisStop = () => server.stop();
    return;
  }
  const { GenericContainer } = await import('testcontainers');
  const container = await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start();
  process.env.REDIS_URL = `redis://${container.getHost()}:${container.getMappedPort(6379)}`;
  (globalThis as Record<string, unknown>).__pushRedisStop = () => container.stop();
}
