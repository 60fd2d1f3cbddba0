import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Cluster, Redis } from 'ioredis';
import { createServer } from '@push/api/server';
import { createLogger, loadApiConfig, loadApnsWorkerConfig, loadWebPushWorkerConfig, type ApiConfig } from '@push/config';
import { platforms } from '@push/contract';
import { createDeliveryWorker, type DeliveryWorker } from '@push/delivery';
import { apnsWorkerDeps } from '@push/apns-worker/worker';
import { webpushWorkerDeps } from '@push/webpush-worker/worker';
import {
  startApnsSimulator,
  startFcmSimulator,
  startWebPushSimulator,
  type ApnsSimulator,
  type FcmSimulator,
  type WebPushSimulator,
} from '@push/simulators';
import {
  createLaneQueues,
  createRedis,
  laneQueueName,
  listQueues,
  queuePrefix,
  startRedisCluster,
  storeKeys,
  waitForReady,
  type JobStatus,
  type LaneQueues,
  type RedisClient,
  type RedisClusterProcesses,
} from '@push/store';
import { fetchJson, simulatorEnv, uniquePrefix, waitFor } from '@push/testing';

// A real three-master Redis Cluster of `redis-server` processes, and a whole push job through it: the API
// (in process), an APNs worker (in process) and an FCM worker process, both simulators. Every store key
// and every queue key lands where its scripts and transactions need it, or the job could not complete.

const root = resolve(__dirname, '../../..');
const API_KEY = 'cluster-key-0123456789abcdef';
const iosToken = (n: number) => `c1${n}`.padEnd(64, 'a');
const fcmToken = (n: number) => `cluster_token_${String(n).padStart(20, '0')}`;

