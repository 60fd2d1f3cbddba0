import { platforms, tokenStatuses, type Platform } from '@push/contract';
import { storeKeys, type RedisClient } from '@push/store';

/** Redis `used_memory`, bytes. */
export async function usedMemory(redis: RedisClient): Promise<number> {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0);
}

/** Calls and CPU time per Redis command so far (INFO commandstats). */
export async function commandStats(redis: RedisClient): Promise<Map<string, { calls: number; usec: number }>> {
  const out = new Map<string, { calls: number; usec: number }>();
  for (const match of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    out.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return out;
}

/** Commands run between two `commandStats`, busiest first. */
export function commandsBetween(
  before: Map<string, { calls: number; usec: number }>,
  after: Map<string, { calls: number; usec: number }>,
): Array<{ command: string; calls: number; usec: number }> {
  const out: Array<{ command: string; calls: number; usec: number }> = [];
  for (const [command, a] of after) {
    const b = before.get(command) ?? { calls: 0, usec: 0 };
    if (a.calls > b.calls) out.push({ command, calls: a.calls - b.calls, usec: a.usec - b.usec });
  }
  return out.sort((x, y) => y.usec - x.usec);
}

/** Sum of MEMORY USAGE over every key matching `pattern` (SCAN), and how many keys. */
export async function keysMemory(redis: RedisClient, pattern: string): Promise<{ keys: number; bytes: number }> {
  let cursor = '0';
  let keys = 0;
  let bytes = 0;
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
    cursor = next;
    const sizes = await Promise.all(batch.map((key) => redis.memory('USAGE', key, 'SAMPLES', '0')));
    keys += batch.length;
    for (const size of sizes) bytes += Number(size ?? 0);
  } while (cursor !== '0');
  return { keys, bytes };
}

export interface ResultTimes {
  /** Epoch ms of every recorded result of the platform (the stream entry ids), unsorted. */
  at: Record<Platform, Float64Array>;
  byStatus: Record<string, number>;
}

/** Reads every per-token result of a job straight from its streams: when each was recorded, and the counts. */
export async function resultTimes(redis: RedisClient, prefix: string, jobId: string): Promise<ResultTimes> {
  const keys = storeKeys(prefix);
  const times = Object.fromEntries(platforms.map((p) => [p, [] as number[]])) as Record<Platform, number[]>;
  const byStatus: Record<string, number> = {};
  for (const status of tokenStatuses) {
    let after = '-';
    for (;;) {
      const entries = await redis.xrange(keys.jobResults(jobId, status), after, '+', 'COUNT', 20_000);
      for (const [id, fields] of entries) {
        const platform = fields[fields.indexOf('p') + 1] as Platform;
        times[platform]?.push(Number(id.slice(0, id.indexOf('-'))));
        byStatus[status] = (byStatus[status] ?? 0) + 1;
      }
      if (entries.length < 20_000) break;
      after = `(${entries[entries.length - 1]![0]}`;
    }
  }
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
