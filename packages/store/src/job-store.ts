import {
  platforms,
  prioritySchema,
  tokenStatuses,
  type Counts,
  type JobState,
  type JobStatus,
  type Payload,
  type Platform,
  type Priority,
  type ResultItem,
  type TokenStatus,
} from '@push/contract';
import type { RedisClient } from './redis';
import { storeKeys, type StoreKeys } from './keys';
import { storeScripts, type StoreScripts } from './scripts';

// The shapes the API answers with are the contract's (responses.ts); re-exported for the store's users.
export type { Counts, JobState, JobStatus, ResultItem } from '@push/contract';

/** The campaign controls of a job (contract Part 2, "Campaign controls"), as the request gave them. */
export interface Campaign {
  /** Unix seconds: nothing is sent before. */
  sendAt?: number;
  /** `HH:MM` in each client's zone, at or after `sendAt` (or the job's creation). */
  localTime?: string;
  ratePerMinute?: number;
}

/** What a worker needs to know of a job to deliver it; fixed once the job exists. */
export interface JobPlan extends Campaign {
  payload: Payload;
  /** When the job was created (ms): a `localTime` job without `sendAt` delivers at the first such time after it. */
  createdAt: number;
}

export interface TokenResult {
  client: string;
  token: string;
  status: TokenStatus;
  /** The provider's own reason for anything but `sent` (or ours: `expired`, `retries exhausted: ...`). */
  reason?: string;
}

export interface NewJob {
  jobId: string;
  clients: number;
  chunks: number;
  /** The platforms the job is queued on; it completes when each has finished every chunk. */
  platforms: readonly Platform[];
  payload: Payload;
  priority: Priority;
  campaign?: Campaign;
  /**
   * For a scheduled job (`sendAt` or `localTime`): the time (ms) by which its last delivery is planned; it
   * counts as a scheduled job waiting until then (the metric), unless canceled.
   */
  scheduledUntil?: number;
}

const countNames = ['tokens', ...tokenStatuses] as const;

/** The platforms of a job created before jobs listed their own (before Web Push): it was queued on these. */
const LEGACY_PLATFORMS: readonly string[] = ['ios', 'android'];

/** A results cursor: which status stream, and the last stream id returned. */
function parseCursor(cursor: string | undefined): { status: number; after: string } | null {
  if (cursor === undefined) return { status: 0, after: '-' };
  const match = /^(\d):(\d{1,20}-\d{1,20})$/.exec(cursor);
  if (!match || Number(match[1]) >= tokenStatuses.length) return null;
  return { status: Number(match[1]), after: `(${match[2]}` };
}

export class InvalidCursorError extends Error {
  constructor() {
    super('cursor is not one this API returned');
    this.name = this.constructor.name;
  }
}

/**
 * Push jobs and their per-token results. Workers write through `track` / `record` / `chunkDone`,
 * which are idempotent Lua scripts (`commands/trackTokens-2.lua`, `recordResults-7.lua`,
 * `chunkDone-2.lua`): a chunk that runs again never counts a token twice. Every script first checks that
 * the job still exists, so a late write after retention never resurrects counters without an expiry; all
 * keys of one job share its {hash tag}.
 */
