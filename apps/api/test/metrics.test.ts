import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Platform } from '@push/contract';
import { appsEnv, startTestApi, startTestStack, TEST_ADMIN_TOKEN, type TestApi, type TestStack } from '@push/testing';

const root = resolve(__dirname, '../../..');
const iosToken = (n: number) => `abc${n}`.padEnd(64, '0');
const fcmToken = (n: number) => `metrics_token_${String(n).padStart(20, '0')}`;

/** The value of one sample line of a Prometheus text exposition, or undefined when it is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

interface WorkerProcess {
  child: ChildProcess;
  /** The metrics port the worker logged (it was given WORKER_METRICS_PORT=0). */
  port: number;
}

/** A built worker process on the stack, with logs on so its `worker ready` line tells the metrics port. */
function startWorkerProcess(stack: TestStack, platform: Platform, env: Record<string, string>): Promise<WorkerProcess> {
  const file = join(root, 'apps', platform === 'ios' ? 'apns-worker' : 'fcm-worker', 'dist', 'index.js');
  const child = spawn(process.execPath, [file], {
    env: { ...process.env, ...stack.workerEnv, LOG_LEVEL: 'info', WORKER_METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`${platform} worker did not get ready`)), 20_000);
    child.once('exit', (code) => reject(new Error(`${platform} worker exited with ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      let entry: { msg?: string; metricsPort?: number } = {};
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return; // not a log line
      }
      if (entry.msg === 'worker ready' && entry.metricsPort) {
        clearTimeout(timer);
        resolvePort({ child, port: entry.metricsPort });
      }
    });
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function scrape(url: string, token: string): Promise<string> {
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

describe('metrics of a whole job: the API and both worker processes', () => {
  let stack: TestStack;
  const workers: Partial<Record<Platform, WorkerProcess>> = {};
  let jobId: string;

  beforeAll(async () => {
    stack = await startTestStack('metrics', {
      workers: { ios: 0, android: 0 },
      apns: { dead: [iosToken(2)] },
      fcm: { flakyOnce: [fcmToken(2)] },
    });
    const env = { IM_API_KEY: stack.api.apiKey };
    [workers.ios, workers.android] = await Promise.all([startWorkerProcess(stack, 'ios', env), startWorkerProcess(stack, 'android', env)]);
    for (let i = 0; i < 3; i++) {
      await stack.register(`m${i}`, 'ios', iosToken(i));
      await stack.register(`m${i}`, 'android', fcmToken(i));
    }
    jobId = await stack.push(['m0', 'm1', 'm2'], { alert: 'metrics' });
    const job = await stack.waitForCompletion(jobId);
    expect(job.totals).toMatchObject({ clients: 3, tokens: 6, sent: 5, invalid: 1, failed: 0 });
  });
  afterAll(async () => {
    await Promise.all(Object.values(workers).map((w) => stopProcess(w.child)));
    await stack.close();
  });

  it('refuses /metrics without a valid bearer token, in the JSON envelope', async () => {
    const attempts: Record<string, string>[] = [{}, { Authorization: 'Bearer wrong-token-0123456789' }, { 'IM-API-KEY': stack.api.apiKey }];
    for (const headers of attempts) {
      const res = await fetch(`${stack.api.url}/metrics`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INVALID_METRICS_TOKEN');
    }
  });

  it('counts API requests by route pattern, not by raw path', async () => {
    await stack.api.request('GET', '/push/nope');
    await stack.api.request('GET', '/push/nope', undefined, { 'IM-API-KEY': 'not-the-key-0123456789' });
    await stack.api.request('GET', '/nowhere/at/all');
    const text = await scrape(`${stack.api.url}/metrics`, stack.api.apiKey);
    // The app of the request's API key; '' for a request without a valid one.
    const requests = (method: string, route: string, status: number, app = 'default') =>
      sample(text, `push_http_requests_total{method="${method}",route="${route}",status="${status}",app="${app}"}`);
    expect(requests('POST', '/push/tokens', 200)).toBe(6);
    expect(requests('POST', '/push/push2clients', 200)).toBe(1);
    expect(requests('GET', '/push/jobs/:jobId', 200)).toBeGreaterThanOrEqual(1);
    expect(requests('GET', '/push/*', 404)).toBe(1);
    expect(requests('GET', '/push/*', 401, '')).toBe(1);
    expect(requests('GET', '<unmatched>', 404, '')).toBe(1);
    expect(text).not.toContain(jobId);
    expect(
      sample(text, 'push_http_request_duration_seconds_count{method="POST",route="/push/push2clients",status="200",app="default"}'),
    ).toBe(1);
  });

  it('reports queue depth per queue, lane and state, and the Redis connection as up', async () => {
    const text = await scrape(`${stack.api.url}/metrics`, stack.api.apiKey);
    for (const [queue, lane] of [
      ['apns', 'normal'],
      ['apns-high', 'high'],
      ['fcm', 'normal'],
      ['fcm-high', 'high'],
    ]) {
      for (const state of ['waiting', 'active', 'delayed', 'failed', 'paused']) {
        expect(sample(text, `push_queue_jobs{queue="${queue}",lane="${lane}",state="${state}"}`)).toBe(0);
      }
    }
    expect(sample(text, 'push_redis_up')).toBe(1);
  });

  it("reports each worker's results, provider latency, retries and dead tokens on its metrics port", async () => {
    const ios = await scrape(`http://127.0.0.1:${workers.ios!.port}/metrics`, stack.api.apiKey);
    expect(sample(ios, 'push_notifications_total{platform="ios",status="sent",app="default"}')).toBe(2);
    expect(sample(ios, 'push_notifications_total{platform="ios",status="invalid",app="default"}')).toBe(1);
    expect(sample(ios, 'push_dead_tokens_removed_total{platform="ios",app="default"}')).toBe(1);
    expect(sample(ios, 'push_provider_request_duration_seconds_count{platform="ios",app="default"}')).toBe(1);
    expect(sample(ios, 'push_provider_tokens_total{platform="ios",app="default"}')).toBe(3);
    expect(sample(ios, 'push_redis_up')).toBe(1);
    expect(ios).toContain('process_resident_memory_bytes');

    const android = await scrape(`http://127.0.0.1:${workers.android!.port}/metrics`, stack.api.apiKey);
    expect(sample(android, 'push_notifications_total{platform="android",status="sent",app="default"}')).toBe(3);
    expect(sample(android, 'push_retries_total{platform="android",app="default"}')).toBe(1);
    expect(sample(android, 'push_provider_request_duration_seconds_count{platform="android",app="default"}')).toBe(2);
    expect(sample(android, 'push_provider_tokens_total{platform="android",app="default"}')).toBe(4);
  });

  it('serves /healthz on the worker port without a token and /metrics only with one', async () => {
    const res = await fetch(`http://127.0.0.1:${workers.android!.port}/healthz`);
    expect(res.status).toBe(200);
    const refused = await fetch(`http://127.0.0.1:${workers.android!.port}/metrics`);
    expect(refused.status).toBe(401);
  });
});

