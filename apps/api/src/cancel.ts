import type { Queue } from 'bullmq';
import type { JobCanceled } from '@push/contract';
import type { ChunkJobData, JobStore } from '@push/store';
import { ApiError } from './errors';
import { findJob } from './job-lookup';

export interface CancelDeps {
  jobs: JobStore;
  /** Every queue a job's chunks can be on. */
  queues: readonly Queue<ChunkJobData>[];
}

/**
 * Cancels a job (`DELETE /push/jobs/:jobId`, the admin page's button). Once the job is marked canceled no
 * worker hands any more of it to a provider: each checks just before every send, so only requests already
 * in flight finish. Its delayed chunks (scheduled, throttled, waiting for a local time) are promoted so the
 * workers end their tokens `canceled` now rather than at their planned time; waiting ones end the same way
 * when taken. Canceling again answers the same; a completed job is 409 JOB_FINISHED.
 */
export async function cancelJob({ jobs, queues }: CancelDeps, jobId: string): Promise<JobCanceled> {
  const status = await findJob(jobs, jobId);
  const canceled = await jobs.cancel(jobId);
  // The record expired between the two reads: asking again answers as for any unknown job (404).
  if (canceled === undefined) return cancelJob({ jobs, queues }, jobId);
  if (canceled === 'finished') throw new ApiError(409, 'JOB_FINISHED', `job ${jobId} has completed: there is nothing left to cancel`);
  // The job's chunk count, from a platform it was queued on (a small push may skip those without devices).
  const chunks = Math.max(...Object.values(status.platforms).map((p) => p.chunks));
  // Chunk job ids are `<jobId>-<chunk>` on every queue (push-jobs.ts).
  await Promise.all(
    queues.flatMap((queue) =>
      Array.from({ length: chunks }, async (_, chunk) => {
        const job = await queue.getJob(`${jobId}-${chunk}`);
        // A chunk taken meanwhile is no longer delayed: promote() refuses it, and its worker sees the cancel.
        if (job && (await job.isDelayed())) await job.promote().catch(() => undefined);
      }),
    ),
  );
  return { jobId, state: 'canceled', canceledAt: new Date(canceled).toISOString() };
}
