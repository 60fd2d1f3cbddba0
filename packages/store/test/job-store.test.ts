import { JobStore, storeKeys, TokenRegistry } from '@push/store';
import { registerDevices, startTestApi, type TestApi } from '@push/testing';

let api: TestApi;
let jobs: JobStore;
let keys: ReturnType<typeof storeKeys>;
beforeAll(async () => {
  api = await startTestApi('jobstore', { PUSH_CHUNK_CLIENTS: '2' });
  jobs = new JobStore(api.redis, api.prefix, 3600);
  keys = storeKeys(api.prefix);
});
afterAll(() => api.close());

async function newJob(clients: string[]): Promise<string> {
  // Queued on both platforms: a small push is queued only where its clients have devices.
  await registerDevices(api, clients, ['ios', 'android']);
  const res = await api.request('POST', '/push/push2clients', { clients, payload: { alert: 'hi' } });
  return res.body.result.jobId as string;
}

describe('job store, written as a worker writes it and read through the API', () => {
  const status = async (jobId: string) => (await api.request('GET', `/push/jobs/${jobId}`)).body.result;
  const tok = (client: string, token: string) => ({ client, token });

  it('counts each token once, keeps the first final result, and completes when every chunk is done', async () => {
    const jobId = await newJob(['c1', 'c2', 'c3']); // chunks: [c1, c2], [c3]
    const ios = [tok('c1', 't1'), tok('c2', 't2')];
    expect(await jobs.track(jobId, 'ios', 0, ios)).toEqual(new Set());
    expect((await status(jobId)).state).toBe('processing');

    expect(
      await jobs.record(jobId, 'ios', 0, [
        { client: 'c1', token: 't1', status: 'sent' },
        { client: 'c2', token: 't2', status: 'invalid', reason: 'Unregistered' },
      ]),
    ).toBe(2);
    // A rerun of the chunk: t1 and t2 are final and must not be sent again or counted twice.
    expect(await jobs.track(jobId, 'ios', 0, ios)).toEqual(new Set([0, 1]));
    expect(await jobs.record(jobId, 'ios', 0, [{ client: 'c1', token: 't1', status: 'failed', reason: 'late duplicate' }])).toBe(0);
    // While a chunk runs, the job counts only its finished chunks.
    expect((await status(jobId)).totals).toMatchObject({ tokens: 0, sent: 0 });
    await jobs.chunkDone(jobId, 'ios', 0, 2);
    await jobs.chunkDone(jobId, 'ios', 0, 2); // twice: counted once
    expect((await status(jobId)).platforms.ios).toMatchObject({ tokens: 2, sent: 1, invalid: 1, chunksDone: 1 });

    // Recorded without a track first (as a worker that did not track it would): tracked on the way.
    expect(await jobs.record(jobId, 'ios', 1, [{ client: 'c3', token: 't3', status: 'expired', reason: 'expired' }])).toBe(1);
    await jobs.chunkDone(jobId, 'ios', 1, 1);
    await jobs.record(jobId, 'android', 1, [{ client: 'c3', token: 'a3', status: 'failed', reason: 'retries exhausted: UNAVAILABLE' }]);
    await jobs.chunkDone(jobId, 'android', 0, 0);
    expect((await status(jobId)).state).toBe('processing');
    await jobs.chunkDone(jobId, 'android', 1, 1);

    const done = await status(jobId);
    expect(done).toMatchObject({
      jobId,
      state: 'completed',
      finishedAt: expect.any(String),
      totals: { clients: 3, tokens: 4, sent: 1, failed: 1, invalid: 1, expired: 1 },
      platforms: {
        ios: { clients: 3, tokens: 3, sent: 1, failed: 0, invalid: 1, expired: 1, chunks: 2, chunksDone: 2 },
        android: { clients: 1, tokens: 1, sent: 0, failed: 1, invalid: 0, expired: 0, chunks: 2, chunksDone: 2 },
      },
    });
    await jobs.chunkDone(jobId, 'android', 1, 1);
    expect((await status(jobId)).finishedAt).toBe(done.finishedAt);

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

  it('keeps results exactly once across runs in other processes, which know nothing of the first', async () => {
    const jobId = await newJob(['x1', 'x2']);
    const tokens = [tok('x1', 'aa01'), tok('x2', 'bb:02'), tok('x1', 'aa01')]; // listed twice: one result
    expect(await jobs.track(jobId, 'android', 0, tokens)).toEqual(new Set());
    await jobs.record(jobId, 'android', 0, [{ client: 'x1', token: 'aa01', status: 'sent' }]);
    // A second worker process (a JobStore of its own) reruns the chunk while the first still writes.
    const other = new JobStore(api.redis, api.prefix, 3600);
    expect(await other.track(jobId, 'android', 0, tokens)).toEqual(new Set([0, 2]));
    expect(await other.record(jobId, 'android', 0, [{ client: 'x1', token: 'aa01', status: 'failed', reason: 'rerun' }])).toBe(0);
    expect(await jobs.record(jobId, 'android', 0, [{ client: 'x2', token: 'bb:02', status: 'sent' }])).toBe(1);
    expect(await other.record(jobId, 'android', 0, [{ client: 'x2', token: 'bb:02', status: 'failed', reason: 'rerun' }])).toBe(0);
    await other.chunkDone(jobId, 'android', 0, 2);
    // A run that lost its chunk writes after it was done: nothing changes.
    expect(await jobs.record(jobId, 'android', 0, [{ client: 'x9', token: 'late', status: 'sent' }])).toBe(0);
    expect((await status(jobId)).platforms.android).toMatchObject({ tokens: 2, sent: 2, failed: 0 });
    const items = (await api.request('GET', `/push/jobs/${jobId}/results`)).body.result.items;
    expect(items.map((i: { token: string; status: string }) => `${i.token} ${i.status}`)).toEqual(['aa01 sent', 'bb:02 sent']);
  });

  it('pages through results with a cursor, each item exactly once', async () => {
    const jobId = await newJob(['p1']);
    const results = Array.from({ length: 25 }, (_, i) => ({
      client: `p${i}`,
      token: `tok${i}`,
      status: (['sent', 'failed', 'invalid'] as const)[i % 3]!,
      reason: i % 3 ? 'why' : '',
    }));
    await jobs.record(jobId, 'android', 0, results);
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

  it('pages across chunks, platforms and statuses in one order, with or without a status', async () => {
    const clients = ['q0', 'q1', 'q2', 'q3', 'q4']; // chunks [q0, q1], [q2, q3], [q4]
    const jobId = await newJob(clients);
    const statuses = ['sent', 'failed', 'sent', 'invalid', 'sent'] as const;
    for (const [i, client] of clients.entries()) {
      for (const platform of ['ios', 'android'] as const) {
        const result = { client, token: `${platform}-${client}`, status: statuses[(i + (platform === 'ios' ? 0 : 1)) % 5]!, reason: 'r' };
        await jobs.record(jobId, platform, Math.floor(i / 2), [result]);
      }
    }
    const pageAll = async (query: string) => {
      const out: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = (
          await api.request('GET', `/push/jobs/${jobId}/results?limit=3${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
        ).body.result;
        out.push(...page.items.map((i: { token: string; status: string }) => `${i.status} ${i.token}`));
        cursor = page.nextCursor;
      } while (cursor);
      return out;
    };
    const all = await pageAll('');
    expect(all).toEqual([
      'sent ios-q0',
      'sent android-q1',
      'sent ios-q2',
      'sent android-q3',
      'sent ios-q4',
      'sent android-q4',
      'failed ios-q1',
      'failed android-q0',
      'invalid ios-q3',
      'invalid android-q2',
    ]);
    expect(await pageAll('&status=sent')).toEqual(all.slice(0, 6));
    expect(await pageAll('&status=invalid')).toEqual(all.slice(8));
    const first = (await api.request('GET', `/push/jobs/${jobId}/results?limit=3`)).body.result;
    // A cursor is for its own query and job: another status, or a chunk the job does not have, is refused.
    for (const cursor of [first.nextCursor, '0.3.0.0', '0.0.2.0', '5.0.0.0', '0.0.0.x']) {
      const query = cursor === first.nextCursor ? `status=failed&cursor=${cursor}` : `cursor=${cursor}`;
      const res = await api.request('GET', `/push/jobs/${jobId}/results?${query}`);
      expect([res.status, res.body.error.code]).toEqual([400, 'INVALID_CURSOR']);
    }
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
    const jobId = await newJob(['s1']);
    await jobs.record(jobId, 'ios', 0, [{ client: 's1', token: 'x', status: 'sent' }]);
    const ttl = await api.redis.ttl(keys.jobChunk(jobId, 0));
    expect(ttl).toBeGreaterThan(api.config.JOB_RETENTION_SECONDS - 60);
    expect(ttl).toBeLessThanOrEqual(api.config.JOB_RETENTION_SECONDS);
    expect(await api.redis.ttl(keys.job(jobId))).toBeGreaterThan(0);
  });

  it('drops jobs past retention from the recent list (trimmed at most once a second per process)', async () => {
    const store = new JobStore(api.redis, `${api.prefix}:trim`, 3600);
    const recent = storeKeys(`${api.prefix}:trim`).recentJobs();
    const job = (jobId: string) => ({
      jobId,
      clients: 1,
      chunks: 1,
      platforms: ['ios' as const],
      payload: { alert: 'x' },
      priority: 'high' as const,
    });
    const now = Date.now();
    await store.create(job('old'), now - 3600_000 - 5000);
    await store.create(job('new'), now);
    expect(await api.redis.zrange(recent, 0, -1)).toEqual(['new']);
    await store.create(job('next'), now + 10);
    expect(await api.redis.zrange(recent, 0, -1)).toEqual(['new', 'next']);
  });

  it('finishes and lists a job of the old layout (created before results were kept per chunk) in that layout', async () => {
    const jobId = await newJob(['o1', 'o2', 'o3']); // chunks [o1, o2], [o3]
    await api.redis.hdel(keys.job(jobId), 'layout'); // as an API from before wrote it
    const old = new JobStore(api.redis, api.prefix, 3600);
    expect(await old.track(jobId, 'ios', 0, [tok('o1', 'aa01'), tok('o2', 'aa02')])).toEqual(new Set());
    await old.record(jobId, 'ios', 0, [{ client: 'o1', token: 'aa01', status: 'sent' }]);
    // Counted as they go, as its first workers did.
    expect((await status(jobId)).platforms.ios).toMatchObject({ tokens: 2, sent: 1 });
    expect(await old.track(jobId, 'ios', 0, [tok('o1', 'aa01'), tok('o2', 'aa02')])).toEqual(new Set([0]));
    await old.record(jobId, 'ios', 0, [
      { client: 'o1', token: 'aa01', status: 'failed', reason: 'again' },
      { client: 'o2', token: 'aa02', status: 'invalid', reason: 'Unregistered' },
    ]);
    await old.chunkDone(jobId, 'ios', 0, 2);
    await old.record(jobId, 'ios', 1, [{ client: 'o3', token: 'aa03', status: 'sent' }]);
    for (const [platform, chunk, clients] of [
      ['ios', 1, 1],
      ['android', 0, 0],
      ['android', 1, 0],
    ] as const) {
      await old.chunkDone(jobId, platform, chunk, clients);
    }
    expect(await api.redis.exists(keys.jobChunk(jobId, 0), keys.jobChunk(jobId, 1))).toBe(0);
    expect(await status(jobId)).toMatchObject({ state: 'completed', platforms: { ios: { tokens: 3, sent: 2, invalid: 1, failed: 0 } } });
    const first = (await api.request('GET', `/push/jobs/${jobId}/results?limit=2`)).body.result;
    const rest = (await api.request('GET', `/push/jobs/${jobId}/results?cursor=${encodeURIComponent(first.nextCursor)}`)).body.result;
    expect([...first.items, ...rest.items].map((i: { token: string; status: string }) => `${i.status} ${i.token}`)).toEqual([
      'sent aa01',
      'sent aa03',
      'invalid aa02',
    ]);
    expect(rest.nextCursor).toBeNull();
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
