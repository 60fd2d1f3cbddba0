import { maskToken } from '@push/config';
import type { RedisClient } from '@push/store';
import { startTestStack, type TestStack } from '@push/testing';

/**
 * Secrets stay out of Redis and out of the worker logs; device tokens appear in logs only masked.
 * Real worker processes at LOG_LEVEL=trace, with tokens that take every logged path: dead (removed),
 * bad, flaky (retried), throttled (APNs 429, retried) and plain.
 */

const ios = (tag: string, n: number) => `${tag}${n.toString(16).padStart(64 - tag.length, '0')}`;
const fcm = (tag: string, n: number) => `${tag}_${String(n).padStart(30, '7')}`;

/** Every value under the stack's prefix, as one string: strings, hashes, lists, sets, sorted sets, streams. */
async function dumpRedis(redis: RedisClient, prefix: string): Promise<{ keys: number; text: string }> {
  const parts: string[] = [];
  let keys = 0;
  for (const pattern of [`${prefix}:*`, `{${prefix}:*`]) {
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const key of batch) {
        keys++;
        const type = await redis.type(key);
        parts.push(key);
        if (type === 'string') parts.push((await redis.get(key)) ?? '');
        else if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
        else if (type === 'list') parts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
        else if (type === 'set') parts.push(JSON.stringify(await redis.smembers(key)));
        else if (type === 'zset') parts.push(JSON.stringify(await redis.zrange(key, 0, -1)));
        else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
      }
    } while (cursor !== '0');
  }
  return { keys, text: parts.join('\n') };
}

describe('secrets and device tokens', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('secrets', {
      workers: { ios: 0, android: 0 },
      apns: { dead: ['dead*'], bad: ['bad0*'], flakyOnce: ['f1a*'], throttled: ['7007*'] },
      fcm: { dead: ['dead*'], bad: ['bad*'], flakyOnce: ['flaky*'] },
      env: { PUSH_CHUNK_CLIENTS: '4', RETRY_BASE_DELAY_MS: '20', DELIVERY_ATTEMPTS: '10' },
    });
  });
  afterAll(() => stack.close());

  it('keeps API keys, the APNs signing key and the FCM access token out of Redis and worker logs, and masks device tokens in logs', async () => {
    const tokens: Array<[string, 'ios' | 'android', string]> = [];
    for (const tag of ['dead', 'bad0', 'f1a', '7007', 'a0']) for (let i = 0; i < 3; i++) tokens.push([`c-${tag}-${i}`, 'ios', ios(tag, i)]);
    for (const tag of ['dead', 'bad', 'flaky', 'ok']) for (let i = 0; i < 3; i++) tokens.push([`c-${tag}-${i}`, 'android', fcm(tag, i)]);
    for (const [client, platform, token] of tokens) await stack.register(client, platform, token);
    const clients = [...new Set(tokens.map(([c]) => c))];

    // The normal lane, as before lanes existed (4 chunks at once): the dead-token guard's window then holds
    // the answers the counts below expect. In the high lane's 2 slots the first two chunks wait for the
    // guard's verdict on their own answers, and the guard judges a different window.
    const jobId = await stack.push(clients, { alert: 'secrets' }, { priority: 'normal' });
    const apnsKeyLines = stack.apns.signingKeyPem.split('\n').filter((l) => l && !l.startsWith('-----'));
    const secrets = [stack.api.apiKey, stack.fcm.accessToken, ...apnsKeyLines];
    const jwt = /eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}/;

    // Queued: the chunk jobs hold a job id, a chunk number and client ids; nothing else.
    for (const platform of ['ios', 'android'] as const) {
      const jobs = (await stack.api.queues[platform].normal.getJobs(['waiting', 'delayed', 'prioritized'])).filter(
        (j) => j.data.jobId === jobId,
      );
      expect(jobs.length).toBeGreaterThan(0);
      for (const job of jobs) expect(Object.keys(job.data).sort()).toEqual(['chunk', 'clients', 'jobId']);
    }
    const queued = await dumpRedis(stack.api.redis, stack.api.prefix);
    expect(queued.keys).toBeGreaterThan(0);
    for (const secret of secrets) expect(queued.text.includes(secret)).toBe(false);
    expect(queued.text).not.toMatch(jwt);

    const env = { LOG_LEVEL: 'trace' };
    const workers = [stack.startWorkerProcess('ios', env), stack.startWorkerProcess('android', env)];
    // The throttled iOS tokens are retried until released.
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if ((stack.apns.stats().rejected.TooManyRequests ?? 0) >= 6) {
          clearInterval(timer);
          stack.apns.setBehaviour({ throttled: [] });
          resolve();
        }
      }, 20);
    });
    const job = await stack.waitForCompletion(jobId, 60_000);
    expect(job.totals).toMatchObject({ tokens: tokens.length, sent: 15, invalid: 12, failed: 0 });
    for (const w of workers) expect(await w.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    // After delivery, retries and dead-token removal: still no secret anywhere in Redis.
    const after = await dumpRedis(stack.api.redis, stack.api.prefix);
    for (const secret of secrets) expect(after.text.includes(secret)).toBe(false);
    expect(after.text).not.toMatch(jwt);

    const logs = workers.map((w) => w.output()).join('\n');
    const lines = logs.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const secret of secrets) expect(logs.includes(secret) ? `found ${secret}` : 'absent').toBe('absent');
    expect(logs).not.toMatch(jwt);
    const leaked = tokens.filter(([, , token]) => logs.includes(token)).map(([, , token]) => token);
    expect(leaked).toEqual([]);
    // Tokens that went wrong are logged, masked: enough to correlate, not enough to send to.
    const masked = tokens.filter(([, , token]) => logs.includes(maskToken(token)));
    process.stdout.write(
      `worker logs: ${lines.length} lines at trace level, ${masked.length} of ${tokens.length} tokens appear masked, none in full\n`,
    );
  });
});
