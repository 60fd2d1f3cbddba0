import { Router } from 'express';
import { ok } from '@push/contract';
import type { JobStore } from '@push/store';
import { cancelJob, type CancelDeps } from '../cancel';
import { methodNotAllowed } from '../errors';
import { findJob, resultsPage } from '../job-lookup';

/** Job status and per-token results, read from the job store the workers write. */
export function jobRoutes(jobs: JobStore, cancel: CancelDeps): Router {
  const router = Router();

  router.get('/jobs/:jobId', async (req, res) => {
    res.json(ok(await findJob(jobs, req.params.jobId)));
  });

  router.delete('/jobs/:jobId', async (req, res) => {
    res.json(ok(await cancelJob(cancel, req.params.jobId)));
  });

  router.get('/jobs/:jobId/results', async (req, res) => {
    res.json(ok(await resultsPage(jobs, req.params.jobId, req.query)));
  });

  // Any other method (OPTIONS included, which Express would otherwise answer in plain text) gets the enveloped 405.
  router.all('/jobs/:jobId', methodNotAllowed(['GET', 'DELETE']));
  router.all('/jobs/:jobId/results', methodNotAllowed(['GET']));

  return router;
}
