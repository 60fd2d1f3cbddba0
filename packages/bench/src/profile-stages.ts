import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// Where a process's CPU went during one measured run, by stage of the delivery, from its V8 CPU profile
// (`--cpu-prof`): the profile's samples say what ran, /proc says how much CPU the process used.

/**
 * - resolve: reading the registry (client -> tokens); record: writing results (job store); send: the
 *   provider client (our providers, node-apn, firebase-admin, web-push) and its HTTP/2 traffic;
 * - controls: the other Redis-backed checks per send group (breaker, guard, pause, rate limits, cancel);
 * - pipeline: the delivery code itself (grouping, sorting answers); queue: BullMQ;
 * - redisReplies: the Redis client reading answers (not attributable to a stage: replies arrive apart
 *   from the call that asked); logMetrics: pino and prom-client; gc: V8's collector; other: the rest.
 */
export const stages = ['resolve', 'send', 'record', 'controls', 'pipeline', 'queue', 'redisReplies', 'logMetrics', 'gc', 'other'] as const;
export type Stage = (typeof stages)[number];

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
/** The parts of a `.cpuprofile` read here (V8's Profiler.Profile). */
export interface CpuProfile {
  nodes: ProfileNode[];
  /** CLOCK_MONOTONIC, microseconds: `process.hrtime` / 1000 of the same machine. */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Job-store methods that write results; its other methods are checks (cancel, plan, throttle). */
const recordMethods = new Set(['record', 'track', 'chunkDone', 'recordMany']);

/** The stage a frame itself marks, if any (the nearest marking frame from the leaf decides a sample). */
function mark({ functionName, url }: CallFrame): Stage | 'idle' | undefined {
  if (url === '') {
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(garbage collector)') return 'gc';
    return undefined;
  }
  if (url.includes('/token-registry.')) return 'resolve';
  if (url.includes('/job-store.') || url.includes('/store/dist/results')) return recordMethods.has(functionName) ? 'record' : 'controls';
  if (
    /\/providers\/dist\/|node_modules\/(@parse\/node-apn|firebase-admin|web-push|google-auth-library)\/|\/bench\/dist\/direct\.js/.test(url)
  )
    return 'send';
  if (url.includes('/store/dist/')) return 'controls';
  if (url.includes('/delivery/dist/')) return 'pipeline';
  if (url.includes('node_modules/bullmq/')) return 'queue';
  if (/node_modules\/(pino|sonic-boom|prom-client)\/|\/metrics\/dist\//.test(url)) return 'logMetrics';
  return undefined;
}

/** For frames no stage marks (callbacks from the event loop): who they belong to. */
function fallback({ url }: CallFrame): Stage | undefined {
  if (/node_modules\/(ioredis|redis-parser|denque|cluster-key-slot)\//.test(url)) return 'redisReplies';
  if (/^node:internal\/(http2|tls)|^node:_tls/.test(url)) return 'send';
  return undefined;
}

/**
 * Shares of the process's busy samples within [fromUs, toUs] (CLOCK_MONOTONIC µs) by stage, summing to 1
 * (empty when no sample fell in the window).
 */
export function stageShares(profile: CpuProfile, fromUs: number, toUs: number): Partial<Record<Stage, number>> {
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  // The nearest marking frame from the leaf decides; else the nearest fallback; else `other`.
  const marked = new Map<number, Stage | 'idle' | undefined>();
  const guessed = new Map<number, Stage | undefined>();
  const markOf = (id: number): Stage | 'idle' | undefined => {
    if (marked.has(id)) return marked.get(id);
    const up = parent.get(id);
    const stage = mark(byId.get(id)!.callFrame) ?? (up === undefined ? undefined : markOf(up));
    marked.set(id, stage);
    return stage;
  };
  const guessOf = (id: number): Stage | undefined => {
    if (guessed.has(id)) return guessed.get(id);
    const up = parent.get(id);
    const stage = fallback(byId.get(id)!.callFrame) ?? (up === undefined ? undefined : guessOf(up));
    guessed.set(id, stage);
    return stage;
  };
  const stageOf = (id: number): Stage | 'idle' => markOf(id) ?? guessOf(id) ?? 'other';
  const time = new Map<Stage, number>();
  let busy = 0;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < fromUs || t > toUs) continue;
    const stage = stageOf(profile.samples[i]!);
    if (stage === 'idle') continue;
    const dt = profile.timeDeltas[i] ?? 0;
    time.set(stage, (time.get(stage) ?? 0) + dt);
    busy += dt;
  }
  const out: Partial<Record<Stage, number>> = {};
  if (busy === 0) return out;
  for (const stage of stages) if (time.has(stage)) out[stage] = time.get(stage)! / busy;
  return out;
}

/** The profile node wrote into `dir` for process `pid` (`CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile`). */
export function readProfile(dir: string, pid: number): CpuProfile | undefined {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return undefined;
  }
  const file = files.find((f) => f.endsWith('.cpuprofile') && f.split('.')[3] === String(pid));
  return file === undefined ? undefined : (JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile);
}

/**
 * CPU per token by stage, microseconds: the process's CPU over the run (from /proc) split by the
 * profile's shares. Samples are taken on wall-clock time, so the shares, not the profile's own times,
 * are used: on a busy machine a descheduled process still collects samples.
 */
export function stageMicrosPerToken(
  profile: CpuProfile,
  window: { fromUs: number; toUs: number },
  cpuSeconds: number,
  tokens: number,
): Partial<Record<Stage, number>> {
  const shares = stageShares(profile, window.fromUs, window.toUs);
  const out: Partial<Record<Stage, number>> = {};
  if (tokens === 0) return out;
  for (const [stage, share] of Object.entries(shares) as Array<[Stage, number]>)
    out[stage] = Math.round(((share * cpuSeconds * 1e6) / tokens) * 10) / 10;
  return out;
}

/** CLOCK_MONOTONIC now, microseconds: the clock of CPU profiles' timestamps. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);
