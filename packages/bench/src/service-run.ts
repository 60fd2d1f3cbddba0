import { examplePayloads, platforms, type Payload, type Platform, type SuccessEnvelope } from '@push/contract';
import type { JobStatus, RedisClient } from '@push/store';
import type { Helper } from './ipc';
import { monotonicUs } from './profile-stages';
import { quantile, resultTimes, sortedCopy, usedMemory } from './measure';
import { RedisMeter, resultMemory, type RedisRunFigures, type ResultMemory } from './redis-figures';
import { CpuMeter, peakRssBytes, round } from './proc';
import type { Service } from './service';
import type { SimSnapshot } from './sim-host';

/** A record with one entry per platform. */
export function perPlatform<T>(value: (platform: Platform) => T): Record<Platform, T> {
  return Object.fromEntries(platforms.map((p) => [p, value(p)])) as Record<Platform, T>;
}

/** The notification every run sends: the API document's example (push2clients.txt). */
export const benchPayload: Payload = examplePayloads.maintenance;

export interface PlatformFigures {
  tokens: number;
  tokensPerSecond: number;
  /** From the request to the token's result being recorded (the provider had answered), ms. */
  p50Ms: number;
  p99Ms: number;
}

export interface ServiceRunReport {
  clients: number;
  workersPerPlatform: number;
  jobId: string;
  /** The API's answer to POST /push/push2clients, ms. */
  apiAnswerMs: number;
  /** From the request to the first notification a simulator accepted, ms. */
  firstDeliveryMs: number;
  /** From the request to the job's `finishedAt`, ms. */
  completionMs: number;
  tokens: number;
  tokensPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  platforms: Record<Platform, PlatformFigures>;
  /** Final statuses as recorded (every token should be `sent`). */
  statuses: Record<string, number>;
  /** What the simulators accepted in the run (each token exactly once when nothing failed). */
  accepted: Record<Platform, number>;
  /** Connections the simulators saw opened in the run. */
  connections: Record<Platform, number>;
  /** Peak RSS (VmHWM) of each process since it started, bytes. */
  peakRssBytes: Record<string, number>;
  /** CPU each process used during the run, and the share of a core. */
  cpu: Record<string, { cpuSeconds: number; cores: number }>;
  /** The simulators' event-loop utilisation during the run (1: their core was saturated). */
  simulatorBusy: number;
  /** The service's process ids during the run, by name (to find their CPU profiles). */
  pids: Record<string, number>;
  /** From the request to completion, CLOCK_MONOTONIC µs (the clock of CPU profiles: see profile-stages.ts). */
  window: { fromUs: number; toUs: number };
  /** What the run cost Redis: its CPU and commands (the bench's own status polls, a few a second, included). */
  redisCommands: RedisRunFigures;
  redis: ResultMemory & {
    /** used_memory after the job minus before the request, bytes (job keys and BullMQ's chunk jobs). */
    usedMemoryDelta: number;
  };
}

export interface RunContext {
  service: Service;
  sims: Helper;
  redis: RedisClient;
  prefix: string;
  /** PIDs outside the service whose CPU is worth following (simulators, Redis). */
  otherPids: Record<string, number>;
  timeoutMs: number;
  /** PUSH_CHUNK_CLIENTS of the service. */
  chunkClients: number;
  log(line: string): void;
}

