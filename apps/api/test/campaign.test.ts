import { registerDevices, startTestApi, type TestApi } from '@push/testing';

// The campaign controls at the API: validation of every field, time zones, job status, cancel answers.
// No worker runs here, so jobs stay as queued; delivery is covered in packages/delivery/test/campaign.test.ts.
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi('campaign-api');
  await registerDevices(api, ['u1']);
});
afterAll(() => api.close());

const payload = { alert: 'hello' };
const nowSeconds = () => Math.floor(Date.now() / 1000);
const push = (body: Record<string, unknown>, headers?: Record<string, string>) =>
  api.request('POST', '/push/push2clients', { clients: ['u1'], payload, ...body }, headers);
const ios = 'cd'.repeat(32);

describe('POST /push/push2clients campaign fields', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['sendAt not a number', { sendAt: '2030-01-01' }, /^sendAt: /],
    ['sendAt fractional', { sendAt: 1.5 }, /^sendAt: must be whole Unix seconds/],
    ['sendAt negative', { sendAt: -1 }, /^sendAt: /],
    ['sendAt more than 30 days ahead', { sendAt: nowSeconds() + 31 * 86_400 }, /^sendAt: at most 30 days ahead/],
    ['localTime out of range', { localTime: '24:00' }, /^localTime: must be a 24-hour time of day, HH:MM/],
    ['localTime without leading zero', { localTime: '9:30' }, /^localTime: /],
    ['localTime not a string', { localTime: 930 }, /^localTime: /],
    ['ratePerMinute zero', { ratePerMinute: 0 }, /^ratePerMinute: /],
    ['ratePerMinute fractional', { ratePerMinute: 1.5 }, /^ratePerMinute: must be a whole number/],
    ['ratePerMinute a string', { ratePerMinute: '100' }, /^ratePerMinute: /],
    [
      'expiry before sendAt',
      { sendAt: nowSeconds() + 3600, payload: { ...payload, expiry: nowSeconds() + 60 } },
      /^payload\.expiry: before the planned send time/,
    ],
    ['expiry past with localTime', { localTime: '09:00', payload: { ...payload, expiry: nowSeconds() - 1 } }, /^payload\.expiry: /],
  ])('%s: 400 INVALID_PARAMETER, nothing queued', async (_name, body, message) => {
    const before = await api.redis.zcard(`${api.prefix}:jobs`);
    const res = await push(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_PARAMETER');
    expect(res.body.error.message).toMatch(message);
    expect(await api.redis.zcard(`${api.prefix}:jobs`)).toBe(before);
  });

  it('a past sendAt means now: queued at once, no delay; a past expiry without campaign fields is still accepted', async () => {
    const res = await push({ sendAt: nowSeconds() - 60 });
    const status = await api.request('GET', `/push/jobs/${res.body.result.jobId}`);
    expect(status.body.result).toMatchObject({ state: 'queued', sendAt: expect.any(String) });
    const chunk = await api.queues.ios.high.getJob(`${res.body.result.jobId}-0`);
    expect(await chunk!.isDelayed()).toBe(false);
    expect((await push({ payload: { ...payload, expiry: nowSeconds() - 1 } })).status).toBe(200);
  });

  it('a scheduled job: state scheduled, its fields and counts in the status, chunks delayed until sendAt', async () => {
    const sendAt = nowSeconds() + 3600;
    const res = await push({ sendAt, localTime: '09:30', ratePerMinute: 1200 });
    expect(res.status).toBe(200);
    const { jobId } = res.body.result;
    const status = (await api.request('GET', `/push/jobs/${jobId}`)).body.result;
    expect(status).toMatchObject({
      state: 'scheduled',
      sendAt: new Date(sendAt * 1000).toISOString(),
      localTime: '09:30',
      ratePerMinute: 1200,
      totals: { clients: 1, tokens: 0, sent: 0, failed: 0, invalid: 0, expired: 0, canceled: 0 },
      platforms: { ios: { canceled: 0 }, android: { canceled: 0 } },
    });
    expect(status.canceledAt).toBeUndefined();
    const chunk = await api.queues.android.normal.getJob(`${jobId}-0`);
    expect(await chunk!.isDelayed()).toBe(true);
    expect(chunk!.timestamp + chunk!.opts.delay!).toBeGreaterThanOrEqual(sendAt * 1000 - 1000);
  });

  it('a throttled job goes to the normal lane unless it asks for high', async () => {
    const throttled = (await push({ ratePerMinute: 60 })).body.result.jobId;
    expect((await api.request('GET', `/push/jobs/${throttled}`)).body.result.priority).toBe('normal');
    const urgent = (await push({ ratePerMinute: 60, priority: 'high' })).body.result.jobId;
    expect((await api.request('GET', `/push/jobs/${urgent}`)).body.result.priority).toBe('high');
  });

  it('an Idempotency-Key returns the scheduled job', async () => {
    const body = { sendAt: nowSeconds() + 600 };
    const first = await push(body, { 'Idempotency-Key': 'campaign-1' });
    const again = await push(body, { 'Idempotency-Key': 'campaign-1' });
    expect(again.body.result.jobId).toBe(first.body.result.jobId);
    expect((await api.request('GET', `/push/jobs/${first.body.result.jobId}`)).body.result.state).toBe('scheduled');
  });
});

