import { Router } from 'express';
import type { JobStore, LaneQueues } from '@push/store';
import type { CancelDeps } from '../cancel';
import { requireAdmin } from './auth';
import { adminJobsApi } from './jobs-api';
import { jobsPage } from './jobs-page';
import { queueDashboard } from './queue-dashboard';

export interface AdminDeps {
  jobs: JobStore;
  queues: LaneQueues;
  /** Passwords of the user `admin` (ADMIN_PASSWORD, else the API keys). */
  passwords: readonly string[];
  /** What the jobs page's cancel button needs. */
  cancel: CancelDeps;
  /** Where the router is mounted. @defaultValue /admin */
  mountPath?: string;
}

/**
 * The operators' pages, all behind HTTP Basic auth: `/queues` (bull-board), `/jobs` (recent push jobs
 * and the work waiting and active per lane, live, with a cancel button) and the JSON the jobs page reads
 * and posts (`/api/...`).
 */
export function adminRoutes({ jobs, queues, passwords, cancel, mountPath = '/admin' }: AdminDeps): Router {
  const router = Router();
  router.use(requireAdmin(passwords));
  router.get('/', (_req, res) => res.redirect(302, `${mountPath}/jobs`));
  router.use(jobsPage());
  router.use(adminJobsApi(jobs, queues, cancel));
  router.use('/queues', queueDashboard(queues, `${mountPath}/queues`));
  return router;
}
