import { examplePayloads } from '@push/contract';
import { allSent, startTestStack, waitFor, type TestStack } from '@push/testing';
import { TokenRegistry } from '@push/store';

/** 64-hex iOS tokens and FCM-style Android tokens with a readable prefix. */
const iosToken = (tag: string, n: number) => `${tag}${n.toString(16).padStart(64 - tag.length, '0')}`;
const fcmToken = (tag: string, n: number) => `${tag}_${String(n).padStart(24, '0')}`;

const examples = Object.values(examplePayloads);

describe('delivery, end to end through the API, workers and simulators', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('delivery', {
      apns: { dead: ['dead*'], bad: ['bad0*'], wrongTopic: ['0bad*'], flakyOnce: ['f1a*'] },
      fcm: { dead: ['dead*'], bad: ['bad*'], flakyOnce: ['flaky*'] },
      // Mostly dead tokens here, to check each answer's classification: the guard, which would call
      // that a misconfiguration, never suspects anything with a share of 1 (provider-safety.test.ts tests it).
      env: { PUSH_CHUNK_CLIENTS: '2', DEAD_TOKEN_GUARD_SHARE: '1' },
    });
  });
  afterAll(() => stack.close());

  it('delivers the API document examples to every device, mapped per the contract', async () => {
    await stack.register('user001', 'ios', iosToken('a1', 1));
    await stack.register('user001', 'android', fcmToken('ok', 1));
    await stack.register('user002', 'ios', iosToken('a2', 2));
    await stack.register('user003', 'android', fcmToken('ok', 3));
    for (const payload of examples) {
      stack.apns.reset();
      stack.fcm.reset();
      const jobId = await stack.push(['user001', 'user002', 'user003', 'nobody'], payload);
      const job = await stack.waitForCompletion(jobId);
      expect(job.totals).toEqual(allSent(4, 4));
      expect(job.platforms.ios).toMatchObject({ clients: 2, tokens: 2, sent: 2 });
      expect(job.platforms.android).toMatchObject({ clients: 2, tokens: 2, sent: 2 });
      const results = await stack.allResults(jobId);
      expect(results.map((r) => `${r.client}/${r.platform}/${r.status}`).sort()).toEqual([
        'user001/android/sent',
        'user001/ios/sent',
        'user002/ios/sent',
        'user003/android/sent',
      ]);

      const ios = stack.apns.receivedFor(iosToken('a1', 1));
      expect(ios).toHaveLength(1);
      expect(ios[0]!.body).toEqual({
        aps: {
          alert: payload.alert,
          ...(payload.badge !== undefined && { badge: payload.badge }),
          ...(payload.sound !== undefined && { sound: payload.sound }),
        },
        ...(payload.type !== undefined && { type: payload.type }),
      });
      expect(ios[0]!.headers['apns-topic']).toBe(payload.topic ?? 'io.test.app');
      expect(ios[0]!.headers['apns-push-type']).toBe('alert');
      expect(ios[0]!.headers['apns-collapse-id']).toBe(payload.collapseKey ?? jobId);

      const android = stack.fcm.receivedFor(fcmToken('ok', 3));
      expect(android).toHaveLength(1);
      expect((android[0]!.body as { message: unknown }).message).toEqual({
        token: fcmToken('ok', 3),
        notification: { title: payload.title, body: payload.body },
        // The icon URL is the notification's image; the job id its tag unless collapseKey is set.
        android: {
          ...(payload.collapseKey && { collapse_key: payload.collapseKey }),
          notification: { ...(payload.icon && { image: payload.icon }), ...(!payload.collapseKey && { tag: jobId }) },
        },
        ...(payload.type && { data: { type: payload.type } }),
      });
    }
  });

  it('classifies dead and bad tokens as invalid and removes them from the registry', async () => {
    const registry = new TokenRegistry(stack.api.redis, stack.api.prefix);
    await stack.register('c-dead', 'ios', iosToken('dead', 1));
    await stack.register('c-dead', 'android', fcmToken('dead', 1));
    await stack.register('c-bad', 'ios', iosToken('bad0', 1));
    await stack.register('c-bad', 'android', fcmToken('bad', 1));
    await stack.register('c-topic', 'ios', iosToken('0bad', 1));
    await stack.register('c-ok', 'ios', iosToken('c0c0', 1));
    const jobId = await stack.push(['c-dead', 'c-bad', 'c-topic', 'c-ok'], { alert: 'hello' });
    const job = await stack.waitForCompletion(jobId);
    expect(job.totals).toMatchObject({ tokens: 6, sent: 1, invalid: 5, failed: 0 });
    const invalid = await stack.allResults(jobId);
    const reasons = Object.fromEntries(invalid.filter((r) => r.status === 'invalid').map((r) => [`${r.client}/${r.platform}`, r.reason]));
    expect(reasons).toEqual({
      'c-dead/ios': expect.stringContaining('Unregistered'),
      'c-dead/android': expect.stringContaining('UNREGISTERED'),
      'c-bad/ios': expect.stringContaining('BadDeviceToken'),
      'c-bad/android': expect.stringContaining('INVALID_ARGUMENT'),
      'c-topic/ios': expect.stringContaining('DeviceTokenNotForTopic'),
    });
    expect(await registry.list('c-dead')).toEqual([]);
    expect(await registry.list('c-bad')).toEqual([]);
    expect(await registry.list('c-topic')).toEqual([]);
    expect((await registry.list('c-ok')).map((t) => t.token)).toEqual([iosToken('c0c0', 1)]);
  });

  it('APNs 410: a token registered after the timestamp stays registered; one registered before it is removed', async () => {
    const registry = new TokenRegistry(stack.api.redis, stack.api.prefix);
    const token = iosToken('dead', 410);
    await stack.register('c-410', 'ios', token);
    const registeredAt = Date.parse((await registry.list('c-410'))[0]!.createdAt);

    // The device registered this token again after APNs found it dead: Apple says keep it.
    stack.apns.setBehaviour({ unregisteredAt: registeredAt - 60_000 });
    const kept = await stack.waitForCompletion(await stack.push(['c-410'], { alert: 'still there?' }));
    expect(kept.platforms.ios).toMatchObject({ tokens: 1, failed: 1, invalid: 0 });
    expect((await stack.allResults(kept.jobId))[0]!.reason).toMatch(/^Unregistered: the device registered this token again/);
    expect((await registry.list('c-410')).map((t) => t.token)).toEqual([token]);

    // Found dead after its registration: removed.
    stack.apns.setBehaviour({ unregisteredAt: registeredAt + 1 });
    const removed = await stack.waitForCompletion(await stack.push(['c-410'], { alert: 'gone' }));
    expect(removed.platforms.ios).toMatchObject({ tokens: 1, failed: 0, invalid: 1 });
    expect(await registry.list('c-410')).toEqual([]);
    stack.apns.setBehaviour({ unregisteredAt: undefined });
  });

  it('retries a transient failure for only the token that had it', async () => {
    stack.apns.reset();
    stack.fcm.reset();
    await stack.register('c-flaky', 'ios', iosToken('f1a', 7));
    await stack.register('c-flaky', 'android', fcmToken('flaky', 7));
    await stack.register('c-steady', 'ios', iosToken('5eed', 7));
    await stack.register('c-steady', 'android', fcmToken('steady', 7));
    const jobId = await stack.push(['c-flaky', 'c-steady'], { alert: 'again' });
    const job = await stack.waitForCompletion(jobId);
    expect(job.totals).toMatchObject({ tokens: 4, sent: 4, failed: 0 });
    expect(stack.apns.receivedFor(iosToken('f1a', 7))).toHaveLength(1);
    expect(stack.apns.receivedFor(iosToken('5eed', 7))).toHaveLength(1);
    // Two requests for the flaky token (503, then accepted), one for the steady one.
    expect(stack.apns.stats().requests).toBe(3);
    expect(stack.fcm.stats().requests).toBe(3);
  });

  it('records expired tokens without sending them', async () => {
    stack.apns.reset();
    stack.fcm.reset();
    await stack.register('c-late', 'ios', iosToken('1a7e', 1));
    await stack.register('c-late', 'android', fcmToken('late', 1));
    const jobId = await stack.push(['c-late'], { alert: 'too late', expiry: Math.floor(Date.now() / 1000) - 5 });
    const job = await stack.waitForCompletion(jobId);
    expect(job.totals).toMatchObject({ tokens: 2, expired: 2, sent: 0 });
    expect(stack.apns.stats().requests + stack.fcm.stats().requests).toBe(0);
    const results = await stack.allResults(jobId);
    expect(results.every((r) => r.status === 'expired')).toBe(true);
  });

  it('sends a token listed under two clients of one job once', async () => {
    stack.fcm.reset();
    await stack.register('c-one', 'android', fcmToken('shared', 1));
    const jobId = await stack.push(['c-one', 'c-one'], { alert: 'once' });
    const job = await stack.waitForCompletion(jobId);
    expect(job.totals).toMatchObject({ clients: 1, tokens: 1, sent: 1 });
    expect(stack.fcm.receivedFor(fcmToken('shared', 1))).toHaveLength(1);
  });
});