describe('DELETE /push/jobs/:jobId', () => {
  it('cancels a scheduled job, answers the same again, and removes nothing else', async () => {
    const { jobId } = (await push({ sendAt: nowSeconds() + 600 })).body.result;
    const first = await api.request('DELETE', `/push/jobs/${jobId}`);
    expect(first.status).toBe(200);
    expect(first.body.result).toEqual({ jobId, state: 'canceled', canceledAt: expect.any(String) });
    const again = await api.request('DELETE', `/push/jobs/${jobId}`);
    expect(again.body).toEqual(first.body);
    const status = (await api.request('GET', `/push/jobs/${jobId}`)).body.result;
    expect(status).toMatchObject({ state: 'canceled', canceledAt: first.body.result.canceledAt });
    // Its delayed chunk was promoted, for a worker to end its tokens `canceled` now.
    expect(await (await api.queues.ios.high.getJob(`${jobId}-0`))!.isDelayed()).toBe(false);
  });

  it('promotes the delayed chunk of a job queued on Android only (a small push to a user without an iPhone)', async () => {
    await registerDevices(api, ['android-only'], ['android']);
    const { jobId } = (await api.request('POST', '/push/push2clients', { clients: ['android-only'], payload })).body.result;
    // Its chunk waiting out a retry's backoff: delayed.
    const queue = api.queues.android.high;
    const queued = (await queue.getJob(`${jobId}-0`))!;
    await queued.remove();
    await queue.add(queued.name, queued.data, { jobId: `${jobId}-0`, delay: 600_000 });
    expect((await api.request('DELETE', `/push/jobs/${jobId}`)).status).toBe(200);
    expect(await (await queue.getJob(`${jobId}-0`))!.isDelayed()).toBe(false);
  });

  it('answers 409 JOB_FINISHED for a completed job and 404 for an unknown one', async () => {
    const { jobId } = (await push({})).body.result;
    await api.redis.hset(`${api.prefix}:job:{${jobId}}`, 'finishedAt', Date.now());
    const finished = await api.request('DELETE', `/push/jobs/${jobId}`);
    expect(finished.status).toBe(409);
    expect(finished.body.error.code).toBe('JOB_FINISHED');
    expect((await api.request('GET', `/push/jobs/${jobId}`)).body.result.state).toBe('completed');
    const unknown = await api.request('DELETE', '/push/jobs/00000000-0000-0000-0000-000000000000');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('JOB_NOT_FOUND');
  });
});

