#!/usr/bin/env node
// What an app costs a worker while its provider connections stay open and idle (docs/performance.md, "Apps"):
//   npm run build && node --expose-gc scripts/app-cost.js [apps=100] [ios|android=android]
// Against REDIS_URL (default redis://127.0.0.1:6379) under a prefix of its own, deleted afterwards; the
// simulators run in this process. One chunk per app opens its provider; then memory and connections are read.
'use strict';
const { randomBytes, randomUUID } = require('node:crypto');
const { createLogger, loadApnsWorkerConfig, loadConfig, loadFcmWorkerConfig } = require('../packages/config/dist');
const { apnsWorkerDeps } = require('../apps/apns-worker/dist/worker');
const { fcmWorkerDeps } = require('../apps/fcm-worker/dist/worker');
const { createDeliveryWorker } = require('../packages/delivery/dist');
const { startApnsSimulator, startFcmSimulator } = require('../packages/simulators/dist');
const { AppStore, JobStore, TokenRegistry, appPrefix, createQueue, createRedis, waitForReady } = require('../packages/store/dist');

const say = (line) => process.stderr.write(`[app-cost] ${line}\n`);

function settle() {
  if (!global.gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) global.gc();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

async function main() {
  const apps = Number(process.argv[2] ?? 100);
  const platform = process.argv[3] ?? 'android';
  const prefix = `appcost-${randomBytes(3).toString('hex')}`;
  const [apns, fcm] = await Promise.all([startApnsSimulator(), startFcmSimulator()]);
  const source = {
    ...process.env,
    REDIS_PREFIX: prefix,
    IM_API_KEY: 'app-cost-key-0123456789',
    SECRETS_KEY: randomBytes(32).toString('hex'),
    APP_IDLE_MS: '3600000',
    APP_MAX_OPEN: String(apps + 1),
    APNS_KEY: apns.signingKeyPem,
    APNS_KEY_ID: apns.keyId,
    APNS_TEAM_ID: apns.teamId,
    APNS_TOPIC: 'io.test.cost',
    APNS_HOST: apns.host,
    APNS_PORT: String(apns.port),
    FCM_ENDPOINT: fcm.url,
    FCM_PROJECT_ID: fcm.projectId,
    FCM_ACCESS_TOKEN: fcm.accessToken,
    FCM_RATE_LIMIT_PER_MINUTE: '0',
  };
  const config = loadConfig(source);
  const logger = createLogger('app-cost', 'silent');
  const redis = createRedis(config.REDIS_URL, 'producer');
  await waitForReady(redis);
  const queue = createQueue(platform, 'normal', createRedis(config.REDIS_URL, 'producer'), prefix);
  const sim = platform === 'ios' ? apns : fcm;
  // The worker exactly as its process builds it (apps/*-worker/src/worker.ts), trusting the simulator's CA.
  const deps =
    platform === 'ios'
      ? apnsWorkerDeps(loadApnsWorkerConfig(source), logger, apns.caPem)
      : fcmWorkerDeps(loadFcmWorkerConfig(source), logger, fcm.caPem);
  const worker = createDeliveryWorker(deps);
  await Promise.all(Object.values(worker.workers).map((w) => w.waitUntilReady()));

  const store = new AppStore(redis, prefix, config.secretsKey);
  const ids = Array.from({ length: apps }, (_, i) => `app-${i}`);
  for (const id of ids) {
    const key = apns.addKey();
    const project = fcm.addProject({ projectId: `p-${id}` });
    await store.create({
      id,
      apns: {
        key: key.signingKeyPem,
        keyId: key.keyId,
        teamId: key.teamId,
        topic: `io.test.${id}`,
        production: false,
        host: apns.host,
        port: apns.port,
      },
      fcm: { accessToken: project.accessToken, projectId: project.projectId, endpoint: fcm.url },
    });
  }
  const before = settle();
  const sessionsBefore = sim.stats().sessions;
  say(`${apps} apps created; sending one chunk per app on ${platform}`);
  const jobIds = [];
  for (const id of ids) {
    const own = appPrefix(prefix, id);
    const token = platform === 'ios' ? randomBytes(32).toString('hex') : `cost_${id}_${'0'.repeat(24)}`;
    await new TokenRegistry(redis, own).register('c', platform, token);
    const jobId = randomUUID();
    const jobs = new JobStore(redis, own, 3600);
    await jobs.create({ jobId, clients: 1, chunks: 1, platforms: [platform], payload: { alert: 'cost' }, priority: 'normal' });
    await queue.add('chunk', { app: id, jobId, chunk: 0, clients: ['c'] }, { jobId: `${jobId}-0`, removeOnComplete: true });
    await jobs.markQueued(jobId);
    jobIds.push([jobs, jobId]);
  }
  for (;;) {
    const done = await Promise.all(jobIds.map(([jobs, jobId]) => jobs.get(jobId).then((job) => job?.platforms[platform].chunksDone === 1)));
    if (done.every(Boolean)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const after = settle();
  const open = worker.openApps().length;
  const sessions = sim.stats().sessions - sessionsBefore;
  const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);
  const kb = (bytes) => (bytes / 1024 / open).toFixed(0);
  process.stdout.write(
    `${JSON.stringify({
      platform,
      apps,
      openApps: open,
      connectionsPerApp: sessions / open,
      heapPerAppKiB: Number(kb(after.heapUsed - before.heapUsed)),
      rssPerAppKiB: Number(kb(after.rss - before.rss)),
      heapMiB: { before: Number(mb(before.heapUsed)), after: Number(mb(after.heapUsed)) },
      rssMiB: { before: Number(mb(before.rss)), after: Number(mb(after.rss)) },
    })}\n`,
  );

  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
  await Promise.all([apns.close(), fcm.close()]);
}

main().catch((error) => {
  process.stderr.write(`app-cost: ${error.stack}\n`);
  process.exit(1);
});
