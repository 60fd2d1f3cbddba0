import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import { createRedis } from '@push/store';
import { appsEnv, registerDevices, startTestApi, startTestStack, TEST_ADMIN_TOKEN, type TestApi, type TestStack } from '@push/testing';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const fcmToken = (n: number) => `admin_token_${String(n).padStart(20, '0')}`;
/** An envelope whose shape each test asserts. */
const json = async (res: Response): Promise<any> => res.json();

describe('the dashboards under /admin', () => {
  let stack: TestStack;
  let admin: (path: string, init?: RequestInit) => Promise<Response>;
  let jobId: string;

  beforeAll(async () => {
    stack = await startTestStack('admin', { fcm: { dead: [fcmToken(1)] } });
    admin = (path, init = {}) =>
      fetch(stack.api.url + path, {
        ...init,
        redirect: 'manual',
        headers: { Authorization: basic('admin', stack.api.apiKey), ...init.headers },
      });
    for (let i = 0; i < 3; i++) await stack.register(`a${i}`, 'android', fcmToken(i));
    jobId = await stack.push(['a0', 'a1', 'a2', 'nobody'], { alert: 'admin' });
    await stack.waitForCompletion(jobId);
  });
  afterAll(() => stack.close());

  it.each([
    ['no credentials', undefined],
    ['the wrong user', basic('root', 'test-key-0123456789abcdef')],
    ['a wrong password', basic('admin', 'test-key-0123456789abcdeX')],
    ['an API key header instead', undefined],
  ])('asks for Basic auth when given %s, on every admin path', async (_, authorization) => {
    for (const path of [
      '/admin',
      '/admin/jobs',
      '/admin/jobs.js',
      '/admin/api/jobs',
      '/admin/api/lanes',
      '/admin/queues',
      '/admin/queues/api/queues',
    ]) {
      const headers: Record<string, string> = authorization ? { Authorization: authorization } : { 'IM-API-KEY': stack.api.apiKey };
      const res = await fetch(stack.api.url + path, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Basic realm="push admin", charset="UTF-8"');
      expect(await json(res)).toEqual({ RC: 401, RM: 'Unauthorized', error: { code: 'ADMIN_AUTH_REQUIRED', message: expect.any(String) } });
    }
  });

  it('sends /admin to the jobs page', async () => {
    const res = await admin('/admin');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/admin/jobs');
  });

  it('serves the jobs page, its script and style with a strict Content-Security-Policy', async () => {
    const page = await admin('/admin/jobs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script src="jobs.js" defer></script>');
    const script = await admin('/admin/jobs.js');
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toContain("getJson('api/jobs?limit=50')");
    expect((await admin('/admin/jobs.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('lists recent jobs with state, totals and per-platform progress', async () => {
    const res = await admin('/admin/api/jobs');
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.RC).toBe(0);
    expect(body.result.jobs).toHaveLength(1);
    expect(body.result.jobs[0]).toMatchObject({
      jobId,
      state: 'completed',
      priority: 'high',
      totals: { clients: 4, tokens: 3, sent: 2, invalid: 1, failed: 0, expired: 0, canceled: 0 },
      // No client has an iOS device: a push this small was queued on Android only.
      platforms: { android: { chunks: 1, chunksDone: 1, tokens: 3 }, ios: { chunks: 0, chunksDone: 0, tokens: 0 } },
    });
    const one = await json(await admin(`/admin/api/jobs/${jobId}`));
    expect(one.result).toEqual(body.result.jobs[0]);
  });

  it('pages through per-token results, filtered by status', async () => {
    const first = (await json(await admin(`/admin/api/jobs/${jobId}/results?limit=2`))).result;
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const rest = (await json(await admin(`/admin/api/jobs/${jobId}/results?limit=2&cursor=${encodeURIComponent(first.nextCursor)}`)))
      .result;
    expect(rest).toEqual({ items: [expect.objectContaining({ status: 'invalid', token: fcmToken(1), client: 'a1' })], nextCursor: null });
    const invalid = (await json(await admin(`/admin/api/jobs/${jobId}/results?status=invalid`))).result;
    expect(invalid.items.map((i: { token: string }) => i.token)).toEqual([fcmToken(1)]);
  });

  it.each([
    [`/admin/api/jobs/00000000-0000-0000-0000-000000000000`, 404, 'JOB_NOT_FOUND'],
    [`/admin/api/jobs/not-a-job/results`, 404, 'JOB_NOT_FOUND'],
    ['/admin/api/jobs?limit=0', 400, 'INVALID_PARAMETER'],
    ['/admin/api/jobs?bogus=1', 400, 'INVALID_PARAMETER'],
    ['/admin/nothing-here', 404, 'NOT_FOUND'],
  ])('answers %s with %i %s in the envelope', async (path, status, code) => {
    const res = await admin(path);
    expect(res.status).toBe(status);
    expect((await json(res)).error.code).toBe(code);
  });

  it('refuses a results cursor it did not make', async () => {
    const res = await admin(`/admin/api/jobs/${jobId}/results?cursor=bogus`);
    expect(res.status).toBe(400);
    expect((await json(res)).error.code).toBe('INVALID_CURSOR');
  });

  it('mounts bull-board at /admin/queues over both lanes of every platform', async () => {
    const page = await admin('/admin/queues');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<base href="/admin/queues/" />');
    const api = await admin('/admin/queues/api/queues?activeQueue=apns&page=1&jobsPerPage=10');
    expect(api.status).toBe(200);
    const { queues } = (await json(api)) as { queues: { name: string }[] };
    expect(queues.map((q) => q.name).sort()).toEqual(['apns', 'apns-high', 'fcm', 'fcm-high', 'webpush', 'webpush-high']);
  });
});

describe('work per lane on the dashboards', () => {
  let api: TestApi;
  beforeAll(async () => {
    // No workers: what is queued stays where the test puts it.
    api = await startTestApi('admin-lanes', { PUSH_CHUNK_CLIENTS: '2' });
    await registerDevices(api, ['u1', 'u2', 'u3', 'u4', 'u5']);
  });
  afterAll(() => api.close());

  it("shows the chunks waiting and active in each platform's queue of each lane", async () => {
    const post = (body: object) => api.request('POST', '/push/push2clients', { payload: { alert: 'lanes' }, ...body });
    expect((await post({ clients: ['u1', 'u2', 'u3'] })).status).toBe(200);
    expect((await post({ clients: ['u1', 'u2', 'u3', 'u4', 'u5'], priority: 'normal' })).status).toBe(200);
    // One normal chunk of iOS taken by a worker: active.
    const connection = createRedis(api.config.REDIS_URL, 'worker');
    const taker = new Worker(api.queues.ios.normal.name, null, { connection, prefix: api.queues.ios.normal.opts.prefix! });
    expect(await taker.getNextJob(randomUUID())).toBeDefined();

    const res = await fetch(`${api.url}/admin/api/lanes`, { headers: { Authorization: basic('admin', api.apiKey) } });
    expect(res.status).toBe(200);
    const { lanes } = (await json(res)).result as { lanes: Array<Record<string, unknown>> };
    await taker.close();
    connection.disconnect();
    const depth = { delayed: 0, failed: 0, paused: 0 };
    expect(lanes).toEqual([
      { platform: 'ios', lane: 'high', queue: 'apns-high', waiting: 2, active: 0, ...depth },
      { platform: 'ios', lane: 'normal', queue: 'apns', waiting: 2, active: 1, ...depth },
      { platform: 'android', lane: 'high', queue: 'fcm-high', waiting: 2, active: 0, ...depth },
      { platform: 'android', lane: 'normal', queue: 'fcm', waiting: 3, active: 0, ...depth },
      // This API has no VAPID key: nothing is queued for web, its queues stay empty.
      { platform: 'web', lane: 'high', queue: 'webpush-high', waiting: 0, active: 0, ...depth },
      { platform: 'web', lane: 'normal', queue: 'webpush', waiting: 0, active: 0, ...depth },
    ]);
  });
});

describe('ADMIN_PASSWORD', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi('admin-password', { ADMIN_PASSWORD: 'old-admin-password-01,new-admin-password-02' });
  });
  afterAll(() => api.close());

  it('replaces the API keys as the admin password, several allowed for rotation', async () => {
    const get = (password: string) => fetch(`${api.url}/admin/api/jobs`, { headers: { Authorization: basic('admin', password) } });
    expect((await get(api.apiKey)).status).toBe(401);
    expect((await get('old-admin-password-01')).status).toBe(200);
    expect((await get('new-admin-password-02')).status).toBe(200);
  });
});

