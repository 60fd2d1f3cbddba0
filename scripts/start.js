#!/usr/bin/env node
// `npm start`: the all-in-one for one machine. Runs the API and the three workers as separate processes
// (as in production), finds or starts Redis, and starts the provider simulators when no APNs / FCM /
// VAPID credentials are configured. Production runs each process on its own (`npm run start:api` etc.).
'use strict';
const { spawn } = require('node:child_process');
const { mkdirSync } = require('node:fs');
const path = require('node:path');
const { loadConfig, hasApnsCredentials, hasFcmCredentials, hasWebPushCredentials, ConfigError } = require('../packages/config/dist');
const { DEFAULT_WEBPUSH_ALLOWED_ENDPOINTS } = require('../packages/contract/dist');
const { hasRedisServer, startRedisServer, waitForRedis } = require('../packages/store/dist');

const root = path.resolve(__dirname, '..');
const say = (line) => process.stdout.write(`[start] ${line}\n`);

/** REDIS_URL if it answers; else a private redis-server with its data (append-only) under .data/redis. */
async function ensureRedis(config, stack) {
  if (
    await waitForRedis(config.REDIS_URL, 0).then(
      () => true,
      () => false,
    )
  )
    return config.REDIS_URL;
  if (!hasRedisServer()) {
    throw new ConfigError(
      `REDIS_URL: nothing answers at ${config.REDIS_URL} and redis-server is not installed. ` +
        'Start Redis (e.g. `apt-get install redis-server`) or set REDIS_URL to a running server.',
    );
  }
  const dir = path.join(root, '.data', 'redis');
  mkdirSync(dir, { recursive: true });
  const server = await startRedisServer(['--appendonly', 'yes'], { port: 6390, dir });
  stack.push(() => server.stop());
  say(`no Redis at ${config.REDIS_URL}: started a private redis-server at ${server.url} (data in .data/redis)`);
  return server.url;
}

/** Without APNs / FCM / VAPID credentials, the simulators stand in for the missing provider(s). */
async function startSimulatorsIfNeeded(config, env, stack) {
  const needApns = !hasApnsCredentials(config);
  const needFcm = !hasFcmCredentials(config);
  const needWeb = !hasWebPushCredentials(config);
  if (!needApns && !needFcm && !needWeb) return;
  const { startSimulators } = require('../packages/simulators/dist');
  const sims = await startSimulators({
    dir: path.join(root, '.data', 'simulators'),
    apnsPort: Number(process.env.SIM_APNS_PORT ?? 2197),
    fcmPort: Number(process.env.SIM_FCM_PORT ?? 4443),
    webpushPort: Number(process.env.SIM_WEBPUSH_PORT ?? 4444),
  });
  stack.push(() => sims.close());
  const pick = (names) => Object.fromEntries(names.map((name) => [name, sims.info.env[name]]));
  Object.assign(env, { NODE_EXTRA_CA_CERTS: sims.info.caFile });
  if (needApns) {
    Object.assign(env, pick(['APNS_HOST', 'APNS_PORT', 'APNS_KEY_FILE', 'APNS_KEY_ID', 'APNS_TEAM_ID']));
    env.APNS_TOPIC = env.APNS_TOPIC ?? 'io.imkit.app';
    say(`no APNs credentials: iOS notifications go to the APNs simulator at ${sims.info.apns.url}`);
  }
  if (needFcm) {
    Object.assign(env, pick(['FCM_ENDPOINT', 'FCM_PROJECT_ID', 'FCM_ACCESS_TOKEN']));
    say(`no FCM credentials: Android notifications go to the FCM simulator at ${sims.info.fcm.url}`);
  }
  if (needWeb) {
    // A key pair for this run only: subscriptions made with its public key die with it.
    const { generateVapidKeys } = require('../packages/providers/dist');
    const vapid = generateVapidKeys();
    env.WEBPUSH_VAPID_PUBLIC_KEY = vapid.publicKey;
    env.WEBPUSH_VAPID_PRIVATE_KEY = vapid.privateKey;
    env.WEBPUSH_SUBJECT = env.WEBPUSH_SUBJECT ?? 'mailto:admin@localhost.localdomain';
    const allowed = env.WEBPUSH_ALLOWED_ENDPOINTS || DEFAULT_WEBPUSH_ALLOWED_ENDPOINTS;
    env.WEBPUSH_ALLOWED_ENDPOINTS = `${allowed},${sims.info.webpush.endpointHost}`;
    say(
      `no VAPID keys: generated a pair for this run (public key ${vapid.publicKey}); web notifications go to ` +
        `the Web Push simulator at ${sims.info.webpush.url}, whose host ${sims.info.webpush.endpointHost} is added to WEBPUSH_ALLOWED_ENDPOINTS ` +
        `(a subscription for it: curl -k -X POST ${sims.info.webpush.url}/_sim/subscribe)`,
    );
  }
  process.stdout.write(`${sims.describe()}\n`);
}

