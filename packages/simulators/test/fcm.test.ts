import { startFcmSimulator, type FcmSimulator } from '../src';
import { H2Client, http1 } from './helpers';

const FCM_ERROR = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const BAD_REQUEST = 'type.googleapis.com/google.rpc.BadRequest';

let sim: FcmSimulator;
let client: H2Client;

const sendPath = () => `/v1/projects/${sim.projectId}/messages:send`;
const authHeaders = () => ({ authorization: `Bearer ${sim.accessToken}`, 'content-type': 'application/json' });

/** POST messages:send over HTTP/2, the way the project's FCM sender talks to Google. */
function send(message: object, extra: object = {}, headers: Record<string, string> = authHeaders()) {
  return client.request({ path: sendPath(), headers, body: { message, ...extra } });
}

function message(token: string, more: object = {}) {
  return {
    token,
    notification: { title: 'Hi', body: 'There' },
    android: { ttl: '3600s', collapse_key: 'k' },
    data: { type: 'news' },
    ...more,
  };
}

beforeAll(async () => {
  sim = await startFcmSimulator({
    dead: ['dead-*'],
    bad: ['bad-1'],
    senderMismatch: ['other-sender'],
    throttled: ['hot'],
    deviceThrottled: ['busy-device'],
    retryAfterSeconds: 7,
  });
  client = new H2Client(sim.url, sim.caPem);
  await client.ready();
});

afterAll(async () => {
  await client.close();
  await sim.close();
});

beforeEach(() => sim.reset());

describe('FCM simulator: accepted messages', () => {
  it('answers 200 with a message name and records the request', async () => {
    const res = await send(message('tok-1'));
    expect(res.status).toBe(200);
    expect(res.json.name).toMatch(new RegExp(`^projects/${sim.projectId}/messages/\\S+$`));
    const [got] = sim.receivedFor('tok-1');
    expect(got?.body).toEqual({ message: message('tok-1') });
    expect(got?.headers['content-type']).toBe('application/json');
    expect(got?.headers.authorization).toBeUndefined();

    const overHttp = await client.request({ method: 'GET', path: '/_sim/received?token=tok-1' });
    expect(overHttp.json.items).toEqual([expect.objectContaining({ token: 'tok-1', body: got?.body })]);
    expect(sim.stats()).toMatchObject({ requests: 1, accepted: 1 });
  });

  it('speaks HTTP/1.1 too', async () => {
    const res = await http1(sim.url, sim.caPem, { path: sendPath(), headers: authHeaders(), body: { message: message('tok-h1') } });
    expect(res.httpVersion).toBe('1.1');
    expect(res.status).toBe(200);
    expect(sim.receivedFor('tok-h1')).toHaveLength(1);
  });

  it('validates without delivering when validate_only is true', async () => {
    const res = await send(message('tok-dry'), { validate_only: true });
    expect(res.status).toBe(200);
    expect(res.json.name).toBe(`projects/${sim.projectId}/messages/fake_message_id`);
    expect(sim.received()).toEqual([]);
    const invalid = await send(message('tok-dry', { android: { ttl: 'soon' } }), { validate_only: true });
    expect(invalid.status).toBe(400);
  });
});

