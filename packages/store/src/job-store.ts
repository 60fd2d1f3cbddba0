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
import { BLOCK_BYTES, packBlocks, positionOf } from './chunk-results';
import { chunkResultsPage, streamResultsPage } from './result-pages';
import type { ResolvedToken } from './token-registry';

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
  /**
   * The platforms the job is queued on; it completes when each has finished every chunk (at once when
   * there is none: no client has a device anywhere).
   */
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

/** The `layout` of a job whose results are kept per chunk (chunk-results.ts); older jobs have none. */
const CHUNK_LAYOUT = 'chunks';

/** What a worker needs to know of a job to write its results, read once per job and process. */
interface JobInfo {
  /** The job's expiry (Unix seconds): every key a job writes expires with its record. */
  expiresAt: number;
  /** Results kept per chunk (else the old layout: per-job token hashes and result streams). */
  chunked: boolean;
  /** Whether this process already set the job's `startedAt`. */
  started: boolean;
}

/**
 * Push jobs and their per-token results. Workers write through `track` / `record` / `chunkDone`, which
 * are idempotent Lua scripts: a chunk that runs again never counts or lists a token twice. A job's results
 * are kept per chunk (`commands/trackChunk-1.lua`, `recordChunk-1.lua`, `sealChunk-1.lua`: one hash per
 * chunk in a Cluster slot of its own, chunk-results.ts), and its record (one hash: what `get` reads) gains a
 * chunk's counts once, when the chunk is done (`chunkDone-2.lua`): while a job runs, its counts are those
 * of its finished chunks. Jobs created before that layout finish in theirs (`trackTokens-2.lua`,
 * `recordResults-7.lua`: counted as they go).
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

  /** When `create` last trimmed the recent jobs (ms). */
  private trimmedAt = 0;

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
      layout: CHUNK_LAYOUT,
      ...job.campaign,
      ...(job.platforms.length === 0 && { finishedAt: now }),
    };
    const recent = this.keys.recentJobs();
    const scheduled = this.keys.scheduledJobs();
    // Trimmed at most once a second per process: a job a second past retention in the list costs nothing.
    const trim = now - this.trimmedAt >= 1000 || now < this.trimmedAt;
    if (trim) this.trimmedAt = now;
    await Promise.all([
      this.scripts.createJob(this.keys.job(job.jobId), expiresAt, ...Object.entries(fields).flat()),
      this.redis.zadd(recent, now, job.jobId),
      ...(trim ? [this.redis.zremrangebyscore(recent, '-inf', now - this.retentionSeconds * 1000)] : []),
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
    const expiresAt = (await this.info(jobId))?.expiresAt ?? Math.ceil(Date.now() / 1000) + this.retentionSeconds;
    return this.scripts.throttle(this.keys.jobThrottle(jobId), 60_000 / ratePerMinute, sends, expiresAt);
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

  /** A job's payload, creation time (epoch ms) and campaign controls, or undefined once it has expired. */
  async plan(jobId: string): Promise<JobPlan | undefined> {
    const [payload, createdAt, sendAt, localTime, ratePerMinute, expiresAt, layout] = await this.redis.hmget(
      this.keys.job(jobId),
      'payload',
      'createdAt',
      'sendAt',
      'localTime',
      'ratePerMinute',
      'expiresAt',
      'layout',
    );
    if (payload === null || payload === undefined) return undefined;
    // The same read gives what every later write of the job needs (saves that round trip).
    if (!this.infos.has(jobId)) this.remember(jobId, expiresAt, layout);
    return {
      payload: JSON.parse(payload) as Payload,
      createdAt: Number(createdAt),
      ...(sendAt && { sendAt: Number(sendAt) }),
      ...(localTime && { localTime }),
      ...(ratePerMinute && { ratePerMinute: Number(ratePerMinute) }),
    };
  }

  /**
   * How an existing job was queued (a retry with its Idempotency-Key finishes queueing it the same way): its
   * lane (undefined when queued before lanes existed) and platforms. Undefined once the job has expired.
   */
  async queuedAs(jobId: string): Promise<{ priority?: Priority; platforms: Platform[] } | undefined> {
    const [createdAt, priority, listed] = await this.redis.hmget(this.keys.job(jobId), 'createdAt', 'priority', 'platforms');
    if (createdAt === null) return undefined;
    const lane = prioritySchema.safeParse(priority);
    const queuedOn = (listed ?? LEGACY_PLATFORMS.join(','))
      .split(',')
      .filter((p): p is Platform => (platforms as readonly string[]).includes(p));
    return { ...(lane.success && { priority: lane.data }), platforms: queuedOn };
  }

  /**
   * Adds a chunk's tokens to the job's results (each once) and returns the indexes of those that already
   * have a final result, which must not be sent again. Undefined when the job has expired.
   */
  async track(
    jobId: string,
    platform: Platform,
    chunk: number,
    tokens: readonly ResolvedToken[],
    now = Date.now(),
  ): Promise<Set<number> | undefined> {
    const info = await this.info(jobId);
    if (!info) return undefined;
    if (tokens.length === 0) return new Set();
    if (!info.chunked) return this.trackOld(jobId, platform, tokens, info, now);
    if (!info.started) {
      info.started = true;
      await this.redis.hsetnx(this.keys.job(jobId), 'startedAt', now);
    }
    // Each token once (a token listed under two clients, or twice): its first listing.
    const unique = new Map<string, ResolvedToken>();
    for (const t of tokens) if (!unique.has(t.token)) unique.set(t.token, t);
    const listed = [...unique.values()];
    const blocks = packBlocks(listed);
    const reply = await this.scripts.trackChunk(
      this.keys.jobChunk(jobId, chunk),
      platform,
      info.expiresAt,
      BLOCK_BYTES,
      ...blocks.flatMap((b) => [b.count, b.bytes]),
    );
    // 0: stored as given, block by block; else each token's position, -1 once it has its final result.
    const positions = reply === 0 ? blocks.flatMap((b, block) => Array.from({ length: b.count }, (_, i) => positionOf(block, i))) : reply;
    const known = this.positionsOf(jobId, platform, chunk);
    listed.forEach((t, i) => known.set(t.token, positions[i]!));
    const final = new Set<number>();
    tokens.forEach((t, i) => {
      if (known.get(t.token) === -1) final.add(i);
    });
    return final;
  }

  /** Records final results; a token that already has one keeps it. Returns how many were new. */
  async record(jobId: string, platform: Platform, chunk: number, results: readonly TokenResult[], now = Date.now()): Promise<number> {
    if (results.length === 0) return 0;
    const info = await this.info(jobId);
    if (!info) return 0;
    if (!info.chunked) return this.recordOld(jobId, platform, results, info);
    const known = this.positionsOf(jobId, platform, chunk);
    // Positions come from `track`; a token this process has not tracked (another run did) is looked up.
    const untracked = results.filter((r) => !known.has(r.token));
    if (untracked.length > 0) await this.track(jobId, platform, chunk, untracked, now);
    // Results as runs of consecutive positions of one class (status and reason), each position once.
    const classes = new Map<string, number>();
    const classArgs: string[] = [];
    const byPosition = new Map<number, number>();
    for (const r of results) {
      const position = known.get(r.token);
      if (position === undefined || position < 0 || byPosition.has(position)) continue;
      const reason = r.reason ?? '';
      const name = `${r.status}\n${reason}`;
      let id = classes.get(name);
      if (id === undefined) {
        classes.set(name, (id = classes.size + 1));
        classArgs.push(r.status, reason);
      }
      byPosition.set(position, id);
    }
    if (byPosition.size === 0) return 0;
    const runs: number[] = [];
    for (const position of [...byPosition.keys()].sort((a, b) => a - b)) {
      const id = byPosition.get(position)!;
      const n = runs.length;
      if (n > 0 && runs[n - 3]! + runs[n - 2]! === position && runs[n - 1] === id) runs[n - 2]!++;
      else runs.push(position, 1, id);
    }
    const recorded = await this.scripts.recordChunk(this.keys.jobChunk(jobId, chunk), platform, now, classes.size, ...classArgs, ...runs);
    return Math.max(recorded, 0);
  }

  /**
   * Marks one chunk of one platform finished and adds its counts to the job's, once; the job completes
   * when every chunk of every platform has.
   */
  async chunkDone(jobId: string, platform: Platform, chunk: number, clientsWithTokens: number, now = Date.now()): Promise<void> {
    const info = await this.info(jobId);
    if (!info) return;
    let counts: Array<string | number> = [];
    if (info.chunked) {
      const [tokens, ...byStatus] = await this.scripts.sealChunk(this.keys.jobChunk(jobId, chunk), platform, ...tokenStatuses);
      counts = ['tokens', tokens!, ...tokenStatuses.flatMap((status, i) => [status, byStatus[i]!])];
    }
    await this.scripts.chunkDone(
      this.keys.job(jobId),
      this.keys.jobChunks(jobId),
      platform,
      chunk,
      clientsWithTokens,
      now,
      info.expiresAt,
      LEGACY_PLATFORMS.join(','),
      ...counts,
    );
    this.positions.delete(positionsKey(jobId, platform, chunk));
  }

  /** `track` for a job of the old layout (created before results were kept per chunk). */
  private async trackOld(jobId: string, platform: Platform, tokens: readonly ResolvedToken[], info: JobInfo, now: number) {
    const result = await this.scripts.trackTokens(
      this.keys.job(jobId),
      this.keys.jobTokens(jobId, platform),
      platform,
      info.expiresAt,
      now,
      ...tokens.map((t) => t.token),
    );
    return typeof result === 'number' ? undefined : new Set(result);
  }

  /** `record` for a job of the old layout. */
  private async recordOld(jobId: string, platform: Platform, results: readonly TokenResult[], info: JobInfo): Promise<number> {
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
      info.expiresAt,
      ...tokenStatuses,
      ...args,
    );
    return Math.max(recorded, 0);
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
   * Per-token results, a page at a time: by status, then chunk, platform and position (for a job of the
   * old layout: by status, oldest first). Throws InvalidCursorError for a cursor this method did not return.
   */
  async results(
    jobId: string,
    query: { status?: TokenStatus; limit: number; cursor?: string },
  ): Promise<{ items: ResultItem[]; nextCursor: string | null }> {
    const [layout, chunks, listed] = await this.redis.hmget(this.keys.job(jobId), 'layout', 'chunks', 'platforms');
    if (layout !== CHUNK_LAYOUT) return streamResultsPage(this.redis, this.keys, jobId, query);
    const queuedOn = (listed ?? '').split(',') as Platform[];
    return chunkResultsPage(this.redis, this.keys, { jobId, chunks: Number(chunks), platforms: queuedOn }, query);
  }

  /** Positions of the tokens of one chunk and platform this process has tracked (-1: final), until the chunk is done. */
  private readonly positions = new Map<string, Map<string, number>>();

  private positionsOf(jobId: string, platform: Platform, chunk: number): Map<string, number> {
    const key = positionsKey(jobId, platform, chunk);
    let known = this.positions.get(key);
    if (!known) {
      // Chunks handed back (retries, later) leave theirs behind: the oldest go first, beyond what a worker
      // runs at once (a chunk whose positions are gone looks them up again: `record` tracks what it lacks).
      if (this.positions.size >= POSITIONS_KEPT) this.positions.delete(this.positions.keys().next().value!);
      this.positions.set(key, (known = new Map<string, number>()));
    }
    return known;
  }

  private readonly infos = new Map<string, JobInfo>();

  /** A job's expiry and layout, cached (they never change); undefined once the job has expired. */
  private async info(jobId: string): Promise<JobInfo | undefined> {
    let info = this.infos.get(jobId);
    if (info === undefined) {
      const [createdAt, expiresAt, layout] = await this.redis.hmget(this.keys.job(jobId), 'createdAt', 'expiresAt', 'layout');
      if (createdAt === null) return undefined;
      info = this.remember(jobId, expiresAt, layout);
    }
    return info;
  }

  private remember(jobId: string, expiresAt: string | null | undefined, layout: string | null | undefined): JobInfo {
    const info = {
      expiresAt: Number(expiresAt ?? 0) || Math.ceil(Date.now() / 1000) + this.retentionSeconds,
      chunked: layout === CHUNK_LAYOUT,
      started: false,
    };
    if (this.infos.size > 10_000) this.infos.clear();
    this.infos.set(jobId, info);
    return info;
  }
}

/** Chunks whose token positions a JobStore keeps (up to ~100 KB each for 1,000 tokens). */
const POSITIONS_KEPT = 64;

const positionsKey = (jobId: string, platform: Platform, chunk: number) => `${jobId} ${platform} ${chunk}`;

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
