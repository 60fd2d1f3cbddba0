import apn from '@parse/node-apn';
import { startApnsSimulator, startFcmSimulator, type ApnsSimulator, type FcmSimulator } from '../src';
import { H2Client, hexToken, providerToken } from './helpers';

const TOPIC = 'com.example.app';

let apns: ApnsSimulator;
let fcm: FcmSimulator;
let apnsClient: H2Client;
let fcmClient: H2Client;

function apnsPost(token: string, client = apnsClient) {
  const authorization = `bearer ${providerToken(apns.signingKeyPem, { kid: apns.keyId, iss: apns.teamId })}`;
  return client.request({ path: `/3/device/${token}`, headers: { authorization, 'apns-topic': TOPIC }, body: { aps: { alert: 'hi' } } });
}

function fcmPost(token: string) {
  return fcmClient.request({
    path: `/v1/projects/${fcm.projectId}/messages:send`,
    headers: { authorization: `Bearer ${fcm.accessToken}` },
    body: { message: { token, data: { n: token } } },
  });
}

/** Polls `probe` until it is true or the deadline passes (no fixed sleeps). */
async function until(probe: () => Promise<boolean> | boolean, deadlineMs = 5000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error('condition not reached before the deadline');
    await new Promise((r) => setImmediate(r));
  }
}

beforeAll(async () => {
  [apns, fcm] = await Promise.all([startApnsSimulator(), startFcmSimulator()]);
  apnsClient = new H2Client(apns.url, apns.caPem);
  fcmClient = new H2Client(fcm.url, fcm.caPem);
  await Promise.all([apnsClient.ready(), fcmClient.ready()]);
});

afterAll(async () => {
  await Promise.all([apnsClient.close(), fcmClient.close()]);
  await Promise.all([apns.close(), fcm.close()]);
});

beforeEach(() => {
  apns.reset();
  fcm.reset();
});

describe('flaky-once tokens', () => {
  it('APNs: 503 ServiceUnavailable first, 200 afterwards; reset() forgets', async () => {
    const token = hexToken('flaky');
    apns.setBehaviour({ flakyOnce: [token] });
    expect((await apnsPost(token)).json).toEqual({ reason: 'ServiceUnavailable' });
    expect((await apnsPost(token)).status).toBe(200);
    apns.reset();
    expect((await apnsPost(token)).status).toBe(503);
    apns.setBehaviour({ flakyOnce: undefined });
  });

  it('APNs: node-apn retries the 503 itself and delivers', async () => {
    const token = hexToken('flaky-apn');
    apns.setBehaviour({ flakyOnce: [token] });
    const provider = new apn.Provider({
      token: { key: apns.signingKeyPem, keyId: apns.keyId, teamId: apns.teamId },
      address: apns.host,
      port: apns.port,
      ca: [apns.caPem],
    });
    const note = new apn.Notification({ alert: 'retry me', topic: TOPIC });
    const result = await provider.send(note, token);
    await provider.shutdown();
    apns.setBehaviour({ flakyOnce: undefined });
    expect(result.sent).toHaveLength(1);
    expect(apns.stats()).toMatchObject({ requests: 2, accepted: 1, rejected: { ServiceUnavailable: 1 } });
  });

  it('FCM: 500 INTERNAL first, 200 afterwards', async () => {
    fcm.setBehaviour({ flakyOnce: ['fl-*'] });
    expect((await fcmPost('fl-1')).status).toBe(500);
    expect((await fcmPost('fl-1')).status).toBe(200);
    expect((await fcmPost('fl-2')).status).toBe(500);
    fcm.setBehaviour({ flakyOnce: undefined });
  });
});

