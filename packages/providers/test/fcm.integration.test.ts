import { toFcm, type Payload } from '@push/contract';
import {
  createFcmProvider,
  FCM_MISCONFIGURATION,
  ProviderClosedError,
  ProviderConfigError,
  type FcmProviderOptions,
  type PushProvider,
} from '@push/providers';
import { startFcmSimulator, type FcmSimulator } from '@push/simulators';

const token = (prefix: string, n = 0) => `${prefix}-${n}-${'x'.repeat(40)}`;

let sim: FcmSimulator;
let provider: PushProvider;
const providers: PushProvider[] = [];

function newProvider(options: Partial<FcmProviderOptions> = {}, target: FcmSimulator = sim): PushProvider {
  const p = createFcmProvider({
    endpoint: target.url,
    projectId: target.projectId,
    credential: { accessToken: target.accessToken },
    connections: 2,
    timeoutMs: 5000,
    ca: target.caPem,
    ...options,
  });
  providers.push(p);
  return p;
}

beforeAll(async () => {
  sim = await startFcmSimulator({
    dead: ['dead*'],
    bad: ['bad*'],
    senderMismatch: ['other*'],
    throttled: ['hot*'],
    deviceThrottled: ['busy*'],
    flakyOnce: ['flaky*'],
    slow: ['slow*'],
    slowMs: 1000,
    retryAfterSeconds: 7,
  });
  provider = newProvider();
});

beforeEach(() => sim.reset());

afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await sim.close();
});

test('sends {message: toFcm(payload) + token} to messages:send', async () => {
  const payload: Payload = { title: 'T', body: 'B', icon: 'bell', collapseKey: 'c', type: 'chat' };
  const t = token('ok');
  expect(await provider.send([t], payload)).toEqual([{ status: 'sent' }]);
  const [recorded] = sim.receivedFor(t);
  expect(recorded?.body).toEqual({ message: { ...toFcm(payload, Date.now()), token: t } });

  const expiring: Payload = { alert: 'soon', expiry: Math.floor(Date.now() / 1000) + 600 };
  const e = token('ok', 1);
  await provider.send([e], expiring);
  const body = sim.receivedFor(e)[0]?.body as { message: { android: { ttl: string }; notification: unknown } };
  expect(body.message.notification).toEqual({ body: 'soon' });
  expect(Number(body.message.android.ttl.replace(/s$/, ''))).toBeGreaterThanOrEqual(598);
});

test('dead and bad tokens are invalid with FCM’s code, another sender’s failed; all guarded; outcomes keep the token order', async () => {
  const tokens = [token('dead'), token('ok', 2), token('bad'), token('other')];
  expect(await provider.send(tokens, { alert: 'x' })).toEqual([
    { status: 'invalid', reason: 'UNREGISTERED', misconfiguration: FCM_MISCONFIGURATION.UNREGISTERED },
    { status: 'sent' },
    { status: 'invalid', reason: expect.stringMatching(/^INVALID_ARGUMENT: /), misconfiguration: FCM_MISCONFIGURATION.INVALID_ARGUMENT },
    { status: 'failed', reason: 'SENDER_ID_MISMATCH', misconfiguration: FCM_MISCONFIGURATION.SENDER_ID_MISMATCH },
  ]);
});

test('a bad message (too big) is failed, not a dead token', async () => {
  expect(await provider.send([token('ok', 3)], { body: 'x'.repeat(5000) })).toEqual([
    { status: 'failed', reason: expect.stringMatching(/^INVALID_ARGUMENT: Message is too big/) },
  ]);
});

