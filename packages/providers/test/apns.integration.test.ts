import type { ApnsCredentials } from '@push/config';
import { toApns, type Payload } from '@push/contract';
import {
  APNS_MISCONFIGURATION,
  createApnsProvider,
  ProviderClosedError,
  type ApnsProviderOptions,
  type PushProvider,
} from '@push/providers';
import { startApnsSimulator, type ApnsSimulator } from '@push/simulators';
import { startSilentRelay } from './silent-relay';

/** A 64-character hex device token starting with `prefix` (hex too), unique per `n`. */
const token = (prefix: string, n = 0) => `${prefix}${n.toString(16).padStart(8, '0')}`.padEnd(64, '0');
const TOPIC = 'com.example.app';

let sim: ApnsSimulator;
let provider: PushProvider;
const providers: PushProvider[] = [];

function credentials(overrides: Partial<ApnsCredentials> = {}): ApnsCredentials {
  return {
    key: sim.signingKeyPem,
    keyId: sim.keyId,
    teamId: sim.teamId,
    production: false,
    defaultTopic: TOPIC,
    host: sim.host,
    port: sim.port,
    ...overrides,
  };
}

function newProvider(options: Partial<ApnsProviderOptions> = {}): PushProvider {
  const p = createApnsProvider({ credentials: credentials(), connections: 2, timeoutMs: 5000, ca: sim.caPem, ...options });
  providers.push(p);
  return p;
}

beforeAll(async () => {
  sim = await startApnsSimulator({
    dead: ['dead*'],
    bad: ['bad0*'],
    wrongTopic: ['b0b*'],
    throttled: ['cafe*'],
    flakyOnce: ['f1a*'],
    slow: ['5105*'],
    slowMs: 1000,
  });
  provider = newProvider();
});

beforeEach(() => sim.reset());

afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await sim.close();
});

test('sends the contract mapping: recorded headers and body are toApns(payload)', async () => {
  const payload: Payload = {
    alert: 'hello',
    badge: 3,
    sound: 'ping',
    topic: 'com.example.other',
    expiry: Math.floor(Date.now() / 1000) + 3600,
    type: 'chat',
  };
  const t = token('aa');
  expect(await provider.send([t], payload)).toEqual([{ status: 'sent' }]);
  const [recorded] = sim.receivedFor(t);
  const expected = toApns(payload, TOPIC);
  expect(recorded?.headers).toMatchObject(expected.headers);
  expect(recorded?.body).toEqual(expected.body);

  const silent: Payload = { type: 'sync' };
  const s = token('ab');
  await provider.send([s], silent);
  expect(sim.receivedFor(s)[0]?.headers).toMatchObject({ 'apns-topic': TOPIC, 'apns-push-type': 'background', 'apns-priority': '5' });
});

test('dead, bad and wrong-topic tokens are invalid with Apple’s reason, all guarded; outcomes keep the token order', async () => {
  const tokens = [token('dead'), token('aa', 1), token('bad0'), token('b0b'), token('aa', 2)];
  const before = Date.now();
  const outcomes = await provider.send(tokens, { alert: 'x' });
  expect(outcomes).toEqual([
    { status: 'invalid', reason: 'Unregistered', misconfiguration: APNS_MISCONFIGURATION.Unregistered, since: expect.any(Number) },
    { status: 'sent' },
    { status: 'invalid', reason: 'BadDeviceToken', misconfiguration: APNS_MISCONFIGURATION.BadDeviceToken },
    { status: 'invalid', reason: 'DeviceTokenNotForTopic', misconfiguration: APNS_MISCONFIGURATION.DeviceTokenNotForTopic },
    { status: 'sent' },
  ]);
  // The 410's timestamp, as Apple sends it.
  expect((outcomes[0] as { since: number }).since).toBeGreaterThanOrEqual(before);
  sim.setBehaviour({ unregisteredAt: 1_700_000_000_000 });
  expect(await provider.send([token('dead', 1)], { alert: 'x' })).toEqual([
    { status: 'invalid', reason: 'Unregistered', misconfiguration: APNS_MISCONFIGURATION.Unregistered, since: 1_700_000_000_000 },
  ]);
  sim.setBehaviour({ unregisteredAt: undefined });
});

test('DeviceTokenNotForTopic for the payload’s own topic is failed, not a dead token', async () => {
  expect(await provider.send([token('b0b', 1)], { alert: 'x', topic: 'com.example.other' })).toEqual([
    {
      status: 'failed',
      reason: "DeviceTokenNotForTopic (the payload's topic)",
      misconfiguration: APNS_MISCONFIGURATION.DeviceTokenNotForTopic,
    },
  ]);
});

test('the job id becomes apns-collapse-id, or the collapseKey when set', async () => {
  const jobId = 'a0b1c2d3-0000-4000-8000-000000000001';
  const [t1, t2] = [token('ad', 1), token('ad', 2)];
  await provider.send([t1], { alert: 'x' }, { jobId });
  await provider.send([t2], { alert: 'x', collapseKey: 'promo' }, { jobId });
  expect(sim.receivedFor(t1)[0]?.headers['apns-collapse-id']).toBe(jobId);
  expect(sim.receivedFor(t2)[0]?.headers['apns-collapse-id']).toBe('promo');
});

test('no topic anywhere: failed MissingTopic', async () => {
  const noTopic = newProvider({ credentials: credentials({ defaultTopic: undefined }) });
  expect(await noTopic.send([token('aa', 3)], { alert: 'x' })).toEqual([{ status: 'failed', reason: 'MissingTopic' }]);
});

