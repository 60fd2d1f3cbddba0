import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { envSchema } from '@push/config';
import { platforms } from '@push/contract';
import { generateVapidKeys } from '@push/providers';
import { createRedis, deleteKeys, hasRedisServer, startRedisCluster, startRedisServer, TokenRegistry } from '@push/store';
import { apiMillion, type ApiMillionReport } from './api-million';
import type { DirectLibrary } from './direct';
import { directProfileDir, runDirect, type DirectScriptReport } from './direct-runner';
import { forkHelper } from './ipc';
import { keysMemory, usedMemory } from './measure';
import { mixedClients, mixedRun, type MixedReport } from './mixed';
import { redisProcessName, redisTargets } from './redis-figures';
import { transactionalRun, type TransactionalReport } from './transactional';
import type { BenchOptions } from './options';
import { clientIds, countTokens, registerPopulation, registerWebClients, type Population } from './population';
import { round, waitForQuiet } from './proc';
import { Service, workerApp } from './service';
import { serviceRun, warmUp, type RunContext, type ServiceRunReport } from './service-run';
import { webRun, type WebReport } from './web-run';
import {
  acrossRounds,
  cpuPerToken,
  directRequest,
  directScripts,
  median,
  medianRun,
  method,
  ratios,
  serviceWarnings,
  targets,
  tooSmall,
  type Spread,
} from './summary';
import { readProfile, stageMicrosPerToken, type Stage } from './profile-stages';
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

export interface StageFigures {
  /** Tokens of the run the figures are per (the platform's, for a worker). */
  tokens: number;
  /** CPU per token by stage, µs (they sum to the process's CPU per token over the run). */
  microsPerToken: Partial<Record<Stage, number>>;
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
    /** What the service run's job (its record and results) held per result, bytes (kept JOB_RETENTION_SECONDS). */
    bytesPerResult?: number;
    /** The service run's redis-server CPU per delivered token, µs (from /proc). */
    redisCpuMicrosPerToken?: number;
    /** The service run's Redis commands per delivered token (commandstats, scripts' inner commands included). */
    redisCommandsPerToken?: number;
    /** `--redis-cluster`: the busiest master's share of the service run's commands. */
    clusterMaxMasterShare?: number;
  };
  service?: ServiceRunReport;
  direct?: DirectComparison[];
  /** The Web Push run (--web-clients); its ratio is `ratios.ratioWebVsWebPushLib`. */
  web?: WebReport;
  /**
   * Service / direct: throughput (service over direct) and CPU per token (direct over the service's
   * workers), each the median over the rounds. Every field name contains `ratio`.
   */
  ratios?: Record<string, number>;
  /** Each ratio's spread over the rounds (min, max, every round's value). */
  ratioSpread?: Record<string, Spread>;
  /** Ratios of a run too small to measure (too few clients, too short a round), with the reason. */
  unmeasured?: Record<string, string>;
  /**
   * CPU per token, microseconds, medians over the rounds: `service` (API + workers + Redis), `workers`,
   * and each direct script (simulators excluded).
   */
  cpuPerToken?: Record<string, number>;
  /** With --cpu-prof: where each process's CPU per token went during the reported runs, by stage (profile-stages.ts). */
  stages?: Record<string, StageFigures>;
  scaling?: ScalingPoint[];
  apiMillion?: ApiMillionReport;
  /** `--mixed`: lanes and fair share under a blast. */
  mixed?: MixedReport;
  /** `--transactional`: one-client pushes at fixed rates. */
  transactional?: TransactionalReport;
  targets: Target[];
  /** Anything that makes a figure doubtful (tokens not sent, failures). */
  warnings: string[];
}

/**
 * CPU per token by stage of each service process in the reported run and of each direct script, from
 * their CPU profiles sliced to the run. A worker's figures are per token of its platform (per token of
 * the push when its platform had none: the chunks it resolved to nothing).
 */