test('the project quota 429 is a provider-wide retry, a device 429 a token retry, 500/503 outage retries', async () => {
  expect(await provider.send([token('hot')], { alert: 'x' })).toEqual([
    { status: 'retry', scope: 'provider', reason: 'QUOTA_EXCEEDED', retryAfterMs: 7000 },
  ]);
  expect(await provider.send([token('busy')], { alert: 'x' })).toEqual([
    { status: 'retry', scope: 'token', reason: 'QUOTA_EXCEEDED (device)', retryAfterMs: 7000 },
  ]);
  const flaky = token('flaky');
  expect(await provider.send([flaky], { alert: 'x' })).toEqual([{ status: 'retry', scope: 'outage', reason: 'INTERNAL' }]);
  expect(await provider.send([flaky], { alert: 'x' })).toEqual([{ status: 'sent' }]);

  sim.outage(5000, 503);
  try {
    const [outcome] = await provider.send([token('ok', 4)], { alert: 'x' });
    expect(outcome).toEqual({ status: 'retry', scope: 'outage', reason: 'UNAVAILABLE', retryAfterMs: expect.any(Number) });
    expect((outcome as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
  } finally {
    sim.outage(0);
  }
  expect(sim.stats().requests).toBe(5); // no hidden retries
});

test('the project quota (quotaPerMinute) answers 429 with its own Retry-After', async () => {
  sim.setBehaviour({ quotaPerMinute: 2 });
  try {
    const outcomes = await provider.send([token('ok', 5), token('ok', 6), token('ok', 7), token('ok', 8)], { alert: 'x' });
    const throttled = outcomes.filter((o) => o.status === 'retry');
    expect(throttled.length).toBeGreaterThan(0);
    for (const o of throttled)
      expect(o).toEqual({ status: 'retry', scope: 'provider', reason: 'QUOTA_EXCEEDED', retryAfterMs: expect.any(Number) });
  } finally {
    sim.setBehaviour({ quotaPerMinute: 0 });
  }
});

test('a wrong ready access token is failed UNAUTHENTICATED at once (nothing can replace it)', async () => {
  const wrong = newProvider({ credential: { accessToken: 'ya29.wrong' } });
  expect(await wrong.send([token('ok', 9)], { alert: 'x' })).toEqual([{ status: 'failed', reason: 'UNAUTHENTICATED' }]);
  expect(sim.stats().requests).toBe(1);
});

test('a 401 with a refreshable credential: one refresh and one resend before anything is failed', async () => {
  // A credential whose first token was revoked early: FCM refuses it, the next one is accepted.
  const issued = ['ya29.revoked', sim.accessToken, 'ya29.never-used'];
  const credential = { getAccessToken: jest.fn(() => Promise.resolve({ access_token: issued.shift()!, expires_in: 3600 })) };
  const refreshing = newProvider({ credential: { credential } });
  const tokens = [token('ok', 30), token('ok', 31)];
  expect(await refreshing.send(tokens, { alert: 'x' })).toEqual([{ status: 'sent' }, { status: 'sent' }]);
  expect(credential.getAccessToken).toHaveBeenCalledTimes(2);
  expect(sim.stats().requests).toBe(4);
  expect(sim.stats().rejected.UNAUTHENTICATED).toBe(2);

  // Refused again after the refresh: failed, after exactly one resend per token.
  sim.reset();
  const stubborn = newProvider({
    credential: { credential: { getAccessToken: () => Promise.resolve({ access_token: 'ya29.refused', expires_in: 3600 }) } },
  });
  expect(await stubborn.send([token('ok', 32)], { alert: 'x' })).toEqual([{ status: 'failed', reason: 'UNAUTHENTICATED' }]);
  expect(sim.stats().requests).toBe(2);
});

test('the job id becomes android.notification.tag, unless collapseKey is set', async () => {
  const jobId = 'a0b1c2d3-0000-4000-8000-000000000001';
  const [t1, t2] = [token('ok', 40), token('ok', 41)];
  await provider.send([t1], { title: 'T' }, { jobId });
  await provider.send([t2], { title: 'T', collapseKey: 'promo' }, { jobId });
  const message = (t: string) => (sim.receivedFor(t)[0]?.body as { message: { android?: unknown } }).message.android;
  expect(message(t1)).toEqual({ notification: { tag: jobId } });
  expect(message(t2)).toEqual({ collapse_key: 'promo' });
});

test('tokens outside [A-Za-z0-9_:-] are refused without a request', async () => {
  const outcomes = await provider.send(['abc/def', 'a b', 'x.y', '%2F', ''], { alert: 'x' });
  expect(outcomes.every((o) => o.status === 'failed')).toBe(true);
  expect(sim.stats().requests).toBe(0);
});

test('no project id: a ProviderConfigError at creation', () => {
  expect(() => createFcmProvider({ endpoint: sim.url, credential: { accessToken: 'x' }, connections: 1, timeoutMs: 1000 })).toThrow(
    ProviderConfigError,
  );
});

test('2000 tokens at 20 ms latency over 2 sessions: many streams per session, 2 sessions', async () => {
  const pooled = newProvider({ connections: 2 });
  sim.setBehaviour({ latencyMs: 20 });
  try {
    const tokens = Array.from({ length: 2000 }, (_, i) => token('bulk', i));
    const started = Date.now();
    const outcomes = await pooled.send(tokens, { alert: 'x' });
    const elapsed = Date.now() - started;
    expect(outcomes.every((o) => o.status === 'sent')).toBe(true);
    const stats = sim.stats();
    expect(stats.sessions).toBe(2);
    expect(stats.maxInFlight).toBeGreaterThan(100);
    expect(stats.accepted).toBe(2000);
    // One after another this would take 40 s; multiplexed it is a few round trips.
    expect(elapsed).toBeLessThan(10_000);
  } finally {
    sim.setBehaviour({ latencyMs: 0 });
  }
});

test('an answer slower than timeoutMs is a retry for the token', async () => {
  const quick = newProvider({ timeoutMs: 200 });
  expect(await quick.send([token('slow')], { alert: 'x' })).toEqual([
    { status: 'retry', scope: 'outage', reason: expect.stringMatching(/^Timeout/) },
  ]);
});

test('without the simulator CA the TLS handshake fails: a retry, nothing delivered', async () => {
  const untrusting = newProvider({ ca: undefined });
  const [outcome] = await untrusting.send([token('ok', 10)], { alert: 'x' });
  expect(outcome).toMatchObject({ status: 'retry', scope: 'outage', reason: expect.stringMatching(/^ConnectionError/) });
  expect(sim.received()).toHaveLength(0);
});

test('the server goes away (close, restart on the same port): the next send reconnects', async () => {
  const first = await startFcmSimulator({ accessToken: 'ya29.restart' });
  const p = newProvider({}, first);
  expect(await p.send([token('ok', 11)], { alert: 'x' })).toEqual([{ status: 'sent' }]);
  await first.close(); // destroys the sessions: the pool sees them close

  const second = await startFcmSimulator({ accessToken: 'ya29.restart', port: first.port });
  try {
    expect(await p.send([token('ok', 12), token('ok', 13)], { alert: 'x' })).toEqual([{ status: 'sent' }, { status: 'sent' }]);
    expect(second.stats().sessions).toBe(2);
  } finally {
    await p.close();
    await second.close();
  }
});

test('close() lets in-flight messages finish, then refuses new sends', async () => {
  const closing = newProvider();
  sim.setBehaviour({ latencyMs: 150 });
  try {
    const pending = closing.send([token('ok', 14)], { alert: 'x' });
    await new Promise((resolve) => setTimeout(resolve, 30));
    await closing.close();
    expect(await pending).toEqual([{ status: 'sent' }]);
    await expect(closing.send([token('ok', 15)], { alert: 'x' })).rejects.toBeInstanceOf(ProviderClosedError);
  } finally {
    sim.setBehaviour({ latencyMs: 0 });
  }
});
