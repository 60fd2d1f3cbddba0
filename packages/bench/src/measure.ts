import { Cluster, type Redis } from 'ioredis';
import { platforms, type Platform } from '@push/contract';
import { JobStore, type RedisClient } from '@push/store';

/** The servers behind a connection: a Cluster's masters, or the one server. */
export function redisNodes(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

/** Redis `used_memory`, bytes (summed over a Cluster's masters). */
export async function usedMemory(redis: RedisClient): Promise<number> {
  let total = 0;
  for (const node of redisNodes(redis)) total += Number(/^used_memory:(\d+)/m.exec(await node.info('memory'))?.[1] ?? 0);
  return total;
}

export type CommandStats = Map<string, { calls: number; usec: number }>;

/** Calls and CPU time per Redis command so far (INFO commandstats, summed over a Cluster's masters). */
export async function commandStats(redis: RedisClient): Promise<CommandStats> {
  const out: CommandStats = new Map();
  for (const node of redisNodes(redis)) {
    for (const match of (await node.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
      const sum = out.get(match[1]!) ?? { calls: 0, usec: 0 };
      out.set(match[1]!, { calls: sum.calls + Number(match[2]), usec: sum.usec + Number(match[3]) });
    }
  }
  return out;
}

/** Commands run between two `commandStats`, busiest first. */
export function commandsBetween(before: CommandStats, after: CommandStats): Array<{ command: string; calls: number; usec: number }> {
  const out: Array<{ command: string; calls: number; usec: number }> = [];
  for (const [command, a] of after) {
    const b = before.get(command) ?? { calls: 0, usec: 0 };
    if (a.calls > b.calls) out.push({ command, calls: a.calls - b.calls, usec: a.usec - b.usec });
  }
  return out.sort((x, y) => y.usec - x.usec);
}

/** Every key matching `pattern` on each server (SCAN), with `use` called on each batch. */
export async function scanKeys(redis: RedisClient, pattern: string, use: (node: Redis, keys: string[]) => Promise<void>): Promise<void> {
  for (const node of redisNodes(redis)) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
      cursor = next;
      if (batch.length > 0) await use(node, batch);
    } while (cursor !== '0');
  }
}

/** Sum of MEMORY USAGE over every key matching `pattern`, and how many keys. */
export async function keysMemory(redis: RedisClient, pattern: string): Promise<{ keys: number; bytes: number }> {
  let keys = 0;
  let bytes = 0;
  await scanKeys(redis, pattern, async (node, batch) => {
    const sizes = await Promise.all(batch.map((key) => node.memory('USAGE', key, 'SAMPLES', '0')));
    keys += batch.length;
    for (const size of sizes) bytes += Number(size ?? 0);
  });
  return { keys, bytes };
}

export interface ResultTimes {
  /** Epoch ms of every recorded result of the platform (when it was recorded), unsorted. */
  at: Record<Platform, Float64Array>;
  byStatus: Record<string, number>;
}

/** Reads every per-token result of a job as the results API does: when each was recorded, and the counts. */
export async function resultTimes(redis: RedisClient, prefix: string, jobId: string): Promise<ResultTimes> {
  const jobs = new JobStore(redis, prefix, 3600);
  const times = Object.fromEntries(platforms.map((p) => [p, [] as number[]])) as Record<Platform, number[]>;
  const byStatus: Record<string, number> = {};
  let cursor: string | undefined;
  do {
    const page = await jobs.results(jobId, { limit: 20_000, ...(cursor !== undefined && { cursor }) });
    for (const item of page.items) {
      times[item.platform]?.push(Date.parse(item.at));
      byStatus[item.status] = (byStatus[item.status] ?? 0) + 1;
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return { at: Object.fromEntries(platforms.map((p) => [p, Float64Array.from(times[p])])) as Record<Platform, Float64Array>, byStatus };
}

/** The q-quantile (0..1) of sorted values. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function sortedCopy(values: Float64Array): Float64Array {
  return Float64Array.from(values).sort();
}

export { platforms };
