import {
  createMetricsRegistry,
  deliveryMetrics,
  httpMetrics,
  pushMetrics,
  queueDepthMetric,
  redisUpMetric,
  startMetricsServer,
  type MetricsServer,
} from '@push/metrics';

/** The value of one sample line of a Prometheus text exposition, or undefined when it is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metric definitions', () => {
  it('counts the delivery events by platform, status and group', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const events = deliveryMetrics(registry);
    events.recorded('ios', [{ status: 'sent' }, { status: 'sent' }, { status: 'invalid' }]);
    events.recorded('android', [{ status: 'expired' }, { status: 'canceled' }, { status: 'canceled' }]);
    events.sent('ios', 3, 0.02);
    events.sent('ios', 5, 0.2);
    events.retried('android', 4);
    events.paused('android', 1500);
    events.deadRemoved('ios', 1);
    events.deadKept('android', 7);
    events.misconfiguration('android', ['wrong project'], 200);
    events.breakerOpened('ios', 1000);
    events.breakerOpened('ios', 2000);
    const text = await registry.metrics();
    expect(sample(text, 'push_notifications_total{platform="ios",status="sent",app="default"}')).toBe(2);
    expect(sample(text, 'push_notifications_total{platform="ios",status="invalid",app="default"}')).toBe(1);
    expect(sample(text, 'push_notifications_total{platform="android",status="expired",app="default"}')).toBe(1);
    expect(sample(text, 'push_notifications_total{platform="android",status="sent",app="default"}')).toBe(0);
    expect(sample(text, 'push_notifications_total{platform="android",status="canceled",app="default"}')).toBe(2);
    expect(sample(text, 'push_notifications_total{platform="ios",status="canceled",app="default"}')).toBe(0);
    expect(sample(text, 'push_provider_request_duration_seconds_count{platform="ios",app="default"}')).toBe(2);
    expect(sample(text, 'push_provider_request_duration_seconds_bucket{le="0.025",platform="ios",app="default"}')).toBe(1);
    expect(sample(text, 'push_provider_tokens_total{platform="ios",app="default"}')).toBe(8);
    expect(sample(text, 'push_retries_total{platform="android",app="default"}')).toBe(4);
    expect(sample(text, 'push_rate_limit_pauses_total{platform="android",app="default"}')).toBe(1);
    expect(sample(text, 'push_rate_limit_pause_seconds_total{platform="android",app="default"}')).toBe(1.5);
    expect(sample(text, 'push_dead_tokens_removed_total{platform="ios",app="default"}')).toBe(1);
    expect(sample(text, 'push_dead_tokens_removed_total{platform="android",app="default"}')).toBe(0);
    expect(sample(text, 'push_dead_tokens_kept_total{platform="android",app="default"}')).toBe(7);
    expect(sample(text, 'push_suspected_misconfiguration_total{platform="android",app="default"}')).toBe(1);
    expect(sample(text, 'push_suspected_misconfiguration_total{platform="ios",app="default"}')).toBe(0);
    expect(sample(text, 'push_provider_breaker_opens_total{platform="ios",app="default"}')).toBe(2);
  });

  it("counts another app's events under its own app label", async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const events = deliveryMetrics(registry);
    events.forApp('shop').recorded('ios', [{ status: 'sent' }, { status: 'failed' }]);
    events.forApp('shop').paused('android', 2000);
    events.recorded('ios', [{ status: 'sent' }]);
    const text = await registry.metrics();
    expect(sample(text, 'push_notifications_total{platform="ios",status="sent",app="shop"}')).toBe(1);
    expect(sample(text, 'push_notifications_total{platform="ios",status="failed",app="shop"}')).toBe(1);
    expect(sample(text, 'push_rate_limit_pauses_total{platform="android",app="shop"}')).toBe(1);
    expect(sample(text, 'push_notifications_total{platform="ios",status="sent",app="default"}')).toBe(1);
    expect(sample(text, 'push_rate_limit_pauses_total{platform="android",app="default"}')).toBe(0);
  });

  it('reads queue depth per lane and Redis state at scrape, and leaves out a queue that cannot be read', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    let ready = true;
    queueDepthMetric(registry, [
      { queue: 'apns', lane: 'normal', depth: () => Promise.resolve({ waiting: 7, active: 1, delayed: 2, failed: 0, paused: 0 }) },
      { queue: 'apns-high', lane: 'high', depth: () => Promise.resolve({ waiting: 1, active: 2, delayed: 0, failed: 0, paused: 0 }) },
      { queue: 'fcm', lane: 'normal', depth: () => Promise.reject(new Error('Redis is away')) },
    ]);
    redisUpMetric(registry, () => ready);
    let text = await registry.metrics();
    expect(sample(text, 'push_queue_jobs{queue="apns",lane="normal",state="waiting"}')).toBe(7);
    expect(sample(text, 'push_queue_jobs{queue="apns",lane="normal",state="delayed"}')).toBe(2);
    expect(sample(text, 'push_queue_jobs{queue="apns-high",lane="high",state="waiting"}')).toBe(1);
    expect(sample(text, 'push_queue_jobs{queue="apns-high",lane="high",state="active"}')).toBe(2);
    expect(text).not.toContain('queue="fcm"');
    expect(sample(text, 'push_redis_up')).toBe(1);
    ready = false;
    text = await registry.metrics();
    expect(sample(text, 'push_redis_up')).toBe(0);
  });

  it('labels HTTP requests by route pattern, status and app, and counts accepted pushes per app', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const http = httpMetrics(registry);
    http.observe('GET', '/push/jobs/:jobId', 200, 0.003, 'default');
    http.observe('GET', '/push/jobs/:jobId', 200, 0.004, 'default');
    http.observe('GET', '/push/jobs/:jobId', 200, 0.004, 'shop');
    http.observe('GET', '/push/jobs/:jobId', 404, 0.001, '');
    const pushes = pushMetrics(registry);
    pushes.accepted('shop', 3);
    pushes.accepted('shop', 2);
    const text = await registry.metrics();
    expect(sample(text, 'push_http_requests_total{method="GET",route="/push/jobs/:jobId",status="200",app="default"}')).toBe(2);
    expect(sample(text, 'push_http_requests_total{method="GET",route="/push/jobs/:jobId",status="200",app="shop"}')).toBe(1);
    expect(sample(text, 'push_http_requests_total{method="GET",route="/push/jobs/:jobId",status="404",app=""}')).toBe(1);
    expect(
      sample(text, 'push_http_request_duration_seconds_count{method="GET",route="/push/jobs/:jobId",status="200",app="default"}'),
    ).toBe(2);
    expect(sample(text, 'push_jobs_accepted_total{app="shop"}')).toBe(2);
    expect(sample(text, 'push_job_clients_total{app="shop"}')).toBe(5);
  });

  it('includes the default process metrics unless asked not to', async () => {
    expect(await createMetricsRegistry().metrics()).toContain('process_cpu_user_seconds_total');
    expect(await createMetricsRegistry({ defaultMetrics: false }).metrics()).not.toContain('process_cpu_user_seconds_total');
  });
});

describe('the worker metrics server', () => {
  const token = 'metrics-token-0123456789';
  let server: MetricsServer;
  beforeAll(async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    deliveryMetrics(registry).recorded('ios', [{ status: 'sent' }]);
    server = await startMetricsServer({ registry, tokens: [token], port: 0, host: '127.0.0.1' });
  });
  afterAll(() => server.close());
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`http://127.0.0.1:${server.port}${path}`, { headers });

  it('listens on a free port when asked for 0', () => {
    expect(server.port).toBeGreaterThan(0);
  });

  it('serves /metrics in Prometheus text format for the bearer token', async () => {
    const res = await get('/metrics', { Authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sample(await res.text(), 'push_notifications_total{platform="ios",status="sent",app="default"}')).toBe(1);
  });

  it.each([
    ['no Authorization', {}],
    ['a wrong token', { Authorization: 'Bearer not-the-metrics-token' }],
    ['Basic auth', { Authorization: `Basic ${Buffer.from(`admin:${token}`).toString('base64')}` }],
  ])('refuses %s with 401 in the JSON envelope', async (_, headers) => {
    const res = await get('/metrics', headers);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    expect(await res.json()).toEqual({
      RC: 401,
      RM: 'Unauthorized',
      error: { code: 'INVALID_METRICS_TOKEN', message: expect.any(String) },
    });
  });

  it('answers /healthz without a token, other paths with 404 and other methods with 405', async () => {
    const health = await get('/healthz');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ RC: 0, RM: 'OK', result: { status: 'ok' } });
    const missing = await get('/nope');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    const post = await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
  });
});
