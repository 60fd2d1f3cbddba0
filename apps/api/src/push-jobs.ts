import { createHash, randomUUID } from 'node:crypto';
import { chunk, DEFAULT_APP, type Platform, type Priority, type Push2ClientsRequest } from '@push/contract';
import {
  chunkJobName,
  chunkJobOptions,
  fairShareRound,
  shareAmongApps,
  storeKeys,
  type Clock,
  type JobStore,
  type LaneQueues,
  type RedisClient,
  type TokenRegistry,
} from '@push/store';

export interface PushJobsDeps {
  redis: RedisClient;
  /** The app the job belongs to. */
  app: string;
  /** The app's key prefix (keys.ts `appPrefix`). */
  prefix: string;
  jobs: JobStore;
  registry: TokenRegistry;
  queues: LaneQueues;
  /** The platforms this deployment delivers to (`enabledPlatforms`): chunks are queued on these. */
  platforms: readonly Platform[];
  chunkClients: number;
  /** PRIORITY_HIGH_MAX_CLIENTS: a request without `priority` naming at most this many distinct clients is `high`. */
  highMaxClients: number;
  attempts: number;
  retryBaseDelayMs: number;
  clock: Clock;
}

/**
 * Every zone reaches a given time of day within a day of any moment, an hour more across a daylight-saving
 * change: a `localTime` job's last delivery is planned at most this long after it starts.
 */
const LOCAL_TIME_SPAN_MS = 25 * 3600 * 1000;

/** An Idempotency-Key is remembered this long (contract: 24 h). */
const IDEMPOTENCY_SECONDS = 24 * 3600;

/**
 * A push due now naming at most this many clients is queued only on the platforms where one of them has a
 * device: one read of their device strings (~230 bytes each), where a chunk job on a platform without any
 * would cost a worker and Redis as much as one with a token (a one-user push is most of the traffic).
 */
const LOOKUP_MAX_CLIENTS = 100;

/**
 * Turns one accepted request into a job record and chunk jobs on every enabled platform's queue of its lane
 * (for a small push due now: on those where a client has a device, `LOOKUP_MAX_CLIENTS`). Clients are
 * resolved to tokens by the workers, so a campaign costs the same whatever the registry holds.
 * Returns the job id, and whether an earlier request with the same Idempotency-Key already made it.
 */
