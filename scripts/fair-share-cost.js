#!/usr/bin/env node
// What apps as the first unit of fair share cost the API (docs/performance.md, "Apps"): the time of one
// shareAmongApps call (commands/fairShare-3.lua, one queue), by what the app already has waiting:
//   npm run build && node scripts/fair-share-cost.js [rounds=5]
// Against REDIS_URL (default redis://127.0.0.1:6379) under a prefix of its own, deleted afterwards. Chunks are
// queued as the API queues them (addBulk, round within the job as priority), with one client id each (the
// script reads ids and priorities only, so a chunk's size does not matter). Medians of `rounds` runs.
'use strict';
const { randomBytes } = require('node:crypto');
const { Worker } = require('bullmq');
const {
  chunkJobName,
  chunkJobOptions,
  createLaneQueues,
  createRedis,
  deleteKeys,
  fairShareRound,
  listQueues,
  shareAmongApps,
  waitForReady,
} = require('../packages/store/dist');

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const rounds = Number(process.argv[2] ?? 5);
  const prefix = `fscost-${randomBytes(3).toString('hex')}`;
  const redis = createRedis(url, 'producer');
  await waitForReady(redis);
  // Connections handed to BullMQ stay open when it closes: each is disconnected at the end.
  const connections = [redis];
  const connect = (role) => connections[connections.push(createRedis(url, role)) - 1];
  const queues = createLaneQueues(() => connect('producer'), prefix);
  const queue = queues.ios.normal;
  const taker = new Worker(queue.name, null, { connection: connect('worker'), prefix: queue.opts.prefix, autorun: false });
  let n = 0;
  /** Queues a job of `chunks` chunks of `app`; returns the ms its shareAmongApps took. */
  const push = async (app, chunks) => {
    const jobId = `job${n++}`;
    await queue.addBulk(
      Array.from({ length: chunks }, (_, chunk) => ({
        name: chunkJobName(app),
        data: { app, jobId, chunk, clients: ['c'] },
        opts: { ...chunkJobOptions(1, 1), jobId: `${jobId}-${chunk}`, priority: fairShareRound(chunk) },
      })),
    );
    const started = process.hrtime.bigint();
    await shareAmongApps(redis, queues, ['ios'], { app, jobId, lane: 'normal', chunks, delayed: false });
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  const cases = [
    ['1,000 chunks, the app has nothing waiting (a 1,000,000-client request)', async () => push('a', 1000)],
    [
      '1,000 chunks, the app has 1,000 waiting, none taken (the rounds interleave: the costliest case)',
      async () => (await push('a', 1000), push('a', 1000)),
    ],
    [
      '1,000 chunks, the app has 2,000 waiting in two jobs, none taken',
      async () => (await push('a', 1000), await push('a', 1000), push('a', 1000)),
    ],
    [
      '10 chunks, the app has a 10,000-chunk job under way (100 chunks taken)',
      async () => {
        await push('a', 10_000);
        for (let i = 0; i < 100; i++) await taker.getNextJob('cost', { block: false });
        return push('a', 10);
      },
    ],
    ['10 chunks of another app, beside a 10,000-chunk backlog', async () => (await push('a', 10_000), push('b', 10))],
  ];
  const lines = [];
  for (const [what, run] of cases) {
    const times = [];
    for (let r = 0; r < rounds; r++) {
      times.push(await run());
      await queue.obliterate({ force: true });
      await redis.del(queue.toKey('fair:a'), queue.toKey('fair:b'));
    }
    lines.push(`| ${what} | ${median(times).toFixed(1)} ms |`);
    process.stderr.write(`[fair-share-cost] ${what}: ${times.map((t) => t.toFixed(1)).join(' / ')} ms\n`);
  }
  process.stdout.write(['| the new job | shareAmongApps (median) |', '| --- | --- |', ...lines].join('\n') + '\n');
  await taker.close();
  await Promise.all(listQueues(queues).map(({ queue: q }) => q.close()));
  await deleteKeys(redis, prefix);
  for (const connection of connections) connection.disconnect();
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