function stageFigures(cpuProfDir: string, service?: ServiceRunReport, direct?: DirectComparison[]): Record<string, StageFigures> {
  const out: Record<string, StageFigures> = {};
  if (service) {
    for (const [name, pid] of Object.entries(service.pids)) {
      const profile = readProfile(join(cpuProfDir, name), pid);
      const platform = platforms.find((p) => name.startsWith(workerApp[p]));
      const own = platform === undefined ? 0 : service.platforms[platform].tokens;
      const tokens = own > 0 ? own : service.tokens;
      if (profile)
        out[name] = { tokens, microsPerToken: stageMicrosPerToken(profile, service.window, service.cpu[name]?.cpuSeconds ?? 0, tokens) };
    }
  }
  for (const d of direct ?? []) {
    const profile = readProfile(directProfileDir(cpuProfDir, d.libraries), d.report.pid);
    const tokens = d.report.overall.tokens;
    if (profile)
      out[`direct ${d.libraries.join(' + ')}`] = {
        tokens,
        microsPerToken: stageMicrosPerToken(profile, d.report.window, d.report.cpuSeconds, tokens),
      };
  }
  return out;
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

/** The whole benchmark; `log` gets progress lines (stderr in the CLI). */
export async function runBench(options: BenchOptions, log: (line: string) => void = () => undefined): Promise<BenchReport> {
  const report: BenchReport = { machine: machine(), options: { ...options }, method: [], targets: [], warnings: [] };
  delete (report.options as Partial<BenchOptions>).json;
  const cleanup: Array<() => Promise<unknown>> = [];
  try {
    // A private redis-server, or (--redis-url) an existing Redis under prefixes of this run's own.
    if (options.redisUrl === undefined && !hasRedisServer()) {
      throw new Error('redis-server is not on the PATH: the benchmark starts its own (apt-get install redis-server)');
    }
    const cluster = options.redisCluster ? await startRedisCluster(3) : undefined;
    if (cluster) cleanup.push(() => cluster.stop());
    const redisServer = options.redisUrl === undefined && !cluster ? await startRedisServer() : undefined;
    if (redisServer) cleanup.push(() => redisServer.stop());
    const redisUrl = cluster ? `redis://127.0.0.1:${cluster.ports[0]}` : (redisServer?.url ?? options.redisUrl!);
    const redis = createRedis(redisUrl, 'worker', { cluster: cluster !== undefined });
    const runId = redisServer || cluster ? '' : `-${randomBytes(4).toString('hex')}`;
    const prefix = `bench${runId}`;
    // Before the private servers stop (`unshift`): an existing Redis keeps nothing of the run.
    cleanup.unshift(async () => {
      if (options.redisUrl !== undefined) for (const p of [prefix, `bench-million${runId}`]) await deleteKeys(redis, p);
      redis.disconnect();
    });
    log(
      cluster
        ? `Redis Cluster of ${cluster.ports.length} masters (redis-server ${report.machine.redis}) on ports ${cluster.ports.join(', ')}`
        : redisServer
          ? `redis-server ${report.machine.redis} at ${redisUrl}`
          : `Redis at ${redisUrl} (key prefix ${prefix})`,
    );

    const { helper: sims, ready: simInfo } = await forkHelper<SimHostInfo>(join(__dirname, 'sim-host.js'), [
      JSON.stringify({ latencyMs: options.latencyMs, jitterMs: options.jitterMs }),
    ]);
    cleanup.push(() => sims.stop());
    log(`simulators (own process, latency ${options.latencyMs} ± ${options.jitterMs} ms): APNs ${simInfo.apnsUrl}, FCM ${simInfo.fcmUrl}`);

    const serviceEnv = { FCM_RATE_LIMIT_PER_MINUTE: String(options.fcmRateLimitPerMinute), ...options.env };
    // The Web Push simulator accepts any VAPID key: one pair for this run, shared with the direct script.
    const vapid = { ...generateVapidKeys(), subject: 'mailto:bench@example.com' };
    const providerEnv = {
      ...simInfo.env,
      WEBPUSH_VAPID_PUBLIC_KEY: vapid.publicKey,
      WEBPUSH_VAPID_PRIVATE_KEY: vapid.privateKey,
      WEBPUSH_SUBJECT: vapid.subject,
    };
    const population: Population = { clients: options.clients, iosShare: options.iosShare, androidShare: options.androidShare };
    const otherPids: Record<string, number> = {
      simulators: sims.pid,
      ...(redisServer && { [redisProcessName()]: redisServer.process.pid! }),
    };
    cluster?.ports.forEach((port, i) => (otherPids[redisProcessName(port)] = cluster.pids[i]!));

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
      if (options.withMixed && mixedClients(options.withMixed) > options.clients) {
        log(`  and clients ${options.clients} to ${mixedClients(options.withMixed) - 1} for the lanes run`);
        await registerPopulation(
          new TokenRegistry(redis, prefix),
          { ...population, clients: mixedClients(options.withMixed) },
          options.clients,
        );
      }
      if (options.webClients > 0) {
        // The simulators' process holds the subscriptions' private keys (to decrypt); the registry the public ones.
        await sims.call('subscribeWeb', options.webClients);
        await registerWebClients(new TokenRegistry(redis, prefix), options.webClients, simInfo.webpushUrl);
        log(`  ${options.webClients} browser subscriptions for the Web Push run`);
      }
    }

    const quiet = async () => {
      if (options.waitQuietMs > 0) await waitForQuiet(options.waitQuietMs, 0.3, log);
    };
    const scripts = directScripts(population);
    const runScript = async (libraries: DirectLibrary[], round: number): Promise<DirectComparison> => {
      await quiet();
      log(`direct script${round > 1 ? ` (round ${round})` : ''}: ${libraries.join(' + ')} (one process, both platforms at once)`);
      const result = await runDirect(
        simInfo,
        { ...directRequest(options, population, libraries, options.workers), vapid },
        sims,
        redisServer ? { redis: redisServer.process.pid! } : {},
        options.cpuProfDir,
      );
      log(`  ${result.overall.tokensPerSecond} tokens/s (${result.results.map((r) => `${r.library} ${r.tokensPerSecond}/s`).join(', ')})`);
      return { libraries, report: result };
    };
    let service: Service | undefined;
    let ctx: RunContext | undefined;
    if (!options.skipService) {
      service = new Service({
        redisUrl,
        cluster: cluster !== undefined,
        prefix,
        providerEnv,
        env: serviceEnv,
        nodeArgs: options.nodeArgs,
        ...(options.cpuProfDir !== undefined && { cpuProfDir: options.cpuProfDir }),
      });
      const running = service;
      cleanup.unshift(() => running.stop());
      await service.startApi();
      await service.setWorkers(options.workers);
      ctx = {
        service,
        sims,
        redis,
        prefix,
        otherPids,
        timeoutMs: options.timeoutMs,
        chunkClients: envSchema.parse({ ...options.env }).PUSH_CHUNK_CLIENTS,
        log,
      };
      log(`service: API + ${options.workers} APNs and ${options.workers} FCM worker process(es); warm-up push`);
      await warmUp(ctx, clientIds(Math.min(2000, options.clients)));
    }
    if (ctx && options.mixed) report.mixed = await mixedRun(ctx, options.mixed, quiet);
    if (ctx && options.transactional) report.transactional = await transactionalRun(ctx, options.transactional, quiet);
    // Service and direct scripts take turns, `repeat` times; each round's ratios compare its own runs, and
    // the report gives their medians and spread, so that a neighbour's burst of CPU (this machine is
    // shared) neither decides a ratio nor hides.
    const serviceRuns: ServiceRunReport[] = [];
    const directRuns: DirectComparison[][] = [];
    for (let round = 1; round <= (options.mixed || options.transactional ? 0 : options.repeat); round++) {
      if (ctx) {
        await quiet();
        log(`service run${round > 1 ? ` (round ${round})` : ''}: one push to ${options.clients} clients`);
        const run = await serviceRun(ctx, clientIds(options.clients), options.workers);
        log(`  ${run.tokensPerSecond} tokens/s, completed in ${run.completionMs} ms (others used ${run.cpu.others?.cores ?? 0} cores)`);
        serviceRuns.push(run);
      }
      if (options.baselines) {
        const direct: DirectComparison[] = [];
        for (const libraries of scripts) direct.push(await runScript(libraries, round));
        directRuns.push(direct);
      }
    }
    if (serviceRuns.length > 0) {
      report.service = medianRun(serviceRuns, (r) => r.tokensPerSecond);
      Object.assign(report.redis!, {
        bytesPerResult: report.service.redis.bytesPerResult,
        redisCpuMicrosPerToken: report.service.redisCommands.redisCpuMicrosPerToken,
        redisCommandsPerToken: report.service.redisCommands.redisCommandsPerToken,
        ...(report.service.redisCommands.cluster && { clusterMaxMasterShare: report.service.redisCommands.cluster.clusterMaxMasterShare }),
      });
      for (const run of serviceRuns) report.warnings.push(...serviceWarnings(run));
    }
    if (directRuns.length > 0) {
      // In full: each script's run of median throughput.
      report.direct = scripts.map((_, i) =>
        medianRun(
          directRuns.map((r) => r[i]!),
          (d) => d.report.overall.tokensPerSecond,
        ),
      );
      for (const d of directRuns.flat()) {
        const others = d.report.cpu.others?.cores ?? 0;
        if (others > 0.25)
          report.warnings.push(
            `direct ${d.libraries.join(' + ')}: processes outside the benchmark used ${others} cores meanwhile; figures are low`,
          );
        for (const r of d.report.results) {
          if (r.sent !== r.tokens) report.warnings.push(`direct ${r.library}: ${r.tokens - r.sent} of ${r.tokens} tokens not accepted`);
        }
      }
      if (serviceRuns.length > 0) {
        const { median: medians, spread } = acrossRounds(serviceRuns.map((run, i) => ratios(run, directRuns[i]!)));
        report.ratios = medians;
        report.ratioSpread = spread;
        const cpu = serviceRuns.map((run, i) => cpuPerToken(run, directRuns[i]!));
        report.cpuPerToken = Object.fromEntries(Object.keys(cpu[0]!).map((k) => [k, round(median(cpu.map((c) => c[k]!)), 1)]));
        const why = tooSmall(options.clients, [
          ...serviceRuns.map((r) => r.completionMs),
          ...directRuns.flat().map((d) => Math.round(d.report.overall.seconds * 1000)),
        ]);
        if (why.length > 0) report.unmeasured = Object.fromEntries(Object.keys(medians).map((name) => [name, why.join(', ')]));
      }
    }

    if (ctx && options.withMixed) report.mixed = await mixedRun(ctx, options.withMixed, quiet);

    if (options.webClients > 0 && (ctx || options.baselines)) {
      const { rounds, roundsMs, ...web } = await webRun({
        ...(ctx && { ctx }),
        workers: options.workers,
        clients: options.webClients,
        repeat: options.repeat,
        baselines: options.baselines,
        quiet,
        runScript,
      });
      report.web = web;
      if (rounds.length > 0) {
        const { median: medians, spread } = acrossRounds(rounds);
        report.ratios = { ...report.ratios, ...medians };
        report.ratioSpread = { ...report.ratioSpread, ...spread };
        const why = tooSmall(undefined, roundsMs);
        if (why.length > 0) report.unmeasured = { ...report.unmeasured, ratioWebVsWebPushLib: `Web Push run: ${why.join(', ')}` };
      }
      if (web.service) report.warnings.push(...serviceWarnings(web.service));
    }

    if (service && ctx && options.scaling.length > 0) {
      report.scaling = [];
      for (const workers of options.scaling) {
        let run: ServiceRunReport;
        if (workers === options.workers && options.scalingClients === options.clients && report.service) {
          run = report.service;
        } else {
          await service.setWorkers(workers);
          await warmUp(ctx, clientIds(Math.min(2000 * workers, options.scalingClients)));
          await quiet();
          log(`scaling run: ${workers} worker(s) per platform, ${options.scalingClients} clients`);
          run = await serviceRun(ctx, clientIds(options.scalingClients), workers);
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
          peakWorkerRssBytes: Math.max(
            0,
            ...Object.entries(run.peakRssBytes)
              .filter(([n]) => n.includes('worker'))
              .map(([, b]) => b),
          ),
          cpu: run.cpu,
        });
      }
    }
    await service?.stop();
    // The processes have written their profiles on exit.
    if (options.cpuProfDir !== undefined) report.stages = stageFigures(options.cpuProfDir, report.service, report.direct);

    if (options.apiMillion > 0) {
      log(`API alone: ${options.apiMillion} clients in one request, ${options.apiRepeat} times`);
      const service = new Service({
        redisUrl,
        prefix: `bench-million${runId}`,
        providerEnv,
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
    report.targets = [...targets(report), ...redisTargets(report.service?.redisCommands, report.service?.redis)];
    return report;
  } finally {
    for (const step of cleanup) await step().catch(() => undefined);
  }
}