describe('retries used up, permanent errors and throttling', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('delivery-faults', {
      workers: { ios: 1, android: 0 },
      env: { DELIVERY_ATTEMPTS: '3', RETRY_BASE_DELAY_MS: '20' },
    });
  });
  afterAll(() => stack.close());

  it('marks tokens failed with the reason once retries are used up, and backs off between attempts', async () => {
    const android = stack.addWorker('android');
    await stack.register('c-out', 'ios', iosToken('0e', 1));
    await stack.register('c-out', 'android', fcmToken('out', 1));
    stack.apns.outage(60_000);
    // Every FCM request fails without a Retry-After (an outage's Retry-After would be honoured: 60 s).
    stack.fcm.setBehaviour({ errorRate: 1 });
    const jobId = await stack.push(['c-out'], { alert: 'down' });
    const job = await stack.waitForCompletion(jobId);
    expect(job.totals).toMatchObject({ tokens: 2, failed: 2, sent: 0 });
    const results = await stack.allResults(jobId);
    expect(results.map((r) => r.reason)).toEqual([
      expect.stringMatching(/^retries exhausted: .*(503|Unavailable|UNAVAILABLE)/i),
      expect.stringMatching(/^retries exhausted/),
    ]);
    // Exactly DELIVERY_ATTEMPTS requests per token: the worker's retries are the only ones.
    expect(stack.apns.stats().requests).toBe(3);
    expect(stack.fcm.stats().requests).toBe(3);
    stack.apns.outage(0);
    stack.fcm.setBehaviour({ errorRate: 0 });
    await android.close();
  });

  it('records a permanent provider error as failed with the provider reason', async () => {
    const wrong = stack.addWorker('android', { FCM_ACCESS_TOKEN: 'not-the-token' });
    await stack.register('c-auth', 'android', fcmToken('auth', 1));
    stack.fcm.reset();
    const jobId = await stack.push(['c-auth'], { alert: 'x' });
    const job = await stack.waitForCompletion(jobId);
    expect(job.platforms.android).toMatchObject({ tokens: 1, failed: 1 });
    const [result] = (await stack.allResults(jobId)).filter((r) => r.platform === 'android');
    expect(result!.reason).toMatch(/UNAUTHENTICATED|401/);
    expect(stack.fcm.stats().requests).toBe(1);
    await wrong.close();
  });
});

