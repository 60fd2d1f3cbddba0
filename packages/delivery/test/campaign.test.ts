import type { RecordedNotification } from '@push/simulators';
import { TokenRegistry, type Clock, type JobStatus } from '@push/store';
import {
  hasRedisServer,
  startRestartableRedisServer,
  startTestStack,
  waitFor,
  type RestartableRedisServer,
  type TestStack,
} from '@push/testing';

// Campaign controls end to end: real Redis, both simulators, two workers per platform.
const iosToken = (n: number) => `ca3a${n.toString(16).padStart(60, '0')}`;
const fcmToken = (n: number) => `campaign_${String(n).padStart(24, '0')}`;

/** Registers `count` clients `<name><i>`, each with an iOS and an Android token; returns their ids. */
async function clientsWithTokens(stack: TestStack, name: string, count: number, from: number, timezone?: string): Promise<string[]> {
  const registry = new TokenRegistry(stack.api.redis, stack.api.prefix);
  const clients = Array.from({ length: count }, (_, i) => `${name}${i}`);
  await Promise.all(
    clients.flatMap((client, i) => [
      registry.register(client, 'ios', iosToken(from + i), Date.now(), { timezone }),
      registry.register(client, 'android', fcmToken(from + i)),
    ]),
  );
  return clients;
}

const received = (stack: TestStack): RecordedNotification[] =>
  [...stack.apns.received(), ...stack.fcm.received()].sort((a, b) => a.at - b.at);
const status = async (stack: TestStack, jobId: string): Promise<JobStatus> =>
  (await stack.api.request('GET', `/push/jobs/${jobId}`)).body.result;
const push = async (stack: TestStack, body: Record<string, unknown>): Promise<string> => {
  const res = await stack.api.request('POST', '/push/push2clients', body);
  if (res.status !== 200) throw new Error(JSON.stringify(res.body));
  return res.body.result.jobId as string;
};
/** Waits until every chunk of the job is done (finishedAt), whatever its state. */
const waitForFinish = (stack: TestStack, jobId: string, timeoutMs = 30_000) =>
  waitFor(async () => ((await status(stack, jobId)).finishedAt ? status(stack, jobId) : undefined), timeoutMs, `job ${jobId} to finish`);

