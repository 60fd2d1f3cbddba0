import { generateVapidKeys } from '@push/providers';
import { examplePayloads } from '@push/contract';
import { registerDevices, startTestApi, type TestApi } from '@push/testing';

let api: TestApi;
beforeAll(async () => {
  // Web Push on (a VAPID public key): chunks go to every platform's queues.
  api = await startTestApi('push2clients', {
    PUSH_CHUNK_CLIENTS: '2',
    PUSH_MAX_CLIENTS: '1000',
    WEBPUSH_VAPID_PUBLIC_KEY: generateVapidKeys().publicKey,
  });
  // A small push is queued only where its clients have devices: these have one everywhere.
  await registerDevices(api, ['user001', 'user002', 'user003', 'a', 'b', 'i1', 'i2', 'i3', 'h1', 'h2', 'h3', 'o1']);
});
afterAll(() => api.close());

const examplePayload = examplePayloads.promotion;

async function raw(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) {
  const response = await fetch(api.url + path, { method, headers: init.headers, ...(init.body !== undefined && { body: init.body }) });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

describe('POST /push/push2clients', () => {
  it('queues the documented example and answers with a jobId', async () => {
    const res = await api.request('POST', '/push/push2clients', { clients: ['user001', 'user002', 'user003'], payload: examplePayload });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ RC: 0, RM: 'OK', result: { jobId: expect.stringMatching(/^[0-9a-f-]{36}$/) } });

    const { jobId } = res.body.result;
    // 3 clients in chunks of 2: two chunk jobs on each platform's high-lane queue (3 clients are at most
    // PRIORITY_HIGH_MAX_CLIENTS), holding every client once; each waits with its fair-share round as priority.
    for (const lanes of Object.values(api.queues)) {
      const jobs = await lanes.high.getJobs(['prioritized']);
      const mine = jobs.filter((j) => j.data.jobId === jobId).sort((a, b) => a.data.chunk - b.data.chunk);
      expect(mine.map((j) => j.data.clients)).toEqual([['user001', 'user002'], ['user003']]);
      expect(mine.map((j) => j.opts.priority)).toEqual([1, 2]);
      expect(await lanes.normal.getJobCountByTypes('waiting', 'prioritized')).toBe(0);
    }
    const status = await api.request('GET', `/push/jobs/${jobId}`);
    expect(status.body.result).toMatchObject({
      jobId,
      state: 'queued',
      priority: 'high',
      finishedAt: null,
      totals: { clients: 3, tokens: 0, sent: 0, failed: 0, invalid: 0, expired: 0, canceled: 0 },
    });
  });

  it('accepts the localized alert example', async () => {
    const res = await api.request('POST', '/push/push2clients', {
      clients: ['user001'],
      payload: {
        alert: { 'loc-key': 'NEW_MESSAGE_NOTIFICATION', 'loc-args': ['張小明', '您好,請問有空嗎?'] },
        badge: 3,
        sound: 'default',
        title: '新訊息',
        body: '張小明:您好,請問有空嗎?',
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.result.jobId).toBeDefined();
  });

  it('removes duplicate client ids', async () => {
    const res = await api.request('POST', '/push/push2clients', { clients: ['a', 'b', 'a', 'b', 'a'], payload: { alert: 'x' } });
    const status = await api.request('GET', `/push/jobs/${res.body.result.jobId}`);
    expect(status.body.result.totals.clients).toBe(2);
  });

  it('answers 401 byte-for-byte as documented, without and with a wrong key', async () => {
    const expected = '{"RC":401,"RM":"Unauthorized","error":{"code":"INVALID_API_KEY","message":"Invalid or missing API key"}}';
    const body = JSON.stringify({ clients: ['a'], payload: { alert: 'x' } });
    const missing = await raw('POST', '/push/push2clients', { body, headers: { 'Content-Type': 'application/json' } });
    const wrong = await raw('POST', '/push/push2clients', { body, headers: { 'Content-Type': 'application/json', 'IM-API-KEY': 'nope' } });
    for (const res of [missing, wrong]) {
      expect(res.status).toBe(401);
      expect(res.text).toBe(expected);
    }
  });

  it.each([
    ['no clients', { payload: { alert: 'x' } }],
    ['no payload', { clients: ['a'] }],
    ['an empty object', {}],
    ['null clients', { clients: null, payload: { alert: 'x' } }],
  ])('answers 400 MISSING_PARAMETER byte-for-byte for %s', async (_name, body) => {
    const res = await raw('POST', '/push/push2clients', {
      body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json; charset=utf-8', 'IM-API-KEY': api.apiKey },
    });
    expect(res.status).toBe(400);
    expect(res.text).toBe(
      '{"RC":400,"RM":"Bad Request","error":{"code":"MISSING_PARAMETER","message":"clients and payload are required"}}',
    );
  });

  it.each([
    ['clients not an array', { clients: 'user001', payload: { alert: 'x' } }, /clients/],
    ['a numeric client id', { clients: ['a', 7], payload: { alert: 'x' } }, /clients\[1\]/],
    ['an empty client id', { clients: [''], payload: { alert: 'x' } }, /clients\[0\]: must be a non-empty string/],
    ['an empty client list', { clients: [], payload: { alert: 'x' } }, /at least one client/],
    ['payload not an object', { clients: ['a'], payload: 'hello' }, /payload/],
    ['a negative badge', { clients: ['a'], payload: { badge: -1 } }, /payload\.badge/],
    ['a string badge', { clients: ['a'], payload: { badge: '1' } }, /payload\.badge/],
    ['a fractional expiry', { clients: ['a'], payload: { expiry: 1.5 } }, /payload\.expiry/],
    ['an unknown payload field', { clients: ['a'], payload: { alert: 'x', colour: 'red' } }, /colour/],
    ['an unknown top-level field', { clients: ['a'], payload: { alert: 'x' }, extra: 1 }, /extra/],
    ['loc-args not strings', { clients: ['a'], payload: { alert: { 'loc-args': [1] } } }, /payload\.alert/],
    ['an unknown priority', { clients: ['a'], payload: { alert: 'x' }, priority: 'urgent' }, /priority/],
    ['a priority of the wrong type', { clients: ['a'], payload: { alert: 'x' }, priority: 1 }, /priority/],
    [
      'a VoIP topic',
      { clients: ['a'], payload: { alert: 'x', topic: 'io.app.voip' } },
      /payload\.topic: VoIP \(\.voip\) and watch complication \(\.complication\) topics are not supported/,
    ],
    ['a complication topic', { clients: ['a'], payload: { alert: 'x', topic: 'io.app.watchkitapp.complication' } }, /payload\.topic: VoIP/],
  ])('answers 400 INVALID_PARAMETER naming the field for %s', async (_name, body, message) => {
    const res = await api.request('POST', '/push/push2clients', body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ RC: 400, RM: 'Bad Request', error: { code: 'INVALID_PARAMETER' } });
    expect(res.body.error.message).toMatch(message);
  });

  it.each<[string, number, object, 'high' | 'normal']>([
    ['at most PRIORITY_HIGH_MAX_CLIENTS (100) distinct clients', 100, {}, 'high'],
    ['100 distinct clients, some named twice', 100, { repeat: true }, 'high'],
    ['more than PRIORITY_HIGH_MAX_CLIENTS', 101, {}, 'normal'],
    ['one client, priority normal', 1, { priority: 'normal' }, 'normal'],
    ['many clients, priority high', 500, { priority: 'high' }, 'high'],
  ])('puts a request of %s on the lane it names, else by its size', async (_name, count, fields, lane) => {
    const { repeat, ...extra } = fields as { repeat?: boolean };
    const clients = Array.from({ length: count }, (_, i) => `lane-${count}-${i}`);
    await registerDevices(api, clients);
    const res = await api.request('POST', '/push/push2clients', {
      clients: repeat ? [...clients, ...clients.slice(0, 5)] : clients,
      payload: { alert: 'x' },
      ...extra,
    });
    expect(res.status).toBe(200);
    const { jobId } = res.body.result;
    expect((await api.request('GET', `/push/jobs/${jobId}`)).body.result.priority).toBe(lane);
    const other = lane === 'high' ? 'normal' : 'high';
    for (const lanes of Object.values(api.queues)) {
      const mine = (queued: { data: { jobId: string } }[]) => queued.filter((j) => j.data.jobId === jobId).length;
      expect(mine(await lanes[lane].getJobs(['prioritized']))).toBe(Math.ceil(count / 2));
      expect(mine(await lanes[other].getJobs(['prioritized']))).toBe(0);
    }
  });

  it('refuses more clients than PUSH_MAX_CLIENTS', async () => {
    const clients = Array.from({ length: 1001 }, (_, i) => `c${i}`);
    const res = await api.request('POST', '/push/push2clients', { clients, payload: { alert: 'x' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('TOO_MANY_CLIENTS');
  });

  it('refuses a payload whose encoding passes 4096 bytes', async () => {
    const res = await api.request('POST', '/push/push2clients', { clients: ['a'], payload: { alert: 'x'.repeat(4100) } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(res.body.error.message).toMatch(/4096/);
  });

  it('answers malformed JSON, wrong content types and oversized bodies in the envelope', async () => {
    const headers = { 'IM-API-KEY': api.apiKey, 'Content-Type': 'application/json' };
    const malformed = await raw('POST', '/push/push2clients', { body: '{"clients": [', headers });
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.text)).toMatchObject({ RC: 400, error: { code: 'MALFORMED_JSON' } });

    const text = await raw('POST', '/push/push2clients', { body: 'clients=a', headers: { ...headers, 'Content-Type': 'text/plain' } });
    expect(text.status).toBe(415);
    expect(JSON.parse(text.text)).toMatchObject({ RC: 415, RM: 'Unsupported Media Type', error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });

    const latin1 = await raw('POST', '/push/push2clients', {
      body: '{}',
      headers: { ...headers, 'Content-Type': 'application/json; charset=latin1' },
    });
    expect(latin1.status).toBe(415);
    expect(JSON.parse(latin1.text).error.code).toBe('UNSUPPORTED_CHARSET');

    const huge = await raw('POST', '/push/push2clients', {
      body: JSON.stringify({ clients: ['a'], payload: { alert: 'x'.repeat(200_000) } }),
      headers,
    });
    expect(huge.status).toBe(413);
    expect(JSON.parse(huge.text)).toMatchObject({ RC: 413, RM: 'Payload Too Large', error: { code: 'BODY_TOO_LARGE' } });

    const array = await raw('POST', '/push/push2clients', { body: '[1,2]', headers });
    expect(array.status).toBe(400);
    expect(JSON.parse(array.text).error.code).toBe('INVALID_BODY');
  });

  it('answers unknown routes and wrong methods in the envelope', async () => {
    const unknown = await raw('GET', '/nowhere');
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.text)).toEqual({ RC: 404, RM: 'Not Found', error: { code: 'NOT_FOUND', message: 'no route GET /nowhere' } });

    const wrongMethod = await raw('GET', '/push/push2clients', { headers: { 'IM-API-KEY': api.apiKey } });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect(JSON.parse(wrongMethod.text)).toMatchObject({ RC: 405, RM: 'Method Not Allowed', error: { code: 'METHOD_NOT_ALLOWED' } });
  });

  it('returns the first jobId for a repeated Idempotency-Key and queues nothing new', async () => {
    const body = { clients: ['i1', 'i2', 'i3'], payload: { alert: 'once' } };
    const headers = { 'Idempotency-Key': `order-${Date.now()}` };
    const first = await api.request('POST', '/push/push2clients', body, headers);
    const again = await api.request('POST', '/push/push2clients', body, headers);
    expect(again.status).toBe(200);
    expect(again.body.result.jobId).toBe(first.body.result.jobId);
    const jobs = await api.queues.ios.high.getJobs(['prioritized']);
    expect(jobs.filter((j) => j.data.clients.includes('i1'))).toHaveLength(1);

    const other = await api.request('POST', '/push/push2clients', body, { 'Idempotency-Key': `${headers['Idempotency-Key']}-b` });
    expect(other.body.result.jobId).not.toBe(first.body.result.jobId);

    const bad = await api.request('POST', '/push/push2clients', body, { 'Idempotency-Key': 'has space' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_IDEMPOTENCY_KEY');
  });
});

describe('a small push due now (at most 100 clients): queued only where its clients have a device', () => {
  const queuedOn = async (jobId: string) => {
    const platformsWithChunks: string[] = [];
    for (const [platform, lanes] of Object.entries(api.queues))
      if ((await lanes.high.getJobs(['prioritized'])).some((j) => j.data.jobId === jobId)) platformsWithChunks.push(platform);
    return platformsWithChunks;
  };

  it('queues one chunk job per platform some client has a device on, and the status shows every platform', async () => {
    await registerDevices(api, ['only-ios'], ['ios']);
    await registerDevices(api, ['only-web'], ['web']);
    const res = await api.request('POST', '/push/push2clients', {
      clients: ['only-ios', 'only-web', 'no-device'],
      payload: { alert: 'x' },
    });
    const { jobId } = res.body.result;
    expect(await queuedOn(jobId)).toEqual(['ios', 'web']);
    const status = (await api.request('GET', `/push/jobs/${jobId}`)).body.result;
    expect(status).toMatchObject({ state: 'queued', finishedAt: null, totals: { clients: 3 } });
    expect([status.platforms.ios.chunks, status.platforms.android.chunks, status.platforms.web.chunks]).toEqual([2, 0, 2]);
  });

  it('completes at once, with nothing queued, when no client has a device', async () => {
    const res = await api.request('POST', '/push/push2clients', { clients: ['nobody-1', 'nobody-2'], payload: { alert: 'x' } });
    const { jobId } = res.body.result;
    expect(await queuedOn(jobId)).toEqual([]);
    const status = (await api.request('GET', `/push/jobs/${jobId}`)).body.result;
    expect(status).toMatchObject({ state: 'completed', finishedAt: status.createdAt, totals: { clients: 2, tokens: 0 } });
  });

  it('queues a scheduled or a throttled push on every platform: it goes to the devices its clients have when it sends', async () => {
    for (const extra of [{ sendAt: Math.floor(Date.now() / 1000) + 3600 }, { ratePerMinute: 60, priority: 'high' }]) {
      const res = await api.request('POST', '/push/push2clients', { clients: ['nobody-3'], payload: { alert: 'x' }, ...extra });
      const { jobId } = res.body.result;
      const chunks = await Promise.all(Object.values(api.queues).map((lanes) => lanes.high.getJob(`${jobId}-0`)));
      expect(chunks.map((chunk) => chunk?.data.clients)).toEqual([['nobody-3'], ['nobody-3'], ['nobody-3']]);
    }
  });

  it('keeps the platforms of the first request when a retry with its Idempotency-Key finishes it', async () => {
    await registerDevices(api, ['late-web'], ['ios']);
    const ios = api.queues.ios.high;
    const add = ios.add.bind(ios);
    ios.add = () => Promise.reject(new Error('connection lost'));
    const body = { clients: ['late-web'], payload: { alert: 'x' } };
    const headers = { 'Idempotency-Key': `platforms-${Date.now()}` };
    expect((await api.request('POST', '/push/push2clients', body, headers)).status).toBe(500);
    ios.add = add;
    // A device registered in between: the job stays what the first request made it.
    await registerDevices(api, ['late-web'], ['web']);
    const { jobId } = (await api.request('POST', '/push/push2clients', body, headers)).body.result;
    expect(await queuedOn(jobId)).toEqual(['ios']);
  });
});

describe('a request cut short between the two queues', () => {
  it('is finished, not duplicated, by a retry with the same Idempotency-Key', async () => {
    const android = api.queues.android.high;
    const addBulk = android.addBulk.bind(android);
    android.addBulk = () => Promise.reject(new Error('connection lost'));
    const body = { clients: ['h1', 'h2', 'h3'], payload: { alert: 'half' } };
    const headers = { 'Idempotency-Key': `half-${Date.now()}` };
    const failed = await api.request('POST', '/push/push2clients', body, headers);
    android.addBulk = addBulk;
    expect(failed.status).toBe(500);
    const [iosBefore, androidBefore] = await Promise.all([api.queues.ios.high.getJobs(['prioritized']), android.getJobs(['prioritized'])]);
    expect(iosBefore.filter((j) => j.data.clients.includes('h1'))).toHaveLength(1);
    expect(androidBefore.filter((j) => j.data.clients.includes('h1'))).toHaveLength(0);

    const retried = await api.request('POST', '/push/push2clients', body, headers);
    expect(retried.status).toBe(200);
    const jobId = retried.body.result.jobId;
    const [ios, androidJobs] = await Promise.all([api.queues.ios.high.getJobs(['prioritized']), android.getJobs(['prioritized'])]);
    expect(ios.filter((j) => j.data.clients.includes('h1')).map((j) => j.data.jobId)).toEqual([jobId]);
    expect(androidJobs.filter((j) => j.data.clients.includes('h1')).map((j) => j.data.jobId)).toEqual([jobId]);
    expect((await api.request('GET', `/push/jobs/${jobId}`)).body.result.totals.clients).toBe(3);

    const again = await api.request('POST', '/push/push2clients', body, headers);
    expect(again.body.result.jobId).toBe(jobId);
  });

  it('is finished the same way for a one-chunk request (one add per platform, no addBulk)', async () => {
    const android = api.queues.android.high;
    const add = android.add.bind(android);
    android.add = () => Promise.reject(new Error('connection lost'));
    const body = { clients: ['o1'], payload: { alert: 'half' } };
    const headers = { 'Idempotency-Key': `one-${Date.now()}` };
    const failed = await api.request('POST', '/push/push2clients', body, headers);
    android.add = add;
    expect(failed.status).toBe(500);
    const queued = async () =>
      Promise.all(
        [api.queues.ios.high, android].map(async (q) =>
          (await q.getJobs(['prioritized'])).filter((j) => j.data.clients.includes('o1')).map((j) => j.data.jobId),
        ),
      );
    expect((await queued()).map((ids) => ids.length)).toEqual([1, 0]);

    const retried = await api.request('POST', '/push/push2clients', body, headers);
    const jobId = retried.body.result.jobId;
    expect(await queued()).toEqual([[jobId], [jobId]]);
  });
});

describe('health', () => {
  it('answers /healthz and /readyz without a key', async () => {
    expect((await raw('GET', '/healthz')).status).toBe(200);
    const ready = await raw('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toEqual({ RC: 0, RM: 'OK', result: { redis: 'ready' } });
  });
});
