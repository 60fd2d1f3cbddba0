import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { envSchema } from '@push/config';
import { createRedis, TokenRegistry } from '@push/store';
import { apiMillion, type ApiMillionReport } from './api-million';
import type { DirectLibrary, DirectRunRequest } from './direct';
import { runDirect, type DirectScriptReport } from './direct-runner';
import { forkHelper } from './ipc';
import { deleteKeys, keysMemory, usedMemory } from './measure';
import type { BenchOptions } from './options';
import { countTokens, registerPopulation, type Population } from './population';
import { round, waitForQuiet } from './proc';
import { startPrivateRedis } from './redis-server';
import { Service } from './service';
import { benchPayload, serviceRun, warmUp, type RunContext, type ServiceRunReport } from './service-run';
import type { SimHostInfo } from './sim-host';

export interface Machine {
  nproc: number;
  cpuModel: string;
  node: string;
  redis: string;
  memoryBytes: number;
}

export interface DirectComparison {
  /** The libraries of the script, run concurrently in one process. */
  libraries: DirectLibrary[];
  report: DirectScriptReport;
}

export interface ScalingPoint {
  workersPerPlatform: number;
  clients: number;
  tokensPerSecond: number;
  iosTokensPerSecond: number;
  androidTokensPerSecond: number;
  completionMs: number;
  simulatorBusy: number;
  peakWorkerRssBytes: number;
  cpu: Record<string, { cpuSeconds: number; cores: number }>;
}

export interface Target {
  name: string;
  target: string;
  value: string;
  met: boolean;
}

export interface BenchReport {
  machine: Machine;
  options: Omit<BenchOptions, 'json'>;
  /** How the measured environment was set up, in words (also printed with the tables). */
  method: string[];
  population?: {
    clients: number;
    iosTokens: number;
    androidTokens: number;
    registerSeconds: number;
  };
  redis?: {
    /** used_memory after registering minus before, per registered token, bytes. */
    bytesPerRegisteredToken: number;
    /** MEMORY USAGE of every registry key, per registered token, bytes. */
    registryKeyBytesPerToken: number;
    /** MEMORY USAGE of the job's keys per recorded result, bytes (kept JOB_RETENTION_SECONDS). */
    bytesPerResult?: number;
  };
  service?: ServiceRunReport;
  direct?: DirectComparison[];
  /** Service throughput / direct-library throughput. Every field name contains `ratio`. */
  ratios?: Record<string, number>;
  /** CPU per token, microseconds: `service` (API + workers + Redis) and each direct script (simulators excluded). */
  cpuPerToken?: Record<string, number>;
  scaling?: ScalingPoint[];
  apiMillion?: ApiMillionReport;
  targets: Target[];
  /** Anything that makes a figure doubtful (tokens not sent, failures). */
  warnings: string[];
}

function machine(): Machine {
  let redis = '';
  try {
    redis = /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? '';
  } catch {
    // reported empty
  }
  let cpuModel = cpus()[0]?.model ?? '';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpuModel;
  } catch {
    // not Linux
  }
  return { nproc: cpus().length, cpuModel, node: process.version, redis, memoryBytes: totalmem() };
}

/**
 * The direct scripts' settings: those the service's workers run with (its defaults, or --env overrides,
 * read through the service's own environment schema), times the workers per platform: the same HTTP/2
 * connections and the same number of tokens in flight.
 */
function directRequest(options: BenchOptions, population: Population, libraries: DirectLibrary[], workers: number): DirectRunRequest {
  const env = envSchema.parse({ ...options.env });
  const concurrency = env.WORKER_CONCURRENCY * workers;
  return {
    libraries,
    population,
    payload: benchPayload,
    topic: 'io.bench.app',
    apnsConnections: env.APNS_CONNECTIONS * workers,
    fcmConnections: env.FCM_CONNECTIONS * workers,
    // firebase-admin takes at most 500 tokens a call (FCM_BATCH_SIZE cannot be more either).
    batch: { 'node-apn': env.APNS_BATCH_SIZE, 'firebase-admin': env.FCM_BATCH_SIZE, 'fcm-provider': env.FCM_BATCH_SIZE },
    concurrency: { 'node-apn': concurrency, 'firebase-admin': concurrency, 'fcm-provider': concurrency },
    warmup: Math.min(2000, population.clients),
  };
}

const ratio = (a: number, b: number): number => (b > 0 ? round(a / b, 2) : 0);

