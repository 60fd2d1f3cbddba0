import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Job, type JobType, type Queue } from 'bullmq';
import { Router } from 'express';
import { appIdSchema, DEFAULT_APP } from '@push/contract';
import { appOfChunkJob, listQueues, type AppStore, type ChunkJobData, type LaneQueues } from '@push/store';
import { ApiError } from '../errors';

/**
 * bull-board over every platform's queues, one per lane (`apns`, `apns-high`, ...), served at `basePath`
 * (its pages and API). The queues keep their BullMQ prefix (`{<REDIS_PREFIX>:apns}`), so the board reads
 * the same keys the workers use. Its "prioritized" tab is where waiting chunks are (their fair-share slot
 * is a BullMQ priority). A chunk job's name says its app (`chunk:<app>`).
 */
export function queueDashboard(queues: LaneQueues, basePath: string): Router {
  return board(queues, basePath, (queue, options) => new BullMQAdapter(queue, options), 'Push queues');
}

function board(
  queues: LaneQueues,
  basePath: string,
  adapter: (queue: Queue<ChunkJobData>, options: { description: string }) => BullMQAdapter,
  boardTitle: string,
): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: listQueues(queues).map(({ platform, lane, queue }) =>
      adapter(queue, { description: `${lane} lane: chunk jobs of the ${platform} workers` }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle } },
  });
  return serverAdapter.getRouter() as Router;
}

/** The states a board lists: what BullMQ counts. */
const boardStates: JobType[] = ['active', 'waiting', 'waiting-children', 'prioritized', 'completed', 'failed', 'delayed', 'paused'];

/**
 * How many chunks of each state (newest first) an app's board looks through: BullMQ has no index by app (nor
 * does bull-board search), so the board reads the names of that many chunk jobs per state and queue.
 */
export const APP_BOARD_SCAN = 1000;

/**
 * One app's chunks only, among the newest APP_BOARD_SCAN of each state; read-only, since bull-board's
 * actions (retry all, clean, empty) act on the whole queue, every app's chunks included.
 */
class AppChunksAdapter extends BullMQAdapter {
  constructor(
    private readonly chunks: Queue<ChunkJobData>,
    private readonly app: string,
    options: { description: string },
  ) {
    super(chunks, { ...options, readOnlyMode: true });
  }

  private async appIds(states: JobType[]): Promise<string[]> {
    const ids = await this.chunks.getRanges(states, 0, APP_BOARD_SCAN - 1);
    const client = await this.chunks.client;
    const names = await Promise.all(ids.map((id) => client.hget(this.chunks.toKey(id), 'name')));
    // Chunks named before names said the app: their data (the app, if not `default`) says it.
    const legacy = await Promise.all(
      ids.map((id, i) => (names[i] === 'chunk' ? client.hget(this.chunks.toKey(id), 'data') : Promise.resolve(null))),
    );
    return ids.filter((_, i) => {
      const name = names[i];
      return typeof name === 'string' && appOfChunkJob(name, () => JSON.parse(legacy[i] ?? '{}') as ChunkJobData) === this.app;
    });
  }

  override async getJobCounts(): Promise<Record<string, number>> {
    const counts = await Promise.all(boardStates.map(async (state) => [state, (await this.appIds([state])).length] as const));
    return Object.fromEntries(counts);
  }

  override async getJobs(states: JobType[], start = 0, end = -1): Promise<Job[]> {
    const ids = (await this.appIds(states)).slice(start, end < 0 ? undefined : end + 1);
    const jobs = await Promise.all(ids.map((id) => Job.fromId(this.chunks, id)));
    return jobs.filter((job): job is Job => job !== undefined);
  }
}

/**
 * `<basePath>/<app id>/`: a bull-board of one app's chunks (404 APP_NOT_FOUND for an app that does not
 * exist). Boards are made on first use and kept: apps are few, and created by operators.
 */
export function appQueueDashboards(apps: AppStore, queues: LaneQueues, basePath: string): Router {
  const boards = new Map<string, Router>();
  const router = Router();
  router.use('/:id', async (req, res, next) => {
    const id = appIdSchema.safeParse(req.params.id);
    const app = id.success ? id.data : undefined;
    if (app === undefined || (app !== DEFAULT_APP && (await apps.version(app)) === undefined)) {
      throw new ApiError(404, 'APP_NOT_FOUND', `no app ${req.params.id}`);
    }
    let appBoard = boards.get(app);
    if (!appBoard) {
      appBoard = board(queues, `${basePath}/${app}`, (queue, options) => new AppChunksAdapter(queue, app, options), `Push queues: ${app}`);
      boards.set(app, appBoard);
    }
    appBoard(req, res, next);
  });
  return router;
}