describe('METRICS_TOKEN', () => {
  let api: TestApi;
  const token = 'prometheus-scrape-token-0123';
  beforeAll(async () => {
    api = await startTestApi('metrics-token', { METRICS_TOKEN: `old-token-0123456789,${token}` });
  });
  afterAll(() => api.close());

  it('replaces the API keys on /metrics, several tokens allowed for rotation', async () => {
    expect((await fetch(`${api.url}/metrics`, { headers: { Authorization: `Bearer ${api.apiKey}` } })).status).toBe(401);
    await scrape(`${api.url}/metrics`, token);
    await scrape(`${api.url}/metrics`, 'old-token-0123456789');
  });
});

describe('API metrics per app', () => {
  let api: TestApi;
  const metricsToken = 'metrics-token-0123456789abcdef';
  beforeAll(async () => {
    // No workers: only the API's own metrics matter here.
    api = await startTestApi('metrics-apps', { ...appsEnv, METRICS_TOKEN: metricsToken });
  });
  afterAll(() => api.close());

  it("labels requests and accepted pushes with the app of the request's key", async () => {
    const created = await api.request('POST', '/admin/apps', { id: 'shop' }, { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
    expect(created.status).toBe(200);
    const shop = { 'IM-API-KEY': created.body.result.apiKey as string };
    const push = (clients: string[], headers: Record<string, string> = {}) =>
      api.request('POST', '/push/push2clients', { clients, payload: { alert: 'per app' } }, headers);
    expect((await push(['a', 'b', 'c'], shop)).status).toBe(200);
    expect((await push(['d', 'e'], { ...shop, 'Idempotency-Key': 'once' })).status).toBe(200);
    // A replay of the same Idempotency-Key: answered, not a new job.
    expect((await push(['d', 'e'], { ...shop, 'Idempotency-Key': 'once' })).status).toBe(200);
    expect((await push(['x'])).status).toBe(200);
    expect((await push(['y'], { 'IM-API-KEY': 'not-a-key-0123456789abcdef' })).status).toBe(401);

    const text = await scrape(`${api.url}/metrics`, metricsToken);
    const route = 'method="POST",route="/push/push2clients"';
    expect(sample(text, `push_http_requests_total{${route},status="200",app="shop"}`)).toBe(3);
    expect(sample(text, `push_http_requests_total{${route},status="200",app="default"}`)).toBe(1);
    // Refused before routing: the deepest router it reached, and no app.
    expect(sample(text, 'push_http_requests_total{method="POST",route="/push/*",status="401",app=""}')).toBe(1);
    expect(sample(text, `push_http_request_duration_seconds_count{${route},status="200",app="shop"}`)).toBe(3);
    expect(sample(text, 'push_jobs_accepted_total{app="shop"}')).toBe(2);
    expect(sample(text, 'push_job_clients_total{app="shop"}')).toBe(5);
    expect(sample(text, 'push_jobs_accepted_total{app="default"}')).toBe(1);
    // The admin API's and /metrics' own requests carry no app.
    expect(sample(text, 'push_http_requests_total{method="POST",route="/admin/apps",status="200",app=""}')).toBe(1);
  });
});
