import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, loadApnsWorkerConfig, loadFcmWorkerConfig, loadWebPushWorkerConfig } from '@push/config';
import { platforms, type Counts, type Platform } from '@push/contract';
import { createDeliveryWorker, type DeliveryEvents, type DeliveryWorker } from '@push/delivery';
import { generateVapidKeys } from '@push/providers';
import { apnsWorkerDeps } from '@push/apns-worker/worker';
import { fcmWorkerDeps } from '@push/fcm-worker/worker';
import { webpushWorkerDeps } from '@push/webpush-worker/worker';
import {
  startApnsSimulator,
  startFcmSimulator,
  startWebPushSimulator,
  type ApnsBehaviour,
  type ApnsSimulator,
  type FcmBehaviour,
  type FcmSimulator,
  type SimulatedSubscription,
  type Simulator,
  type WebPushBehaviour,
  type WebPushSimulator,
} from '@push/simulators';
import { TokenRegistry, type Clock, type JobStatus, type ResultItem } from '@push/store';
import { startTestApi, type TestApi } from './api';
import { appEntry, spawnApiProcess, spawnNode, type ApiProcess, type ManagedProcess, type WorkerApp } from './processes';
import { waitFor } from './redis';

export interface TestStack {
  api: TestApi;
  apns: ApnsSimulator;
  fcm: FcmSimulator;
  webpush: WebPushSimulator;
  /** The environment a worker process needs to reach this stack (Redis prefix, simulators, CA). */
  workerEnv: Record<string, string>;
  /** Starts one more in-process worker for a platform, optionally with other settings and observers. */
  addWorker(platform: Platform, env?: Record<string, string>, events?: DeliveryEvents): DeliveryWorker;
  /** Starts a worker as a separate process (`node apps/<x>-worker/dist/index.js`). */
  spawnWorker(platform: Platform, env?: Record<string, string>): ChildProcess;
  /** Like spawnWorker, with the process' stdout and stderr captured (LOG_LEVEL as given in `env`). */
  startWorkerProcess(platform: Platform, env?: Record<string, string>): ManagedProcess;
  /** Starts the built API as its own process on this stack's Redis and prefix (stopped by close()). */
  startApiProcess(env?: Record<string, string>): Promise<ApiProcess>;
  register(client: string, platform: Platform, token: string): Promise<void>;
  /** Mints a browser subscription on the Web Push simulator and registers it for `client` (POST /push/tokens). */
  subscribe(client: string): Promise<SimulatedSubscription>;
  /** POST /push/push2clients; `fields` adds top-level fields (`priority`). Resolves to the job id. */
  push(clients: string[], payload: Record<string, unknown>, fields?: Record<string, unknown>): Promise<string>;
  waitForCompletion(jobId: string, timeoutMs?: number): Promise<JobStatus>;
  allResults(jobId: string): Promise<ResultItem[]>;
  close(): Promise<void>;
}

export interface StackOptions {
  apns?: ApnsBehaviour;
  fcm?: FcmBehaviour;
  webpush?: WebPushBehaviour;
  /** In-process workers per platform started with the stack (default 1 each). */
  workers?: Partial<Record<Platform, number>>;
  env?: Record<string, string>;
  /**
   * Another Redis than the shared test Redis (e.g. a `startRestartableRedisServer`); the API, the
   * workers and the helpers all use it. @defaultValue the test Redis (REDIS_URL)
   */
  redisUrl?: string;
  /** The clock of the API and the in-process workers (scheduling tests). @defaultValue the system's */
  clock?: Clock;
}

/** The totals of a job whose every token was sent. */
export function allSent(clients: number, tokens: number): Counts {
  return { clients, tokens, sent: tokens, failed: 0, invalid: 0, expired: 0, canceled: 0 };
}

/** What a simulator received: requests it answered, notifications it accepted, distinct tokens, the first one's time. */
export function deliveries(sim: Simulator<unknown>): { requests: number; accepted: number; distinctTokens: number; firstAt: number } {
  const received = sim.received();
  const { requests, accepted } = sim.stats();
  return {
    requests,
    accepted,
    distinctTokens: new Set(received.map((n) => n.token)).size,
    firstAt: Math.min(...received.map((n) => n.at)),
  };
}

