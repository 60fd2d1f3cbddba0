import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { STALLED_TOO_OFTEN } from '@push/delivery';
import { deleteKeys, testRedisUrl, uniquePrefix } from '@push/testing';

// The delivery worker recognises one BullMQ failure by its message text: a chunk that stalled more than
// maxStalledCount times is failed without running, and its tokens still need a final result. Here BullMQ
// itself is run into that failure, so an upgrade that rewords it fails this test instead of leaving
// such chunks without results.

const prefix = uniquePrefix('bullmq-text');
const name = 'stall';
let connection: Redis;
beforeAll(() => {
  connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
});
afterAll(async () => {
  await deleteKeys(connection, prefix);
  connection.disconnect();
});

test('a job that stalled too often fails with the message the delivery worker looks for', async () => {
  const queue = new Queue(name, { connection, prefix });
  await queue.add('chunk', { n: 1 });
  // A worker takes the job and then goes silent (no processor, so nobody renews its lock): a crash.
  const crashed = new Worker(name, null, { connection, prefix, lockDuration: 200 });
  expect(await crashed.getNextJob('crashed-worker')).toBeDefined();

  let ran = false;
  const watcher = new Worker(
    name,
    () => {
      ran = true;
      return Promise.resolve();
    },
    { connection, prefix, stalledInterval: 200, maxStalledCount: 0, autorun: false },
  );
  const failed = new Promise<string>((resolve) => watcher.on('failed', (_job, err) => resolve(err.message)));
  void watcher.run();
  const message = await failed;
  expect(message).toMatch(STALLED_TOO_OFTEN);
  expect(ran).toBe(false);
  await Promise.all([watcher.close(), crashed.close(), queue.close()]);
});
