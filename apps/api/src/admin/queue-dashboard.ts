import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Router } from 'express';

/**
 * bull-board over the platform queues, served at `basePath` (its pages and API). The queues keep their
 * BullMQ prefix (`{<REDIS_PREFIX>:apns}`), so the board reads the same keys the workers use.
 */
export function queueDashboard(queues: readonly Queue[], basePath: string): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { description: `chunk jobs of the ${queue.name} worker` })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Push queues' } },
  });
  return serverAdapter.getRouter() as Router;
}