/** Distinct `platform/token` pairs among results: a token listed twice would count once. */
export function distinctResults(results: readonly ResultItem[]): number {
  return new Set(results.map((r) => `${r.platform}/${r.token}`)).size;
}

/** Test token `n` of iOS (64 hex characters) and of Android: `registerMany`'s tokens. */
export const testIosToken = (n: number): string => n.toString(16).padStart(64, '0');
export const testFcmToken = (n: number): string => `tok_${String(n).padStart(24, '0')}`;

/**
 * Registers clients `<prefix>0` … with one iOS and one Android token each (`offset`: the first token's number,
 * keeping several calls' tokens apart), straight into the registry: thousands of HTTP calls would only slow a test.
 */
export async function registerMany(stack: TestStack, count: number, prefix: string, offset = 0): Promise<string[]> {
  const clients = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
  const registry = new TokenRegistry(stack.api.redis, stack.api.prefix);
  await Promise.all(
    clients.flatMap((c, i) => [
      registry.register(c, 'ios', testIosToken(offset + i)),
      registry.register(c, 'android', testFcmToken(offset + i)),
    ]),
  );
  return clients;
}

/** The mobile platforms' simulators of a stack, each with its platform. */
export function mobileSimulators(stack: TestStack): ReadonlyArray<readonly ['ios' | 'android', ApnsSimulator | FcmSimulator]> {
  return [
    ['ios', stack.apns],
    ['android', stack.fcm],
  ];
}

/** One push to `clients` while both mobile providers fail for `ms`: the completed job, and when the outage ended. */
export async function pushThroughOutage(stack: TestStack, clients: string[], ms: number): Promise<{ job: JobStatus; outageEnds: number }> {
  stack.apns.outage(ms);
  stack.fcm.outage(ms);
  const outageEnds = Date.now() + ms;
  const jobId = await stack.push(clients, { alert: 'after the outage' });
  return { job: await stack.waitForCompletion(jobId, 60_000), outageEnds };
}

/** The worker app of each platform, under apps/. */
const workerApp: Record<Platform, WorkerApp> = { ios: 'apns-worker', android: 'fcm-worker', web: 'webpush-worker' };

/**
 * The environment that points a process at the simulators (APNS_TOPIC included, a fresh VAPID key pair
 * for Web Push); writes the APNs signing key to a temporary file, as APNS_KEY_FILE names it.
 */
export function simulatorEnv(apns: ApnsSimulator, fcm: FcmSimulator, webpush: WebPushSimulator): Record<string, string> {
  const keyFile = join(tmpdir(), `push-test-apns-${apns.port}.p8`);
  writeFileSync(keyFile, apns.signingKeyPem);
  const vapid = generateVapidKeys();
  return {
    WEBPUSH_VAPID_PUBLIC_KEY: vapid.publicKey,
    WEBPUSH_VAPID_PRIVATE_KEY: vapid.privateKey,
    WEBPUSH_SUBJECT: 'mailto:tests@example.com',
    WEBPUSH_ALLOWED_ENDPOINTS: `fcm.googleapis.com,${new URL(webpush.url).host}`,
    APNS_KEY_FILE: keyFile,
    APNS_KEY_ID: apns.keyId,
    APNS_TEAM_ID: apns.teamId,
    APNS_TOPIC: 'io.test.app',
    APNS_HOST: apns.host,
    APNS_PORT: String(apns.port),
    FCM_ENDPOINT: fcm.url,
    FCM_PROJECT_ID: fcm.projectId,
    FCM_ACCESS_TOKEN: fcm.accessToken,
  };
}