describe('FCM simulator: Google error answers', () => {
  it('401 UNAUTHENTICATED without or with a wrong access token', async () => {
    for (const headers of [{ 'content-type': 'application/json' }, { ...authHeaders(), authorization: 'Bearer nope' }]) {
      const res = await send(message('tok'), {}, headers);
      expect(res.status).toBe(401);
      expect(res.json.error).toMatchObject({ code: 401, status: 'UNAUTHENTICATED' });
    }
  });

  it('403 PERMISSION_DENIED for another project', async () => {
    const res = await client.request({
      path: '/v1/projects/someone-else/messages:send',
      headers: authHeaders(),
      body: { message: message('tok') },
    });
    expect(res.status).toBe(403);
    expect(res.json.error).toMatchObject({ code: 403, status: 'PERMISSION_DENIED' });
    expect(res.json.error.message).toContain('someone-else');
  });

  it('404 NOT_FOUND / UNREGISTERED for a dead token', async () => {
    const res = await send(message('dead-42'));
    expect(res.status).toBe(404);
    expect(res.json).toEqual({
      error: {
        code: 404,
        message: 'Requested entity was not found.',
        status: 'NOT_FOUND',
        details: [{ '@type': FCM_ERROR, errorCode: 'UNREGISTERED' }],
      },
    });
    expect(sim.stats().rejected).toEqual({ UNREGISTERED: 1 });
  });

  it.each([
    ['in the bad list', 'bad-1'],
    ['with characters FCM never uses', 'not a token!'],
  ])('400 INVALID_ARGUMENT naming message.token for a token %s', async (_what, token) => {
    const res = await send(message(token));
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    expect(res.json.error.details).toContainEqual({ '@type': FCM_ERROR, errorCode: 'INVALID_ARGUMENT' });
    const badRequest = res.json.error.details.find((d: { '@type': string }) => d['@type'] === BAD_REQUEST);
    expect(badRequest.fieldViolations.map((v: { field: string }) => v.field)).toEqual(['message.token']);
  });

  it.each([
    ['a ttl that is not a duration', { android: { ttl: '3600' } }, 'message.android.ttl'],
    ['a data value that is not a string', { data: { type: 'news', count: 3 } }, 'message.data[1].value'],
    ['a notification title that is not a string', { notification: { title: 5 } }, 'message.notification.title'],
    ['an unknown message field', { colour: 'red' }, 'message'],
    ['an unknown android field', { android: { speed: 'fast' } }, 'message.android'],
    [
      'an android.notification icon that is not a string',
      { android: { notification: { icon: false } } },
      'message.android.notification.icon',
    ],
    ['an android priority that does not exist', { android: { priority: 'urgent' } }, 'message.android.priority'],
  ])('400 INVALID_ARGUMENT naming the field for %s', async (_what, more, field) => {
    const res = await send(message('tok-ok', more));
    expect(res.status).toBe(400);
    expect(res.json.error.status).toBe('INVALID_ARGUMENT');
    expect(res.json.error.details).toEqual([{ '@type': BAD_REQUEST, fieldViolations: [{ field, description: expect.any(String) }] }]);
  });

  it('400 for a body that is not JSON and for a message without a token', async () => {
    const notJson = await client.request({ path: sendPath(), headers: authHeaders(), body: '{"message":' });
    expect([notJson.status, notJson.json.error.status]).toEqual([400, 'INVALID_ARGUMENT']);
    const noTarget = await send({ notification: { title: 'x' } });
    expect(noTarget.status).toBe(400);
    expect(noTarget.json.error.message).toBe('Recipient of the message is not set.');
  });

  it('400 INVALID_ARGUMENT about size for a payload over 4096 bytes', async () => {
    const res = await send(message('tok-big', { data: { blob: 'x'.repeat(4200) } }));
    expect(res.status).toBe(400);
    expect(res.json.error.details).toEqual([{ '@type': FCM_ERROR, errorCode: 'INVALID_ARGUMENT' }]);
    expect(res.json.error.message).toMatch(/too big/);
  });

  it('403 PERMISSION_DENIED / SENDER_ID_MISMATCH for a token of another sender', async () => {
    const res = await send(message('other-sender'));
    expect(res.status).toBe(403);
    expect(res.json.error.details).toEqual([{ '@type': FCM_ERROR, errorCode: 'SENDER_ID_MISMATCH' }]);
  });

  it('429 RESOURCE_EXHAUSTED / QUOTA_EXCEEDED with Retry-After for a throttled token', async () => {
    const res = await send(message('hot'));
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.json.error).toMatchObject({ status: 'RESOURCE_EXHAUSTED', details: [{ '@type': FCM_ERROR, errorCode: 'QUOTA_EXCEEDED' }] });
  });

  it('429 QUOTA_EXCEEDED about the device, with a QuotaFailure naming it, for a deviceThrottled token', async () => {
    const res = await send(message('busy-device'));
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.json.error).toMatchObject({
      status: 'RESOURCE_EXHAUSTED',
      message: 'Sending limit exceeded for this device.',
      details: [
        { '@type': FCM_ERROR, errorCode: 'QUOTA_EXCEEDED' },
        {
          '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
          violations: [{ subject: 'device', description: 'Device message rate exceeded.' }],
        },
      ],
    });
  });

  it('enforces the per-project quota as a token bucket when quotaPerMinute is set', async () => {
    sim.setBehaviour({ quotaPerMinute: 3 });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await send(message(`q-${i}`))).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const refused = await send(message('q-5'));
      expect(refused.json.error.details).toEqual([{ '@type': FCM_ERROR, errorCode: 'QUOTA_EXCEEDED' }]);
      // One message every 20 s at 3 per minute.
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(20);
    } finally {
      sim.setBehaviour({ quotaPerMinute: 0 });
    }
    expect((await send(message('q-after'))).status).toBe(200);
  });

  it('503 UNAVAILABLE at errorRate 1, 500 INTERNAL for a flaky token first time', async () => {
    sim.setBehaviour({ errorRate: 1 });
    const unavailable = await send(message('tok-err'));
    sim.setBehaviour({ errorRate: 0 });
    expect([unavailable.status, unavailable.json.error.status]).toEqual([503, 'UNAVAILABLE']);

    sim.setBehaviour({ flakyOnce: ['flaky-*'] });
    const first = await send(message('flaky-1'));
    expect([first.status, first.json.error.status, first.json.error.details[0].errorCode]).toEqual([500, 'INTERNAL', 'INTERNAL']);
    expect((await send(message('flaky-1'))).status).toBe(200);
    sim.setBehaviour({ flakyOnce: [] });
  });

  it('404 for other paths and methods', async () => {
    expect((await client.request({ method: 'GET', path: sendPath(), headers: authHeaders() })).status).toBe(404);
    expect((await client.request({ path: '/v1/messages:send', headers: authHeaders(), body: {} })).status).toBe(404);
  });
});
