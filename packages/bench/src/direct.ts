// The "direct script" baselines: what a user would write instead of the service, one process that sends
// the same tokens with the provider libraries themselves, no Redis, no queue, no per-token records.
// Forked by the bench (direct-runner.ts) so that it has a process of its own, like the service's workers.
import http2 from 'node:http2';
import https from 'node:https';
import webPush from 'web-push';
import { MultiProvider, Notification } from '@parse/node-apn';
import { initializeApp, type App } from 'firebase-admin/app';
import { getMessaging } from 'firebase-admin/messaging';
import { toWebPush, type Payload } from '@push/contract';
import { createFcmProvider } from '@push/providers';
import { serveHelper } from './ipc';
import { tokensOf, webSubscription, type Population } from './population';
import type { SimHostInfo } from './sim-host';

/** The libraries the service is compared with. */
export type DirectLibrary = 'node-apn' | 'firebase-admin' | 'fcm-provider' | 'web-push';

export interface DirectRunRequest {
  libraries: DirectLibrary[];
  population: Population;
  payload: Payload;
  topic: string;
  /** HTTP/2 connections (node-apn clientCount; the project's FCM sender's pool). */
  apnsConnections: number;
  fcmConnections: number;
  /** Keep-alive connections to the Web Push simulator (the workers' WEBPUSH_CONNECTIONS). */
  webConnections: number;
  /** Browser subscriptions 0..webClients-1 (population.ts), and the VAPID identity the service signs with. */
  webClients: number;
  vapid?: { publicKey: string; privateKey: string; subject: string };
  /** Tokens per send call (node-apn: recipients array; firebase-admin: at most 500). */
  batch: Record<DirectLibrary, number>;
  /** Send calls in flight at once. firebase-admin opens one HTTP/2 connection per call. */
  concurrency: Record<DirectLibrary, number>;
  /** Tokens sent once, untimed, before the measured run (JIT, connections, JWT). */
  warmup: number;
}

export interface DirectRunResult {
  library: DirectLibrary;
  tokens: number;
  sent: number;
  failed: number;
  /** Epoch ms. */
  startedAt: number;
  endedAt: number;
  tokensPerSecond: number;
  /** Per token, from the start of the run to the answer of the send call that carried it, ms. */
  p50Ms: number;
  p99Ms: number;
}

export interface DirectRunReport {
  results: DirectRunResult[];
  /** All libraries together, from the first start to the last end (tokens: those accepted). */
  overall: { tokens: number; seconds: number; tokensPerSecond: number };
  peakRssBytes: number;
  cpuSeconds: number;
}

type Sender = (tokens: string[]) => Promise<{ sent: number; failed: number }>;

interface Library {
  send: Sender;
  close(): Promise<void>;
}

/**
 * firebase-admin always connects to https://fcm.googleapis.com: in this process only, that goes to the
 * simulator. Its requests also carry `:scheme: https:` (with the colon: lib/utils/api-request.js passes
 * url.protocol), which Google's front end tolerates but node's HTTP/2 server resets with PROTOCOL_ERROR;
 * the header is corrected on the way out. Nothing else of the library is touched.
 */
function redirectFcmHost(simUrl: string, ca: string): void {
  const connect = http2.connect;
  (http2 as { connect: typeof http2.connect }).connect = (authority: string | URL, ...rest: unknown[]) => {
    const redirect = String(authority).startsWith('https://fcm.googleapis.com');
    const [options, listener] = typeof rest[0] === 'function' ? [{}, rest[0]] : [rest[0] ?? {}, rest[1]];
    const session = (connect as (...args: unknown[]) => http2.ClientHttp2Session)(
      redirect ? simUrl : authority,
      { ...options, ca },
      listener,
    );
    if (redirect) {
      const request = session.request.bind(session);
      session.request = (headers?: http2.OutgoingHttpHeaders, opts?: http2.ClientSessionRequestOptions) => {
        const fixed = headers?.[':scheme'] === 'https:' ? { ...headers, ':scheme': 'https' } : headers;
        return request(fixed, opts);
      };
    }
    return session;
  };
}

