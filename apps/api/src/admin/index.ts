import { Router } from 'express';
import type { AppStore, JobStore, LaneQueues } from '@push/store';
import type { CancelDeps } from '../cancel';
import { requireAdmin } from './auth';
import { adminJobsApi } from './jobs-api';
import { jobsPage } from './jobs-page';
import { appQueueDashboards, queueDashboard } from './queue-dashboard';

export interface AdminDeps {
  /** The job store of each app. */
  jobsOf: (app: string) => JobStore;
  apps: AppStore;
  queues: LaneQueues;
  /** Passwords of the user `admin` (config.ts `operatorSecrets`). */
  passwords: () => Promise<readonly string[]>;
  /** Every queue a job's chunks can be on (the jobs page's cancel button). */
  cancelQueues: CancelDeps['queues'];
  /** Where the router is mounted. @defaultValue /admin */
  mountPath?: string;
}

/**
 * The operators' pages, all behind HTTP Basic auth: `/queues` (bull-board; `/queues/app/<id>/` one app's
 * chunks), `/jobs` (recent push jobs
 * and the work waiting and active per lane, live, with a cancel button) and the JSON the jobs page reads
 * and posts (`/api/...`).
 */
export function adminRoutes({ jobsOf, apps, queues, passwords, cancelQueues, mountPath = '/admin' }: AdminDeps): Router {
  const router = Router();
  router.use(requireAdmin(passwords));
  router.get('/', (_req, res) => res.redirect(302, `${mountPath}/jobs`));
  router.use(jobsPage());
  router.use(adminJobsApi({ jobsOf, apps, queues, cancelQueues }));
  router.use('/queues/app', appQueueDashboards(apps, queues, `${mountPath}/queues/app`));
  router.use('/queues', queueDashboard(queues, `${mountPath}/queues`));
  return router;
}
