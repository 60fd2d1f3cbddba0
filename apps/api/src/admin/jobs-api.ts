import { Router } from 'express';
import { z } from 'zod';
import { describeIssues, ok } from '@push/contract';
import { listQueues, queueDepth, type JobStore, type LaneQueues } from '@push/store';
import { ApiError } from '../errors';
import { findJob, resultsPage } from '../job-lookup';

const recentQuerySchema = z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) });

/**
 * The JSON behind the job-status page, under the dashboards' own auth (no API key in the browser):
 * `GET /api/jobs?limit=` recent jobs, newest first, with their status; `GET /api/jobs/:jobId` one of them;
 * `GET /api/jobs/:jobId/results` one page of per-token results (the query of `/push/jobs/:jobId/results`);
 * `GET /api/lanes` the chunks in each platform's queue of each lane, by state.
 */
export function adminJobsApi(jobs: JobStore, queues: LaneQueues): Router {
  const router = Router();

  router.get('/api/lanes', async (_req, res) => {
    const lanes = await Promise.all(
      listQueues(queues).map(async ({ platform, lane, queue }) => ({
        platform,
        lane,
        queue: queue.name,
        ...(await queueDepth(queue)),
      })),
    );
    res.set('Cache-Control', 'no-store').json(ok({ lanes }));
  });

  router.get('/api/jobs', async (req, res) => {
    const query = recentQuerySchema.safeParse(req.query);
    if (!query.success) throw new ApiError(400, 'INVALID_PARAMETER', describeIssues(query.error));
    res.set('Cache-Control', 'no-store').json(ok({ jobs: await jobs.recent(query.data.limit) }));
  });

  router.get('/api/jobs/:jobId', async (req, res) => {
    res.set('Cache-Control', 'no-store').json(ok(await findJob(jobs, req.params.jobId)));
  });

  router.get('/api/jobs/:jobId/results', async (req, res) => {
    res.set('Cache-Control', 'no-store').json(ok(await resultsPage(jobs, req.params.jobId, req.query)));
  });

  return router;
}