function nodeApn(request: DirectRunRequest, sim: SimHostInfo): Library {
  const provider = new MultiProvider({
    token: { key: sim.apnsKeyPem, keyId: sim.apnsKeyId, teamId: sim.apnsTeamId },
    production: false,
    address: new URL(sim.apnsUrl).hostname,
    port: Number(new URL(sim.apnsUrl).port),
    ca: [sim.apnsCaPem],
    clientCount: request.apnsConnections,
  });
  // Built the way node-apn's README does it; the same APNs payload as the service's mapping.
  const p = request.payload;
  const note = new Notification();
  note.topic = request.topic;
  note.pushType = 'alert';
  note.priority = 10;
  if (p.alert !== undefined) note.alert = p.alert as string;
  else note.alert = { title: p.title ?? '', body: p.body ?? '' };
  if (p.badge !== undefined) note.badge = p.badge;
  if (p.sound !== undefined) note.sound = p.sound;
  if (p.type !== undefined) note.payload = { type: p.type };
  return {
    async send(tokens) {
      const { sent, failed } = await provider.send(note, tokens);
      return { sent: sent.length, failed: failed.length };
    },
    close: () => new Promise<void>((resolve) => void provider.shutdown(resolve)),
  };
}

let app: App | undefined;

function firebaseAdmin(request: DirectRunRequest, sim: SimHostInfo): Library {
  redirectFcmHost(sim.fcmUrl, sim.apnsCaPem);
  app ??= initializeApp(
    {
      projectId: sim.fcmProjectId,
      // A credential is anything with getAccessToken(): here the simulator's bearer token.
      credential: { getAccessToken: () => Promise.resolve({ access_token: sim.fcmAccessToken, expires_in: 3600 }) },
    },
    'bench',
  );
  const messaging = getMessaging(app);
  const p = request.payload;
  return {
    async send(tokens) {
      const response = await messaging.sendEachForMulticast({
        tokens,
        notification: { title: p.title ?? '', body: p.body ?? (typeof p.alert === 'string' ? p.alert : '') },
        android: {
          ...(p.icon !== undefined && { notification: { icon: p.icon } }),
          ...(p.collapseKey !== undefined && { collapseKey: p.collapseKey }),
        },
        ...(p.type !== undefined && { data: { type: p.type } }),
      });
      return { sent: response.successCount, failed: response.failureCount };
    },
    close: () => Promise.resolve(),
  };
}

function fcmProvider(request: DirectRunRequest, sim: SimHostInfo): Library {
  const provider = createFcmProvider({
    endpoint: sim.fcmUrl,
    projectId: sim.fcmProjectId,
    credential: { accessToken: sim.fcmAccessToken },
    connections: request.fcmConnections,
    timeoutMs: 15_000,
    ca: sim.apnsCaPem,
  });
  return {
    async send(tokens) {
      const outcomes = await provider.send(tokens, request.payload);
      const sent = outcomes.filter((o) => o.status === 'sent').length;
      return { sent, failed: outcomes.length - sent };
    },
    close: () => provider.close(),
  };
}

/**
 * web-push as its README shows it: `sendNotification(subscription, payload, options)` per subscription (it
 * encrypts and signs a VAPID JWT each time), `batch` at once per call. Its requests go through a keep-alive
 * agent with the workers' connection limit and the simulators' CA (its default would be Node's global agent).
 */
function webPushLib(request: DirectRunRequest, sim: SimHostInfo): Library {
  if (!request.vapid) throw new Error("web-push needs the run's VAPID keys");
  const agent = new https.Agent({ keepAlive: true, maxSockets: request.webConnections, ca: sim.apnsCaPem });
  const subscriptions = new Map<string, webPush.PushSubscription>();
  for (let i = 0; i < request.webClients; i++) {
    const subscription = webSubscription(i, sim.webpushUrl);
    subscriptions.set(subscription.endpoint, subscription);
  }
  // The same bytes and headers as the service's mapping.
  const message = toWebPush(request.payload, Date.now());
  const options: webPush.RequestOptions = {
    vapidDetails: request.vapid,
    TTL: message.ttl,
    urgency: message.urgency,
    contentEncoding: 'aes128gcm',
    agent,
    timeout: 15_000,
    ...(message.topic !== undefined && { topic: message.topic }),
  };
  return {
    async send(tokens) {
      const results = await Promise.allSettled(
        tokens.map((endpoint) => webPush.sendNotification(subscriptions.get(endpoint)!, message.body, options)),
      );
      const sent = results.filter((r) => r.status === 'fulfilled' && r.value.statusCode === 201).length;
      return { sent, failed: tokens.length - sent };
    },
    close: () => {
      agent.destroy();
      return Promise.resolve();
    },
  };
}

