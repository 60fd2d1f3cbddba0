import { describeIssues, resultsQuerySchema } from '@push/contract';
import { InvalidCursorError, type JobStatus, type JobStore, type ResultItem } from '@push/store';
import { ApiError } from './errors';

/** Job ids are the UUIDs the API hands out; anything else is unknown without asking Redis. */
const jobIdPattern = /^[0-9a-f-]{36}$/;

/** A job's status, or 404 JOB_NOT_FOUND (for `/push/jobs` and the dashboard's API alike). */
export async function findJob(jobs: JobStore, jobId: string): Promise<JobStatus> {
  const job = jobIdPattern.test(jobId) ? await jobs.get(jobId) : undefined;
  if (!job) throw new ApiError(404, 'JOB_NOT_FOUND', `no job ${jobId} (unknown, or older than the retention period)`);
  return job;
}

/**
 * One page of a job's per-token results for a request's query (`status`, `limit`, `cursor`): 400
 * INVALID_PARAMETER / INVALID_CURSOR for a bad query, 404 for an unknown job.
 */
export async function resultsPage(
  jobs: JobStore,
  jobId: string,
  rawQuery: unknown,
): Promise<{ items: ResultItem[]; nextCursor: string | null }> {
  const query = resultsQuerySchema.safeParse(rawQuery);
  if (!query.success) throw new ApiError(400, 'INVALID_PARAMETER', describeIssues(query.error));
  const job = await findJob(jobs, jobId);
  try {
    return await jobs.results(job.jobId, query.data);
  } catch (error) {
    if (error instanceof InvalidCursorError) throw new ApiError(400, 'INVALID_CURSOR', error.message);
    throw error;
  }
}