async function main() {
  const config = loadConfig();
  const stack = [];
  const env = { ...process.env };
  try {
    env.REDIS_URL = await ensureRedis(config, stack);
    await startSimulatorsIfNeeded(config, env, stack);
  } catch (error) {
    for (const undo of stack.reverse()) await undo();
    throw error;
  }
  if (!env.IM_API_KEY && config.NODE_ENV !== 'production') env.IM_API_KEY = config.apiKeys[0];

  const apps = [
    // glibc would keep the freed buffers of a million-client request body (docs/performance.md).
    ['api', 'apps/api/dist/index.js', { MALLOC_MMAP_THRESHOLD_: env.MALLOC_MMAP_THRESHOLD_ ?? '131072' }],
    ['apns-worker', 'apps/apns-worker/dist/index.js', { WORKER_METRICS_PORT: env.APNS_WORKER_METRICS_PORT ?? '9464' }],
    ['fcm-worker', 'apps/fcm-worker/dist/index.js', { WORKER_METRICS_PORT: env.FCM_WORKER_METRICS_PORT ?? '9465' }],
    ['webpush-worker', 'apps/webpush-worker/dist/index.js', { WORKER_METRICS_PORT: env.WEBPUSH_WORKER_METRICS_PORT ?? '9466' }],
  ];
  let stopping = false;
  const children = apps.map(([name, file, extra]) => {
    const child = spawn(process.execPath, [path.join(root, file)], { env: { ...env, ...extra }, stdio: 'inherit' });
    child.on('exit', (code, signal) => {
      if (!stopping) {
        say(`${name} exited (${signal ?? code}); stopping the others`);
        void stop(1);
      }
    });
    return child;
  });
  if (config.apiKeyGenerated) say(`no IM_API_KEY set: use  IM-API-KEY: ${env.IM_API_KEY}`);
  say(`API on http://127.0.0.1:${config.PORT}  (Ctrl-C stops everything)`);
  say(
    `dashboards: http://127.0.0.1:${config.PORT}/admin/jobs and /admin/queues (user admin, password ${
      env.ADMIN_PASSWORD ? 'ADMIN_PASSWORD' : 'the API key'
    })`,
  );
  say(
    `metrics: GET /metrics on the API and on ports ${apps[1][2].WORKER_METRICS_PORT} (APNs worker), ${
      apps[2][2].WORKER_METRICS_PORT
    } (FCM worker) and ${apps[3][2].WORKER_METRICS_PORT} (Web Push worker), with Authorization: Bearer <${
      env.METRICS_TOKEN ? 'METRICS_TOKEN' : 'the API key'
    }>`,
  );

  async function stop(code) {
    if (stopping) return;
    stopping = true;
    await Promise.all(
      children.map(
        (child) =>
          new Promise((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', resolve);
            child.kill('SIGTERM');
          }),
      ),
    );
    for (const undo of stack.reverse()) await undo();
    process.exit(code);
  }
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));
}

main().catch((error) => {
  process.stderr.write(`npm start: ${error instanceof ConfigError ? error.message : error.stack}\n`);
  process.exit(1);
});