/** Sends `tokens` in calls of `batch`, `concurrency` calls at a time; records when each token was answered. */
async function drive(send: Sender, tokens: string[], batch: number, concurrency: number, startedAt: number, latencies?: Float64Array) {
  let next = 0;
  let sent = 0;
  let failed = 0;
  const lane = async () => {
    while (next < tokens.length) {
      const from = next;
      next = Math.min(tokens.length, next + batch);
      const result = await send(tokens.slice(from, next));
      sent += result.sent;
      failed += result.failed;
      if (latencies) latencies.fill(Date.now() - startedAt, from, from + result.sent + result.failed);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { sent, failed };
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

interface Prepared {
  request: DirectRunRequest;
  jobs: Array<{ library: DirectLibrary; lib: Library; tokens: string[] }>;
}

let prepared: Prepared | undefined;

/** Builds the tokens and the libraries' clients, and warms them up with the first tokens (untimed). */
async function prepare(request: DirectRunRequest, sim: SimHostInfo): Promise<void> {
  const make = { 'node-apn': nodeApn, 'firebase-admin': firebaseAdmin, 'fcm-provider': fcmProvider, 'web-push': webPushLib } as const;
  const jobs = request.libraries.map((library) => ({
    library,
    lib: make[library](request, sim),
    tokens:
      library === 'web-push'
        ? Array.from({ length: request.webClients }, (_, i) => webSubscription(i, sim.webpushUrl).endpoint)
        : tokensOf(request.population, library === 'node-apn' ? 'ios' : 'android'),
  }));
  // The service's workers are warmed up the same way.
  await Promise.all(
    jobs.map(({ library, lib, tokens }) =>
      drive(lib.send, tokens.slice(0, request.warmup), request.batch[library], request.concurrency[library], Date.now()),
    ),
  );
  prepared = { request, jobs };
}

/** The measured run: every library sends all of its platform's tokens, all libraries at once. */
async function run(): Promise<DirectRunReport> {
  if (!prepared) throw new Error('prepare first');
  const { request, jobs } = prepared;
  const cpuBefore = process.cpuUsage();
  const results = await Promise.all(
    jobs.map(async ({ library, lib, tokens }): Promise<DirectRunResult> => {
      const latencies = new Float64Array(tokens.length);
      const startedAt = Date.now();
      const { sent, failed } = await drive(lib.send, tokens, request.batch[library], request.concurrency[library], startedAt, latencies);
      const endedAt = Date.now();
      latencies.sort();
      return {
        library,
        tokens: tokens.length,
        sent,
        failed,
        startedAt,
        endedAt,
        // Only what the provider accepted counts.
        tokensPerSecond: Math.round(sent / ((endedAt - startedAt) / 1000)),
        p50Ms: percentile(latencies, 0.5),
        p99Ms: percentile(latencies, 0.99),
      };
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  await Promise.all(jobs.map(({ lib }) => lib.close()));
  const start = Math.min(...results.map((r) => r.startedAt));
  const end = Math.max(...results.map((r) => r.endedAt));
  const sent = results.reduce((n, r) => n + r.sent, 0);
  return {
    results,
    overall: { tokens: sent, seconds: (end - start) / 1000, tokensPerSecond: Math.round(sent / ((end - start) / 1000)) },
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

const sim = JSON.parse(process.argv[2] ?? '{}') as SimHostInfo;
serveHelper(true, { prepare: (request: DirectRunRequest) => prepare(request, sim), run }, () => undefined);
