import apn from '@parse/node-apn';
import http2 from 'node:http2';
import { startApnsSimulator, type ApnsSimulator } from '../src';
import { H2Client, hexToken, otherKeyPem, providerToken } from './helpers';

const TOPIC = 'com.example.app';
const DEAD = `dead${'0'.repeat(60)}`;
const BAD = hexToken('bad');
const WRONG_TOPIC = hexToken('wrong-topic');
const THROTTLED = hexToken('throttled');

let sim: ApnsSimulator;
let raw: H2Client;

/** The real client, configured the way a worker would be: custom host/port, the simulator CA, token auth. */
function provider(o: { retries?: number } = {}): apn.Provider {
  return new apn.Provider({
    token: { key: sim.signingKeyPem, keyId: sim.keyId, teamId: sim.teamId },
    address: sim.host,
    port: sim.port,
    ca: [sim.caPem],
    production: false,
    connectionRetryLimit: o.retries ?? 0,
  });
}

function note(fields: Partial<apn.Notification> = {}): apn.Notification {
  const n = new apn.Notification();
  n.alert = { title: 'Hello', body: 'World' };
  n.badge = 3;
  n.topic = TOPIC;
  n.pushType = 'alert';
  Object.assign(n, fields);
  return n;
}

function auth(): string {
  return `bearer ${providerToken(sim.signingKeyPem, { kid: sim.keyId, iss: sim.teamId })}`;
}

/** A raw POST /3/device/<token> with valid auth and topic unless overridden. */
function post(token: string, headers: http2.OutgoingHttpHeaders = {}, body: string | object = { aps: { alert: 'hi' } }) {
  return raw.request({ path: `/3/device/${token}`, headers: { authorization: auth(), 'apns-topic': TOPIC, ...headers }, body });
}

beforeAll(async () => {
  sim = await startApnsSimulator({ dead: ['dead*'], bad: [BAD], wrongTopic: [WRONG_TOPIC], throttled: [THROTTLED] });
  raw = new H2Client(sim.url, sim.caPem);
  await raw.ready();
});

afterAll(async () => {
  await raw.close();
  await sim.close();
});

beforeEach(() => sim.reset());

describe('APNs simulator through @parse/node-apn', () => {
  it('accepts a notification, answers apns-id, and records what the device would receive', async () => {
    const p = provider();
    const token = hexToken(1);
    const id = '123e4567-e89b-12d3-a456-426614174000';
    const result = await p.send(note({ id }), token);
    await p.shutdown();

    expect(result.failed).toEqual([]);
    expect(result.sent).toEqual([expect.objectContaining({ device: token, 'apns-id': id })]);
    const [got] = sim.receivedFor(token);
    expect(got?.body).toEqual({ aps: { alert: { title: 'Hello', body: 'World' }, badge: 3 } });
    expect(got?.headers).toMatchObject({ 'apns-topic': TOPIC, 'apns-push-type': 'alert', 'apns-priority': '10', 'apns-id': id });
    expect(got?.headers.authorization).toBeUndefined();
    expect(sim.stats()).toMatchObject({ requests: 1, accepted: 1, sessions: 1 }); // node-apn's own session

    const overHttp = await raw.request({ method: 'GET', path: `/_sim/received?token=${token}&limit=10` });
    expect(overHttp.status).toBe(200);
    expect(overHttp.json).toEqual({ total: 1, items: [expect.objectContaining({ token, body: got?.body })] });
  });

  it.each([
    { what: 'not hex', token: 'not-a-token', fields: {}, status: 400, reason: 'BadDeviceToken' },
    { what: 'in the bad list', token: BAD, fields: {}, status: 400, reason: 'BadDeviceToken' },
    { what: 'without a topic', token: hexToken(2), fields: { topic: undefined }, status: 400, reason: 'MissingTopic' },
    { what: 'for another topic', token: WRONG_TOPIC, fields: {}, status: 400, reason: 'DeviceTokenNotForTopic' },
    { what: 'with a non-integer expiration', token: hexToken(3), fields: { expiry: 1.5 }, status: 400, reason: 'BadExpirationDate' },
    { what: 'with priority 7', token: hexToken(4), fields: { priority: 7 }, status: 400, reason: 'BadPriority' },
    { what: 'over 4096 bytes', token: hexToken(5), fields: { alert: 'x'.repeat(4100) }, status: 413, reason: 'PayloadTooLarge' },
    { what: 'to a throttled token', token: THROTTLED, fields: {}, status: 429, reason: 'TooManyRequests' },
  ])('refuses a notification $what: $status $reason', async ({ token, fields, status, reason }) => {
    const p = provider();
    const result = await p.send(note(fields), token);
    await p.shutdown();
    expect(result.sent).toEqual([]);
    expect(result.failed).toEqual([expect.objectContaining({ device: token, status, response: { reason } })]);
    expect(sim.stats().rejected).toEqual({ [reason]: 1 });
    expect(sim.received()).toEqual([]);
  });

  it('answers 410 Unregistered with the timestamp for a dead token (prefix entry)', async () => {
    const before = Date.now();
    const p = provider();
    const result = await p.send(note(), DEAD);
    await p.shutdown();
    const failure = result.failed[0];
    expect(failure?.status).toBe(410);
    expect(failure?.response?.reason).toBe('Unregistered');
    expect(failure?.response?.timestamp).toBeGreaterThanOrEqual(before);
  });

  it('checks topics against allowedTopics when set', async () => {
    sim.setBehaviour({ allowedTopics: ['com.example.other'] });
    try {
      const p = provider();
      const result = await p.send(note(), hexToken(6));
      await p.shutdown();
      expect(result.failed[0]?.response?.reason).toBe('DeviceTokenNotForTopic');
    } finally {
      sim.setBehaviour({ allowedTopics: undefined });
    }
  });

  it('lets the client refresh its JWT after expireProviderTokens() and retry', async () => {
    const p = provider({ retries: 1 });
    const token = hexToken(7);
    expect((await p.send(note(), token)).sent).toHaveLength(1);
    sim.expireProviderTokens();
    const again = await p.send(note(), token);
    await p.shutdown();
    expect(again.sent).toHaveLength(1);
    expect(sim.stats().rejected).toEqual({ ExpiredProviderToken: 1 });
    expect(sim.receivedFor(token)).toHaveLength(2);
  });
});

