import { Router } from 'express';
import { ApiError, describeIssues, ok, resultsQuerySchema } from '@push/contract';
import { InvalidCursorError, type JobStore } from '@push/store';
import { cancelJob, type CancelDeps } from '../cancel';
import { methodNotAllowed } from '../errors';

const jobIdPattern = /^[0-9a-f-]{36}$/;

/** Job status and per-token results, read from the job store the workers write. */
export function jobRoutes(jobs: JobStore, cancel: CancelDeps): Router {
  const router = Router();

  router.get('/jobs/:jobId', async (req, res) => {
    const job = jobIdPattern.test(req.params.jobId) ? await jobs.get(req.params.jobId) : undefined;
    if (!job) throw new ApiError(404, 'JOB_NOT_FOUND', `no job ${req.params.jobId} (unknown, or older than the retention period)`);
    res.json(ok(job));
  });

  router.delete('/jobs/:jobId', async (req, res) => {
    res.json(ok(await cancelJob(cancel, req.params.jobId)));
  });

  router.get('/jobs/:jobId/results', async (req, res) => {
    const query = resultsQuerySchema.safeParse(req.query);
    if (!query.success) throw new ApiError(400, 'INVALID_PARAMETER', describeIssues(query.error));
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
  router.all('/jobs/:jobId', methodNotAllowed(['GET', 'DELETE']));
  router.all('/jobs/:jobId/results', methodNotAllowed(['GET']));

  return router;
}
