import { loadConfig } from '@push/config';
import type { DeliveryWorker } from '@push/delivery';
import type { JobStatus } from '@push/store';
import { adminRequest, appsEnv, createTestApp, startTestStack, waitFor, type TestApp, type TestStack } from '@push/testing';

const iosToken = (app: string, n: number) => `${Buffer.from(app).toString('hex')}${n}`.padEnd(64, '0');
const fcmToken = (app: string, n: number) => `${app}_token_${n}`.padEnd(40, '0');

/** Registers client `c<n>` of `app` with one token per platform. */
async function registerClient(app: TestApp, n: number): Promise<string> {
  for (const [platform, token] of [
    ['ios', iosToken(app.id, n)],
    ['android', fcmToken(app.id, n)],
  ] as const) {
    const res = await app.request('POST', '/push/tokens', { client: `c${n}`, platform, token });
    if (res.status !== 200) throw new Error(JSON.stringify(res.body));
  }
  return `c${n}`;
}

async function push(app: TestApp, clients: string[], payload: Record<string, unknown> = { alert: `to ${app.id}` }): Promise<string> {
  const res = await app.request('POST', '/push/push2clients', { clients, payload });
  if (res.status !== 200) throw new Error(JSON.stringify(res.body));
  return res.body.result.jobId as string;
}

async function status(app: TestApp, jobId: string): Promise<JobStatus> {
  return (await app.request('GET', `/push/jobs/${jobId}`)).body.result as JobStatus;
}

function completion(app: TestApp, jobId: string, timeoutMs = 20_000): Promise<JobStatus> {
  return waitFor(
    async () => {
      const job = await status(app, jobId);
      return job.state === 'completed' ? job : undefined;
    },
    timeoutMs,
    `job ${jobId} of ${app.id} to complete`,
  );
}

