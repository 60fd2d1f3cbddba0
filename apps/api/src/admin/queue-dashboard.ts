import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Router } from 'express';
import { listQueues, type LaneQueues } from '@push/store';

/**
 * bull-board over every platform's queues, one per lane (`apns`, `apns-high`, ...), served at `basePath`
 * (its pages and API). The queues keep their BullMQ prefix (`{<REDIS_PREFIX>:apns}`), so the board reads
 * the same keys the workers use. Its "prioritized" tab is where waiting chunks are (their fair-share round
 * is a BullMQ priority).
 */
export function queueDashboard(queues: LaneQueues, basePath: string): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: listQueues(queues).map(
      ({ platform, lane, queue }) => new BullMQAdapter(queue, { description: `${lane} lane: chunk jobs of the ${platform} workers` }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Push queues' } },
  });
  return serverAdapter.getRouter() as Router;
}