describe('campaign controls (system clock)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('campaign', { workers: { ios: 2, android: 2 }, env: { PUSH_CHUNK_CLIENTS: '5' } });
  });
  afterAll(() => stack.close());
  beforeEach(() => {
    stack.apns.reset();
    stack.fcm.reset();
  });

  it('sendAt: nothing is sent before it, everything after', async () => {
    const clients = await clientsWithTokens(stack, 'at', 12, 0);
    const sendAt = Math.ceil(Date.now() / 1000) + 2;
    const jobId = await push(stack, { clients, payload: { alert: 'later' }, sendAt });
    expect((await status(stack, jobId)).state).toBe('scheduled');
    const done = await stack.waitForCompletion(jobId);
    expect(done.totals).toMatchObject({ tokens: 24, sent: 24, canceled: 0 });
    const got = received(stack);
    expect(got).toHaveLength(24);
    expect(got[0]!.at).toBeGreaterThanOrEqual(sendAt * 1000);
  });

  it('ratePerMinute: sends spread evenly at the rate across workers and platforms, never a burst of twice the rate in a second', async () => {
    const ratePerMinute = 1200;
    const clients = await clientsWithTokens(stack, 'rate', 30, 100);
    const jobId = await push(stack, { clients, payload: { alert: 'throttled' }, ratePerMinute });
    const done = await stack.waitForCompletion(jobId);
    expect(done.totals).toMatchObject({ tokens: 60, sent: 60 });
    expect(done.ratePerMinute).toBe(ratePerMinute);
    const times = received(stack).map((n) => n.at);
    expect(times).toHaveLength(60);
    // Sends go out in steps of ratePerMinute / 600 tokens, ten a second: the first step opens the span.
    const step = ratePerMinute / 600;
    const measured = ((times.length - step) / (times.at(-1)! - times[0]!)) * 60_000;
    expect(Math.abs(measured / ratePerMinute - 1)).toBeLessThanOrEqual(0.2);
    const busiestSecond = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 1000).length));
    expect(busiestSecond).toBeLessThanOrEqual((2 * ratePerMinute) / 60);
  });

  it('DELETE during a throttled send: nothing reaches the providers after the answer, and the counts add up', async () => {
    const clients = await clientsWithTokens(stack, 'stop', 40, 200);
    const jobId = await push(stack, { clients, payload: { alert: 'to cancel' }, ratePerMinute: 600 });
    await waitFor(() => (received(stack).length >= 10 ? true : undefined), 20_000, 'the first sends');
    const answer = await stack.api.request('DELETE', `/push/jobs/${jobId}`);
    const answeredAt = Date.now();
    expect(answer.status).toBe(200);
    expect(answer.body.result).toMatchObject({ jobId, state: 'canceled' });

    const done = await waitForFinish(stack, jobId);
    const got = received(stack);
    // Requests already handed to the simulator when the answer came are in flight; it answers in ~1 ms.
    expect(got.at(-1)!.at).toBeLessThanOrEqual(answeredAt + 100);
    expect(done.state).toBe('canceled');
    expect(done.totals.tokens).toBe(80);
    expect(done.totals.sent).toBe(got.length);
    expect(done.totals.sent + done.totals.canceled).toBe(80);
    expect(done.totals.canceled).toBeGreaterThan(0);
    for (const p of ['ios', 'android'] as const) {
      expect(done.platforms[p].sent + done.platforms[p].canceled).toBe(40);
    }
    const results = await stack.allResults(jobId);
    expect(results.filter((r) => r.status === 'canceled')).toHaveLength(done.totals.canceled);
    expect(results.find((r) => r.status === 'canceled')!.reason).toBe('the job was canceled');
    // A finished canceled job stays canceled; another cancel answers the same.
    expect((await stack.api.request('DELETE', `/push/jobs/${jobId}`)).body).toEqual(answer.body);
  });

  it('DELETE of a scheduled job: every token ends canceled at once, nothing is sent', async () => {
    const clients = await clientsWithTokens(stack, 'sched', 8, 300);
    const jobId = await push(stack, { clients, payload: { alert: 'never' }, sendAt: Math.floor(Date.now() / 1000) + 3600 });
    expect((await stack.api.request('DELETE', `/push/jobs/${jobId}`)).status).toBe(200);
    const done = await waitForFinish(stack, jobId);
    expect(done).toMatchObject({ state: 'canceled', totals: { tokens: 16, canceled: 16, sent: 0 } });
    expect(received(stack)).toHaveLength(0);
    const completed = await stack.waitForCompletion(await push(stack, { clients: clients.slice(0, 1), payload: { alert: 'now' } }));
    const refused = await stack.api.request('DELETE', `/push/jobs/${completed.jobId}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('JOB_FINISHED');
  });
});

(hasRedisServer() ? describe : describe.skip)('scheduling across restarts (Redis with AOF, as docs/operations.md runs it)', () => {
  let redis: RestartableRedisServer;
  let stack: TestStack;
  beforeAll(async () => {
    redis = await startRestartableRedisServer(['--appendonly', 'yes', '--appendfsync', 'always']);
    stack = await startTestStack('campaign-restart', { redisUrl: redis.url, workers: { ios: 0, android: 0 } });
  });
  afterAll(async () => {
    if (!redis.running) await redis.restart();
    await stack.close();
    await redis.stop();
  });

  it('a scheduled job survives a restart of every process, Redis included', async () => {
    const clients = await clientsWithTokens(stack, 'restart', 6, 400);
    const env = { LOG_LEVEL: 'info' };
    const apiProcess = await stack.startApiProcess();
    const first = [stack.startWorkerProcess('ios', env), stack.startWorkerProcess('android', env)];
    await Promise.all(first.map((w) => w.waitForOutput(/worker ready/)));
    const sendAt = Math.ceil(Date.now() / 1000) + 3;
    const res = await apiProcess.request('POST', '/push/push2clients', { clients, payload: { alert: 'after restart' }, sendAt });
    const jobId = res.body.result.jobId as string;
    expect((await status(stack, jobId)).state).toBe('scheduled');
    // Every process killed, Redis included, and started again.
    await Promise.all([apiProcess.stop('SIGKILL'), ...first.map((w) => w.stop('SIGKILL')), redis.halt('SIGKILL')]);
    await redis.restart();

    const second = [stack.startWorkerProcess('ios', env), stack.startWorkerProcess('android', env)];
    const apiAgain = await stack.startApiProcess();
    const done = await waitFor(async () => {
      const job = (await apiAgain.request('GET', `/push/jobs/${jobId}`)).body.result as JobStatus;
      return job.state === 'completed' ? job : undefined;
    }, 30_000);
    expect(done.totals).toMatchObject({ tokens: 12, sent: 12 });
    const got = received(stack);
    expect(got).toHaveLength(12);
    expect(got[0]!.at).toBeGreaterThanOrEqual(sendAt * 1000);
    await Promise.all(second.map((w) => w.stop('SIGTERM')));
  });
});

/** A clock `speed` times faster than real time, showing `anchor` when (re)started. */
function fastClock(anchor: number, speed: number): Clock & { restart(): void } {
  let start = Date.now();
  const now = () => anchor + (Date.now() - start) * speed;
  return { now, msUntil: (at) => (at - now()) / speed, restart: () => (start = Date.now()) };
}

describe('localTime (a clock 300 times faster than real time)', () => {
  const speed = 300;
  // Tomorrow 03:10 UTC: 08:55 in Kathmandu (UTC+5:45), 08:40 in Kolkata (UTC+5:30); 1 s and 4 s away in real time.
  const today = new Date();
  const anchor = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 1, 3, 10);
  const kathmanduNine = anchor + 5 * 60_000;
  const kolkataNine = anchor + 20 * 60_000;
  let stack: TestStack;
  let clock: ReturnType<typeof fastClock>;
  beforeAll(async () => {
    clock = fastClock(anchor, speed);
    stack = await startTestStack('campaign-local', { clock, env: { DEFAULT_TIMEZONE: 'Asia/Kolkata' } });
  });
  afterAll(() => stack.close());

  it('each client receives at its own local time (zones 30 and 45 minutes off the hour, and the default zone)', async () => {
    const [ktm] = await clientsWithTokens(stack, 'ktm', 1, 500, 'Asia/Kathmandu');
    const [kol] = await clientsWithTokens(stack, 'kol', 1, 501, 'Asia/Kolkata');
    const [none] = await clientsWithTokens(stack, 'none', 1, 502);
    clock.restart();
    const jobId = await push(stack, { clients: [ktm, kol, none], payload: { alert: 'good morning' }, localTime: '09:00' });
    // The same at 09:00 with an expiry between the two zones' times: Kolkata's tokens expire while they wait.
    const expiring = await push(stack, {
      clients: [ktm, kol],
      payload: { alert: 'expires at 09:10 Kathmandu time', expiry: (kathmanduNine + 10 * 60_000) / 1000 },
      localTime: '09:00',
    });
    expect((await status(stack, jobId)).state).toBe('scheduled');

    const done = await stack.waitForCompletion(jobId);
    expect(done.totals).toMatchObject({ tokens: 6, sent: 6 });
    /** The clock's time when the simulator accepted `n`. */
    const shownAt = (n: RecordedNotification) => clock.now() - (Date.now() - n.at) * speed;
    const byClient = (from: number) =>
      [...stack.apns.receivedFor(iosToken(from)), ...stack.fcm.receivedFor(fcmToken(from))].filter((n) =>
        JSON.stringify(n.body).includes('good morning'),
      );
    for (const n of byClient(500)) {
      expect(shownAt(n)).toBeGreaterThanOrEqual(kathmanduNine - speed * 5);
      expect(shownAt(n)).toBeLessThan(kolkataNine);
    }
    for (const n of [...byClient(501), ...byClient(502)]) expect(shownAt(n)).toBeGreaterThanOrEqual(kolkataNine - speed * 5);

    const other = await waitForFinish(stack, expiring);
    expect(other.totals).toMatchObject({ tokens: 4, sent: 2, expired: 2 });
    const expired = (await stack.allResults(expiring)).filter((r) => r.status === 'expired');
    expect(expired.map((r) => r.client)).toEqual([kol, kol]);
  });
});
