import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const httpBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface HttpMetrics {
  /**
   * Counts one answered request; `route` is the route pattern (`/push/jobs/:jobId`), never the raw path;
   * `app` the app whose API key the request carried ('' when none: refused, operators' pages, `/metrics`).
   * Apps are created by operators, so the label's values stay few.
   */
  observe(method: string, route: string, status: number, seconds: number, app: string): void;
}

export function httpMetrics(registry: Registry): HttpMetrics {
  const requests = new Counter({
    name: 'push_http_requests_total',
    help: "HTTP requests answered, by method, route pattern, status code and app (of the request's API key; '' without).",
    labelNames: ['method', 'route', 'status', 'app'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'push_http_request_duration_seconds',
    help: "Time from request to the end of the answer, by method, route pattern, status code and app (of the request's API key).",
    labelNames: ['method', 'route', 'status', 'app'] as const,
    buckets: httpBuckets,
    registers: [registry],
  });
  return {
    observe(method, route, status, seconds, app) {
      const labels = { method, route, status: String(status), app };
      requests.inc(labels);
      duration.observe(labels, seconds);
    },
  };
}

export interface PushMetrics {
  /** Counts one push job accepted for `app`, naming `clients` client ids (a replayed Idempotency-Key: not counted). */
  accepted(app: string, clients: number): void;
}

export function pushMetrics(registry: Registry): PushMetrics {
  const jobs = new Counter({
    name: 'push_jobs_accepted_total',
    help: 'Push jobs accepted (POST /push/push2clients answered with a new job), by app.',
    labelNames: ['app'] as const,
    registers: [registry],
  });
  const clients = new Counter({
    name: 'push_job_clients_total',
    help: 'Client ids named by the accepted push jobs (as sent: a repeated id counts each time), by app.',
    labelNames: ['app'] as const,
    registers: [registry],
  });
  return {
    accepted(app, count) {
      jobs.inc({ app });
      clients.inc({ app }, count);
    },
  };
}

/** One queue whose depth `push_queue_jobs` reports: its name, its lane, and its chunks by state. */
export interface QueueDepthSource {
  readonly queue: string;
  readonly lane: string;
  depth(): Promise<Readonly<Record<string, number>>>;
}

/**
 * `push_queue_jobs{queue,lane,state}`, read from Redis at each scrape. A scrape while Redis is away
 * reports no queue series (rather than stale ones) and does not fail the other metrics.
 */
export function queueDepthMetric(registry: Registry, sources: readonly QueueDepthSource[]): void {
  new Gauge({
    name: 'push_queue_jobs',
    help: 'Chunk jobs in each queue (a lane of a platform) by state (waiting, active, delayed, failed, paused), read at scrape.',
    labelNames: ['queue', 'lane', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const depths = await Promise.all(sources.map((source) => source.depth().catch(() => undefined)));
      depths.forEach((depth, i) => {
        const { queue, lane } = sources[i]!;
        for (const [state, n] of Object.entries(depth ?? {})) this.set({ queue, lane, state }, n);
      });
    },
  });
}

/**
 * `push_scheduled_jobs`: push jobs scheduled for later (`sendAt`, `localTime`) still waiting, neither
 * completed nor canceled, read at scrape. A scrape while Redis is away leaves it out.
 */
export function scheduledJobsMetric(registry: Registry, count: () => Promise<number>): void {
  new Gauge({
    name: 'push_scheduled_jobs',
    help: 'Push jobs scheduled for later (sendAt, localTime) still waiting: neither completed nor canceled, read at scrape.',
    registers: [registry],
    async collect() {
      this.reset();
      const n = await count().catch(() => undefined);
      if (n !== undefined) this.set(n);
    },
  });
}

/** `push_redis_up`: 1 while the process's Redis connection is ready, else 0. */
export function redisUpMetric(registry: Registry, ready: () => boolean): void {
  new Gauge({
    name: 'push_redis_up',
    help: "1 while this process's Redis connection is ready, else 0.",
    registers: [registry],
    collect() {
      this.set(ready() ? 1 : 0);
    },
  });
}