describe('APNs simulator over raw HTTP/2', () => {
  it('echoes apns-id, generates one when absent, and sends apns-unique-id', async () => {
    const id = '8f9c2b1e-6f0a-4c7e-9d5b-0a1b2c3d4e5f';
    const echoed = await post(hexToken(10), { 'apns-id': id });
    expect(echoed.status).toBe(200);
    expect(echoed.headers['apns-id']).toBe(id);
    expect(echoed.headers['apns-unique-id']).toMatch(/^[0-9a-f-]{36}$/);
    const generated = await post(hexToken(11));
    expect(generated.headers['apns-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers 410 with {reason, timestamp} in ms', async () => {
    const res = await post(DEAD);
    expect(res.status).toBe(410);
    expect(res.json).toEqual({ reason: 'Unregistered', timestamp: expect.any(Number) });
    expect(Math.abs(res.json.timestamp - Date.now())).toBeLessThan(5000);
  });

  it('answers 410 with the timestamp set by unregisteredAt', async () => {
    sim.setBehaviour({ unregisteredAt: 1_700_000_000_000 });
    try {
      expect((await post(DEAD)).json).toEqual({ reason: 'Unregistered', timestamp: 1_700_000_000_000 });
    } finally {
      sim.setBehaviour({ unregisteredAt: undefined });
    }
  });

  it.each([
    ['GET on a device path', 'GET', `/3/device/${hexToken(12)}`, 405, 'MethodNotAllowed'],
    ['an unknown path', 'POST', '/2/device/abc', 404, 'BadPath'],
  ])('answers %s with %i %s', async (_what, method, path, status, reason) => {
    const res = await raw.request({ method, path, headers: { authorization: auth(), 'apns-topic': TOPIC } });
    expect(res.status).toBe(status);
    expect(res.json).toEqual({ reason });
  });

  it('answers 500 InternalServerError at errorRate 1 and 503 ServiceUnavailable during an outage', async () => {
    sim.setBehaviour({ errorRate: 1 });
    const failing = await post(hexToken(13));
    sim.setBehaviour({ errorRate: 0 });
    expect([failing.status, failing.json]).toEqual([500, { reason: 'InternalServerError' }]);

    sim.outage(60_000);
    const down = await post(hexToken(13));
    sim.setBehaviour({ outageUntil: 0 });
    expect([down.status, down.json]).toEqual([503, { reason: 'ServiceUnavailable' }]);
    expect((await post(hexToken(13))).status).toBe(200);
  });

  it('refuses an empty payload and a payload that is not a JSON object', async () => {
    expect((await post(hexToken(14), {}, '')).json).toEqual({ reason: 'PayloadEmpty' });
    expect((await post(hexToken(14), {}, '[1]')).json).toEqual({ reason: 'BadPayload' });
  });
});

describe('APNs token authentication', () => {
  const cases: Array<[string, () => string | undefined, string]> = [
    ['missing', () => undefined, 'MissingProviderToken'],
    ['empty bearer', () => 'bearer ', 'MissingProviderToken'],
    ['malformed', () => 'bearer not.a.jwt', 'InvalidProviderToken'],
    ['signed by another key', () => `bearer ${providerToken(otherKeyPem(), { kid: sim.keyId, iss: sim.teamId })}`, 'InvalidProviderToken'],
    [
      'with the wrong kid',
      () => `bearer ${providerToken(sim.signingKeyPem, { kid: 'WRONGKEY01', iss: sim.teamId })}`,
      'InvalidProviderToken',
    ],
    [
      'with the wrong iss',
      () => `bearer ${providerToken(sim.signingKeyPem, { kid: sim.keyId, iss: 'WRONGTEAM1' })}`,
      'InvalidProviderToken',
    ],
    [
      'with alg HS256',
      () => `bearer ${providerToken(sim.signingKeyPem, { kid: sim.keyId, iss: sim.teamId, alg: 'HS256' })}`,
      'InvalidProviderToken',
    ],
    [
      'issued two hours ago',
      () => `bearer ${providerToken(sim.signingKeyPem, { kid: sim.keyId, iss: sim.teamId, iat: Math.floor(Date.now() / 1000) - 7200 })}`,
      'ExpiredProviderToken',
    ],
  ];

  it.each(cases)('refuses a provider token %s', async (_what, header, reason) => {
    const authorization = header();
    const headers: http2.OutgoingHttpHeaders = { 'apns-topic': TOPIC };
    if (authorization !== undefined) headers.authorization = authorization;
    const res = await raw.request({ path: `/3/device/${hexToken(20)}`, headers, body: { aps: {} } });
    expect(res.status).toBe(403);
    expect(res.json).toEqual({ reason });
  });

  it('expires tokens older than maxTokenAgeSeconds', async () => {
    // Its own simulator: expireProviderTokens() in another test has expired every older token here.
    const own = await startApnsSimulator();
    const client = new H2Client(own.url, own.caPem);
    try {
      const token = `bearer ${providerToken(own.signingKeyPem, { kid: own.keyId, iss: own.teamId, iat: Math.floor(Date.now() / 1000) - 120 })}`;
      const send = () =>
        client.request({ path: `/3/device/${hexToken(21)}`, headers: { authorization: token, 'apns-topic': TOPIC }, body: { aps: {} } });
      expect((await send()).status).toBe(200);
      own.setBehaviour({ maxTokenAgeSeconds: 60 });
      expect((await send()).json).toEqual({ reason: 'ExpiredProviderToken' });
      own.setBehaviour({ maxTokenAgeSeconds: undefined });
      expect((await send()).status).toBe(200);
    } finally {
      await client.close();
      await own.close();
    }
  });
});

describe('APNs SETTINGS_MAX_CONCURRENT_STREAMS', () => {
  function remoteMaxStreams(url: string, caPem: string): Promise<number | undefined> {
    return new Promise((resolve, reject) => {
      const s = http2.connect(url, { ca: caPem });
      s.once('error', reject);
      s.once('remoteSettings', (settings) => {
        s.close();
        resolve(settings.maxConcurrentStreams);
      });
    });
  }

  it('advertises 1000 by default, the configured value otherwise, and a changed value to new sessions', async () => {
    expect(await remoteMaxStreams(sim.url, sim.caPem)).toBe(1000);
    const small = await startApnsSimulator({ maxConcurrentStreams: 7 });
    try {
      expect(await remoteMaxStreams(small.url, small.caPem)).toBe(7);
      small.setBehaviour({ maxConcurrentStreams: 3 });
      expect(await remoteMaxStreams(small.url, small.caPem)).toBe(3);
    } finally {
      await small.close();
    }
  });
});