/** API + simulators + workers on the test Redis, each test file with its own prefix. */
export async function startTestStack(name: string, options: StackOptions = {}): Promise<TestStack> {
  const [apns, fcm, webpush] = await Promise.all([
    startApnsSimulator(options.apns ?? {}),
    startFcmSimulator(options.fcm ?? {}),
    startWebPushSimulator(options.webpush ?? {}),
  ]);
  const baseEnv = {
    API_RATE_LIMIT_PER_MINUTE: '0',
    RETRY_BASE_DELAY_MS: '50',
    STALLED_INTERVAL_MS: '1000',
    // A dead token's verdict within a fifth of a second when the window does not fill (default 10 s).
    DEAD_TOKEN_GUARD_WAIT_MS: '200',
    ...simulatorEnv(apns, fcm, webpush),
    FCM_RATE_LIMIT_PER_MINUTE: '0',
    ...(options.redisUrl !== undefined && { REDIS_URL: options.redisUrl }),
    ...options.env,
  };
  const api = await startTestApi(name, baseEnv, options.clock);
  const workers: DeliveryWorker[] = [];
  const children: ChildProcess[] = [];
  const managed: ManagedProcess[] = [];
  const logger = createLogger('test-worker', 'silent');

  // The workers' own wiring (apps/*-worker/src/worker.ts), in this process, trusting the simulators' CA.
  const depsFor = (platform: Platform, source: Record<string, string>) => {
    switch (platform) {
      case 'ios':
        return apnsWorkerDeps(loadApnsWorkerConfig(source), logger, apns.caPem);
      case 'android':
        return fcmWorkerDeps(loadFcmWorkerConfig(source), logger, fcm.caPem);
      case 'web':
        return webpushWorkerDeps(loadWebPushWorkerConfig(source), logger, webpush.caPem);
    }
  };
  const addWorker = (platform: Platform, env: Record<string, string> = {}, events?: DeliveryEvents) => {
    const worker = createDeliveryWorker({
      ...depsFor(platform, { ...api.env, ...env }),
      ...(events && { events }),
      ...(options.clock && { clock: options.clock }),
    });
    workers.push(worker);
    return worker;
  };
  for (const platform of platforms) {
    for (let i = 0; i < (options.workers?.[platform] ?? 1); i++) addWorker(platform);
  }

  const workerEnv = {
    ...baseEnv,
    REDIS_URL: api.config.REDIS_URL,
    REDIS_PREFIX: api.prefix,
    LOG_LEVEL: 'silent',
    WORKER_METRICS_PORT: '0',
    NODE_EXTRA_CA_CERTS: apns.caFile,
  };

  return {
    api,
    apns,
    fcm,
    webpush,
    workerEnv,
    addWorker,
    spawnWorker(platform, env = {}) {
      const file = appEntry(workerApp[platform]);
      const child = spawn(process.execPath, [file], {
        env: { ...process.env, ...workerEnv, ...env },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      children.push(child);
      return child;
    },
    startWorkerProcess(platform, env = {}) {
      const proc = spawnNode(appEntry(workerApp[platform]), { ...workerEnv, ...env });
      managed.push(proc);
      return proc;
    },
    async startApiProcess(env = {}) {
      const proc = await spawnApiProcess({ ...api.env, LOG_LEVEL: 'info', ...env });
      managed.push(proc);
      return proc;
    },
    async register(client, platform, token) {
      const res = await api.request('POST', '/push/tokens', { client, platform, token });
      if (res.status !== 200) throw new Error(`register failed: ${JSON.stringify(res.body)}`);
    },
    async subscribe(client) {
      const subscription = webpush.subscribe();
      const res = await api.request('POST', '/push/tokens', { client, platform: 'web', subscription });
      if (res.status !== 200) throw new Error(`subscribe failed: ${JSON.stringify(res.body)}`);
      return subscription;
    },
    async push(clients, payload, fields = {}) {
      const res = await api.request('POST', '/push/push2clients', { clients, payload, ...fields });
      if (res.status !== 200) throw new Error(`push failed: ${JSON.stringify(res.body)}`);
      return res.body.result.jobId as string;
    },
    async waitForCompletion(jobId, timeoutMs = 30_000) {
      return waitFor(
        async () => {
          const res = await api.request('GET', `/push/jobs/${jobId}`);
          return res.body.result?.state === 'completed' ? (res.body.result as JobStatus) : undefined;
        },
        timeoutMs,
        `job ${jobId} to complete`,
      );
    },
    async allResults(jobId) {
      const items: ResultItem[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
        const res = await api.request('GET', `/push/jobs/${jobId}/results?limit=1000${query}`);
        items.push(...res.body.result.items);
        cursor = res.body.result.nextCursor;
      } while (cursor);
      return items;
    },
    async close() {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await Promise.all(managed.map((proc) => proc.stop('SIGKILL')));
      await Promise.all(workers.map((w) => w.close()));
      await api.close();
      await Promise.all([apns.close(), fcm.close(), webpush.close()]);
    },
  };
}
