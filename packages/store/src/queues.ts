import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Platform } from '@push/contract';

/** One chunk of a push job for one platform: up to PUSH_CHUNK_CLIENTS client ids. No secrets, no payload. */
export interface ChunkJobData {
  jobId: string;
  chunk: number;
  clients: string[];
  /** Set when a chunk is retried: the tokens still without a final result, so retries finish exactly those. */
  resolved?: { client: string; token: string; at?: number }[];
  /** Set with `resolved`: how many of the chunk's clients had a token on this platform at the first run. */
  clientsWithTokens?: number;
}

export const queueName: Record<Platform, string> = { ios: 'apns', android: 'fcm', web: 'webpush' };

/** BullMQ prefix with a {hash tag}: every key of one queue lands in one Redis Cluster slot. */
export function queuePrefix(prefix: string, platform: Platform): string {
  return `{${prefix}:${queueName[platform]}}`;
}

export function createQueue(platform: Platform, connection: ConnectionOptions, prefix: string): Queue<ChunkJobData> {
  return new Queue<ChunkJobData>(queueName[platform], { connection, prefix: queuePrefix(prefix, platform) });
}

/**
 * The backoff type of chunk jobs: BullMQ's exponential backoff with jitter, but never shorter than the
 * provider's Retry-After (the worker registers it: packages/delivery worker.ts `backoffStrategy`).
 */
export const CHUNK_BACKOFF = 'exponential-retry-after';

/** Retry policy of chunk jobs: BullMQ's retries are the only retry loop. */
export function chunkJobOptions(attempts: number, baseDelayMs: number): JobsOptions {
  return {
    attempts,
    backoff: { type: CHUNK_BACKOFF, delay: baseDelayMs, jitter: 0.5 },
    // Results live in the job store; finished chunk jobs only need to linger for the dashboard.
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}
