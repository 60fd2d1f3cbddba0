import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { platforms, type Platform } from '@push/contract';
import { createQueue, createRedis, type RedisClient } from '@push/store';
import { freePort } from '@push/store';

const root = resolve(__dirname, '../../..');

export const BENCH_API_KEY = 'bench-key-0123456789abcdef';

/** The worker app of each platform, under apps/. */
export const workerApp: Record<Platform, string> = { ios: 'apns-worker', android: 'fcm-worker', web: 'webpush-worker' };
const entry = (app: string) => join(root, 'apps', app, 'dist/index.js');

export interface ServiceOptions {
  redisUrl: string;
  /** A Redis Cluster (REDIS_CLUSTER=true for every process). */
  cluster?: boolean;
  prefix: string;
  /** The simulators' worker environment (APNS_*, FCM_*, WEBPUSH_*, NODE_EXTRA_CA_CERTS). */
  providerEnv: Record<string, string>;
  /** Anything else for every process (tuning knobs, FCM_RATE_LIMIT_PER_MINUTE). */
  env: Record<string, string>;
  cpuProfDir?: string;
  /** Extra node flags for every process. */
  nodeArgs?: string[];
}

interface Proc {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  /** Set when the bench stops it: an exit before that is reported. */
  stopping: boolean;
}

/**
 * The service as it runs in production: the API and the workers as separate node processes
 * (`node apps/<name>/dist/index.js`), configured only through their environment.
 */
export class Service {
  private api: Proc | undefined;
  private readonly workers = Object.fromEntries(platforms.map((p) => [p, []])) as unknown as Record<Platform, Proc[]>;
  private port = 0;
  private seq = 0;

  constructor(private readonly options: ServiceOptions) {}

  get apiKey(): string {
    return BENCH_API_KEY;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private environment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      REDIS_URL: this.options.redisUrl,
      REDIS_PREFIX: this.options.prefix,
      ...(this.options.cluster && { REDIS_CLUSTER: 'true' }),
      IM_API_KEY: BENCH_API_KEY,
      APNS_TOPIC: 'io.bench.app',
      APNS_PRODUCTION: 'false',
      WORKER_METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
      ...this.options.providerEnv,
      ...this.options.env,
      ...extra,
    };
  }

  private start(name: string, file: string, env: NodeJS.ProcessEnv): Proc {
    const execArgv: string[] = [...(this.options.nodeArgs ?? [])];
    if (this.options.cpuProfDir) {
      const dir = resolve(this.options.cpuProfDir, name);
      mkdirSync(dir, { recursive: true });
      execArgv.push('--cpu-prof', '--cpu-prof-dir', dir);
    }
    // Their logs go to the bench's stderr: stdout stays free for --json.
    const child = spawn(process.execPath, [...execArgv, file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const prefixLines = (chunk: Buffer) => process.stderr.write(chunk.toString().replace(/^(?=.)/gm, `[${name}] `));
    child.stdout.on('data', prefixLines);
    child.stderr.on('data', prefixLines);
    const proc: Proc = { name, child, exited: Promise.resolve(), stopping: false };
    proc.exited = new Promise<void>((r) =>
      child.once('exit', (code, signal) => {
        if (!proc.stopping) process.stderr.write(`[${name}] exited unexpectedly (code ${code}, signal ${signal})\n`);
        r();
      }),
    );
    return proc;
  }

  async startApi(): Promise<void> {
    this.port = await freePort();
    this.api = this.start('api', entry('api'), this.environment({ PORT: String(this.port) }));
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (this.api.child.exitCode !== null) throw new Error('the API exited at start-up (see its output above)');
      const ok = await fetch(`${this.url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline) throw new Error('the API did not answer /healthz within 20 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Starts or stops worker processes until `count` run per platform, and waits until BullMQ sees them. */
  async setWorkers(count: number): Promise<void> {
    for (const platform of platforms) {
      const list = this.workers[platform];
      while (list.length > count) await stop(list.pop()!);
      while (list.length < count) {
        list.push(this.start(`${workerApp[platform]}-${++this.seq}`, entry(workerApp[platform]), this.environment()));
      }
    }
    const redis = createRedis(this.options.redisUrl, 'worker', { cluster: this.options.cluster ?? false });
    try {
      for (const platform of platforms) {
        // The normal lane's workers: every worker process runs one per lane.
        const queue = createQueue(platform, 'normal', redis, this.options.prefix);
        const deadline = Date.now() + 20_000;
        while ((await queue.getWorkersCount()) < count) {
          if (this.workers[platform].some((w) => w.child.exitCode !== null))
            throw new Error(`a ${platform} worker exited at start-up (see its output above)`);
          if (Date.now() > deadline) throw new Error(`${count} ${platform} workers not ready within 20 s`);
          await new Promise((r) => setTimeout(r, 50));
        }
        await queue.close();
      }
    } finally {
      redis.disconnect();
    }
  }

  /** Process ids by name: `api`, `apns-worker-1`, ... */
  pids(): Record<string, number> {
    const out: Record<string, number> = {};
    if (this.api) out.api = this.api.child.pid!;
    for (const w of platforms.flatMap((p) => this.workers[p])) out[w.name] = w.child.pid!;
    return out;
  }

  workerPids(platform: Platform): Record<string, number> {
    return Object.fromEntries(this.workers[platform].map((w) => [w.name, w.child.pid!]));
  }

  get apiPid(): number | undefined {
    return this.api?.child.pid;
  }

  async request(
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: unknown }> {
    const response = await fetch(this.url + path, {
      method,
      headers: { 'IM-API-KEY': BENCH_API_KEY, 'Content-Type': 'application/json; charset=utf-8', ...headers },
      ...(body !== undefined && { body }),
    });
    const text = await response.text();
    try {
      return { status: response.status, body: JSON.parse(text) as unknown };
    } catch {
      return { status: response.status, body: text };
    }
  }

  /** SIGTERM to every process (workers finish their chunks; CPU profiles are written on exit). */
  async stop(): Promise<void> {
    await Promise.all(platforms.flatMap((p) => this.workers[p].splice(0)).map(stop));
    if (this.api) await stop(this.api);
    this.api = undefined;
  }
}

async function stop(proc: Proc): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.stopping = true;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 15_000);
  await proc.exited;
  clearTimeout(timer);
}

export type { RedisClient };