/** The whole benchmark; `log` gets progress lines (stderr in the CLI). */
export async function runBench(options: BenchOptions, log: (line: string) => void = () => undefined): Promise<BenchReport> {
  const report: BenchReport = { machine: machine(), options: { ...options }, method: [], targets: [], warnings: [] };
  delete (report.options as Partial<BenchOptions>).json;
  const cleanup: Array<() => Promise<unknown>> = [];
  try {
    // A private redis-server, or (--redis-url) an existing Redis under prefixes of this run's own.
    const redisServer = options.redisUrl === undefined ? await startPrivateRedis() : undefined;
    if (redisServer) cleanup.push(() => redisServer.stop());
    const redisUrl = redisServer?.url ?? options.redisUrl!;
    const redis = createRedis(redisUrl, 'worker');
    const runId = redisServer ? '' : `-${randomBytes(4).toString('hex')}`;
    const prefix = `bench${runId}`;
    cleanup.push(async () => {
      if (!redisServer) await deleteKeys(redis, [prefix, `bench-million${runId}`]);
      redis.disconnect();
    });
    log(redisServer ? `redis-server ${report.machine.redis} at ${redisUrl}` : `Redis at ${redisUrl} (key prefix ${prefix})`);

    const { helper: sims, ready: simInfo } = await forkHelper<SimHostInfo>(join(__dirname, 'sim-host.js'), [
      JSON.stringify({ latencyMs: options.latencyMs, jitterMs: options.jitterMs }),
    ]);
    cleanup.push(() => sims.stop());
    log(`simulators (own process, latency ${options.latencyMs} ± ${options.jitterMs} ms): APNs ${simInfo.apnsUrl}, FCM ${simInfo.fcmUrl}`);

    const serviceEnv = { FCM_RATE_LIMIT_PER_MINUTE: String(options.fcmRateLimitPerMinute), ...options.env };
    const population: Population = { clients: options.clients, iosShare: options.iosShare, androidShare: options.androidShare };
    const otherPids: Record<string, number> = { simulators: sims.pid, ...(redisServer && { redis: redisServer.pid }) };

    if (!options.skipService || options.baselines) {
      log(`registering ${options.clients} clients straight into the token registry (pipelined)`);
      const before = await usedMemory(redis);
      const started = performance.now();
      const registered = await registerPopulation(new TokenRegistry(redis, prefix), population);
      const registerSeconds = round((performance.now() - started) / 1000, 1);
      const after = await usedMemory(redis);
      const registryKeys = await keysMemory(redis, `${prefix}:reg:*`);
      report.population = {
        clients: options.clients,
        iosTokens: countTokens(population, 'ios'),
        androidTokens: countTokens(population, 'android'),
        registerSeconds,
      };
      report.redis = {
        bytesPerRegisteredToken: Math.round((after - before) / registered),
        registryKeyBytesPerToken: Math.round(registryKeys.bytes / registered),
      };
      log(`  ${registered} tokens in ${registerSeconds} s; Redis ${report.redis.bytesPerRegisteredToken} bytes per token`);
    }

    const quiet = async () => {
      if (options.waitQuietMs > 0) await waitForQuiet(options.waitQuietMs, 0.3, log);
    };
    const scripts = directScripts(population);
    const runScript = async (libraries: DirectLibrary[], round: number): Promise<DirectComparison> => {
      await quiet();
      log(`direct script${round > 1 ? ` (round ${round})` : ''}: ${libraries.join(' + ')} (one process, both platforms at once)`);
      const result = await runDirect(simInfo, directRequest(options, population, libraries, options.workers), sims, redisServer ? { redis: redisServer.pid } : {}, options.cpuProfDir);
      log(`  ${result.overall.tokensPerSecond} tokens/s (${result.results.map((r) => `${r.library} ${r.tokensPerSecond}/s`).join(', ')})`);
      return { libraries, report: result };
    };
    const best: { service?: ServiceRunReport; direct: Map<string, DirectComparison> } = { direct: new Map() };
    const keepDirect = (d: DirectComparison) => {
      const key = d.libraries.join('+');
      const kept = best.direct.get(key);
      if (!kept || d.report.overall.tokensPerSecond > kept.report.overall.tokensPerSecond) best.direct.set(key, d);
    };

    let service: Service | undefined;
    let ctx: RunContext | undefined;
    if (!options.skipService) {
      service = new Service({
        redisUrl,
        prefix,
        providerEnv: simInfo.env,
        env: serviceEnv,
        nodeArgs: options.nodeArgs,
        ...(options.cpuProfDir !== undefined && { cpuProfDir: options.cpuProfDir }),
      });
      const running = service;
      cleanup.unshift(() => running.stop());
      await service.startApi();
      await service.setWorkers(options.workers);
      ctx = { service, sims, redis, prefix, otherPids, timeoutMs: options.timeoutMs, chunkClients: envSchema.parse({ ...options.env }).PUSH_CHUNK_CLIENTS, log };
      log(`service: API + ${options.workers} APNs and ${options.workers} FCM worker process(es); warm-up push`);
      await warmUp(ctx, Math.min(2000, options.clients));
    }
    // Service and direct scripts take turns, `repeat` times; the best run of each is kept, so that a
    // neighbour's burst of CPU (this machine is shared) does not decide a ratio.
    for (let round = 1; round <= options.repeat; round++) {
      if (ctx) {
        await quiet();
        log(`service run${round > 1 ? ` (round ${round})` : ''}: one push to ${options.clients} clients`);
        const run = await serviceRun(ctx, options.clients, options.workers);
        log(`  ${run.tokensPerSecond} tokens/s, completed in ${run.completionMs} ms (others used ${run.cpu.others?.cores ?? 0} cores)`);
        if (!best.service || run.tokensPerSecond > best.service.tokensPerSecond) best.service = run;
      }
      if (options.baselines) for (const libraries of scripts) keepDirect(await runScript(libraries, round));
    }
    if (best.service) {
      report.service = best.service;
      report.redis!.bytesPerResult = best.service.redis.bytesPerResult;
      report.warnings.push(...serviceWarnings(best.service));
    }
    if (options.baselines) {
      report.direct = scripts.map((libraries) => best.direct.get(libraries.join('+'))!);
      for (const d of report.direct) {
        const others = d.report.cpu.others?.cores ?? 0;
        if (others > 0.25) report.warnings.push(`direct ${d.libraries.join(' + ')}: processes outside the benchmark used ${others} cores meanwhile; figures are low`);
        for (const r of d.report.results) {
          if (r.sent !== r.tokens) report.warnings.push(`direct ${r.library}: ${r.tokens - r.sent} of ${r.tokens} tokens not accepted`);
        }
      }
      if (report.service) {
        report.ratios = ratios(report.service, report.direct);
        report.cpuPerToken = cpuPerToken(report.service, report.direct);
      }
    }

    if (service && ctx && options.scaling.length > 0) {
      report.scaling = [];
      for (const workers of options.scaling) {
        let run: ServiceRunReport;
        if (workers === options.workers && options.scalingClients === options.clients && report.service) {
          run = report.service;
        } else {
          await service.setWorkers(workers);
          await warmUp(ctx, Math.min(2000 * workers, options.scalingClients));
          await quiet();
          log(`scaling run: ${workers} worker(s) per platform, ${options.scalingClients} clients`);
          run = await serviceRun(ctx, options.scalingClients, workers);
          report.warnings.push(...serviceWarnings(run));
          log(`  ${run.tokensPerSecond} tokens/s`);
        }
        report.scaling.push({
          workersPerPlatform: workers,
          clients: run.clients,
          tokensPerSecond: run.tokensPerSecond,
          iosTokensPerSecond: run.platforms.ios.tokensPerSecond,
          androidTokensPerSecond: run.platforms.android.tokensPerSecond,
          completionMs: run.completionMs,
          simulatorBusy: run.simulatorBusy,
          peakWorkerRssBytes: Math.max(0, ...Object.entries(run.peakRssBytes).filter(([n]) => n.includes('worker')).map(([, b]) => b)),
          cpu: run.cpu,
        });
      }
    }
    await service?.stop();

    if (options.apiMillion > 0) {
      log(`API alone: ${options.apiMillion} clients in one request, ${options.apiRepeat} times`);
      const service = new Service({
        redisUrl,
        prefix: `bench-million${runId}`,
        providerEnv: simInfo.env,
        env: serviceEnv,
        nodeArgs: options.nodeArgs,
        ...(options.cpuProfDir !== undefined && { cpuProfDir: join(options.cpuProfDir, 'million') }),
      });
      cleanup.unshift(() => service.stop());
      await service.startApi();
      await quiet();
      report.apiMillion = await apiMillion(service, options.apiMillion, options.apiRepeat, log);
      await service.stop();
    }
    report.method = method(options, population);
    report.targets = targets(report);
    return report;
  } finally {
    for (const step of cleanup) await step().catch(() => undefined);
  }
}

