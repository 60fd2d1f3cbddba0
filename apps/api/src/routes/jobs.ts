import { Router, type Response } from 'express';
import { ApiError, describeIssues, ok, resultsQuerySchema } from '@push/contract';
import { InvalidCursorError, type JobStore } from '@push/store';
import { methodNotAllowed } from '../errors';

const jobIdPattern = /^[0-9a-f-]{36}$/;

/**
 * Job status and per-token results, read from the job store the workers write: the request's app's, so
 * another app's job id answers exactly as an unknown one.
 */
export function jobRoutes(jobsOf: (res: Response) => JobStore): Router {
  const router = Router();

  router.get('/jobs/:jobId', async (req, res) => {
    const jobs = jobsOf(res);
    const job = jobIdPattern.test(req.params.jobId) ? await jobs.get(req.params.jobId) : undefined;
    if (!job) throw new ApiError(404, 'JOB_NOT_FOUND', `no job ${req.params.jobId} (unknown, or older than the retention period)`);
    res.json(ok(job));
  });

  router.get('/jobs/:jobId/results', async (req, res) => {
    const query = resultsQuerySchema.safeParse(req.query);
    if (!query.success) throw new ApiError(400, 'INVALID_PARAMETER', describeIssues(query.error));
    const jobs = jobsOf(res);
    const job = jobIdPattern.test(req.params.jobId) ? await jobs.get(req.params.jobId) : undefined;
    if (!job) throw new ApiError(404, 'JOB_NOT_FOUND', `no job ${req.params.jobId} (unknown, or older than the retention period)`);
    try {
      res.json(ok(await jobs.results(job.jobId, query.data)));
    } catch (error) {
      if (error instanceof InvalidCursorError) throw new ApiError(400, 'INVALID_CURSOR', error.message);
      throw error;
    }
  });

  // Any other method (OPTIONS included, which Express would otherwise answer in plain text) gets the enveloped 405.
  router.all('/jobs/:jobId', methodNotAllowed(['GET']));
  router.all('/jobs/:jobId/results', methodNotAllowed(['GET']));

  return router;
}
