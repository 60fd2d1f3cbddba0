import { envSchema } from '@push/config';
import { platforms } from '@push/contract';
import type { DirectLibrary, DirectRunRequest } from './direct';
import type { BenchReport, DirectComparison, Target } from './main';
import type { BenchOptions } from './options';
import { countTokens, type Population } from './population';
import { round } from './proc';
import { transactionalTargets } from './transactional';
import { benchPayload, type ServiceRunReport } from './service-run';

// What the bench derives from its runs: the direct scripts' settings, ratios, targets, the method text.

/**
 * The direct scripts' settings: those the service's workers run with (its defaults, or --env overrides,
 * read through the service's own environment schema), times the workers per platform: the same HTTP/2
 * connections and the same number of tokens in flight.
 */
export function directRequest(
  options: BenchOptions,
  population: Population,
  libraries: DirectLibrary[],
  workers: number,
): DirectRunRequest {
  const env = envSchema.parse({ ...options.env });
  const concurrency = env.WORKER_CONCURRENCY * workers;
  return {
    libraries,
    population,
    payload: benchPayload,
    topic: 'io.bench.app',
    apnsConnections: env.APNS_CONNECTIONS * workers,
    fcmConnections: env.FCM_CONNECTIONS * workers,
    webConnections: env.WEBPUSH_CONNECTIONS * workers,
    webClients: options.webClients,
    // firebase-admin takes at most 500 tokens a call (FCM_BATCH_SIZE cannot be more either).
    batch: {
      'node-apn': env.APNS_BATCH_SIZE,
      'firebase-admin': env.FCM_BATCH_SIZE,
      'fcm-provider': env.FCM_BATCH_SIZE,
      'web-push': env.WEBPUSH_BATCH_SIZE,
    },
    concurrency: { 'node-apn': concurrency, 'firebase-admin': concurrency, 'fcm-provider': concurrency, 'web-push': concurrency },
    warmup: Math.min(2000, population.clients),
  };
}

const ratio = (a: number, b: number): number => (b > 0 ? round(a / b, 2) : 0);

export function serviceWarnings(run: ServiceRunReport): string[] {
  const out: string[] = [];
  const sent = run.statuses.sent ?? 0;
  if (sent !== run.tokens) out.push(`service: ${run.tokens - sent} of ${run.tokens} tokens not sent (${JSON.stringify(run.statuses)})`);
  const others = run.cpu.others?.cores ?? 0;
  if (others > 0.25)
    out.push(
      `service run (${run.workersPerPlatform} worker(s)): processes outside the benchmark used ${others} cores meanwhile; figures are low`,
    );
  for (const p of platforms) {
    if (run.accepted[p] !== run.platforms[p].tokens)
      out.push(`service: the ${p} simulator accepted ${run.accepted[p]} notifications for ${run.platforms[p].tokens} tokens`);
  }
  return out;
}

/** The direct scripts worth running for this population: each platform needs tokens. */
export function directScripts(population: Population): DirectLibrary[][] {
  const out: DirectLibrary[][] = [];
  for (const libraries of [
    ['node-apn', 'firebase-admin'],
    ['node-apn', 'fcm-provider'],
  ] as DirectLibrary[][]) {
    const wanted = libraries.filter((l) => countTokens(population, l === 'node-apn' ? 'ios' : 'android') > 0);
    if (wanted.length > 0 && !out.some((d) => d.join() === wanted.join())) out.push(wanted);
  }
  return out;
}

/**
 * CPU per token sent, microseconds: the service's own processes (API, workers, Redis) and its worker
 * processes alone (`workers`), against each direct script's process; the simulators are left out of both.
 * Unlike throughput, this hardly depends on what else the machine is doing.
 */
export function cpuPerToken(service: ServiceRunReport, direct: DirectComparison[]): Record<string, number> {
  const sum = (keep: (name: string) => boolean) =>
    Object.entries(service.cpu)
      .filter(([name]) => keep(name))
      .reduce((n, [, c]) => n + c.cpuSeconds, 0);
  const perToken = (seconds: number, tokens: number) => round((seconds / Math.max(1, tokens)) * 1e6, 1);
  const out: Record<string, number> = {
    service: perToken(
      sum((name) => name === 'api' || name === 'redis' || isWorker(name)),
      service.tokens,
    ),
    workers: perToken(sum(isWorker), service.tokens),
  };
  for (const d of direct) out[d.libraries.join(' + ')] = perToken(d.report.cpuSeconds, d.report.overall.tokens);
  return out;
}

