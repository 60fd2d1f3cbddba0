// Throughput of one simulator: it runs in a worker thread (its own core), this thread drives it with
// `sessions` HTTP/2 connections of `concurrency` streams each for `seconds` after a one-second warm-up.
//   node packages/simulators/dist/load.js apns|fcm [--latency 20] [--seconds 5] [--sessions 4] [--concurrency 100]
import { createPrivateKey, sign } from 'node:crypto';
import http2 from 'node:http2';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { startApnsSimulator } from './apns';
import { startFcmSimulator } from './fcm';
import type { SimulatorStats } from './types';

export interface LoadOptions {
  kind: 'apns' | 'fcm';
  latencyMs: number;
  seconds: number;
  sessions: number;
  /** Concurrent streams per session. */
  concurrency: number;
}

export interface LoadResult extends LoadOptions {
  requests: number;
  errors: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Share of the measured time the simulator's thread was busy (event-loop utilisation, 0..1). */
  serverBusy: number;
  server: SimulatorStats;
}

interface Target {
  url: string;
  caPem: string;
  headers: http2.OutgoingHttpHeaders;
  path: (i: number) => string;
  body: (i: number) => string;
}

type ToWorker = 'start' | 'stop';
type FromWorker =
  | { target: Omit<Target, 'path' | 'body'> & { keyPem?: string; keyId?: string; teamId?: string } }
  | { stats: SimulatorStats; serverBusy: number }
  | 'start';

/** Runs one load measurement and resolves with the figures. */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const worker = new Worker(__filename, { workerData: o });
  const messages: FromWorker[] = [];
  const waiting: Array<(m: FromWorker) => void> = [];
  worker.on('message', (m: FromWorker) => (waiting.length ? waiting.shift()?.(m) : messages.push(m)));
  const next = () =>
    new Promise<FromWorker>((resolve) => (messages.length ? resolve(messages.shift() as FromWorker) : waiting.push(resolve)));

  const first = await next();
  if (typeof first !== 'object' || !('target' in first)) throw new Error('worker did not start');
  const target = makeTarget(o.kind, first.target);
  const sessions = Array.from({ length: o.sessions }, () => http2.connect(target.url, { ca: target.caPem }));
  let counting = false;
  let requests = 0;
  let errors = 0;
  const latencies: number[] = [];
  let stop = false;
  let i = 0;

  const loop = (session: http2.ClientHttp2Session): Promise<void> =>
    new Promise((resolve) => {
      const once = (): void => {
        if (stop) return resolve();
        const n = i++;
        const started = performance.now();
        const req = session.request({ ...target.headers, ':method': 'POST', ':path': target.path(n) });
        let status = 0;
        req.on('response', (h) => (status = Number(h[':status'])));
        req.on('data', () => undefined);
        req.on('error', () => undefined);
        req.on('close', () => {
          if (counting) {
            requests++;
            if (status !== 200) errors++;
            if ((n & 15) === 0) latencies.push(performance.now() - started);
          }
          once();
        });
        req.end(target.body(n));
      };
      once();
    });

  const loops = sessions.flatMap((s) => Array.from({ length: o.concurrency }, () => loop(s)));
  await delay(1000);
  counting = true;
  worker.postMessage('start' satisfies ToWorker);
  const t0 = performance.now();
  await delay(o.seconds * 1000);
  counting = false;
  const elapsed = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all(loops);
  for (const s of sessions) s.close();
  worker.postMessage('stop' satisfies ToWorker);
  const last = await next();
  await worker.terminate();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0);
  return {
    ...o,
    requests,
    errors,
    perSecond: Math.round(requests / elapsed),
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    serverBusy: typeof last === 'object' && 'stats' in last ? round(last.serverBusy) : 0,
    server: typeof last === 'object' && 'stats' in last ? last.stats : ({} as SimulatorStats),
  };
}

function makeTarget(kind: 'apns' | 'fcm', t: Extract<FromWorker, { target: unknown }>['target']): Target {
  const tokens = Array.from({ length: 1000 }, (_, n) => n.toString(16).padStart(64, '0'));
  if (kind === 'apns') {
    // One JWT for the whole run, as an APNs client keeps one for up to an hour.
    const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: t.keyId })).toString('base64url');
    const claims = Buffer.from(JSON.stringify({ iss: t.teamId, iat: Math.floor(Date.now() / 1000) })).toString('base64url');
    const key = createPrivateKey(t.keyPem ?? '');
    const sig = sign('sha256', Buffer.from(`${header}.${claims}`), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    const body = JSON.stringify({ aps: { alert: { title: 'Load', body: 'Hello from the load test' }, badge: 1 } });
    return {
      ...t,
      headers: { ...t.headers, authorization: `bearer ${header}.${claims}.${sig}` },
      path: (n) => `/3/device/${tokens[n % tokens.length]}`,
      body: () => body,
    };
  }
  return {
    ...t,
    path: () => '/v1/projects/load/messages:send',
    body: (n) =>
      JSON.stringify({
        message: { token: `fcm-${tokens[n % tokens.length]}`, notification: { title: 'Load', body: 'Hello from the load test' } },
      }),
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

async function serve(o: LoadOptions): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const sim =
    o.kind === 'apns'
      ? await startApnsSimulator({ latencyMs: o.latencyMs, recordLimit: 10_000 })
      : await startFcmSimulator({ latencyMs: o.latencyMs, recordLimit: 10_000, projectId: 'load' });
  const common = { url: sim.url, caPem: sim.caPem };
  const target =
    'keyId' in sim
      ? {
          ...common,
          keyPem: sim.signingKeyPem,
          keyId: sim.keyId,
          teamId: sim.teamId,
          headers: { 'apns-topic': 'com.example.load', 'apns-push-type': 'alert', 'apns-priority': '10' },
        }
      : { ...common, headers: { authorization: `Bearer ${sim.accessToken}`, 'content-type': 'application/json' } };
  port.postMessage({ target } satisfies FromWorker);

  let from = performance.eventLoopUtilization();
  const answer = async (m: ToWorker) => {
    if (m === 'start') {
      from = performance.eventLoopUtilization();
      return;
    }
    const serverBusy = performance.eventLoopUtilization(from).utilization;
    const stats = sim.stats();
    await sim.close();
    port.postMessage({ stats, serverBusy } satisfies FromWorker);
  };
  port.on('message', (m: ToWorker) => void answer(m));
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isFinite(v) ? v : fallback;
}

if (!isMainThread) {
  void serve(workerData as LoadOptions);
} else if (require.main === module) {
  const kind = process.argv[2] === 'fcm' ? 'fcm' : 'apns';
  runLoad({
    kind,
    latencyMs: flag('latency', 0),
    seconds: flag('seconds', 5),
    sessions: flag('sessions', 4),
    concurrency: flag('concurrency', 100),
  }).then(
    (r) => console.log(JSON.stringify(r)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