function serviceWarnings(run: ServiceRunReport): string[] {
  const out: string[] = [];
  const sent = run.statuses.sent ?? 0;
  if (sent !== run.tokens) out.push(`service: ${run.tokens - sent} of ${run.tokens} tokens not sent (${JSON.stringify(run.statuses)})`);
  const others = run.cpu.others?.cores ?? 0;
  if (others > 0.25) out.push(`service run (${run.workersPerPlatform} worker(s)): processes outside the benchmark used ${others} cores meanwhile; figures are low`);
  for (const p of ['ios', 'android'] as const) {
    if (run.accepted[p] !== run.platforms[p].tokens) out.push(`service: the ${p} simulator accepted ${run.accepted[p]} notifications for ${run.platforms[p].tokens} tokens`);
  }
  return out;
}

/** The direct scripts worth running for this population: each platform needs tokens. */
function directScripts(population: Population): DirectLibrary[][] {
  const out: DirectLibrary[][] = [];
  for (const libraries of [['node-apn', 'firebase-admin'], ['node-apn', 'fcm-provider']] as DirectLibrary[][]) {
    const wanted = libraries.filter((l) => countTokens(population, l === 'node-apn' ? 'ios' : 'android') > 0);
    if (wanted.length > 0 && !out.some((d) => d.join() === wanted.join())) out.push(wanted);
  }
  return out;
}