const isWorker = (name: string) => name.includes('worker');

/**
 * Service / direct ratios of one round (every name contains `ratio`): throughput per platform and
 * overall, and CPU per token the other way round (direct / the service's workers: above 1, the workers
 * spend less per token than the script): `ratioCpuPerTokenDirectOverService` against the libraries a user
 * would call (node-apn + firebase-admin: the queue, the registry and the exactly-once results paid for by
 * doing the provider work more cheaply), `ratioCpuPerTokenOwnSenderOverService` against node-apn + the
 * project's own FCM sender (the same FCM code as the workers: what the rest of the service costs).
 */
export function ratios(service: ServiceRunReport, direct: DirectComparison[]): Record<string, number> {
  const out: Record<string, number> = {};
  const script = (library: DirectLibrary) => direct.find((d) => d.libraries.includes(library));
  const result = (library: DirectLibrary) => script(library)?.report.results.find((r) => r.library === library);
  const nodeApn = result('node-apn');
  const admin = result('firebase-admin');
  const own = result('fcm-provider');
  if (nodeApn) out.ratioIosVsNodeApn = ratio(service.platforms.ios.tokensPerSecond, nodeApn.tokensPerSecond);
  if (admin) out.ratioAndroidVsFirebaseAdmin = ratio(service.platforms.android.tokensPerSecond, admin.tokensPerSecond);
  if (own) out.ratioAndroidVsFcmProvider = ratio(service.platforms.android.tokensPerSecond, own.tokensPerSecond);
  // The first script is the libraries of the user's script: node-apn and/or firebase-admin.
  if (direct[0]) out.ratioOverallVsDirectLibraries = ratio(service.tokensPerSecond, direct[0].report.overall.tokensPerSecond);
  const withOwn = script('fcm-provider');
  if (withOwn) out.ratioOverallVsDirectOwnSender = ratio(service.tokensPerSecond, withOwn.report.overall.tokensPerSecond);
  const cpu = cpuPerToken(service, direct);
  if (direct[0] && direct[0] !== withOwn)
    out.ratioCpuPerTokenDirectOverService = ratio(cpu[direct[0].libraries.join(' + ')]!, cpu.workers!);
  if (withOwn) out.ratioCpuPerTokenOwnSenderOverService = ratio(cpu[withOwn.libraries.join(' + ')]!, cpu.workers!);
  return out;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Spread {
  min: number;
  max: number;
  /** Each round's value, in order. */
  rounds: number[];
}

/** Per name: the median over rounds, and the spread (min..max and every round's value). */
export function acrossRounds(rounds: ReadonlyArray<Record<string, number>>): {
  median: Record<string, number>;
  spread: Record<string, Spread>;
} {
  const names = [...new Set(rounds.flatMap((r) => Object.keys(r)))];
  const out = { median: {} as Record<string, number>, spread: {} as Record<string, Spread> };
  for (const name of names) {
    const values = rounds.map((r) => r[name]).filter((v): v is number => v !== undefined);
    out.median[name] = round(median(values), 2);
    out.spread[name] = { min: Math.min(...values), max: Math.max(...values), rounds: values };
  }
  return out;
}

/** The run of median throughput (the lower middle one of an even count): the one reported in full. */
export function medianRun<T>(runs: readonly T[], throughput: (run: T) => number): T {
  const sorted = [...runs].sort((a, b) => throughput(a) - throughput(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** Below these a throughput ratio is mostly start-up and noise (the issue's --quick runs: 0.62 to 0.94). */
export const MEASURABLE = { clients: 20_000, roundMs: 5000 };

/** Why the ratios of these rounds cannot be trusted: empty when they can. */
export function tooSmall(clients: number | undefined, roundsMs: readonly number[]): string[] {
  const out: string[] = [];
  if (clients !== undefined && clients < MEASURABLE.clients) out.push(`${clients} clients (fewer than ${MEASURABLE.clients})`);
  const shortest = Math.min(...roundsMs);
  if (roundsMs.length > 0 && shortest < MEASURABLE.roundMs) out.push(`a round of ${shortest} ms (under ${MEASURABLE.roundMs} ms)`);
  return out;
}

export function method(options: BenchOptions, population: Population): string[] {
  const d = directRequest(options, population, [], options.workers);
  const m = options.mixed ?? options.withMixed;
  const lines = [
    `Redis: a private redis-server (no persistence, noeviction); simulators: one separate node process for both (HTTP/2 + TLS, latency ${options.latencyMs} ± ${options.jitterMs} ms, counters only), shared by every run.`,
    'Tokens registered straight into Redis with TokenRegistry.register, pipelined (not through the API). APNs tokens 64 hex characters, FCM tokens 152, client ids 12.',
    `Service: node apps/api/dist/index.js and ${options.workers} node apps/{apns,fcm}-worker/dist/index.js per platform, NODE_ENV=production, LOG_LEVEL=warn, service defaults otherwise; FCM_RATE_LIMIT_PER_MINUTE=${options.fcmRateLimitPerMinute} (its token bucket starts full with a minute of quota, so a run under that many Android tokens is not held back)${Object.keys(options.env).length > 0 ? `; --env ${JSON.stringify(options.env)}` : ''}.`,
    'One warm-up push (2000 clients) first; then ONE POST /push/push2clients naming every client, followed to state=completed. Throughput = tokens / (finishedAt - request time); per platform up to its last recorded result. Latency per token = result recorded (the time of its record call) - request time.',
    `Direct scripts: a fresh node process per script sending the same tokens to the same simulators with the libraries themselves, both platforms at once, after a 2000-token warm-up, with the workers' settings: @parse/node-apn MultiProvider (${d.apnsConnections} connections, send(note, ${d.batch['node-apn']} tokens), ${d.concurrency['node-apn']} calls in flight); firebase-admin sendEachForMulticast (${d.batch['firebase-admin']} tokens a call, ${d.concurrency['firebase-admin']} calls in flight, each on its own HTTP/2 connection as firebase-admin does; http2.connect redirected from fcm.googleapis.com to the simulator, a credential returning the simulator's token); the project's createFcmProvider (${d.fcmConnections} connections, ${d.batch['fcm-provider']} a call, ${d.concurrency['fcm-provider']} in flight).`,
    ...(options.webClients > 0
      ? [
          `Web Push run: ${options.webClients} more clients with one browser subscription each (keys derived from the index; the simulators' process holds the private halves, verifies VAPID and decrypts every message); one push to all of them through the service (${options.workers} node apps/webpush-worker/dist/index.js), then the web-push library's sendNotification per subscription in a fresh process (${d.batch['web-push']} a call, ${d.concurrency['web-push']} calls in flight, a keep-alive https.Agent of ${d.webConnections} sockets: the workers' WEBPUSH_CONNECTIONS). ratioWebVsWebPushLib = service web subscriptions/s / web-push's.`,
        ]
      : []),
    `Service and direct scripts take turns ${options.repeat} time(s), each after waiting for the machine to be quiet; each ratio is the median over the rounds (each round's service run against the same round's direct runs), with its spread; the service run reported in full is the one of median throughput. Ratios of a run under ${MEASURABLE.clients} clients or with a round under ${MEASURABLE.roundMs} ms are reported as too small to measure. Peak RSS = VmHWM from /proc; CPU = utime+stime from /proc per process over the run; "others" = the machine's busy time minus the benchmark's processes.`,
  ];
  const t = options.transactional;
  if (t) {
    return [
      ...lines.slice(0, 3),
      `Transactional: one warm-up push and up to 3 s of one-client pushes at the first rate (not measured); then one-client pushes offered open-loop (each at its due time, whatever the answers; a keep-alive agent of 256 sockets) at ${t.rates.join(', ')} per second, ${t.seconds} s each, round robin over the clients (an iOS and an Android token each), each rate after waiting for the machine to be quiet. Latencies count from the time a request was due: API = its answer, completion = its job's finishedAt (read from Redis after the rate, not polled through the API). A rate is sustained when every push was accepted and completed within ${t.drainMs} ms of the last request and the completion p99 is <= 1 s; a rate with unfinished pushes ends the run. CPU per push = each process's utime+stime over the rate and its drain / completed pushes.`,
    ];
  }
  if (!m) return lines;
  const mixed = [
    `Mixed (lanes and fair share): one warm-up push; then alone, one after the other: the blast (${m.blastClients} clients, normal by its size), the campaign (${m.campaignClients} other clients, normal), 10 alerts (one more client, high by its size) ${m.alertEveryMs} ms apart; then together: the blast, an alert every ${m.alertEveryMs} ms until the blast completes, the campaign ${m.campaignAtMs} ms after the blast. Each time = the request to the job's finishedAt; blast throughput = its tokens / that time. Each phase starts after waiting for the machine to be quiet.`,
  ];
  return options.mixed ? [...lines.slice(0, 3), ...mixed] : [...lines, ...mixed];
}

export function targets(report: BenchReport): Target[] {
  const out: Target[] = [];
  const mbOf = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
  if (report.service) {
    out.push({
      name: 'overall throughput',
      target: '>= 10000 tokens/s',
      value: `${report.service.tokensPerSecond} tokens/s`,
      met: report.service.tokensPerSecond >= 10_000,
    });
    const workerPeaks = Object.entries(report.service.peakRssBytes).filter(([n]) => n.includes('worker'));
    const worst = Math.max(0, ...workerPeaks.map(([, b]) => b));
    out.push({ name: 'worker peak RSS', target: '< 256 MB', value: mbOf(worst), met: worst < 256 * 2 ** 20 });
  }
  for (const [name, value] of Object.entries(report.ratios ?? {})) {
    const why = report.unmeasured?.[name];
    const spread = report.ratioSpread?.[name];
    out.push({
      name,
      target: '>= 1 (median of the rounds)',
      value:
        why !== undefined
          ? `too small to measure (${why})`
          : `${value}${spread && spread.rounds.length > 1 ? ` (${spread.min}..${spread.max})` : ''}`,
      met: why === undefined && value >= 1,
    });
  }
  if (report.mixed) {
    const m = report.mixed;
    out.push({
      name: 'mixed: alert p99 (request -> completed) during a blast',
      target: '<= 500 ms',
      value: `${m.mixedAlertP99Ms} ms`,
      met: m.mixedAlertP99Ms <= 500,
    });
    out.push({
      name: 'mixed: campaign slowdown (during the blast / alone)',
      target: '<= 3',
      value: `${m.mixedCampaignSlowdown} (${m.spread.mixedCampaignSlowdown.min}..${m.spread.mixedCampaignSlowdown.max})`,
      met: m.mixedCampaignSlowdown <= 3,
    });
    out.push({
      name: 'mixed: blast throughput ratio (with the others / alone)',
      target: '>= 0.9',
      value: `${m.mixedBlastThroughputRatio} (${m.spread.mixedBlastThroughputRatio.min}..${m.spread.mixedBlastThroughputRatio.max})`,
      met: m.mixedBlastThroughputRatio >= 0.9,
    });
  }
  if (report.transactional) out.push(...transactionalTargets(report.transactional));
  if (report.redis) {
    out.push({
      name: 'Redis per registered token',
      target: '<= 400 bytes',
      value: `${report.redis.bytesPerRegisteredToken} bytes`,
      met: report.redis.bytesPerRegisteredToken <= 400,
    });
  }
  if (report.apiMillion) {
    const m = report.apiMillion;
    const worst = Math.max(...m.answerMs);
    out.push({ name: `API answer, ${m.clients} clients`, target: '< 3000 ms', value: `${m.answerMs.join(' / ')} ms`, met: worst < 3000 });
    out.push({
      name: 'API memory back to idle',
      target: 'RSS <= idle + max(32 MB, 25 %)',
      value: `RSS idle ${mbOf(m.idle.rssBytes)}, peak ${mbOf(m.peakRssBytes)}, ${mbOf(m.settled.rssBytes)} after ${m.settleSeconds} s (heap ${mbOf(m.idle.heapUsedBytes)} -> ${mbOf(m.settled.heapUsedBytes)})`,
      met: m.returnedToIdle,
    });
    if (m.idle.heapUsedBytes > 0) {
      out.push({
        name: 'API V8 heap back to idle',
        target: 'heap used <= idle + 8 MB',
        value: `${mbOf(m.idle.heapUsedBytes)} idle, ${mbOf(m.afterAnswer.heapUsedBytes)} after the last answer, ${mbOf(m.settled.heapUsedBytes)} after ${m.settleSeconds} s`,
        met: m.settled.heapUsedBytes <= m.idle.heapUsedBytes + 8 * 2 ** 20,
      });
    }
  }
  return out;
}
