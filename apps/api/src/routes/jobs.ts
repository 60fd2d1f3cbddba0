import { Router, type Response } from 'express';
import { ok } from '@push/contract';
import type { JobStore } from '@push/store';
import { cancelJob, type CancelDeps } from '../cancel';
import { methodNotAllowed } from '../errors';
import { findJob, resultsPage } from '../job-lookup';

/**
 * Job status, per-token results and cancel, on the job store the workers write: the request's app's, so
 * another app's job id answers exactly as an unknown one.
 */
export function jobRoutes(jobsOf: (res: Response) => JobStore, cancelQueues: CancelDeps['queues']): Router {
  const router = Router();

  router.get('/jobs/:jobId', async (req, res) => {
    res.json(ok(await findJob(jobsOf(res), req.params.jobId)));
  });

  router.delete('/jobs/:jobId', async (req, res) => {
    res.json(ok(await cancelJob({ jobs: jobsOf(res), queues: cancelQueues }, req.params.jobId)));
  });

  router.get('/jobs/:jobId/results', async (req, res) => {
    res.json(ok(await resultsPage(jobsOf(res), req.params.jobId, req.query)));
  });

  // Any other method (OPTIONS included, which Express would otherwise answer in plain text) gets the enveloped 405.
  router.all('/jobs/:jobId', methodNotAllowed(['GET', 'DELETE']));
  router.all('/jobs/:jobId/results', methodNotAllowed(['GET']));

  return router;
}
