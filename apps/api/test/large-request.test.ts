import { generateVapidKeys } from '@push/providers';
import { startTestApi, type TestApi } from '@push/testing';

let api: TestApi;
beforeAll(async () => {
  // Web Push on (a VAPID public key): every platform's queue gets the chunks.
  api = await startTestApi('million', { WEBPUSH_VAPID_PUBLIC_KEY: generateVapidKeys().publicKey });
});
afterAll(() => api.close());

it('accepts 1,000,000 client ids in one request and queues every one of them', async () => {
  const clients = Array.from({ length: 1_000_000 }, (_, i) => `user${String(i).padStart(7, '0')}`);
  const res = await api.request('POST', '/push/push2clients', { clients, payload: { alert: 'everyone', badge: 1 } });
  expect(res.status).toBe(200);
  const { jobId } = res.body.result;

  const status = await api.request('GET', `/push/jobs/${jobId}`);
  expect(status.body.result.totals.clients).toBe(1_000_000);
  expect(status.body.result.platforms.ios.chunks).toBe(1000);
  expect(status.body.result.priority).toBe('normal');
  for (const { normal: queue } of Object.values(api.queues)) {
    // Waiting with their fair-share round as BullMQ priority: chunk k has priority k + 1.
    expect(await queue.getPrioritizedCount()).toBe(1000);
    const [last] = await queue.getJobs(['prioritized'], 0, 0, false);
    expect(last!.data.clients).toHaveLength(1000);
    expect(last!.opts.priority).toBe(1000);
  }
});