describe('workers serving several apps', () => {
  let stack: TestStack;
  let alpha: TestApp;
  let beta: TestApp;

  beforeAll(async () => {
    stack = await startTestStack('apps-delivery', { env: { ...appsEnv, LOG_LEVEL: 'error' }, fcm: { retryAfterSeconds: 3 } });
    alpha = await createTestApp(stack, 'alpha');
    beta = await createTestApp(stack, 'beta');
  });
  afterAll(() => stack.close());
  beforeEach(() => {
    stack.apns.reset();
    stack.fcm.reset();
  });

  it("delivers each app's jobs with its own credentials and topic only", async () => {
    await Promise.all([registerClient(alpha, 1), registerClient(beta, 1)]);
    const [a, b] = await Promise.all([push(alpha, ['c1']), push(beta, ['c1'])]);
    expect((await completion(alpha, a)).totals).toMatchObject({ clients: 1, tokens: 2, sent: 2 });
    expect((await completion(beta, b)).totals).toMatchObject({ clients: 1, tokens: 2, sent: 2 });
    for (const app of [alpha, beta]) {
      const [apns] = stack.apns.receivedFor(iosToken(app.id, 1));
      expect(apns?.credential).toBe(`${app.apns.teamId}.${app.apns.keyId}`);
      expect(apns?.headers['apns-topic']).toBe(app.apns.topic);
      const [fcm] = stack.fcm.receivedFor(fcmToken(app.id, 1));
      expect(fcm?.credential).toBe(app.fcm.projectId);
    }
    // Nothing of either app went out under the other's (or the default app's) credentials.
    expect(stack.apns.received()).toHaveLength(2);
    expect(stack.fcm.received()).toHaveLength(2);
  });

  it('uses changed credentials within the refresh interval, without a restart', async () => {
    await registerClient(alpha, 2);
    expect(loadConfig({}).APP_REFRESH_MS).toBeLessThanOrEqual(10_000);
    const key = stack.apns.addKey();
    const patched = Date.now();
    const res = await adminRequest(stack, 'PATCH', '/admin/apps/alpha', {
      apns: {
        key: key.signingKeyPem,
        keyId: key.keyId,
        teamId: key.teamId,
        topic: 'io.test.alpha2',
        production: false,
        host: stack.apns.host,
        port: stack.apns.port,
      },
    });
    expect(res.status).toBe(200);
    // Jobs until one goes out with the new key: the time that takes is what the contract bounds (10 s).
    const switched = await waitFor(
      async () => {
        stack.apns.reset();
        await completion(alpha, await push(alpha, ['c2']));
        const [sent] = stack.apns.receivedFor(iosToken('alpha', 2));
        return sent?.credential === `${key.teamId}.${key.keyId}` ? sent : undefined;
      },
      10_000,
      'the new APNs key to be used',
    );
    expect(switched.headers['apns-topic']).toBe('io.test.alpha2');
    expect(Date.now() - patched).toBeLessThan(10_000);
  });

  it("fails only the misconfigured app's tokens; another app's job is untouched", async () => {
    await Promise.all([registerClient(alpha, 3), registerClient(beta, 3)]);
    const res = await adminRequest(stack, 'PATCH', '/admin/apps/beta', {
      fcm: { accessToken: 'ya29.revoked', projectId: beta.fcm.projectId, endpoint: stack.fcm.url },
    });
    expect(res.status).toBe(200);
    // Past the refresh interval, whichever worker checks first.
    const failed = await waitFor(
      async () => {
        const job = await completion(beta, await push(beta, ['c3']));
        return job.platforms.android.failed === 1 ? job : undefined;
      },
      10_000,
      "beta's new (wrong) token to be used",
    );
    expect(failed.platforms.ios).toMatchObject({ sent: 1, failed: 0 });
    const results = (await beta.request('GET', `/push/jobs/${failed.jobId}/results?status=failed`)).body.result.items;
    expect(results).toEqual([expect.objectContaining({ token: fcmToken('beta', 3), reason: expect.stringContaining('UNAUTHENTICATED') })]);
    const a = await push(alpha, ['c3']);
    expect((await completion(alpha, a)).totals).toMatchObject({ tokens: 2, sent: 2, failed: 0 });
  });

  it("pauses only the throttled app: another app's job goes out during its 429 pause", async () => {
    await Promise.all([registerClient(alpha, 4), registerClient(beta, 4)]);
    // beta back to working credentials, and one of its tokens throttled with a 3 s Retry-After.
    await adminRequest(stack, 'PATCH', '/admin/apps/beta', {
      fcm: { accessToken: beta.fcm.accessToken, projectId: beta.fcm.projectId, endpoint: stack.fcm.url },
    });
    stack.fcm.setBehaviour({ throttled: [fcmToken('beta', 4)] });
    const pauseKey = `${stack.api.prefix}:app:beta:pause:{fcm}`;
    await waitFor(
      async () => {
        await push(beta, ['c4']);
        return (await stack.api.redis.pttl(pauseKey)) > 0 ? true : undefined;
      },
      10_000,
      'beta to be paused',
    );
    const a = await push(alpha, ['c4']);
    expect((await completion(alpha, a, 2000)).totals).toMatchObject({ sent: 2 });
    // alpha finished while beta's pause still holds.
    expect(await stack.api.redis.pttl(pauseKey)).toBeGreaterThan(0);
    expect(await stack.api.redis.exists(`${stack.api.prefix}:app:alpha:pause:{fcm}`)).toBe(0);
    stack.fcm.setBehaviour({ throttled: undefined });
  });
});