/**
 * CPU per token sent, microseconds: the service's own processes (API, workers, Redis) against each direct
 * script's process; the simulators are left out of both. Unlike throughput, this hardly depends on what
 * else the machine is doing.
 */
function cpuPerToken(service: ServiceRunReport, direct: DirectComparison[]): Record<string, number> {
  const serviceCpu = Object.entries(service.cpu)
    .filter(([name]) => name === 'api' || name === 'redis' || name.includes('worker'))
    .reduce((n, [, c]) => n + c.cpuSeconds, 0);
  const out: Record<string, number> = { service: round((serviceCpu / service.tokens) * 1e6, 1) };
  for (const d of direct) out[d.libraries.join(' + ')] = round((d.report.cpuSeconds / Math.max(1, d.report.overall.tokens)) * 1e6, 1);
  return out;
}

function ratios(service: ServiceRunReport, direct: DirectComparison[]): Record<string, number> {
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
  return out;
}

function method(options: BenchOptions, population: Population): string[] {
  const d = directRequest(options, population, [], options.workers);
  return [
    `Redis: a private redis-server (no persistence, noeviction); simulators: one separate node process for both (HTTP/2 + TLS, latency ${options.latencyMs} ± ${options.jitterMs} ms, counters only), shared by every run.`,
    'Tokens registered straight into Redis with TokenRegistry.register, pipelined (not through the API). APNs tokens 64 hex characters, FCM tokens 152, client ids 12.',
    `Service: node apps/api/dist/index.js and ${options.workers} node apps/{apns,fcm}-worker/dist/index.js per platform, NODE_ENV=production, LOG_LEVEL=warn, service defaults otherwise; FCM_RATE_LIMIT_PER_MINUTE=${options.fcmRateLimitPerMinute} (its token bucket starts full with a minute of quota, so a run under that many Android tokens is not held back)${Object.keys(options.env).length > 0 ? `; --env ${JSON.stringify(options.env)}` : ''}.`,
    'One warm-up push (2000 clients) first; then ONE POST /push/push2clients naming every client, followed to state=completed. Throughput = tokens / (finishedAt - request time); per platform up to its last recorded result. Latency per token = result recorded (its stream entry time) - request time.',
    `Direct scripts: a fresh node process per script sending the same tokens to the same simulators with the libraries themselves, both platforms at once, after a 2000-token warm-up, with the workers' settings: @parse/node-apn MultiProvider (${d.apnsConnections} connections, send(note, ${d.batch['node-apn']} tokens), ${d.concurrency['node-apn']} calls in flight); firebase-admin sendEachForMulticast (${d.batch['firebase-admin']} tokens a call, ${d.concurrency['firebase-admin']} calls in flight, each on its own HTTP/2 connection as firebase-admin does; http2.connect redirected from fcm.googleapis.com to the simulator, a credential returning the simulator's token); the project's createFcmProvider (${d.fcmConnections} connections, ${d.batch['fcm-provider']} a call, ${d.concurrency['fcm-provider']} in flight).`,
    `Service and direct scripts take turns ${options.repeat} time(s), each after waiting for the machine to be quiet; the best run of each is reported. Peak RSS = VmHWM from /proc; CPU = utime+stime from /proc per process over the run; "others" = the machine's busy time minus the benchmark's processes.`,
  ];
}

function targets(report: BenchReport): Target[] {
  const out: Target[] = [];
  const mbOf = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
  if (report.service) {
    out.push({ name: 'overall throughput', target: '>= 10000 tokens/s', value: `${report.service.tokensPerSecond} tokens/s`, met: report.service.tokensPerSecond >= 10_000 });
    const workerPeaks = Object.entries(report.service.peakRssBytes).filter(([n]) => n.includes('worker'));
    const worst = Math.max(0, ...workerPeaks.map(([, b]) => b));
    out.push({ name: 'worker peak RSS', target: '< 256 MB', value: mbOf(worst), met: worst < 256 * 2 ** 20 });
  }
  for (const [name, value] of Object.entries(report.ratios ?? {})) {
    out.push({ name, target: '>= 0.8', value: String(value), met: value >= 0.8 });
  }
  if (report.redis) {
    out.push({ name: 'Redis per registered token', target: '<= 400 bytes', value: `${report.redis.bytesPerRegisteredToken} bytes`, met: report.redis.bytesPerRegisteredToken <= 400 });
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