export class JobStore {
  private readonly keys: StoreKeys;
  private readonly scripts: StoreScripts;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    /** How long a job and its results are kept, in seconds. */
    private readonly retentionSeconds: number,
  ) {
    this.keys = storeKeys(prefix);
    this.scripts = storeScripts(redis);
  }

  /**
   * Writes a new job's record (`commands/createJob-1.lua`: with its expiry) and lists it among the recent
   * (and scheduled) jobs: commands sent together, one round trip on the auto-pipelined connection. Each
   * list is in a slot of its own (Redis Cluster), and its trimming is housekeeping a failure only delays.
   */
  async create(job: NewJob, now = Date.now()): Promise<void> {
    // Kept past the last planned delivery, so a job scheduled near the retention period still has its record.
    const expiresAt = Math.floor(Math.max(now, job.scheduledUntil ?? 0) / 1000) + this.retentionSeconds;
    const fields: Record<string, string | number> = {
      createdAt: now,
      clients: job.clients,
      chunks: job.chunks,
      platforms: job.platforms.join(','),
      payload: JSON.stringify(job.payload),
      priority: job.priority,
      expiresAt,
      ...job.campaign,
    };
    const recent = this.keys.recentJobs();
    const scheduled = this.keys.scheduledJobs();
    await Promise.all([
      this.scripts.createJob(this.keys.job(job.jobId), expiresAt, ...Object.entries(fields).flat()),
      this.redis.zadd(recent, now, job.jobId),
      this.redis.zremrangebyscore(recent, '-inf', now - this.retentionSeconds * 1000),
      ...(job.scheduledUntil === undefined
        ? []
        : [this.redis.zadd(scheduled, job.scheduledUntil, job.jobId), this.redis.zremrangebyscore(scheduled, '-inf', now)]),
    ]);
  }

  /**
   * Cancels a job (`commands/cancelJob-1.lua`): the canceledAt time (ms; a repeated cancel gets the first
   * one), `finished` for a job that completed first, undefined for an unknown job.
   */
  async cancel(jobId: string, now = Date.now()): Promise<number | 'finished' | undefined> {
    const result = await this.scripts.cancelJob(this.keys.job(jobId), now);
    if (result < 0) return undefined;
    if (result === 0) return 'finished';
    await this.redis.zrem(this.keys.scheduledJobs(), jobId);
    return result;
  }

  /** Whether the job was canceled: a worker asks just before each send. */
  async isCanceled(jobId: string): Promise<boolean> {
    return (await this.redis.hexists(this.keys.job(jobId), 'canceledAt')) === 1;
  }

  /**
   * Scheduled jobs still waiting: deliveries planned ahead (a `sendAt` not reached, a `localTime` job whose
   * zones have not all had their time), neither completed nor canceled. Counts at most `limit`.
   */
  async scheduledWaiting(now = Date.now(), limit = 10_000): Promise<number> {
    const ids = await this.redis.zrangebyscore(this.keys.scheduledJobs(), `(${now}`, '+inf', 'LIMIT', 0, limit);
    const ended = await Promise.all(ids.map((id) => this.redis.hmget(this.keys.job(id), 'finishedAt', 'canceledAt')));
    return ended.filter(([finished, canceled]) => finished === null && canceled === null).length;
  }

  /**
   * Reserves the next `sends` sends of a throttled job (`commands/throttle-1.lua`): the ms until they may
   * start. Every worker of every platform shares the job's schedule.
   */
  async throttle(jobId: string, ratePerMinute: number, sends: number): Promise<number> {
    return this.scripts.throttle(this.keys.jobThrottle(jobId), 60_000 / ratePerMinute, sends, await this.expiresAt(jobId));
  }

  /**
   * Marks every chunk of the job as queued on every platform: the API's last step for a request with an
   * Idempotency-Key (`isQueued` tells its retry whether to finish queueing; without a key nothing asks).
   */
  async markQueued(jobId: string, now = Date.now()): Promise<void> {
    await this.redis.hset(this.keys.job(jobId), 'queuedAt', now);
  }

  /** Whether a job exists and the API finished queueing it (false: unknown, or cut short by a failure). */
  async isQueued(jobId: string): Promise<boolean> {
    return (await this.redis.hexists(this.keys.job(jobId), 'queuedAt')) === 1;
  }

  /** The payload of a job, or undefined once it has expired. */
  async payload(jobId: string): Promise<Payload | undefined> {
    return (await this.plan(jobId))?.payload;
  }

  /** A job's payload, creation time (epoch ms) and campaign controls, or undefined once it has expired. */
  async plan(jobId: string): Promise<JobPlan | undefined> {
    const [payload, createdAt, sendAt, localTime, ratePerMinute, expiresAt] = await this.redis.hmget(
      this.keys.job(jobId),
      'payload',
      'createdAt',
      'sendAt',
      'localTime',
      'ratePerMinute',
      'expiresAt',
    );
    if (payload === null || payload === undefined) return undefined;
    // The same read gives the expiry every later write of the job needs (saves that round trip).
    if (expiresAt) this.rememberExpiry(jobId, Number(expiresAt));
    return {
      payload: JSON.parse(payload) as Payload,
      createdAt: Number(createdAt),
      ...(sendAt && { sendAt: Number(sendAt) }),
      ...(localTime && { localTime }),
      ...(ratePerMinute && { ratePerMinute: Number(ratePerMinute) }),
    };
  }

  /** The lane a job was queued on, or undefined when unknown (expired, or queued before lanes existed). */
  async priority(jobId: string): Promise<Priority | undefined> {
    const parsed = prioritySchema.safeParse(await this.redis.hget(this.keys.job(jobId), 'priority'));
    return parsed.success ? parsed.data : undefined;
  }

  /**
   * Marks tokens as part of the job (counted once in `tokens`) and returns the indexes of those that
   * already have a final result, which must not be sent again. Undefined when the job has expired.
   */
  async track(jobId: string, platform: Platform, tokens: readonly string[], now = Date.now()): Promise<Set<number> | undefined> {
    if (tokens.length === 0) return new Set();
    const result = await this.scripts.trackTokens(
      this.keys.job(jobId),
      this.keys.jobTokens(jobId, platform),
      platform,
      await this.expiresAt(jobId),
      now,
      ...tokens,
    );
    return typeof result === 'number' ? undefined : new Set(result);
  }

  /** Records final results; a token that already has one keeps it. Returns how many were new. */
  async record(jobId: string, platform: Platform, results: readonly TokenResult[]): Promise<number> {
    if (results.length === 0) return 0;
    const args = new Array<string>(results.length * 4);
    for (let i = 0, j = 0; i < results.length; i++, j += 4) {
      const r = results[i]!;
      args[j] = r.token;
      args[j + 1] = r.client;
      args[j + 2] = r.status;
      args[j + 3] = r.reason ?? '';
    }
    const recorded = await this.scripts.recordResults(
      this.keys.job(jobId),
      this.keys.jobTokens(jobId, platform),
      ...tokenStatuses.map((status) => this.keys.jobResults(jobId, status)),
      platform,
      await this.expiresAt(jobId),
      ...tokenStatuses,
      ...args,
    );
    return Math.max(recorded, 0);
  }

  /** Marks one chunk of one platform finished; the job completes when every chunk of every platform has. */
  async chunkDone(jobId: string, platform: Platform, chunk: number, clientsWithTokens: number, now = Date.now()): Promise<void> {
    await this.scripts.chunkDone(
      this.keys.job(jobId),
      this.keys.jobChunks(jobId),
      platform,
      chunk,
      clientsWithTokens,
      now,
      await this.expiresAt(jobId),
      ...LEGACY_PLATFORMS,
    );
  }

  async get(jobId: string, now = Date.now()): Promise<JobStatus | undefined> {
    const hash = await this.redis.hgetall(this.keys.job(jobId));
    if (!hash.createdAt) return undefined;
    const num = (field: string) => Number(hash[field] ?? 0);
    const queuedOn = hash.platforms?.split(',') ?? LEGACY_PLATFORMS;
    const platformCounts = (p: Platform) =>
      ({
        clients: num(`${p}:clients`),
        ...Object.fromEntries(countNames.map((name) => [name, num(`${p}:${name}`)])),
        chunks: queuedOn.includes(p) ? num('chunks') : 0,
        chunksDone: num(`${p}:chunksDone`),
      }) as Counts & { chunks: number; chunksDone: number };
    const perPlatform = Object.fromEntries(platforms.map((p) => [p, platformCounts(p)])) as JobStatus['platforms'];
    const totals = {
      clients: num('clients'),
      ...Object.fromEntries(countNames.map((name) => [name, platforms.reduce((sum, p) => sum + perPlatform[p][name], 0)])),
    } as Counts;
    const priority = prioritySchema.safeParse(hash.priority);
    const iso = (field: string) => new Date(num(field)).toISOString();
    return {
      jobId,
      state: jobState(hash, now),
      ...(priority.success && { priority: priority.data }),
      createdAt: iso('createdAt'),
      finishedAt: hash.finishedAt ? iso('finishedAt') : null,
      ...(hash.sendAt && { sendAt: new Date(num('sendAt') * 1000).toISOString() }),
      ...(hash.localTime && { localTime: hash.localTime }),
      ...(hash.ratePerMinute && { ratePerMinute: num('ratePerMinute') }),
      ...(hash.canceledAt && { canceledAt: iso('canceledAt') }),
      totals,
      platforms: perPlatform,
    };
  }

  /** Recent jobs, newest first. */
  async recent(limit: number): Promise<JobStatus[]> {
    const ids = await this.redis.zrevrange(this.keys.recentJobs(), 0, limit - 1);
    const jobs = await Promise.all(ids.map((id) => this.get(id)));
    return jobs.filter((job): job is JobStatus => job !== undefined);
  }

  /**
   * Per-token results, a page at a time: by status stream (sent, failed, invalid, expired), oldest first.
   * Throws InvalidCursorError for a cursor this method did not return.
   */
  async results(
    jobId: string,
    query: { status?: TokenStatus; limit: number; cursor?: string },
  ): Promise<{ items: ResultItem[]; nextCursor: string | null }> {
    const position = parseCursor(query.cursor);
    if (!position) throw new InvalidCursorError();
    const only = query.status === undefined ? undefined : tokenStatuses.indexOf(query.status);
    if (only !== undefined && query.cursor === undefined) position.status = only;
    if (only !== undefined && position.status !== only) throw new InvalidCursorError();

    const items: ResultItem[] = [];
    for (let s = position.status; s < tokenStatuses.length && (only === undefined || s === only); s++) {
      const status = tokenStatuses[s]!;
      const after = s === position.status ? position.after : '-';
      const want = query.limit - items.length;
      // One more than needed tells whether this stream goes on.
      const entries = await this.redis.xrange(this.keys.jobResults(jobId, status), after, '+', 'COUNT', want + 1);
      for (const [id, fields] of entries.slice(0, want)) items.push(toItem(status, id, fields));
      if (entries.length > want) return { items, nextCursor: `${s}:${entries[want - 1]![0]}` };
      if (items.length === query.limit) {
        const next = await this.nextNonEmpty(jobId, s + 1, only);
        return { items, nextCursor: next === undefined ? null : `${s}:${entries[entries.length - 1]![0]}` };
      }
    }
    return { items, nextCursor: null };
  }

  /** The index of the next status stream with entries, if the page ended exactly at a stream's end. */
  private async nextNonEmpty(jobId: string, from: number, only: number | undefined): Promise<number | undefined> {
    if (only !== undefined) return undefined;
    for (let s = from; s < tokenStatuses.length; s++) {
      if ((await this.redis.xlen(this.keys.jobResults(jobId, tokenStatuses[s]!))) > 0) return s;
    }
    return undefined;
  }

  private readonly expiries = new Map<string, number>();

  private rememberExpiry(jobId: string, at: number): void {
    if (this.expiries.size > 10_000) this.expiries.clear();
    this.expiries.set(jobId, at);
  }

  /** The job's expiry (Unix seconds), cached: every key a job writes expires with its record. */
  private async expiresAt(jobId: string): Promise<number> {
    let at = this.expiries.get(jobId);
    if (at === undefined) {
      at = Number((await this.redis.hget(this.keys.job(jobId), 'expiresAt')) ?? 0) || Math.ceil(Date.now() / 1000) + this.retentionSeconds;
      this.rememberExpiry(jobId, at);
    }
    return at;
  }
}

/**
 * A job's state from its record: `canceled` wins; `scheduled` until its first delivery when it has a
 * future `sendAt` or a `localTime` (whose clients' times come one by one).
 */
function jobState(hash: Record<string, string>, now: number): JobState {
  if (hash.canceledAt) return 'canceled';
  if (hash.finishedAt) return 'completed';
  if (hash.startedAt) return 'processing';
  if (hash.localTime || Number(hash.sendAt ?? 0) * 1000 > now) return 'scheduled';
  return 'queued';
}

function toItem(status: TokenStatus, id: string, fields: string[]): ResultItem {
  const value: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) value[fields[i]!] = fields[i + 1]!;
  return {
    client: value.c ?? '',
    platform: value.p as Platform,
    token: value.t ?? '',
    status,
    reason: value.r ?? '',
    at: new Date(Number(id.split('-')[0])).toISOString(),
  };
}
