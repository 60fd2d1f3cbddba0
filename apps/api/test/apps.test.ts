import type { Redis } from 'ioredis';
import {
  adminRequest,
  appsEnv,
  createTestApp,
  startTestApi,
  startTestStack,
  TEST_ADMIN_TOKEN,
  waitFor,
  type TestApp,
  type TestStack,
} from '@push/testing';

const fcmToken = (name: string) => `apps_token_${name}`.padEnd(40, '0');
const iosToken = (n: number) => `a${n}`.padEnd(64, '0');
const basic = (password: string) => `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;
const unknownJob = '00000000-0000-4000-8000-000000000000';

/** Every value under `prefix`, whatever the key's type, as one string to search. */
async function dumpValues(redis: Redis, prefix: string): Promise<string> {
  const parts: string[] = [];
  for (const pattern of [`${prefix}:*`, `{${prefix}:*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        parts.push(key);
        if (type === 'string') parts.push((await redis.get(key)) ?? '');
        if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
        if (type === 'set') parts.push(JSON.stringify(await redis.smembers(key)));
        if (type === 'zset') parts.push(JSON.stringify(await redis.zrange(key, 0, -1)));
        if (type === 'list') parts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
        if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
      }
    } while (cursor !== '0');
  }
  return parts.join('\n');
}

