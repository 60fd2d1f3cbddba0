import { packSubscriptionKeys } from '@push/contract';
import { TokenRegistry } from '@push/store';
import { generateVapidKeys } from '@push/providers';
import { allSent, appsEnv, createTestApp, startTestStack, waitFor, type TestStack } from '@push/testing';

// Web Push end to end: a browser subscription registered through the API, a push through the queue and
// the web worker (the real web-push library), the simulator over TLS verifying VAPID and decrypting.

const iosToken = (n: number) => n.toString(16).padStart(64, 'c');
const fcmToken = (n: number) => `web-test_${String(n).padStart(24, '0')}`;

describe('Web Push, end to end', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('webpush', { env: { DELIVERY_ATTEMPTS: '3', PROVIDER_TIMEOUT_MS: '3000' } });
  });
  afterAll(() => stack.close());
  beforeEach(() => stack.webpush.reset());

  it('sends one job to a client with iOS, Android and web devices; the browser can decrypt what arrives', async () => {
    await stack.register('mixed', 'ios', iosToken(1));
    await stack.register('mixed', 'android', fcmToken(1));
    const laptop = await stack.subscribe('mixed');
    const phone = await stack.subscribe('mixed');
    const payload = {
      title: '新訊息',
      body: '張小明:您好',
      icon: 'https://example.com/i.png',
      type: 'chat',
      badge: 2,
      sound: 'default',
      collapseKey: 'room-7',
    };
    const job = await stack.waitForCompletion(await stack.push(['mixed'], payload));

    expect(job.totals).toEqual(allSent(1, 4));
    expect(job.platforms.web).toMatchObject({ clients: 1, tokens: 2, sent: 2, chunks: 1, chunksDone: 1 });
    expect(job.platforms.ios).toMatchObject({ tokens: 1, sent: 1 });
    expect(job.platforms.android).toMatchObject({ tokens: 1, sent: 1 });
    for (const sub of [laptop, phone]) {
      const got = stack.webpush.receivedFor(sub.endpoint);
      expect(got.map((n) => n.body)).toEqual([{ title: '新訊息', body: '張小明:您好', icon: 'https://example.com/i.png', type: 'chat' }]);
      // One client: a `high` job, so the push service is asked to deliver at once.
      expect(got[0]!.headers).toMatchObject({
        topic: 'room-7',
        ttl: String(28 * 24 * 3600),
        'content-encoding': 'aes128gcm',
        urgency: 'high',
      });
      expect(got[0]!.vapid).toMatchObject({
        aud: stack.webpush.url,
        sub: 'mailto:tests@example.com',
        k: stack.workerEnv.WEBPUSH_VAPID_PUBLIC_KEY,
      });
    }
    // The endpoint is the token in results.
    const results = await stack.allResults(job.jobId);
    expect(
      results
        .filter((r) => r.platform === 'web')
        .map((r) => [r.client, r.token, r.status])
        .sort(),
    ).toEqual(
      [
        ['mixed', laptop.endpoint, 'sent'],
        ['mixed', phone.endpoint, 'sent'],
      ].sort(),
    );
  });

  it('removes a subscription the push service calls gone (410) or unknown (404), and records it invalid', async () => {
    const gone = await stack.subscribe('leaver');
    const unknown = await stack.subscribe('leaver');
    const kept = await stack.subscribe('leaver');
    // Enough live subscriptions in the dead-token guard's window (DEAD_TOKEN_GUARD_MIN_ANSWERS) that two
    // dead ones are judged dead, not a misconfiguration.
    const others = Array.from({ length: 20 }, (_, i) => `leaver-friend-${i}`);
    for (const friend of others) await stack.subscribe(friend);
    stack.webpush.unsubscribe(gone.endpoint);
    stack.webpush.setBehaviour({ bad: [unknown.endpoint] });
    const job = await stack.waitForCompletion(await stack.push(['leaver', ...others], { body: 'bye' }, { priority: 'normal' }));
    stack.webpush.setBehaviour({ bad: undefined });

    expect(job.platforms.web).toMatchObject({ tokens: 23, sent: 21, invalid: 2 });
    const results = await stack.allResults(job.jobId);
    expect(
      results
        .filter((r) => r.status === 'invalid')
        .map((r) => [r.token, r.reason])
        .sort(),
    ).toEqual(
      [
        [gone.endpoint, 'HTTP 410: Unsubscribed'],
        [unknown.endpoint, 'HTTP 404: NoSuchSubscription'],
      ].sort(),
    );
    const listed = await stack.api.request('GET', '/push/clients/leaver/tokens');
    expect(listed.body.result.tokens).toEqual([{ token: kept.endpoint, platform: 'web', createdAt: expect.any(String) }]);
  });

  it('retries 5xx and 429, honouring Retry-After; 400 and 413 fail at once; retries used up end failed', async () => {
    const flaky = await stack.subscribe('retry-flaky');
    const refused = await stack.subscribe('retry-refused');
    const hot = await stack.subscribe('retry-hot');
    stack.webpush.setBehaviour({
      flakyOnce: [flaky.endpoint],
      badRequest: [refused.endpoint],
      throttled: [hot.endpoint],
      retryAfterSeconds: 1,
    });
    const job = await stack.waitForCompletion(await stack.push(['retry-flaky', 'retry-refused', 'retry-hot'], { title: 'again' }));
    stack.webpush.setBehaviour({ flakyOnce: undefined, badRequest: undefined, throttled: undefined, retryAfterSeconds: undefined });

    const byToken = new Map((await stack.allResults(job.jobId)).map((r) => [r.token, r]));
    expect(byToken.get(flaky.endpoint)).toMatchObject({ status: 'sent' });
    expect(byToken.get(refused.endpoint)).toMatchObject({ status: 'failed', reason: 'HTTP 400: BadRequest' });
    expect(byToken.get(hot.endpoint)).toMatchObject({ status: 'failed', reason: 'retries exhausted: HTTP 429: TooManyRequests' });
    // Three attempts at the throttled one, each after the previous answer's Retry-After (1 s).
    expect(stack.webpush.stats().rejected.TooManyRequests).toBe(3);
    expect(stack.webpush.stats().rejected.BadRequest).toBe(1);
    expect(stack.webpush.receivedFor(flaky.endpoint)).toHaveLength(1);

    // 413: the push service refuses the body size; not retried.
    stack.webpush.setBehaviour({ maxPayloadBytes: 64 });
    const big = await stack.waitForCompletion(await stack.push(['retry-flaky'], { body: 'x'.repeat(100) }));
    stack.webpush.setBehaviour({ maxPayloadBytes: undefined });
    expect((await stack.allResults(big.jobId))[0]).toMatchObject({ status: 'failed', reason: 'HTTP 413: PayloadTooLarge' });
  });

  it('waits out a 429 Retry-After before sending to that push service again', async () => {
    const sub = await stack.subscribe('patient');
    const until = Date.now() + 1000;
    stack.webpush.outage(1000, 429);
    const job = await stack.waitForCompletion(await stack.push(['patient'], { body: 'later' }, { priority: 'normal' }));
    expect(job.platforms.web).toMatchObject({ sent: 1 });
    expect(stack.webpush.stats().rejected.Outage).toBe(1);
    expect(stack.webpush.receivedFor(sub.endpoint)[0]).toMatchObject({ at: expect.any(Number), headers: { urgency: 'normal' } });
    expect(stack.webpush.receivedFor(sub.endpoint)[0]!.at).toBeGreaterThanOrEqual(until);
  });

  it('the worker checks the allowlist again: a registry entry for another host is never requested', async () => {
    // As if written before WEBPUSH_ALLOWED_ENDPOINTS was narrowed (the API refuses such an endpoint).
    const sub = stack.webpush.subscribe();
    await new TokenRegistry(stack.api.redis, stack.api.prefix).register('old', 'web', 'https://10.0.0.5:6379/push/x', Date.now(), {
      keys: packSubscriptionKeys(sub.keys),
    });
    const job = await stack.waitForCompletion(await stack.push(['old'], { body: 'x' }));
    const [result] = await stack.allResults(job.jobId);
    expect(result).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/^EndpointNotAllowed: host 10\.0\.0\.5:6379 is not an allowed push service/),
    });
    expect(stack.webpush.stats().requests).toBe(0);
  });
});

