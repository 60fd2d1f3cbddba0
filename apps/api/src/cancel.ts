import type { Queue } from 'bullmq';
import { ApiError } from '@push/contract';
import type { ChunkJobData, JobStore } from '@push/store';

export interface CancelDeps {
  jobs: JobStore;
  /** Every queue a job's chunks can be on. */
  queues: readonly Queue<ChunkJobData>[];
}

const jobIdPattern = /^[0-9a-f-]{36}$/;

/**
 * Cancels a job (`DELETE /push/jobs/:jobId`, the admin page's button). Once the job is marked canceled no
 * worker hands any more of it to a provider: each checks just before every send, so only requests already
 * in flight finish. Its delayed chunks (scheduled, throttled, waiting for a local time) are promoted so the
 * workers end their tokens `canceled` now rather than at their planned time; waiting ones end the same way
 * when taken. Canceling again answers the same; a completed job is 409 JOB_FINISHED.
 */
export async function cancelJob(
  { jobs, queues }: CancelDeps,
  jobId: string,
): Promise<{ jobId: string; state: 'canceled'; canceledAt: string }> {
  const canceled = jobIdPattern.test(jobId) ? await jobs.cancel(jobId) : undefined;
  if (canceled === undefined) throw new ApiError(404, 'JOB_NOT_FOUND', `no job ${jobId} (unknown, or older than the retention period)`);
  if (canceled === 'finished') throw new ApiError(409, 'JOB_FINISHED', `job ${jobId} has completed: there is nothing left to cancel`);
  const status = await jobs.get(jobId);
  const chunks = status ? Object.values(status.platforms)[0]!.chunks : 0;
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