describe('app lifecycle in the workers', () => {
  let stack: TestStack;
  let android: DeliveryWorker;
  beforeAll(async () => {
    stack = await startTestStack('apps-lifecycle', { env: appsEnv, workers: { ios: 0, android: 0 } });
  });
  afterAll(() => stack.close());

  it("drops a deleted app's queued chunks and keeps serving the others", async () => {
    const [alpha, gone] = [await createTestApp(stack, 'alpha'), await createTestApp(stack, 'gone')];
    await Promise.all([registerClient(alpha, 1), registerClient(gone, 1)]);
    await push(gone, ['c1']);
    expect((await adminRequest(stack, 'DELETE', '/admin/apps/gone')).status).toBe(200);
    const a = await push(alpha, ['c1']);
    stack.addWorker('ios');
    android = stack.addWorker('android');
    expect((await completion(alpha, a)).totals).toMatchObject({ sent: 2 });
    expect(stack.apns.receivedFor(iosToken('gone', 1))).toEqual([]);
    expect(stack.fcm.receivedFor(fcmToken('gone', 1))).toEqual([]);
  });

  it('closes idle apps and keeps at most APP_MAX_OPEN open', async () => {
    const [one, two] = [await createTestApp(stack, 'one'), await createTestApp(stack, 'two')];
    await Promise.all([registerClient(one, 1), registerClient(two, 1)]);
    const worker = stack.addWorker('android', { APP_MAX_OPEN: '1', APP_IDLE_MS: '400' });
    await Promise.all(Object.values(worker.workers).map((w) => w.waitUntilReady()));
    // The bounded worker alone takes Android chunks from here on: the earlier one stops taking any.
    await Promise.all(Object.values(android.workers).map((w) => w.pause()));
    for (const app of [one, two]) {
      await completion(app, await push(app, ['c1']));
      expect(worker.openApps()).toEqual([app.id]);
    }
    await waitFor(() => (worker.openApps().length === 0 ? true : undefined), 5000, 'idle apps to be closed');
  });
});

describe('fair share between apps', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('apps-fair', {
      env: { ...appsEnv, PUSH_CHUNK_CLIENTS: '1', WORKER_CONCURRENCY: '1' },
      workers: { ios: 0, android: 0 },
      apns: { latencyMs: 20 },
    });
  });
  afterAll(() => stack.close());

  it("takes two apps' concurrent jobs in turns, then an app's jobs in turns within its turns", async () => {
    const [big, small] = [await createTestApp(stack, 'big'), await createTestApp(stack, 'small')];
    const register = async (app: TestApp, count: number) => {
      const clients = Array.from({ length: count }, (_, i) => `${app.id}${i}`);
      for (const client of clients) {
        const token = Buffer.from(client).toString('hex').padEnd(64, '0');
        expect((await app.request('POST', '/push/tokens', { client, platform: 'ios', token })).status).toBe(200);
      }
      return clients;
    };
    const [bigClients, smallClients] = [await register(big, 9), await register(small, 3)];
    const send = async (app: TestApp, clients: string[]) =>
      (await app.request('POST', '/push/push2clients', { clients, payload: { alert: app.id }, priority: 'normal' })).body.result
        .jobId as string;
    // The big app runs three jobs of three chunks (clients big0-2, big3-5, big6-8), the small one one job.
    const bigJobs = [
      await send(big, bigClients.slice(0, 3)),
      await send(big, bigClients.slice(3, 6)),
      await send(big, bigClients.slice(6)),
    ];
    const smallJob = await send(small, smallClients);
    // One worker with one normal slot, started once every job waits.
    stack.addWorker('ios');
    stack.addWorker('android');
    for (const job of bigJobs) await completion(big, job);
    await completion(small, smallJob);
    const order = stack.apns.received().map((n) => Buffer.from(n.token.replace(/(00)+$/, ''), 'hex').toString());
    // One chunk per app and round while both have chunks: the app running three jobs gets no more turns.
    expect(order.slice(0, 6).map((c) => c.replace(/\d+$/, ''))).toEqual(['big', 'small', 'big', 'small', 'big', 'small']);
    expect(order.slice(6).every((c) => c.startsWith('big'))).toBe(true);
    // The big app's turns go to its three jobs in turn: each three of them serve every job once.
    const bigTurns = order.filter((c) => c.startsWith('big')).map((c) => Math.floor(Number(c.slice(3)) / 3));
    for (let i = 0; i < 9; i += 3) expect(bigTurns.slice(i, i + 3).sort()).toEqual([0, 1, 2]);
    expect(order.filter((c) => c.startsWith('small'))).toEqual(smallClients);
    // Each went out with its own app's key.
    expect(new Set(stack.apns.received().map((n) => n.credential)).size).toBe(2);
  });
});
