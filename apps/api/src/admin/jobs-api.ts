import { Router, type Request } from 'express';
import { z } from 'zod';
import { appIdSchema, DEFAULT_APP, describeIssues, ok } from '@push/contract';
import { listQueues, queueDepth, type AppStore, type JobStore, type LaneQueues } from '@push/store';
import { ApiError } from '../errors';
import { findJob, resultsPage } from '../job-lookup';
import { cancelJob, type CancelDeps } from '../cancel';

/**
 * The header the jobs page sends with its cancel request. The browser resends the Basic credentials on any
 * request to this origin, a forged cross-site one included; a cross-site page cannot add a custom header
 * without a CORS preflight this server never grants, so a request carrying it came from our own page.
 */
export const ADMIN_ACTION_HEADER = 'X-Push-Admin-Action';

const recentQuerySchema = z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) });

/** The job store of each app, and the apps there are besides `default`. */
export interface AdminJobsDeps {
  jobsOf: (app: string) => JobStore;
  apps: AppStore;
  queues: LaneQueues;
  /** Every queue a job's chunks can be on (cancel). */
  cancelQueues: CancelDeps['queues'];
}

/**
 * The JSON behind the job-status page, under the dashboards' own auth (no API key in the browser), each
 * route for one app (`?app=`, default `default`): `GET /api/jobs?limit=` recent jobs, newest first, with
 * their status; `GET /api/jobs/:jobId` one of them; `GET /api/jobs/:jobId/results` one page of per-token
 * results (the query of `/push/jobs/:jobId/results`); `GET /api/apps` the app ids to filter by;
 * `GET /api/lanes` the chunks in each platform's queue of each lane, by state (every app's);
 * `POST /api/jobs/:jobId/cancel` (with ADMIN_ACTION_HEADER: `cancel`) cancels it as `DELETE /push/jobs/:jobId`.
 */
export function adminJobsApi({ jobsOf, apps, queues, cancelQueues }: AdminJobsDeps): Router {
  const router = Router();

  /** The app the request names (`?app=`), taken out of the query; 404 APP_NOT_FOUND for one that does not exist. */
  const appOf = async (req: Request): Promise<{ jobs: JobStore; query: Record<string, unknown> }> => {
    const { app = DEFAULT_APP, ...query } = req.query as Record<string, unknown>;
    const id = appIdSchema.safeParse(app);
    if (!id.success || (id.data !== DEFAULT_APP && (await apps.version(id.data)) === undefined)) {
      throw new ApiError(404, 'APP_NOT_FOUND', `no app ${String(app)}`);
    }
    return { jobs: jobsOf(id.data), query };
  };

  router.get('/api/apps', async (_req, res) => {
    const others = (await apps.list()).map((app) => app.id);
    res.set('Cache-Control', 'no-store').json(ok({ apps: [DEFAULT_APP, ...others] }));
  });

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
    const { jobs, query: raw } = await appOf(req);
    const query = recentQuerySchema.safeParse(raw);
    if (!query.success) throw new ApiError(400, 'INVALID_PARAMETER', describeIssues(query.error));
    res.set('Cache-Control', 'no-store').json(ok({ jobs: await jobs.recent(query.data.limit) }));
  });

  router.get('/api/jobs/:jobId', async (req, res) => {
    const { jobs } = await appOf(req);
    res.set('Cache-Control', 'no-store').json(ok(await findJob(jobs, req.params.jobId)));
  });

  router.get('/api/jobs/:jobId/results', async (req, res) => {
    const { jobs, query } = await appOf(req);
    res.set('Cache-Control', 'no-store').json(ok(await resultsPage(jobs, req.params.jobId, query)));
  });

  router.post('/api/jobs/:jobId/cancel', async (req, res) => {
    // Fetch metadata, where the browser sends it, names a cross-site request outright.
    const site = req.get('sec-fetch-site');
    if (req.get(ADMIN_ACTION_HEADER) !== 'cancel' || (site !== undefined && site !== 'same-origin')) {
      throw new ApiError(403, 'CROSS_SITE_REQUEST', `cancel only from the jobs page (it sends ${ADMIN_ACTION_HEADER}: cancel)`);
    }
    const { jobs } = await appOf(req);
    res.set('Cache-Control', 'no-store').json(ok(await cancelJob({ jobs, queues: cancelQueues }, req.params.jobId)));
  });

  return router;
}