describe("one app's chunks on bull-board", () => {
  let api: TestApi;
  const password = 'operator-password-0123456789';
  const admin = (path: string) => fetch(api.url + path, { headers: { Authorization: basic('admin', password) } });
  /** The iOS normal queue as an app's board (or the whole board) lists it: its counts and waiting chunks. */
  const apnsOn = async (board: string) => {
    const res = await admin(`${board}/api/queues?activeQueue=apns&status=prioritized&page=1&jobsPerPage=50`);
    expect(res.status).toBe(200);
    const { queues } = (await json(res)) as {
      queues: Array<{ name: string; readOnlyMode: boolean; counts: Record<string, number>; jobs: any[] }>;
    };
    expect(queues.map((q) => q.name).sort()).toEqual(['apns', 'apns-high', 'fcm', 'fcm-high', 'webpush', 'webpush-high']);
    return queues.find((q) => q.name === 'apns')!;
  };

  beforeAll(async () => {
    // No workers: the chunks wait where the test reads them.
    api = await startTestApi('admin-app-board', { ...appsEnv, ADMIN_PASSWORD: password, PUSH_CHUNK_CLIENTS: '2' });
  });
  afterAll(() => api.close());

  it("lists only that app's chunks, named after it, read-only; chunks named before keep their app", async () => {
    const created = await api.request('POST', '/admin/apps', { id: 'acme' }, { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
    expect(created.status).toBe(200);
    const acmeKey = created.body.result.apiKey as string;
    await registerDevices(api, ['d1', 'd2', 'd3']);
    await registerDevices(api, ['a1', 'a2', 'a3', 'a4', 'a5'], undefined, 'acme');
    const payload = { alert: 'board' };
    expect((await api.request('POST', '/push/push2clients', { clients: ['d1', 'd2', 'd3'], payload, priority: 'normal' })).status).toBe(
      200,
    );
    const acme = await api.request(
      'POST',
      '/push/push2clients',
      { clients: ['a1', 'a2', 'a3', 'a4', 'a5'], payload, priority: 'normal' },
      {
        'IM-API-KEY': acmeKey,
      },
    );
    expect(acme.status).toBe(200);
    // A chunk queued before chunk names said the app (name `chunk`, the app in its data only).
    await api.queues.ios.normal.add('chunk', { app: 'acme', jobId: 'old', chunk: 0, clients: ['a0'] }, { jobId: 'old-0', priority: 1 });

    const acmeBoard = await apnsOn('/admin/queues/app/acme');
    expect(acmeBoard.readOnlyMode).toBe(true);
    expect(acmeBoard.counts).toMatchObject({ prioritized: 4, active: 0, completed: 0 });
    expect(acmeBoard.jobs.map((j) => j.id).sort()).toEqual(['old-0', ...[0, 1, 2].map((c) => `${acme.body.result.jobId}-${c}`)].sort());
    expect(new Set(acmeBoard.jobs.map((j) => j.name))).toEqual(new Set(['chunk:acme', 'chunk']));

    const defaultBoard = await apnsOn('/admin/queues/app/default');
    expect(defaultBoard.counts.prioritized).toBe(2);
    expect(defaultBoard.jobs.map((j) => j.name)).toEqual(['chunk:default', 'chunk:default']);

    // The whole board: every app's chunks, each named after its app, and its actions.
    const all = await apnsOn('/admin/queues');
    expect(all.readOnlyMode).toBe(false);
    expect(all.counts.prioritized).toBe(6);
    expect(all.jobs.map((j) => j.name).sort()).toEqual(['chunk', ...Array(3).fill('chunk:acme'), 'chunk:default', 'chunk:default']);

    // The board's page itself, with its own base.
    const page = await admin('/admin/queues/app/acme/');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<base href="/admin/queues/app/acme/" />');
  });

  it('answers 404 for an app that does not exist, and asks for the operator password', async () => {
    for (const path of ['/admin/queues/app/nope/', '/admin/queues/app/Not_An_Id/api/queues']) {
      const res = await admin(path);
      expect(res.status).toBe(404);
      expect((await json(res)).error.code).toBe('APP_NOT_FOUND');
    }
    const res = await fetch(`${api.url}/admin/queues/app/default/`, { headers: { Authorization: basic('admin', api.apiKey) } });
    expect(res.status).toBe(401);
  });
});