/** The FCM worker as its own process (REDIS_CLUSTER from its environment), ready once it says so. */
function startFcmWorkerProcess(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(root, 'apps/fcm-worker/dist/index.js')], {
    env: { ...process.env, ...env, LOG_LEVEL: 'info', WORKER_METRICS_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolveChild, reject) => {
    const timer = setTimeout(() => reject(new Error('the FCM worker process did not get ready')), 30_000);
    child.once('exit', (code) => reject(new Error(`the FCM worker process exited with ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes('"msg":"worker ready"')) {
        clearTimeout(timer);
        resolveChild(child);
      }
    });
  });
}

describe('Redis Cluster', () => {
  let cluster: RedisClusterProcesses;
  let seedUrl: string;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    seedUrl = `redis://127.0.0.1:${cluster.ports[0]}`;
  });
  afterAll(() => cluster?.stop());

  describe('createRedis', () => {
    it.each(['producer', 'worker'] as const)('returns a ready ioredis Cluster for the %s role with REDIS_CLUSTER', async (role) => {
      const client = createRedis(seedUrl, role, { cluster: true });
      try {
        expect(client).toBeInstanceOf(Cluster);
        await waitForReady(client, 10_000);
        expect(client.status).toBe('ready');
        const redisOptions = (client as Cluster).options.redisOptions!;
        expect(redisOptions.maxRetriesPerRequest).toBe(role === 'worker' ? null : 1);
        expect((client as Cluster).options.enableOfflineQueue).toBe(role === 'worker');
        expect((client as Cluster).nodes('master')).toHaveLength(3);
      } finally {
        client.disconnect();
      }
    });

    it('returns a plain Redis connection without it', () => {
      const client = createRedis(seedUrl, 'producer', { lazyConnect: true });
      expect(client).toBeInstanceOf(Redis);
      client.disconnect();
    });
  });

  describe('a whole push job', () => {
    const logger = createLogger('cluster-test', 'silent');
    let config: ApiConfig;
    let env: Record<string, string>;
    let apns: ApnsSimulator;
    let fcm: FcmSimulator;
    let webpush: WebPushSimulator;
    let redis: RedisClient;
    let queues: LaneQueues;
    let server: Server;
    let url: string;
    let apnsWorker: DeliveryWorker;
    let webWorker: DeliveryWorker;
    let fcmWorker: ChildProcess;
    let keyFile: string;

    const request = (method: string, path: string, body?: unknown) => fetchJson(url + path, method, body, { 'IM-API-KEY': API_KEY });

    beforeAll(async () => {
      [apns, fcm, webpush] = await Promise.all([
        startApnsSimulator({ dead: [iosToken(1)] }),
        startFcmSimulator({ flakyOnce: [fcmToken(2)] }),
        startWebPushSimulator(),
      ]);
      env = {
        REDIS_URL: seedUrl,
        REDIS_CLUSTER: 'true',
        REDIS_PREFIX: uniquePrefix('cluster'),
        IM_API_KEY: API_KEY,
        API_RATE_LIMIT_PER_MINUTE: '100000',
        PUSH_CHUNK_CLIENTS: '7',
        RETRY_BASE_DELAY_MS: '50',
        STALLED_INTERVAL_MS: '1000',
        ...simulatorEnv(apns, fcm, webpush),
        FCM_RATE_LIMIT_PER_MINUTE: '100000',
        NODE_EXTRA_CA_CERTS: apns.caFile,
        LOG_LEVEL: 'silent',
      };
      keyFile = env.APNS_KEY_FILE!;
      config = loadApiConfig(env);

      redis = createRedis(config.REDIS_URL, 'producer', { cluster: config.REDIS_CLUSTER });
      await waitForReady(redis);
      queues = createLaneQueues(
        () => createRedis(config.REDIS_URL, 'producer', { cluster: true, enableAutoPipelining: false }),
        config.REDIS_PREFIX,
      );
      const app = createServer({ config, logger, redis, queues });
      server = await new Promise((r) => {
        const s = app.listen(0, '127.0.0.1', () => r(s));
      });
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

      apnsWorker = createDeliveryWorker(apnsWorkerDeps(loadApnsWorkerConfig({ ...env, APNS_CONNECTIONS: '1' }), logger, apns.caPem));
      webWorker = createDeliveryWorker(
        webpushWorkerDeps(loadWebPushWorkerConfig({ ...env, WEBPUSH_CONNECTIONS: '2' }), logger, webpush.caPem),
      );
      fcmWorker = await startFcmWorkerProcess(env);
    });

    afterAll(async () => {
      if (fcmWorker && fcmWorker.exitCode === null) {
        const exited = new Promise((r) => fcmWorker.once('exit', r));
        fcmWorker.kill('SIGTERM');
        await exited;
      }
      await apnsWorker?.close();
      await webWorker?.close();
      server?.closeAllConnections();
      await new Promise((r) => server?.close(r));
      await Promise.all(
        (queues ? listQueues(queues).map(({ queue }) => queue) : []).map(async (q) => {
          const client = await q.client;
          await q.close();
          client.disconnect();
        }),
      );
      redis?.disconnect();
      await Promise.all([apns?.close(), fcm?.close(), webpush?.close()]);
      rmSync(keyFile, { force: true });
    });

    it('delivers every token, with the idempotent scripts, queues and rate limiter on a three-master cluster', async () => {
      const clients = Array.from({ length: 20 }, (_, i) => `cluster-user-${i}`);
      // Straight into the registry for most (faster than one request each)...
      const { TokenRegistry } = await import('@push/store');
      const registry = new TokenRegistry(redis, config.REDIS_PREFIX);
      await Promise.all(
        clients
          .slice(1)
          .flatMap((c, i) => [registry.register(c, 'ios', iosToken(i + 1)), registry.register(c, 'android', fcmToken(i + 1))]),
      );
      // ...and through the API for one client (register, list).
      expect((await request('POST', '/push/tokens', { client: clients[0], platform: 'ios', token: iosToken(0) })).status).toBe(200);
      expect((await request('POST', '/push/tokens', { client: clients[0], platform: 'android', token: fcmToken(0) })).status).toBe(200);
      const subscription = webpush.subscribe();
      expect((await request('POST', '/push/tokens', { client: clients[0], platform: 'web', subscription })).status).toBe(200);

      const pushed = await fetch(`${url}/push/push2clients`, {
        method: 'POST',
        headers: { 'IM-API-KEY': API_KEY, 'Content-Type': 'application/json', 'Idempotency-Key': 'cluster-job-1' },
        // Normal: its chunks are shared among the app's on each queue (commands/fairShare-3.lua) on the cluster too.
        body: JSON.stringify({ clients: [...clients, 'nobody'], payload: { alert: 'cluster', badge: 1 }, priority: 'normal' }),
      });
      expect(pushed.status).toBe(200);
      const { jobId } = ((await pushed.json()) as { result: { jobId: string } }).result;

      const job = await waitFor(
        async () => {
          const res = await request('GET', `/push/jobs/${jobId}`);
          return res.body.result?.state === 'completed' ? (res.body.result as JobStatus) : undefined;
        },
        60_000,
        'the job to complete on the cluster',
      );
      expect(job.totals).toEqual({ clients: 21, tokens: 41, sent: 40, failed: 0, invalid: 1, expired: 0, canceled: 0 });
      expect(job.platforms.ios).toMatchObject({ clients: 20, tokens: 20, sent: 19, invalid: 1, chunks: 3, chunksDone: 3 });
      expect(job.platforms.android).toMatchObject({ clients: 20, tokens: 20, sent: 20, chunks: 3, chunksDone: 3 });
      expect(job.platforms.web).toMatchObject({ clients: 1, tokens: 1, sent: 1, chunks: 3, chunksDone: 3 });
      expect(webpush.receivedFor(subscription.endpoint).map((n) => n.body)).toEqual([{ alert: 'cluster' }]);
      expect(new Set(apns.received().map((n) => n.token)).size).toBe(19);
      expect(new Set(fcm.received().map((n) => n.token)).size).toBe(20);

      // The dead token left the registry.
      const listed = await request('GET', `/push/clients/${clients[1]}/tokens`);
      expect(listed.body.result.tokens.map((t: { platform: string }) => t.platform)).toEqual(['android']);
      const results = await request('GET', `/push/jobs/${jobId}/results?status=invalid`);
      expect(results.body.result.items).toEqual([expect.objectContaining({ client: clients[1], token: iosToken(1), status: 'invalid' })]);
      // Every token once, from the three chunks' records (each in a slot of its own).
      const all = (await request('GET', `/push/jobs/${jobId}/results?limit=1000`)).body.result;
      expect(all.nextCursor).toBeNull();
      expect(new Set(all.items.map((i: { platform: string; token: string }) => `${i.platform} ${i.token}`)).size).toBe(41);
      const keys = storeKeys(config.REDIS_PREFIX);
      expect(await Promise.all([0, 1, 2].map((c) => redis.exists(keys.jobChunk(jobId, c))))).toEqual([1, 1, 1]);
    });

    it("spreads the keys over the masters: a job's chunks over every master, its record and each queue within one slot", async () => {
      const c = redis as Cluster;
      const masters = c.nodes('master');
      const counts = await Promise.all(masters.map((node) => node.dbsize()));
      expect(counts.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
      const slotOf = (key: string) => c.cluster('KEYSLOT', key);
      const keys = storeKeys(config.REDIS_PREFIX);
      // What the scripts touch together with a job's record shares its slot (the old layout's keys too).
      const jobSlots = await Promise.all(
        [keys.job('j'), keys.jobChunks('j'), keys.jobThrottle('j'), keys.jobTokens('j', 'ios'), keys.jobResults('j', 'sent')].map(slotOf),
      );
      expect(new Set(jobSlots).size).toBe(1);
      // Its chunks' results records (what most of a job's writes go to) land on every master.
      const ranges = await c.cluster('SLOTS');
      const masterOf = (slot: number) => ranges.find(([from, to]) => slot >= from && slot <= to)![2]![1];
      const chunkSlots = await Promise.all(Array.from({ length: 12 }, (_, i) => slotOf(keys.jobChunk('j', i))));
      expect(new Set(chunkSlots.map(masterOf)).size).toBe(3);
      const queueSlots = await Promise.all(platforms.map((p) => slotOf(`${queuePrefix(config.REDIS_PREFIX, p)}:${p}:wait`)));
      expect(queueSlots[0]).not.toBe(queueSlots[1]);
      // Both lanes of a platform share its slot.
      expect(await slotOf(`${queuePrefix(config.REDIS_PREFIX, 'ios')}:${laneQueueName('ios', 'high')}:wait`)).toBe(queueSlots[0]);
    });

    it('serves metrics with queue depth read from the cluster', async () => {
      const res = await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${API_KEY}` } });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain('push_redis_up 1');
      expect(text).toMatch(/^push_queue_jobs\{queue="fcm",lane="normal",state="waiting"\} 0$/m);
      expect(text).toMatch(/^push_queue_jobs\{queue="apns-high",lane="high",state="failed"\} 0$/m);
    });
  });
});
