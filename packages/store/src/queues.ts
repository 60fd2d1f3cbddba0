import { PRIORITY_LIMIT, Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { DEFAULT_APP, platforms, priorities, type Platform, type Priority } from '@push/contract';
import type { ResolvedToken } from './token-registry';

/** A resolved token of a chunk; `due` (epoch ms, clock time) when a `localTime` job plans it for later. */
export interface PlannedToken extends ResolvedToken {
  due?: number;
}

/** One chunk of a push job for one platform: up to PUSH_CHUNK_CLIENTS client ids. No secrets, no payload. */
export interface ChunkJobData {
  /** The app of the job; absent: `default`. */
  app?: string;
  jobId: string;
  chunk: number;
  clients: string[];
  /**
   * Set when a chunk is retried or resumes later (a throttled or `localTime` job, a worker that stopped): the
   * tokens still without a final result, so the next run finishes exactly those.
   */
  resolved?: PlannedToken[];
  /** Set when a throttled chunk was handed back: sends it reserved in the job's schedule for when it resumes. */
  reserved?: number;
  /** Set with `resolved`: how many of the chunk's clients had a token on this platform at the first run. */
  clientsWithTokens?: number;
}

/** The BullMQ job name of a chunk of `app`: the dashboards show it (bull-board's per-app boards find the app's chunks by it). */
export function chunkJobName(app: string): string {
  return `chunk:${app}`;
}

/**
 * The app of a chunk job from its name, or from its data (`app`, absent: `default`) for a chunk queued under
 * the name `chunk` before names said the app. Workers read the app from the data only.
 */
export function appOfChunkJob(name: string, data: () => ChunkJobData): string {
  return name.startsWith('chunk:') ? name.slice('chunk:'.length) : (data().app ?? DEFAULT_APP);
}

/**
 * The BullMQ queue of each platform: the one home of the platform list's queue names. Every lane of a
 * platform has its own queue under the platform's name (`laneQueueName`), so a new platform is one entry here.
 */
export const queueName: Record<Platform, string> = { ios: 'apns', android: 'fcm', web: 'webpush' };

/**
 * The queue of one lane of a platform. The `normal` lane keeps the platform's own name (chunks queued
 * before lanes existed are still delivered); the others add theirs: `apns-high`.
 */
export function laneQueueName(platform: Platform, lane: Priority): string {
  return lane === 'normal' ? queueName[platform] : `${queueName[platform]}-${lane}`;
}

/**
 * BullMQ prefix with a {hash tag}: every key of a platform's queues (both lanes) lands in one Redis
 * Cluster slot.
 */
export function queuePrefix(prefix: string, platform: Platform): string {
  return `{${prefix}:${queueName[platform]}}`;
}

export function createQueue(platform: Platform, lane: Priority, connection: ConnectionOptions, prefix: string): Queue<ChunkJobData> {
  return new Queue<ChunkJobData>(laneQueueName(platform, lane), { connection, prefix: queuePrefix(prefix, platform) });
}

/** One queue per platform and lane. */
export type LaneQueues = Record<Platform, Record<Priority, Queue<ChunkJobData>>>;

/** Every platform's queue of every lane; `connect` gives each its connection (producers: one each). */
export function createLaneQueues(connect: () => ConnectionOptions, prefix: string): LaneQueues {
  return Object.fromEntries(
    platforms.map((platform) => [
      platform,
      Object.fromEntries(priorities.map((lane) => [lane, createQueue(platform, lane, connect(), prefix)])),
    ]),
  ) as LaneQueues;
}

/** The queues as a list, each with its platform and lane (dashboards, metrics, shutdown). */
export function listQueues(queues: LaneQueues): Array<{ platform: Platform; lane: Priority; queue: Queue<ChunkJobData> }> {
  return platforms.flatMap((platform) => priorities.map((lane) => ({ platform, lane, queue: queues[platform][lane] })));
}

/** The states a queue's depth is reported in (metrics, dashboards). */
export const queueDepthStates = ['waiting', 'active', 'delayed', 'failed', 'paused'] as const;
export type QueueDepth = Record<(typeof queueDepthStates)[number], number>;

/**
 * Chunks in one queue by state. `waiting` counts BullMQ's `prioritized` too: every chunk carries its
 * fair-share round as a BullMQ priority, so that is where waiting chunks are.
 */
export async function queueDepth(queue: Queue): Promise<QueueDepth> {
  const counts = await queue.getJobCounts(...queueDepthStates, 'prioritized');
  const depth = Object.fromEntries(queueDepthStates.map((state) => [state, counts[state] ?? 0])) as QueueDepth;
  depth.waiting += counts.prioritized ?? 0;
  return depth;
}

/**
 * Fair share inside a lane: a chunk is queued with its round within its job as BullMQ priority (chunk k:
 * k + 1; lower first, first come first served within one round). A worker then takes chunk k of every
 * waiting job before chunk k + 1 of any: jobs queued together take turns, and a job queued while a big one
 * drains has its first chunks taken next, so it progresses from its start ("least attained service").
 * BullMQ only reorders waiting chunks; chunks already taken keep their worker. Rounds past BullMQ's limit
 * (2^21 - 1, reached only by a job of more than two million chunks) share its last round.
 *
 * In the normal lane, `shareAmongApps` (fair-share.ts) then turns the rounds within a job into rounds
 * within its app, so that apps come first.
 */
export function fairShareRound(chunk: number): number {
  return Math.min(chunk + 1, PRIORITY_LIMIT);
}

/**
 * The backoff type of chunk jobs: BullMQ's exponential backoff with jitter, but never shorter than the
 * provider's Retry-After (the worker registers it: packages/delivery worker.ts `backoffStrategy`).
 */
export const CHUNK_BACKOFF = 'exponential-retry-after';

/** Retry policy of chunk jobs of `lane`: BullMQ's retries are the only retry loop. */
export function chunkJobOptions(attempts: number, baseDelayMs: number, lane: Priority): JobsOptions {
  return {
    attempts,
    backoff: { type: CHUNK_BACKOFF, delay: baseDelayMs, jitter: 0.5 },
    // Results live in the job store; finished chunk jobs only linger for the dashboard: a normal lane's,
    // not the high lane's, where thousands of one-user chunks a second would keep the list to seconds while
    // keeping it costs BullMQ's finishing script a third more work (an add to the list, a trim, a removal).
    removeOnComplete: lane === 'high' ? true : { age: 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}
