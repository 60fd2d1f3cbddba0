import { JobStore, TokenRegistry } from '@push/store';
import { startTestApi, type TestApi } from '@push/testing';

let api: TestApi;
let jobs: JobStore;
beforeAll(async () => {
  api = await startTestApi('jobstore', { PUSH_CHUNK_CLIENTS: '2' });
  jobs = new JobStore(api.redis, api.prefix, 3600);
});
afterAll(() => api.close());

async function newJob(clients: string[]): Promise<string> {
  const res = await api.request('POST', '/push/push2clients', { clients, payload: { alert: 'hi' } });
  return res.body.result.jobId as string;
}

describe('job store, written as a worker writes it and read through the API', () => {
  it('counts each token once, keeps the first final result, and completes when every chunk is done', async () => {
    const jobId = await newJob(['c1', 'c2', 'c3']); // chunks: [c1, c2], [c3]
    const ios = ['t1', 't2', 't3'];
    expect(await jobs.track(jobId, 'ios', ios)).toEqual(new Set());
    expect((await api.request('GET', `/push/jobs/${jobId}`)).body.result.state).toBe('processing');

    expect(
      await jobs.record(jobId, 'ios', [
        { client: 'c1', token: 't1', status: 'sent' },
        { client: 'c2', token: 't2', status: 'invalid', reason: 'Unregistered' },
      ]),
    ).toBe(2);
    // A rerun of the chunk: t1 and t2 are final and must not be sent again or counted twice.
    expect(await jobs.track(jobId, 'ios', ios)).toEqual(new Set([0, 1]));
    expect(await jobs.record(jobId, 'ios', [{ client: 'c1', token: 't1', status: 'failed', reason: 'late duplicate' }])).toBe(0);
    await jobs.chunkDone(jobId, 'ios', 0, 2);
    await jobs.chunkDone(jobId, 'ios', 0, 2); // twice: counted once

    await jobs.record(jobId, 'ios', [{ client: 'c3', token: 't3', status: 'expired', reason: 'expired' }]);
    await jobs.chunkDone(jobId, 'ios', 1, 1);
    await jobs.record(jobId, 'android', [{ client: 'c3', token: 'a3', status: 'failed', reason: 'retries exhausted: UNAVAILABLE' }]);
    await jobs.chunkDone(jobId, 'android', 0, 0);
    expect((await api.request('GET', `/push/jobs/${jobId}`)).body.result.state).toBe('processing');
    await jobs.chunkDone(jobId, 'android', 1, 1);

    const status = (await api.request('GET', `/push/jobs/${jobId}`)).body.result;
    expect(status).toMatchObject({
      jobId,
      state: 'completed',
      finishedAt: expect.any(String),
      totals: { clients: 3, tokens: 4, sent: 1, failed: 1, invalid: 1, expired: 1 },
      platforms: {
        ios: { clients: 3, tokens: 3, sent: 1, failed: 0, invalid: 1, expired: 1, chunks: 2, chunksDone: 2 },
        android: { clients: 1, tokens: 1, sent: 0, failed: 1, invalid: 0, expired: 0, chunks: 2, chunksDone: 2 },
      },
    });
    const finishedAt = status.finishedAt;
    await jobs.chunkDone(jobId, 'android', 1, 1);
    expect((await api.request('GET', `/push/jobs/${jobId}`)).body.result.finishedAt).toBe(finishedAt);

    const all = await api.request('GET', `/push/jobs/${jobId}/results`);
    expect(all.body.result.nextCursor).toBeNull();
    expect(all.body.result.items).toEqual([
      { client: 'c1', platform: 'ios', token: 't1', status: 'sent', reason: '', at: expect.any(String) },
      {
        client: 'c3',
        platform: 'android',
        token: 'a3',
        status: 'failed',
        reason: 'retries exhausted: UNAVAILABLE',
        at: expect.any(String),
      },
      { client: 'c2', platform: 'ios', token: 't2', status: 'invalid', reason: 'Unregistered', at: expect.any(String) },
      { client: 'c3', platform: 'ios', token: 't3', status: 'expired', reason: 'expired', at: expect.any(String) },
    ]);
    const invalid = await api.request('GET', `/push/jobs/${jobId}/results?status=invalid`);
    expect(invalid.body.result.items.map((i: { token: string }) => i.token)).toEqual(['t2']);
  });

  it('pages through results with a cursor, each item exactly once', async () => {
    const jobId = await newJob(['p1']);
    const results = Array.from({ length: 25 }, (_, i) => ({
      client: `p${i}`,
      token: `tok${i}`,
      status: (['sent', 'failed', 'invalid'] as const)[i % 3]!,
      reason: i % 3 ? 'why' : '',
    }));
    await jobs.record(jobId, 'android', results);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `?limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page: any = (await api.request('GET', `/push/jobs/${jobId}/results${query}`)).body.result;
      expect(page.items.length).toBeLessThanOrEqual(4);
      seen.push(...page.items.map((i: { token: string }) => i.token));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(seen.sort()).toEqual(results.map((r) => r.token).sort());
    expect(pages).toBe(7);

    const sent = await api.request('GET', `/push/jobs/${jobId}/results?status=sent&limit=1000`);
    expect(sent.body.result.items).toHaveLength(9);
  });

  it('answers unknown jobs, bad queries and forged cursors in the envelope', async () => {
    const missing = await api.request('GET', '/push/jobs/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('JOB_NOT_FOUND');
    const jobId = await newJob(['q1']);
    for (const query of ['?status=lost', '?limit=0', '?limit=abc', '?limit=5000', '?other=1']) {
      const res = await api.request('GET', `/push/jobs/${jobId}/results${query}`);
      expect([res.status, res.body.error.code]).toEqual([400, 'INVALID_PARAMETER']);
    }
    const forged = await api.request('GET', `/push/jobs/${jobId}/results?cursor=9:1-0`);
    expect([forged.status, forged.body.error.code]).toEqual([400, 'INVALID_CURSOR']);
  });

  it('expires a job with its results after the retention period', async () => {
    const jobId = await newJob(['r1']);
    await jobs.record(jobId, 'ios', [{ client: 'r1', token: 'x', status: 'sent' }]);
    const ttl = await api.redis.ttl(`${api.prefix}:job:{${jobId}}:r:sent`);
    expect(ttl).toBeGreaterThan(api.config.JOB_RETENTION_SECONDS - 60);
    expect(ttl).toBeLessThanOrEqual(api.config.JOB_RETENTION_SECONDS);
    expect(await api.redis.ttl(`${api.prefix}:job:{${jobId}}`)).toBeGreaterThan(0);
  });
});

describe('token registry', () => {
  it('resolves many clients to the tokens of one platform', async () => {
    const registry = new TokenRegistry(api.redis, api.prefix);
    const clients = Array.from({ length: 2000 }, (_, i) => `r${i}`);
    await Promise.all(clients.map((c, i) => registry.register(c, 'ios', `${i.toString(16).padStart(8, '0')}${'a'.repeat(56)}`)));
    await Promise.all(clients.slice(0, 500).map((c, i) => registry.register(c, 'android', `and_${i}_${'x'.repeat(20)}`)));
    const ios = await registry.resolve(clients, 'ios');
    const android = await registry.resolve(clients, 'android');
    expect(ios).toHaveLength(2000);
    expect(android).toHaveLength(500);
    expect(ios[7]).toEqual({ client: 'r7', token: `00000007${'a'.repeat(56)}`, at: expect.any(Number) });
    expect(android.every((t) => Number(t.client.slice(1)) < 500)).toBe(true);
  });
});