describe('the admin API without ADMIN_TOKEN', () => {
  it('answers 404 as if absent, whatever is sent', async () => {
    const api = await startTestApi('apps-off');
    try {
      for (const [method, path] of [
        ['GET', '/admin/apps'],
        ['POST', '/admin/apps'],
        ['DELETE', '/admin/apps/x'],
      ] as const) {
        const res = await api.request(method, path, method === 'POST' ? { id: 'x' } : undefined, { Authorization: 'Bearer anything' });
        expect(res.status).toBe(404);
        expect(res.body.error.code).toBe('NOT_FOUND');
      }
    } finally {
      await api.close();
    }
  });

  it('refuses credentials without SECRETS_KEY, storing nothing; an app without credentials is fine', async () => {
    const api = await startTestApi('apps-nokey', { ADMIN_TOKEN: TEST_ADMIN_TOKEN });
    const admin = (method: string, path: string, body?: unknown) =>
      api.request(method, path, body, { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
    try {
      const refused = await admin('POST', '/admin/apps', { id: 'x', fcm: { accessToken: 'ya29.secret', projectId: 'p' } });
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('SECRETS_KEY_MISSING');
      expect((await admin('GET', '/admin/apps')).body.result.apps).toEqual([]);
      expect((await admin('POST', '/admin/apps', { id: 'x' })).status).toBe(200);
    } finally {
      await api.close();
    }
  });

  it('refuses an ADMIN_TOKEN shorter than 32 characters at start-up', async () => {
    await expect(startTestApi('apps-short', { ADMIN_TOKEN: 'short-token-0123456789' })).rejects.toThrow(
      'ADMIN_TOKEN: every key must be at least 32 characters',
    );
  });
});

describe('apps (tenancy) through the API', () => {
  let stack: TestStack;
  let alpha: TestApp;
  let beta: TestApp;

  beforeAll(async () => {
    stack = await startTestStack('apps-api', { env: appsEnv });
  });
  afterAll(() => stack.close());

  it('lets the default API key open /metrics and the dashboards while no other app exists', async () => {
    const metrics = await fetch(`${stack.api.url}/metrics`, { headers: { Authorization: `Bearer ${stack.api.apiKey}` } });
    expect(metrics.status).toBe(200);
    const dashboard = await fetch(`${stack.api.url}/admin/api/jobs`, { headers: { Authorization: basic(stack.api.apiKey) } });
    expect(dashboard.status).toBe(200);
  });

  it('creates apps, showing each key once and no secret', async () => {
    alpha = await createTestApp(stack, 'alpha');
    beta = await createTestApp(stack, 'beta', { name: 'Beta', limits: { maxClientsPerRequest: 3, requestsPerMinute: 1000 } });
    const res = await adminRequest(stack, 'GET', '/admin/apps/beta');
    expect(res.status).toBe(200);
    expect(res.body.result.app).toEqual({
      id: 'beta',
      name: 'Beta',
      apns: {
        keyId: beta.apns.keyId,
        teamId: beta.apns.teamId,
        topic: 'io.test.beta',
        production: false,
        host: stack.apns.host,
        port: stack.apns.port,
        keyFingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
      },
      fcm: {
        projectId: 'project-beta',
        endpoint: stack.fcm.url,
        credential: 'accessToken',
        fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
      },
      limits: { maxClientsPerRequest: 3, requestsPerMinute: 1000 },
      keys: [{ id: beta.keyId, createdAt: expect.any(String) }],
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const list = await adminRequest(stack, 'GET', '/admin/apps');
    expect(list.body.result.apps.map((app: { id: string }) => app.id)).toEqual(['alpha', 'beta']);
    const text = JSON.stringify(list.body);
    for (const secret of [alpha.apiKey, beta.apiKey, alpha.fcm.accessToken, 'PRIVATE KEY']) expect(text).not.toContain(secret);
  });

  it.each([
    ['a wrong token', { Authorization: 'Bearer wrong-token-0123456789abcdef0123456789' }, 401, 'INVALID_ADMIN_TOKEN'],
    ['an API key', { 'IM-API-KEY': 'test-key-0123456789abcdef' }, 401, 'INVALID_ADMIN_TOKEN'],
  ])('refuses %s on the admin API', async (_name, headers, status, code) => {
    const res = await stack.api.request('GET', '/admin/apps', undefined, headers);
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
  });

  it.each([
    ['an id with capitals', { id: 'Alpha' }, 400, 'INVALID_PARAMETER'],
    ['the id default', { id: 'default' }, 400, 'INVALID_PARAMETER'],
    ['an id of 65 characters', { id: 'a'.repeat(65) }, 400, 'INVALID_PARAMETER'],
    ['an unknown field', { id: 'gamma', secret: 1 }, 400, 'INVALID_PARAMETER'],
    [
      'an APNs key that is no PEM',
      { id: 'gamma', apns: { key: 'x', keyId: 'K', teamId: 'T', topic: 'a.b', production: false } },
      400,
      'INVALID_PARAMETER',
    ],
    [
      'FCM with both credentials',
      { id: 'gamma', fcm: { accessToken: 'a', serviceAccount: '{}', projectId: 'p' } },
      400,
      'INVALID_PARAMETER',
    ],
    ['an existing id', { id: 'alpha' }, 409, 'APP_EXISTS'],
  ])('refuses %s, creating nothing', async (_name, body, status, code) => {
    const res = await adminRequest(stack, 'POST', '/admin/apps', body);
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect((await adminRequest(stack, 'GET', '/admin/apps')).body.result.apps).toHaveLength(2);
  });

  it('takes operator credentials only on /metrics and the dashboards once other apps exist', async () => {
    const withBearer = (token: string) => fetch(`${stack.api.url}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
    expect((await withBearer(stack.api.apiKey)).status).toBe(401);
    expect((await withBearer(alpha.apiKey)).status).toBe(401);
    expect((await withBearer(TEST_ADMIN_TOKEN)).status).toBe(200);
    const dashboard = (password: string) => fetch(`${stack.api.url}/admin/api/jobs`, { headers: { Authorization: basic(password) } });
    expect((await dashboard(stack.api.apiKey)).status).toBe(401);
    expect((await dashboard(alpha.apiKey)).status).toBe(401);
    expect((await dashboard(TEST_ADMIN_TOKEN)).status).toBe(200);
  });

  it('keeps registries apart: the same client and token in two apps are unrelated', async () => {
    const shared = fcmToken('shared');
    expect((await stack.api.request('POST', '/push/tokens', { client: 'u1', platform: 'android', token: shared })).status).toBe(200);
    expect((await alpha.request('POST', '/push/tokens', { client: 'u1', platform: 'android', token: shared })).status).toBe(200);
    expect((await alpha.request('POST', '/push/tokens', { client: 'u1', platform: 'ios', token: iosToken(1) })).status).toBe(200);
    const tokensOf = async (request: TestApp['request']) =>
      ((await request('GET', '/push/clients/u1/tokens')).body.result.tokens as { token: string }[]).map((t) => t.token);
    expect(await tokensOf((m, p, b) => stack.api.request(m, p, b))).toEqual([shared]);
    expect(await tokensOf(alpha.request)).toEqual([shared, iosToken(1)]);
    expect(await tokensOf(beta.request)).toEqual([]);
    // Deleting in one app leaves the other's registration.
    expect((await beta.request('DELETE', '/push/tokens', { token: shared })).status).toBe(200);
    expect((await alpha.request('DELETE', '/push/tokens', { token: shared })).status).toBe(200);
    expect(await tokensOf((m, p, b) => stack.api.request(m, p, b))).toEqual([shared]);
    expect(await tokensOf(alpha.request)).toEqual([iosToken(1)]);
  });

  it("answers another app's job ids exactly as unknown ones, on every job route", async () => {
    const jobId = await stack.push(['u1'], { alert: 'default only' });
    for (const suffix of ['', '/results']) {
      const unknown = await alpha.request('GET', `/push/jobs/${unknownJob}${suffix}`);
      const foreign = await alpha.request('GET', `/push/jobs/${jobId}${suffix}`);
      expect(foreign.status).toBe(404);
      expect(foreign.body).toEqual(JSON.parse(JSON.stringify(unknown.body).replace(unknownJob, jobId)));
      expect((await stack.api.request('GET', `/push/jobs/${jobId}${suffix}`)).status).toBe(200);
    }
  });

  it('keeps Idempotency-Keys apart: the same key in two apps makes two jobs', async () => {
    const headers = { 'Idempotency-Key': 'campaign-42' };
    const first = await stack.api.request('POST', '/push/push2clients', { clients: ['u1'], payload: { alert: 'x' } }, headers);
    const second = await stack.api.request(
      'POST',
      '/push/push2clients',
      { clients: ['u1'], payload: { alert: 'x' } },
      { ...headers, 'IM-API-KEY': alpha.apiKey },
    );
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body.result.jobId).not.toBe(first.body.result.jobId);
  });

  it('filters the dashboards by app, for operators', async () => {
    const dashboard = async (path: string) =>
      (await fetch(`${stack.api.url}/admin/api/${path}`, { headers: { Authorization: basic(TEST_ADMIN_TOKEN) } })).json() as Promise<any>;
    expect((await dashboard('apps')).result.apps).toEqual(['default', 'alpha', 'beta']);
    const alphaJob = (await alpha.request('POST', '/push/push2clients', { clients: ['u1'], payload: { alert: 'a' } })).body.result.jobId;
    const idsOf = async (app: string) => ((await dashboard(`jobs?app=${app}`)).result.jobs as { jobId: string }[]).map((j) => j.jobId);
    const [ofAlpha, ofDefault] = [await idsOf('alpha'), await idsOf('default')];
    expect(ofAlpha).toContain(alphaJob);
    expect(ofDefault).not.toContain(alphaJob);
    expect(ofAlpha.some((id) => ofDefault.includes(id))).toBe(false);
    expect((await dashboard(`jobs/${alphaJob}?app=alpha`)).result.jobId).toBe(alphaJob);
    expect((await dashboard(`jobs/${alphaJob}`)).error.code).toBe('JOB_NOT_FOUND');
    expect((await dashboard(`jobs/${alphaJob}/results?app=alpha&limit=5`)).RC).toBe(0);
    expect((await dashboard('jobs?app=nobody')).error.code).toBe('APP_NOT_FOUND');
  });

  it("applies an app's maxClientsPerRequest", async () => {
    const res = await beta.request('POST', '/push/push2clients', { clients: ['a', 'b', 'c', 'd'], payload: { alert: 'x' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual({ code: 'TOO_MANY_CLIENTS', message: 'clients: at most 3 clients per request' });
    expect((await beta.request('POST', '/push/push2clients', { clients: ['a', 'b', 'c'], payload: { alert: 'x' } })).status).toBe(200);
  });

  it("applies an app's requestsPerMinute to its keys only", async () => {
    expect((await adminRequest(stack, 'PATCH', '/admin/apps/beta', { limits: { requestsPerMinute: 2 } })).status).toBe(200);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await beta.request('GET', '/push/clients/u1/tokens')).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect((await alpha.request('GET', '/push/clients/u1/tokens')).status).toBe(200);
    expect((await adminRequest(stack, 'PATCH', '/admin/apps/beta', { limits: {} })).status).toBe(200);
  });

  it('rotates and revokes keys at once', async () => {
    const added = await adminRequest(stack, 'POST', '/admin/apps/alpha/keys');
    expect(added.status).toBe(200);
    const { keyId, apiKey } = added.body.result as { keyId: string; apiKey: string };
    const as = (key: string) => stack.api.request('GET', '/push/clients/u1/tokens', undefined, { 'IM-API-KEY': key });
    expect((await as(apiKey)).body.result.tokens).toHaveLength(1);
    expect((await as(alpha.apiKey)).status).toBe(200);
    expect((await adminRequest(stack, 'DELETE', `/admin/apps/alpha/keys/${alpha.keyId}`)).status).toBe(200);
    expect((await as(alpha.apiKey)).status).toBe(401);
    expect((await as(apiKey)).status).toBe(200);
    const keys = (await adminRequest(stack, 'GET', '/admin/apps/alpha')).body.result.app.keys as { id: string }[];
    expect(keys.map((k) => k.id)).toEqual([keyId]);
    expect((await adminRequest(stack, 'DELETE', `/admin/apps/alpha/keys/${alpha.keyId}`)).body.error.code).toBe('KEY_NOT_FOUND');
    alpha = { ...alpha, apiKey, keyId, request: (m, p, b) => stack.api.request(m, p, b, { 'IM-API-KEY': apiKey }) };
  });

  it('keeps no API key, private key or access token in clear anywhere in Redis', async () => {
    const dump = await dumpValues(stack.api.redis as Redis, stack.api.prefix);
    expect(dump).toContain('alpha'); // the scan does see the apps' keys
    for (const secret of [alpha.apiKey, beta.apiKey, alpha.fcm.accessToken, beta.fcm.accessToken, 'PRIVATE KEY']) {
      expect(dump).not.toContain(secret);
    }
    // The PEM's base64 body, line by line.
    for (const line of alpha.apns.signingKeyPem.split('\n').filter((l) => l.length > 20)) expect(dump).not.toContain(line);
  });

  it('deletes an app: its keys stop at once and its data is gone', async () => {
    const pushed = await alpha.request('POST', '/push/push2clients', { clients: ['u1'], payload: { alert: 'x' } });
    // Finished first: what a chunk still running writes after the deletion expires on its own (pauses, limits, guard).
    await waitFor(async () => {
      const job = await alpha.request('GET', `/push/jobs/${pushed.body.result.jobId}`);
      return job.body.result.state === 'completed' ? true : undefined;
    });
    expect((await adminRequest(stack, 'DELETE', '/admin/apps/alpha')).status).toBe(200);
    expect((await alpha.request('GET', '/push/clients/u1/tokens')).status).toBe(401);
    expect((await adminRequest(stack, 'GET', '/admin/apps/alpha')).status).toBe(404);
    expect(await stack.api.redis.keys(`${stack.api.prefix}:app:alpha:*`)).toEqual([]);
    expect(await stack.api.redis.keys(`${stack.api.prefix}:apps:{alpha}`)).toEqual([]);
    // The default app's registry is untouched.
    expect((await stack.api.request('GET', '/push/clients/u1/tokens')).body.result.tokens).toHaveLength(1);
  });
});