describe('the scheduled-jobs metric', () => {
  const scheduled = async () => {
    const res = await fetch(`${api.url}/metrics`, { headers: { Authorization: `Bearer ${api.apiKey}` } });
    const line = (await res.text()).split('\n').find((l) => l.startsWith('push_scheduled_jobs '));
    return Number(line?.split(' ')[1]);
  };

  it('push_scheduled_jobs counts scheduled jobs still waiting; a canceled one leaves it', async () => {
    const before = await scheduled();
    const { jobId } = (await push({ sendAt: nowSeconds() + 600 })).body.result;
    await push({ sendAt: nowSeconds() - 10 }); // a past sendAt is not scheduled
    expect(await scheduled()).toBe(before + 1);
    await api.request('DELETE', `/push/jobs/${jobId}`);
    expect(await scheduled()).toBe(before);
  });
});

describe('client time zones', () => {
  it('POST /push/tokens takes a timezone; PUT /push/clients/:client changes it; the token list shows it', async () => {
    expect(
      (await api.request('POST', '/push/tokens', { client: 'tz1', platform: 'ios', token: ios, timezone: 'Asia/Kathmandu' })).status,
    ).toBe(200);
    const listed = await api.request('GET', '/push/clients/tz1/tokens');
    expect(listed.body.result.tokens).toEqual([{ token: ios, platform: 'ios', createdAt: expect.any(String), timezone: 'Asia/Kathmandu' }]);
    expect((await api.request('PUT', '/push/clients/tz1', { timezone: 'America/St_Johns' })).body).toEqual({ RC: 0, RM: 'OK', result: {} });
    expect((await api.request('GET', '/push/clients/tz1/tokens')).body.result.tokens[0].timezone).toBe('America/St_Johns');
  });

  it.each<[string, string, Record<string, unknown>]>([
    ['an unknown zone on POST /push/tokens', '/push/tokens', { client: 'tz2', platform: 'ios', token: ios, timezone: 'Mars/Olympus' }],
    ['a UTC offset on POST /push/tokens', '/push/tokens', { client: 'tz2', platform: 'ios', token: ios, timezone: '+05:30' }],
    ['an unknown zone on PUT', '/push/clients/tz1', { timezone: 'Asia/Nowhere' }],
    ['a missing zone on PUT', '/push/clients/tz1', {}],
  ])('%s: 400 INVALID_PARAMETER, nothing changed', async (_name, path, body) => {
    const res = await api.request(path.startsWith('/push/tokens') ? 'POST' : 'PUT', path, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_PARAMETER');
    expect(res.body.error.message).toMatch(/timezone/);
    expect((await api.request('GET', '/push/clients/tz1/tokens')).body.result.tokens).toEqual([
      expect.objectContaining({ token: ios, timezone: 'America/St_Johns' }),
    ]);
  });
});

describe('the jobs page cancel', () => {
  it('refuses a request without the page header, or from another site; cancels with it', async () => {
    const { jobId } = (await push({ sendAt: nowSeconds() + 600 })).body.result;
    const url = `${api.url}/admin/api/jobs/${jobId}/cancel`;
    const auth = { Authorization: `Basic ${Buffer.from(`admin:${api.apiKey}`).toString('base64')}` };
    const forged = await fetch(url, { method: 'POST', headers: auth });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('CROSS_SITE_REQUEST');
    const crossSite = await fetch(url, {
      method: 'POST',
      headers: { ...auth, 'X-Push-Admin-Action': 'cancel', 'Sec-Fetch-Site': 'cross-site' },
    });
    expect(crossSite.status).toBe(403);
    expect((await api.request('GET', `/push/jobs/${jobId}`)).body.result.state).toBe('scheduled');
    const page = await fetch(url, {
      method: 'POST',
      headers: { ...auth, 'X-Push-Admin-Action': 'cancel', 'Sec-Fetch-Site': 'same-origin' },
    });
    expect(page.status).toBe(200);
    expect((await api.request('GET', `/push/jobs/${jobId}`)).body.result.state).toBe('canceled');
  });
});
