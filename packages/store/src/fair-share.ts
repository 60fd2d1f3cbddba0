import { PRIORITY_LIMIT } from 'bullmq';
import type { Platform, Priority } from '@push/contract';
import type { LaneQueues } from './queues';
import type { RedisClient } from './redis';
import { storeScripts } from './scripts';

/** An app's index of its waiting chunks lives this long after its last new job (it only speeds nothing up). */
const INDEX_SECONDS = 7 * 24 * 3600;

export interface FairShareJob {
  app: string;
  jobId: string;
  lane: Priority;
  chunks: number;
  /** The chunks wait as BullMQ delayed jobs first (`sendAt`, `localTime`). */
  delayed: boolean;
}

/**
 * Apps as the first unit of fair share (docs/lanes.md): once a normal job's chunks are queued (each with its
 * round within its job, `fairShareRound`), places them among its app's waiting chunks on each platform's
 * queue (commands/fairShare-3.lua), so that apps take turns chunk by chunk and an app's jobs take turns
 * within its turns. One script call per platform, costing O(the job's chunks), whatever the app's backlog.
 *
 * The high lane keeps the rounds within the job (an alert is one chunk: nothing to share, and no cost added
 * per alert); delayed chunks too (they are not waiting yet: they enter the queue with their job's rounds).
 */
export async function shareAmongApps(
  redis: RedisClient,
  queues: LaneQueues,
  platforms: readonly Platform[],
  job: FairShareJob,
): Promise<void> {
  if (job.lane !== 'normal' || job.delayed || job.chunks === 0) return;
  const ids = Array.from({ length: job.chunks }, (_, chunk) => `${job.jobId}-${chunk}`);
  await Promise.all(
    platforms.map((platform) => {
      const queue = queues[platform][job.lane];
      return storeScripts(redis).fairShare(
        queue.toKey(`fair:${job.app}`),
        queue.keys.prioritized!,
        queue.keys.pc!,
        queue.toKey(''),
        PRIORITY_LIMIT,
        INDEX_SECONDS,
        ...ids,
      );
    }),
  );
}