describe("Web Push with each app's own VAPID keys", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('webpush-apps', { env: appsEnv });
  });
  afterAll(() => stack.close());

  it("signs each app's messages with its own key and subject, the default app's with the environment's", async () => {
    const news = { ...generateVapidKeys(), subject: 'mailto:news@example.com' };
    const shop = { ...generateVapidKeys(), subject: 'https://shop.example.com/contact' };
    const senders = [
      {
        id: 'default',
        vapid: { publicKey: stack.workerEnv.WEBPUSH_VAPID_PUBLIC_KEY!, subject: stack.workerEnv.WEBPUSH_SUBJECT! },
        request: (method: string, path: string, body?: unknown) => stack.api.request(method, path, body),
      },
      { id: 'news', vapid: news, request: (await createTestApp(stack, 'news', { webpush: news })).request },
      { id: 'shop', vapid: shop, request: (await createTestApp(stack, 'shop', { webpush: shop })).request },
    ];
    const sent = [];
    for (const sender of senders) {
      // The same client id in every app; each browser subscribed with its app's key (another key: 403).
      const subscription = stack.webpush.subscribe({ applicationServerKey: sender.vapid.publicKey });
      expect((await sender.request('POST', '/push/tokens', { client: 'reader', platform: 'web', subscription })).status).toBe(200);
      const res = await sender.request('POST', '/push/push2clients', { clients: ['reader'], payload: { title: sender.id } });
      expect(res.status).toBe(200);
      sent.push({ ...sender, endpoint: subscription.endpoint, jobId: res.body.result.jobId as string });
    }
    for (const { id, vapid, request, endpoint, jobId } of sent) {
      const job = await waitFor(
        async () => {
          const status = (await request('GET', `/push/jobs/${jobId}`)).body.result;
          return status.state === 'completed' ? status : undefined;
        },
        20_000,
        `the job of ${id}`,
      );
      expect(job.platforms.web).toMatchObject({ tokens: 1, sent: 1, failed: 0 });
      // What the push service saw: the JWT's key (k) and subject are the app's, for its own browser only.
      const got = stack.webpush.receivedFor(endpoint);
      expect(got.map((n) => n.body)).toEqual([{ title: id }]);
      expect(got[0]!.vapid).toMatchObject({ aud: stack.webpush.url, k: vapid.publicKey, sub: vapid.subject });
    }
    expect(new Set(stack.webpush.received().map((n) => n.vapid?.k)).size).toBe(3);
  });
});
