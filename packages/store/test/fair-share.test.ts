import { Redis } from 'ioredis';
import { Worker } from 'bullmq';
import { chunkJobOptions, createLaneQueues, deleteKeys, fairShareRound, listQueues, shareAmongApps, type LaneQueues } from '@push/store';
import { testRedisUrl, uniquePrefix } from '@push/testing';

// Apps as the first unit of fair share (commands/fairShare-3.lua), read where a worker reads it: the order of
// BullMQ's prioritized set of the queue. Chunks are queued as the API queues them (push-jobs.ts).
const prefix = uniquePrefix('fair');
let redis: Redis;
let queues: LaneQueues;
let taker: Worker;
beforeAll(() => {
  redis = new Redis(testRedisUrl());
  queues = createLaneQueues(() => ({ url: testRedisUrl() }), prefix);
  // Takes chunks by hand (getNextJob), as a worker's slot does.
  taker = new Worker('apns', null, { connection: { url: testRedisUrl() }, prefix: queues.ios.normal.opts.prefix!, autorun: false });
});
afterEach(async () => {
  await queues.ios.normal.obliterate({ force: true });
  await queues.ios.high.obliterate({ force: true });
});
afterAll(async () => {
  await taker.close();
  await Promise.all(listQueues(queues).map(({ queue }) => queue.close()));
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

/** Queues `chunks` chunks of job `jobId` of `app` on iOS, then shares them as the API does. */
async function push(app: string, jobId: string, chunks: number, lane: 'normal' | 'high' = 'normal', delay = 0): Promise<void> {
  await queues.ios[lane].addBulk(
    Array.from({ length: chunks }, (_, chunk) => ({
      name: 'chunk',
      data: { app, jobId, chunk, clients: [`${jobId}.${chunk}`] },
      opts: { ...chunkJobOptions(1, 1, lane), jobId: `${jobId}-${chunk}`, priority: fairShareRound(chunk), ...(delay > 0 && { delay }) },
    })),
  );
  await shareAmongApps(redis, queues, ['ios'], { app, jobId, lane, chunks, delayed: delay > 0 });
}

/** The waiting chunks in the order a worker takes them (`<job>.<chunk>`). */
async function order(lane: 'normal' | 'high' = 'normal'): Promise<string[]> {
  const ids = await redis.zrange(queues.ios[lane].keys.prioritized!, 0, -1);
  return ids.map((id) => id.replace(/-(\d+)$/, '.$1'));
}

const jobOf = (chunk: string) => chunk.split('.')[0]!;

async function take(count: number): Promise<string[]> {
  const taken: string[] = [];
  for (let i = 0; i < count; i++) {
    const job = await taker.getNextJob('test', { block: false });
    taken.push(`${job!.data.jobId}.${job!.data.chunk}`);
  }
  return taken;
}

describe('fair share between apps, then between the jobs of an app', () => {
  it('gives a job of an app alone its rounds within the job, as before apps', async () => {
    await push('a', 'j', 4);
    expect(await order()).toEqual(['j.0', 'j.1', 'j.2', 'j.3']);
    expect((await queues.ios.normal.getPrioritized()).map((job) => job.priority)).toEqual([1, 2, 3, 4]);
  });

  it("alternates between apps whatever number of jobs each runs, and between an app's jobs within its turns", async () => {
    await push('a', 'a1', 4);
    await push('a', 'a2', 4);
    await push('a', 'a3', 4);
    await push('b', 'b1', 4);
    const taken = await order();
    // A, B, A, B, ... while B has chunks: each app one chunk per round.
    expect(taken.slice(0, 8).map((c) => c[0])).toEqual(['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
    const a = taken.filter((c) => c.startsWith('a')).map(jobOf);
    expect(a).toHaveLength(12);
    // Within A's turns, every three consecutive turns serve each of A's three jobs once.
    for (let i = 0; i < 12; i += 3) expect(a.slice(i, i + 3).sort()).toEqual(['a1', 'a2', 'a3']);
    expect(new Set(taken).size).toBe(16);
  });

  it("puts a small job of an app ahead of that app's big job under way, without moving another app's chunks", async () => {
    await push('a', 'big', 8);
    await push('b', 'other', 8);
    // A worker has taken three rounds of both.
    expect(await take(6)).toEqual(['big.0', 'other.0', 'big.1', 'other.1', 'big.2', 'other.2']);
    const before = await order();
    await push('a', 'small', 2);
    const after = await order();
    // A's next two turns go to the small job (each after B's chunk of the same round, queued earlier); B
    // keeps every turn it had, chunk for chunk; the big job's two displaced chunks go to A's end.
    expect(after.filter((c) => c.startsWith('other'))).toEqual(before.filter((c) => c.startsWith('other')));
    expect(after.slice(0, 4)).toEqual(['other.3', 'small.0', 'other.4', 'small.1']);
    expect(after.filter((c) => c.startsWith('big')).sort()).toEqual(before.filter((c) => c.startsWith('big')).sort());
    // Every round (two turns) still has one chunk of each app.
    const apps = after.map((c) => (c.startsWith('other') ? 'b' : 'a'));
    for (let i = 0; i < 10; i += 2) expect(apps.slice(i, i + 2).sort()).toEqual(['a', 'b']);
  });

  it('restarts an app at round 1 once nothing of it waits, and forgets what workers took', async () => {
    await push('a', 'first', 2);
    await push('b', 'long', 6);
    expect(await take(4)).toEqual(['first.0', 'long.0', 'first.1', 'long.1']);
    await push('a', 'second', 2);
    // A had nothing waiting: its new job starts at round 1, ahead of B's later rounds (least attained service).
    expect(await order()).toEqual(['second.0', 'second.1', 'long.2', 'long.3', 'long.4', 'long.5']);
    expect(await redis.zrange(queues.ios.normal.toKey('fair:a'), 0, -1)).toEqual(['second-0', 'second-1']);
  });

  it('changes nothing when the same job is shared again (a retried request), nor for high or delayed chunks', async () => {
    await push('a', 'a1', 3);
    await push('a', 'a2', 3);
    const once = await order();
    await shareAmongApps(redis, queues, ['ios'], { app: 'a', jobId: 'a2', lane: 'normal', chunks: 3, delayed: false });
    expect(await order()).toEqual(once);

    await push('a', 'h1', 1, 'high');
    await push('a', 'h2', 1, 'high');
    expect(await order('high')).toEqual(['h1.0', 'h2.0']);
    await push('a', 'later', 2, 'normal', 60_000);
    expect(await order()).toEqual(once);
    expect(await queues.ios.normal.getDelayedCount()).toBe(2);
  });
});