describe('rate limits', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('delivery-429', { env: { RETRY_BASE_DELAY_MS: '20' } });
  });
  afterAll(() => stack.close());

  it('pauses the whole FCM queue for at least Retry-After on QUOTA_EXCEEDED, then delivers everything', async () => {
    const clients = Array.from({ length: 20 }, (_, i) => `q${i}`);
    await Promise.all(clients.map((c, i) => stack.register(c, 'android', fcmToken('quota', i))));
    stack.fcm.setBehaviour({ throttled: ['quota*'], retryAfterSeconds: 3 });
    const jobId = await stack.push(clients, { alert: 'quota' });
    // The whole first group is refused; the worker then pauses the queue for Retry-After (3 s).
    const throttledAt = await waitFor(() => ((stack.fcm.stats().rejected.QUOTA_EXCEEDED ?? 0) >= 20 ? Date.now() : undefined));
    stack.fcm.setBehaviour({ throttled: [] });
    const job = await stack.waitForCompletion(jobId);
    expect(job.platforms.android).toMatchObject({ tokens: 20, sent: 20, failed: 0 });
    const firstAccepted = Math.min(...clients.map((_, i) => stack.fcm.receivedFor(fcmToken('quota', i))[0]!.at));
    // Measured from when the test saw the refusals (a little after them): well into the 3 s pause.
    expect(firstAccepted - throttledAt).toBeGreaterThanOrEqual(1500);
    // No request reached the simulator during the pause: 20 refused, then 20 accepted.
    expect(stack.fcm.stats().requests).toBe(40);
  });

  it('retries only the throttled device on APNs 429', async () => {
    stack.apns.reset();
    await stack.register('c-hot', 'ios', iosToken('70', 1));
    await stack.register('c-cool', 'ios', iosToken('c001', 1));
    stack.apns.setBehaviour({ throttled: [iosToken('70', 1)] });
    const jobId = await stack.push(['c-hot', 'c-cool'], { alert: 'hot' });
    await waitFor(() => (stack.apns.stats().rejected.TooManyRequests ?? 0) >= 2 || undefined);
    stack.apns.setBehaviour({ throttled: [] });
    const job = await stack.waitForCompletion(jobId);
    expect(job.platforms.ios).toMatchObject({ tokens: 2, sent: 2 });
    expect(stack.apns.receivedFor(iosToken('c001', 1))).toHaveLength(1);
    const requests = stack.apns.stats().requests;
    const hotRejected = stack.apns.stats().rejected.TooManyRequests ?? 0;
    expect(requests).toBe(1 + hotRejected + 1);
  });
});