test('throttled answers are retries for the token, outage and flaky ones outage retries, and node-apn never resends on its own', async () => {
  expect(await provider.send([token('cafe')], { alert: 'x' })).toEqual([{ status: 'retry', scope: 'token', reason: 'TooManyRequests' }]);

  const flaky = token('f1a');
  expect(await provider.send([flaky], { alert: 'x' })).toEqual([{ status: 'retry', scope: 'outage', reason: 'ServiceUnavailable' }]);
  expect(await provider.send([flaky], { alert: 'x' })).toEqual([{ status: 'sent' }]);

  sim.outage(60_000, 503);
  const during = [token('aa', 4), token('aa', 5), token('aa', 6)];
  expect(await provider.send(during, { alert: 'x' })).toEqual(
    during.map(() => ({ status: 'retry', scope: 'outage', reason: 'ServiceUnavailable' })),
  );
  sim.outage(60_000, 500);
  expect(await provider.send([token('aa', 7)], { alert: 'x' })).toEqual([
    { status: 'retry', scope: 'outage', reason: 'InternalServerError' },
  ]);
  sim.outage(0);

  // 1 throttled + 2 flaky + 3 + 1 during outages: one request per send and token, none repeated by node-apn.
  expect(sim.stats().requests).toBe(7);
});

test('ExpiredProviderToken: the shared JWT is refreshed and each notification resent once', async () => {
  const first = token('aa', 8);
  expect(await provider.send([first], { alert: 'x' })).toEqual([{ status: 'sent' }]);
  sim.expireProviderTokens();
  // Several tokens over both connections: every one comes back with the new token, not just the first.
  const tokens = [token('aa', 9), token('aa', 10), token('aa', 11), token('aa', 12)];
  expect(await provider.send(tokens, { alert: 'x' })).toEqual(tokens.map(() => ({ status: 'sent' })));
  for (const t of tokens) expect(sim.receivedFor(t)).toHaveLength(1);
  expect(sim.stats().rejected.ExpiredProviderToken).toBe(tokens.length);
  expect(sim.stats().requests).toBe(1 + 2 * tokens.length);
  // The refreshed token keeps working: no further refresh, one request per token.
  expect(await provider.send([token('aa', 13)], { alert: 'x' })).toEqual([{ status: 'sent' }]);
  expect(sim.stats().requests).toBe(2 + 2 * tokens.length);
});

test('uses `connections` HTTP/2 sessions', async () => {
  const three = newProvider({ connections: 3 });
  const tokens = Array.from({ length: 30 }, (_, i) => token('ac', i));
  expect(await three.send(tokens, { alert: 'x' })).toEqual(tokens.map(() => ({ status: 'sent' })));
  expect(sim.stats().sessions).toBe(3);
});

test('a token that is not hex is refused without a request, so it can never alter the URL path', async () => {
  const hostile = ['../../../4/broadcasts/apps/x', 'abcd/../../x', 'ab%2F..', 'abcd?x=1', 'abcd#frag', 'ab cd', ''];
  const outcomes = await provider.send(hostile, { alert: 'x' });
  expect(outcomes).toEqual(hostile.map(() => ({ status: 'failed', reason: expect.stringMatching(/^BadDeviceToken/) })));
  expect(sim.stats().requests).toBe(0);
});

test('an answer slower than timeoutMs is a retry for the token', async () => {
  const quick = newProvider({ timeoutMs: 200 });
  expect(await quick.send([token('5105')], { alert: 'x' })).toEqual([
    { status: 'retry', scope: 'outage', reason: expect.stringMatching(/^Timeout/) },
  ]);
  expect(sim.stats().requests).toBe(1);
});

test('a connection that goes silent is found by a PING after a timeout and replaced', async () => {
  const relay = await startSilentRelay(sim.port);
  try {
    const relayed = newProvider({ credentials: credentials({ port: relay.port }), connections: 1, timeoutMs: 200 });
    expect(await relayed.send([token('aa', 20)], { alert: 'x' })).toEqual([{ status: 'sent' }]);
    relay.silenceOpenConnections();
    expect(await relayed.send([token('aa', 21)], { alert: 'x' })).toEqual([
      { status: 'retry', scope: 'outage', reason: expect.stringMatching(/^Timeout/) },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the unanswered PING destroys the session
    expect(await relayed.send([token('aa', 22)], { alert: 'x' })).toEqual([{ status: 'sent' }]);
    expect(sim.stats().sessions).toBe(2);
    await relayed.close(); // before the relay, which waits for its connections to end
  } finally {
    await relay.close();
  }
});

test('without the simulator CA the TLS handshake fails: a retry, nothing delivered', async () => {
  const untrusting = newProvider({ ca: undefined });
  const [outcome] = await untrusting.send([token('aa', 14)], { alert: 'x' });
  expect(outcome).toMatchObject({ status: 'retry', scope: 'outage' });
  expect(sim.received()).toHaveLength(0);
});

test('close() lets in-flight notifications finish, then refuses new sends', async () => {
  const closing = newProvider();
  sim.setBehaviour({ latencyMs: 150 });
  try {
    const pending = closing.send([token('aa', 15)], { alert: 'x' });
    await new Promise((resolve) => setTimeout(resolve, 30));
    await closing.close();
    expect(await pending).toEqual([{ status: 'sent' }]);
    await expect(closing.send([token('aa', 16)], { alert: 'x' })).rejects.toBeInstanceOf(ProviderClosedError);
  } finally {
    sim.setBehaviour({ latencyMs: 0 });
  }
});