/** Polls a job until `completed`: its `finishedAt` (epoch ms) and totals. */
export async function follow(ctx: RunContext, jobId: string): Promise<{ finishedAt: number; totals: Record<string, number> }> {
  const deadline = Date.now() + ctx.timeoutMs;
  for (;;) {
    const res = await ctx.service.request('GET', `/push/jobs/${jobId}`);
    const job = (res.body as Partial<SuccessEnvelope<JobStatus>> | undefined)?.result;
    if (job?.state === 'completed') return { finishedAt: Date.parse(job.finishedAt!), totals: { ...job.totals } };
    if (Date.now() > deadline) throw new Error(`job ${jobId} not completed after ${ctx.timeoutMs} ms: ${JSON.stringify(job?.totals)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sends one push to `clients` and waits for it; no measurements (warm-up). */
export async function warmUp(ctx: RunContext, clients: readonly string[]): Promise<void> {
  const res = await ctx.service.request('POST', '/push/push2clients', JSON.stringify({ clients, payload: benchPayload }));
  if (res.status !== 200) throw new Error(`warm-up push refused: ${JSON.stringify(res.body)}`);
  await follow(ctx, (res.body as SuccessEnvelope<{ jobId: string }>).result.jobId);
}

/** One measured push to `ids`, followed to `completed`. */
export async function serviceRun(ctx: RunContext, ids: readonly string[], workersPerPlatform: number): Promise<ServiceRunReport> {
  const clients = ids.length;
  const body = JSON.stringify({ clients: ids, payload: benchPayload });
  await ctx.sims.call('arm');
  const memoryBefore = await usedMemory(ctx.redis);
  const meter = new RedisMeter(ctx.redis);
  await meter.start();
  const cpu = new CpuMeter(() => ({ ...ctx.service.pids(), ...ctx.otherPids }));
  cpu.start();

  const t0 = Date.now();
  const fromUs = monotonicUs();
  const h0 = performance.now();
  const res = await ctx.service.request('POST', '/push/push2clients', body);
  const apiAnswerMs = performance.now() - h0;
  if (res.status !== 200) throw new Error(`push refused: ${res.status} ${JSON.stringify(res.body)}`);
  const { jobId } = (res.body as SuccessEnvelope<{ jobId: string }>).result;
  ctx.log(`  job ${jobId}: API answered in ${apiAnswerMs.toFixed(0)} ms; following it to completion`);
  const { finishedAt } = await follow(ctx, jobId);
  const toUs = monotonicUs();
  const cpuUse = cpu.stop();
  const snap = await ctx.sims.call<SimSnapshot>('disarm');
  const tokens = Object.values(snap.stats).reduce((n, st) => n + st.accepted, 0);
  // The bench configures every platform (VAPID keys included), so each queue gets every chunk.
  const redisCommands = await meter.stop(tokens, platforms.length * Math.ceil(clients / ctx.chunkClients), cpuUse);

  const times = await resultTimes(ctx.redis, ctx.prefix, jobId);
  const memoryAfter = await usedMemory(ctx.redis);
  const figures = (at: Float64Array): PlatformFigures => {
    const latencies = sortedCopy(at.map((t) => t - t0));
    const last = latencies.length > 0 ? latencies[latencies.length - 1]! : 0;
    return {
      tokens: at.length,
      tokensPerSecond: last > 0 ? Math.round(at.length / (last / 1000)) : 0,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
    };
  };
  const all = Float64Array.from(platforms.flatMap((p) => [...times.at[p]]));
  const overall = figures(all);
  const completionMs = finishedAt - t0;
  const firsts = platforms.map((p) => snap.firstAt[p]).filter((t): t is number => t !== null);
  const peaks: Record<string, number> = {};
  for (const [name, pid] of Object.entries(ctx.service.pids())) peaks[name] = peakRssBytes(pid) ?? 0;
  return {
    clients,
    workersPerPlatform,
    jobId,
    apiAnswerMs: round(apiAnswerMs, 1),
    firstDeliveryMs: firsts.length > 0 ? Math.min(...firsts) - t0 : 0,
    completionMs,
    tokens: all.length,
    tokensPerSecond: Math.round(all.length / (completionMs / 1000)),
    p50Ms: overall.p50Ms,
    p99Ms: overall.p99Ms,
    platforms: perPlatform((p) => figures(times.at[p])),
    statuses: times.byStatus,
    accepted: perPlatform((p) => snap.stats[p].accepted),
    connections: perPlatform((p) => snap.stats[p].sessions),
    peakRssBytes: peaks,
    cpu: cpuUse,
    simulatorBusy: round(snap.eventLoopUtilization, 2),
    pids: ctx.service.pids(),
    window: { fromUs, toUs },
    redisCommands,
    // Last: it deletes the job's keys to see what they held.
    redis: { usedMemoryDelta: memoryAfter - memoryBefore, ...(await resultMemory(ctx.redis, ctx.prefix, jobId, all.length)) },
  };
}
