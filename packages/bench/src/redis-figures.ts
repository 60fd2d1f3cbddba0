import type { Redis } from 'ioredis';
import type { RedisClient } from '@push/store';
import { commandsBetween, commandStats, keysMemory, redisNodes, scanKeys, usedMemory, type CommandStats } from './measure';
import { round } from './proc';
import type { Target } from './main';

/** What one push cost Redis, from its processes and INFO commandstats. */
export interface RedisRunFigures {
  /**
   * CPU of the redis-server process(es) over the run (utime + stime from /proc, not commandstats, which
   * counts a script's inner commands twice), per delivered token, µs.
   */
  redisCpuMicrosPerToken: number;
  /** Commands per delivered token (commandstats: a script call and each command it runs inside count). */
  redisCommandsPerToken: number;
  /** Script calls (EVALSHA, EVAL) per delivered token. */
  scriptCallsPerToken: number;
  /** Chunk jobs of the run (clients / PUSH_CHUNK_CLIENTS, per platform). */
  chunkJobs: number;
  /** Calls per chunk job of each command run at least once per chunk job. */
  perChunk: Record<string, number>;
  top: Array<{ command: string; calls: number; usec: number }>;
  /** On a Redis Cluster (`--redis-cluster`): what each master handled. */
  cluster?: {
    masters: Array<{ port: number; commands: number; cpuSeconds: number }>;
    /** The busiest master's share of the commands (commandstats calls). */
    clusterMaxMasterShare: number;
    /** The busiest master's share of the masters' CPU. */
    clusterMaxMasterCpuShare: number;
  };
}

/** The bench's name for the CPU figures of a Redis process (`CpuMeter`): `redis`, or `redis-<port>` per master. */
export const redisProcessName = (port?: number): string => (port === undefined ? 'redis' : `redis-${port}`);

/** Counts Redis commands between `start()` and `stop()`, per server. */
export class RedisMeter {
  private before = new Map<Redis, CommandStats>();

  constructor(private readonly redis: RedisClient) {}

  async start(): Promise<void> {
    this.before = new Map();
    for (const node of redisNodes(this.redis)) this.before.set(node, await commandStats(node));
  }

  /** The figures of the run: `cpu` is the run's CpuMeter reading (Redis processes named by `redisProcessName`). */
  async stop(tokens: number, chunkJobs: number, cpu: Record<string, { cpuSeconds: number }>): Promise<RedisRunFigures> {
    const perNode: Array<{ port: number; commands: ReturnType<typeof commandsBetween> }> = [];
    for (const [node, before] of this.before) {
      perNode.push({ port: node.options.port ?? 6379, commands: commandsBetween(before, await commandStats(node)) });
    }
    const merged = new Map<string, { command: string; calls: number; usec: number }>();
    for (const { commands } of perNode) {
      for (const c of commands) {
        const m = merged.get(c.command) ?? { command: c.command, calls: 0, usec: 0 };
        m.calls += c.calls;
        m.usec += c.usec;
        merged.set(c.command, m);
      }
    }
    const all = [...merged.values()].sort((a, b) => b.usec - a.usec);
    const calls = all.reduce((n, c) => n + c.calls, 0);
    const scripts = all.filter((c) => c.command === 'evalsha' || c.command === 'eval').reduce((n, c) => n + c.calls, 0);
    const redisCpu = Object.entries(cpu)
      .filter(([name]) => name === redisProcessName() || name.startsWith(`${redisProcessName()}-`))
      .reduce((n, [, c]) => n + c.cpuSeconds, 0);
    const perChunk: Record<string, number> = {};
    for (const c of [...all].sort((a, b) => b.calls - a.calls))
      if (c.calls >= chunkJobs) perChunk[c.command] = round(c.calls / chunkJobs, 1);
    const perToken = (n: number) => (tokens > 0 ? round(n / tokens, 2) : 0);
    const figures: RedisRunFigures = {
      redisCpuMicrosPerToken: tokens > 0 ? round((redisCpu * 1e6) / tokens, 1) : 0,
      redisCommandsPerToken: perToken(calls),
      scriptCallsPerToken: perToken(scripts),
      chunkJobs,
      perChunk,
      top: all.slice(0, 10),
    };
    if (perNode.length > 1) {
      const masters = perNode.map(({ port, commands }) => ({
        port,
        commands: commands.reduce((n, c) => n + c.calls, 0),
        cpuSeconds: cpu[redisProcessName(port)]?.cpuSeconds ?? 0,
      }));
      const share = (value: (m: (typeof masters)[number]) => number) => {
        const total = masters.reduce((n, m) => n + value(m), 0);
        return total > 0 ? round(Math.max(...masters.map(value)) / total, 3) : 0;
      };
      figures.cluster = {
        masters,
        clusterMaxMasterShare: share((m) => m.commands),
        clusterMaxMasterCpuShare: share((m) => m.cpuSeconds),
      };
    }
    return figures;
  }
}

export interface ResultMemory {
  /**
   * What the job's keys (its record and every result) hold in Redis per result, bytes: `used_memory`
   * before deleting them minus after (what the allocator really gives back), over the results.
   */
  bytesPerResult: number;
  /** MEMORY USAGE of the job's keys, summed (an estimate of the same), bytes. */
  jobKeysBytes: number;
  jobKeys: number;
}

/**
 * Measures, then deletes, every key of one job (its record, per-chunk results, and the old layout's): run
 * last on a job the bench is done with. Keys of a job begin with `<prefix>:job:{<jobId>`.
 */
export async function resultMemory(redis: RedisClient, prefix: string, jobId: string, results: number): Promise<ResultMemory> {
  const pattern = `${prefix}:job:{${jobId}*`;
  const estimate = await keysMemory(redis, pattern);
  const before = await usedMemory(redis);
  // One DEL per key: on a Cluster a job's keys are in many slots.
  await scanKeys(redis, pattern, async (node, keys) => {
    await Promise.all(keys.map((key) => node.del(key)));
  });
  const freed = before - (await usedMemory(redis));
  return { bytesPerResult: results > 0 ? round(freed / results, 1) : 0, jobKeysBytes: estimate.bytes, jobKeys: estimate.keys };
}

/** The goals of issue 17 on Redis (docs/performance.md, "Redis sizing"). */
export function redisTargets(figures: RedisRunFigures | undefined, memory: ResultMemory | undefined): Target[] {
  const out: Target[] = [];
  if (memory) {
    out.push({
      name: 'Redis memory per kept result',
      target: '<= 100 bytes',
      value: `${memory.bytesPerResult} bytes`,
      met: memory.bytesPerResult <= 100,
    });
  }
  if (figures) {
    out.push({
      name: 'Redis CPU per token (redis-server process)',
      target: '<= 6 µs',
      value: `${figures.redisCpuMicrosPerToken} µs (${figures.redisCommandsPerToken} commands per token)`,
      met: figures.redisCpuMicrosPerToken <= 6,
    });
    if (figures.cluster) {
      out.push({
        name: 'busiest Redis Cluster master (share of commands)',
        target: '<= 0.5',
        value: `${figures.cluster.clusterMaxMasterShare} (CPU share ${figures.cluster.clusterMaxMasterCpuShare})`,
        met: figures.cluster.clusterMaxMasterShare <= 0.5,
      });
    }
  }
  return out;
}
