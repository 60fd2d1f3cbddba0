import { randomBytes } from 'node:crypto';

// The Redis helpers the tests share with `npm start` and the benchmark live in @push/store; re-exported here
// so a test imports its helpers from one place.
export {
  deleteKeys,
  freePort,
  hasRedisServer,
  startRedisServer,
  startRestartableRedisServer,
  waitForRedis,
  type RedisServer,
  type RestartableRedisServer,
} from '@push/store';

/** The test Redis URL that jest's global setup chose. */
export function testRedisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: run tests through jest (its global setup provides Redis)');
  return url;
}

/** A key prefix of this test's own on the shared Redis. */
export function uniquePrefix(name: string): string {
  return `t-${name}-${randomBytes(4).toString('hex')}`;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
