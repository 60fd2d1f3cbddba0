import { Router } from 'express';
import type { JobStore, LaneQueues } from '@push/store';
import { requireAdmin } from './auth';
import { adminJobsApi } from './jobs-api';
import { jobsPage } from './jobs-page';
import { queueDashboard } from './queue-dashboard';

export interface AdminDeps {
  jobs: JobStore;
  queues: LaneQueues;
  /** Passwords of the user `admin` (ADMIN_PASSWORD, else the API keys). */
  passwords: readonly string[];
  /** Where the router is mounted. @defaultValue /admin */
  mountPath?: string;
}

/**
 * The operators' pages, all behind HTTP Basic auth: `/queues` (bull-board), `/jobs` (recent push jobs
 * and the work waiting and active per lane, live) and the JSON the jobs page reads (`/api/...`).
 */
export function adminRoutes({ jobs, queues, passwords, mountPath = '/admin' }: AdminDeps): Router {
  const router = Router();
  router.use(requireAdmin(passwords));
  router.get('/', (_req, res) => res.redirect(302, `${mountPath}/jobs`));
  router.use(jobsPage());
  router.use(adminJobsApi(jobs, queues));
  router.use('/queues', queueDashboard(queues, `${mountPath}/queues`));
  return router;
}