describe('outage window', () => {
  it('answers 503 until the window ends, then delivers again', async () => {
    const started = Date.now();
    apns.outage(300);
    fcm.outage(300);
    expect((await apnsPost(hexToken('o1'))).json).toEqual({ reason: 'ServiceUnavailable' });
    const down = await fcmPost('o1');
    expect([down.status, down.json.error.status, down.headers['retry-after']]).toEqual([503, 'UNAVAILABLE', '1']);
    await until(async () => (await fcmPost('o2')).status === 200);
    await until(async () => (await apnsPost(hexToken('o2'))).status === 200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('answers the given status', async () => {
    apns.outage(60_000, 500);
    fcm.outage(60_000, 429);
    expect((await apnsPost(hexToken('o3'))).json).toEqual({ reason: 'InternalServerError' });
    const fcmDown = await fcmPost('o3');
    expect([fcmDown.status, fcmDown.json.error.details[0].errorCode]).toEqual([429, 'QUOTA_EXCEEDED']);
    expect(Number(fcmDown.headers['retry-after'])).toBeGreaterThan(50);
    apns.setBehaviour({ outageUntil: 0 });
    fcm.setBehaviour({ outageUntil: 0 });
    expect((await apnsPost(hexToken('o3'))).status).toBe(200);
  });
});

describe('latency', () => {
  it('holds every answer latencyMs ± jitterMs, and slow tokens slowMs longer', async () => {
    // Lower bounds are latency - jitter (105 ms) less 5 ms of timer granularity.
    apns.setBehaviour({ latencyMs: 120, jitterMs: 15 });
    fcm.setBehaviour({ latencyMs: 120, jitterMs: 15, slow: ['slow-*'], slowMs: 200 });
    try {
      expect((await apnsPost(hexToken('l1'))).ms).toBeGreaterThanOrEqual(100);
      expect((await fcmPost('l1')).ms).toBeGreaterThanOrEqual(100);
      expect((await fcmPost('slow-1')).ms).toBeGreaterThanOrEqual(300);
    } finally {
      apns.setBehaviour({ latencyMs: 0, jitterMs: 0 });
      fcm.setBehaviour({ latencyMs: 0, jitterMs: 0, slow: [] });
    }
  });
});

describe('records and counters', () => {
  it('keeps only the newest recordLimit notifications but counts all', async () => {
    fcm.setBehaviour({ recordLimit: 3 });
    for (let i = 1; i <= 5; i++) await fcmPost(`r-${i}`);
    expect(fcm.received().map((n) => n.token)).toEqual(['r-3', 'r-4', 'r-5']);
    expect(fcm.stats().accepted).toBe(5);
    fcm.setBehaviour({ recordLimit: undefined });
  });

  it('counts sessions and the in-flight high-water mark', async () => {
    const second = new H2Client(apns.url, apns.caPem);
    await second.ready();
    apns.setBehaviour({ latencyMs: 50 });
    try {
      const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => apnsPost(hexToken(`f${i}`), i % 2 ? apnsClient : second)));
      expect(replies.every((r) => r.status === 200)).toBe(true);
    } finally {
      apns.setBehaviour({ latencyMs: 0 });
      await second.close();
    }
    const stats = apns.stats();
    expect(stats.requests).toBe(20);
    expect(stats.maxInFlight).toBe(20);
    // reset() in beforeEach zeroed the count; the second client's session is the one opened since.
    expect(stats.sessions).toBe(1);
    await until(() => apns.stats().inFlight === 0);
  });

  it('serves the control endpoints over HTTP', async () => {
    await fcmPost('c-1');
    const stats = await fcmClient.request({ method: 'GET', path: '/_sim/stats' });
    expect(stats.json).toMatchObject({ requests: 1, accepted: 1 });

    const changed = await fcmClient.request({ path: '/_sim/behaviour', body: { dead: ['c-*'] } });
    expect(changed.json.dead).toEqual(['c-*']);
    expect((await fcmPost('c-2')).status).toBe(404);
    const refused = await fcmClient.request({ path: '/_sim/behaviour', body: { errorRate: 2 } });
    expect(refused.status).toBe(400);
    expect(refused.json.error).toMatch(/errorRate/);
    await fcmClient.request({ path: '/_sim/behaviour', body: { dead: [] } });

    await fcmClient.request({ path: '/_sim/outage', body: { ms: 60_000 } });
    expect((await fcmPost('c-3')).status).toBe(503);
    fcm.setBehaviour({ outageUntil: 0 });

    const reset = await fcmClient.request({ path: '/_sim/reset' });
    expect(reset.status).toBe(200);
    expect(fcm.stats()).toMatchObject({ requests: 0, accepted: 0, rejected: {} });
    expect((await fcmClient.request({ method: 'GET', path: '/_sim/received' })).json).toEqual({ total: 0, items: [] });
  });
});
