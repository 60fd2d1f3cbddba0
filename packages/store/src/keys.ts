import { DEFAULT_APP, type Platform } from '@push/contract';
import type { RedisClient } from './redis';

/**
 * The key prefix of one app's data (registry, jobs, results, idempotency keys, pauses, limits): the
 * `default` app keeps the deployment's own prefix, so a deployment from before apps keeps its data;
 * another app's keys gain an `app:<id>` segment (outside the {hash tag}, so the Cluster slots are as before).
 */
export function appPrefix(prefix: string, app: string = DEFAULT_APP): string {
  return app === DEFAULT_APP ? prefix : `${prefix}:app:${app}`;
}

/** Every Redis key of the app records (one per deployment, beside the default app's data). */
export function appRegistryKeys(prefix: string) {
  return {
    /** Set of the ids of every app but `default`. */
    appIds: () => `${prefix}:apps`,
    /** Hash of one app: `meta` (JSON, no secret), `secrets` (sealed JSON), `keys` (JSON key id -> hash), `version`. */
    app: (id: string) => `${prefix}:apps:{${id}}`,
    /** String `<app> <key id>` under the SHA-256 (hex) of an API key: how a request finds its app. */
    apiKey: (hash: string) => `${prefix}:apikey:{${hash}}`,
    /** What SCAN matches to find every key of a deleted app. */
    appData: (id: string) => `${appPrefix(prefix, id)}:*`,
  };
}

/**
 * What the provider-wide state (dead-token guard, breaker) is kept per within one app: the platform (`ios`,
 * `android`, later `web`). The app is in the key prefix the stores are given (`appPrefix`), so each app
 * has its own guard and breaker per platform.
 */
export function deliveryScope(platform: string): string {
  return platform;
}

/**
 * Every Redis key the stores use (BullMQ's queue keys live under `queuePrefix`, queues.ts). Keys that one
 * script touches together share a `{hash tag}` so they live in one Redis Cluster slot.
 */
export function storeKeys(prefix: string) {
  return {
    /** String of one client's devices, a `<code><createdAt ms>:<token>` line each (token-registry.ts). */
    clientDevices: (client: string) => `${prefix}:reg:d:{${client}}`,
    /** Hash of one of 65,536 reverse-index buckets: 10 bytes of a token's SHA-256 -> its client. */
    tokenOwners: (bucket: string) => `${prefix}:reg:o:{${bucket}}`,
    /** Hash of one push job: createdAt, payload, chunk counts and per-platform counters. */
    job: (jobId: string) => `${prefix}:job:{${jobId}}`,
    /**
     * Hash of one chunk's per-token results, every platform's (chunk-results.ts): a slot of its own, so a
     * job's result writes spread over a Redis Cluster's masters.
     */
    jobChunk: (jobId: string, chunk: number) => `${prefix}:job:{${jobId}:${chunk}}`,
    /**
     * Jobs created before results were kept per chunk (no `layout` in their hash) keep theirs in the old
     * layout until they expire: a hash token -> "p" (pending) or a final status per platform, and a stream
     * of final results per status.
     */
    jobTokens: (jobId: string, platform: Platform) => `${prefix}:job:{${jobId}}:tok:${platform}`,
    jobResults: (jobId: string, status: string) => `${prefix}:job:{${jobId}}:r:${status}`,
    /** Set of "<platform>:<chunk>" chunks whose every token has its final result. */
    jobChunks: (jobId: string) => `${prefix}:job:{${jobId}}:chunks`,
    /** The send schedule of a throttled job: when its next send may start (commands/throttle-1.lua). */
    jobThrottle: (jobId: string) => `${prefix}:job:{${jobId}}:throttle`,
    /** Sorted set of scheduled job ids by the time their last delivery is planned (the scheduled-jobs metric). */
    scheduledJobs: () => `${prefix}:scheduled`,
    /** Sorted set of job ids by creation time, for dashboards (one key: its own slot, used alone). */
    recentJobs: () => `${prefix}:jobs`,
    /** A client's IANA time zone, for `localTime` jobs (one key per client, beside its devices' slot). */
    clientTimeZone: (client: string) => `${prefix}:reg:z:{${client}}`,
    /** Idempotency-Key -> jobId, for 24 hours. */
    idempotency: (key: string) => `${prefix}:idem:{${key}}`,
    /** Set while a provider asked every worker to stop sending (FCM 429 Retry-After). */
    providerPause: (name: string) => `${prefix}:pause:{${name}}`,
    /** Hash of the dead-token guard of one delivery scope: the open window's counts and recent verdicts. */
    deadTokenGuard: (scope: string) => `${prefix}:guard:{${scope}}`,
    /** Hash of the provider breaker of one delivery scope: failures, openings, open until, probe lease. */
    providerBreaker: (scope: string) => `${prefix}:breaker:{${scope}}`,
    /** Token bucket of a rate limiter. */
    rateLimit: (name: string) => `${prefix}:rl:{${name}}`,
  };
}

export type StoreKeys = ReturnType<typeof storeKeys>;

/**
 * Deletes every key of a prefix: the stores' `<prefix>:*` and BullMQ's `{<prefix>:*` (queuePrefix). For
 * tests and the benchmark, which each write under a prefix of their own on a shared Redis.
 */
export async function deleteKeys(redis: RedisClient, prefix: string): Promise<void> {
  for (const pattern of [`${prefix}:*`, `{${prefix}:*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  }
}