export async function enqueuePush(
  deps: PushJobsDeps,
  request: Push2ClientsRequest,
  idempotencyKey?: string,
): Promise<{ jobId: string; replayed: boolean }> {
  let jobId: string = randomUUID();
  const idemKey =
    idempotencyKey === undefined
      ? undefined
      : storeKeys(deps.prefix).idempotency(createHash('sha256').update(idempotencyKey).digest('hex'));
  // How the job was queued when a first request with the same Idempotency-Key created it.
  let recorded: { priority?: Priority; platforms: Platform[] } | undefined;
  if (idemKey) {
    const claimed = await deps.redis.set(idemKey, jobId, 'EX', IDEMPOTENCY_SECONDS, 'NX');
    const existing = claimed === null ? await deps.redis.get(idemKey) : null;
    if (existing) {
      if (await deps.jobs.isQueued(existing)) return { jobId: existing, replayed: true };
      // The first request failed part-way (its caller got a 503): finish queueing that same job, in its
      // lane and on its platforms. Chunk job ids make the chunks it did queue no-ops while they wait or run;
      // one that already completed (high chunks leave BullMQ then) runs again and sends nothing, its tokens
      // having their results: no device gets the notification twice.
      jobId = existing;
      recorded = await deps.jobs.queuedAs(existing);
    }
  }
  let created = recorded !== undefined;
  try {
    const clients = distinct(request.clients);
    // A throttled job is never urgent and spends its time waiting for its steps: not in the high lane's few slots.
    const small = clients.length <= deps.highMaxClients && request.ratePerMinute === undefined;
    const priority = recorded ? (recorded.priority ?? 'normal') : (request.priority ?? (small ? 'high' : 'normal'));
    const chunks = chunk(clients, deps.chunkClients);
    const { sendAt, localTime, ratePerMinute } = request;
    const now = deps.clock.now();
    // A scheduled job's chunks wait as BullMQ delayed jobs (in Redis: they survive restarts of every process).
    const start = Math.max(now, (sendAt ?? 0) * 1000);
    const scheduledUntil = localTime !== undefined ? start + LOCAL_TIME_SPAN_MS : start > now ? start : undefined;
    // A scheduled or throttled job goes to the devices its clients have when it sends: every platform.
    const lookup = clients.length <= LOOKUP_MAX_CLIENTS && scheduledUntil === undefined && ratePerMinute === undefined;
    let platforms = recorded?.platforms ?? deps.platforms;
    if (!recorded && lookup) {
      const found = await deps.registry.platformsOf(clients);
      platforms = deps.platforms.filter((p) => found.has(p));
    }
    if (!created) {
      await deps.jobs.create(
        {
          jobId,
          clients: clients.length,
          chunks: chunks.length,
          platforms,
          payload: request.payload,
          priority,
          campaign: { ...(sendAt !== undefined && { sendAt }), ...(localTime && { localTime }), ...(ratePerMinute && { ratePerMinute }) },
          ...(scheduledUntil !== undefined && { scheduledUntil }),
        },
        now,
      );
    }
    created = true;
    const delay = Math.max(0, deps.clock.msUntil(start));
    const opts = { ...chunkJobOptions(deps.attempts, deps.retryBaseDelayMs, priority), ...(delay > 0 && { delay }) };
    // Custom job ids make a repeated enqueue of a chunk still in BullMQ a no-op.
    const chunkJob = (chunkClients: string[], chunk: number) => ({
      name: chunkJobName(deps.app),
      // The default app's chunks carry no app, as before apps existed.
      data: { jobId, chunk, clients: chunkClients, ...(deps.app !== DEFAULT_APP && { app: deps.app }) },
      opts: { ...opts, jobId: `${jobId}-${chunk}`, priority: fairShareRound(chunk) },
    });
    await Promise.all(
      platforms.map((platform) => {
        const queue = deps.queues[platform][priority];
        // One chunk (every one-user push): one script call, without the MULTI addBulk wraps around its jobs.
        if (chunks.length === 1) {
          const { name, data, opts: only } = chunkJob(chunks[0]!, 0);
          return queue.add(name, data, only);
        }
        return queue.addBulk(chunks.map(chunkJob));
      }),
    );
    await shareAmongApps(deps.redis, deps.queues, platforms, {
      app: deps.app,
      jobId,
      lane: priority,
      chunks: chunks.length,
      delayed: delay > 0,
    });
    // Only a retry with the same Idempotency-Key asks whether its job was queued in full.
    if (idemKey) await deps.jobs.markQueued(jobId);
    return { jobId, replayed: false };
  } catch (error) {
    // Nothing written yet: forget the key. Job written: keep it, so a retry with it completes this job.
    if (idemKey && !created) await deps.redis.del(idemKey).catch(() => undefined);
    throw error;
  }
}

/**
 * `[...new Set(items)]` for the client list of one request, about four times faster for a million fresh
 * strings (110 ms instead of 450 ms here): V8's Set pays for growing and rehashing its table, this sizes
 * an open-addressing table of indexes once (FNV-1a over the UTF-16 code units, linear probing) and
 * compares the strings themselves on a hash match, so the result is exactly the Set's: first occurrences,
 * in order. Without duplicates, `items` itself is returned.
 */
export function distinct(items: readonly string[]): readonly string[] {
  const n = items.length;
  let size = 1024;
  while (size < n * 2) size *= 2;
  const mask = size - 1;
  const table = new Int32Array(size).fill(-1);
  let duplicates: number[] | undefined;
  for (let i = 0; i < n; i++) {
    const item = items[i]!;
    let hash = 0x811c9dc5 | 0;
    for (let k = 0; k < item.length; k++) hash = Math.imul(hash ^ item.charCodeAt(k), 0x01000193);
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const seen = table[slot]!;
      if (seen === -1) {
        table[slot] = i;
        break;
      }
      if (items[seen] === item) {
        (duplicates ??= []).push(i);
        break;
      }
    }
  }
  if (!duplicates) return items;
  const out = new Array<string>(n - duplicates.length);
  for (let i = 0, d = 0, o = 0; i < n; i++) {
    if (i === duplicates[d]) d++;
    else out[o++] = items[i]!;
  }
  return out;
}
