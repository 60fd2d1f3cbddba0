#!/usr/bin/env node
// `npm start`: the all-in-one for one machine. Runs the API and both workers as separate processes
// (as in production), finds or starts Redis, and starts the provider simulators when no APNs / FCM
// credentials are configured. Production runs each process on its own (`npm run start:api` etc.).
'use strict';
const { spawn } = require('node:child_process');
const { mkdirSync } = require('node:fs');
const path = require('node:path');
const { loadConfig, hasApnsCredentials, hasFcmCredentials, ConfigError } = require('../packages/config/dist');
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

/** Without APNs / FCM credentials, the simulators stand in for the missing provider(s). */
async function startSimulatorsIfNeeded(config, env, stack) {
  const needApns = !hasApnsCredentials(config);
  const needFcm = !hasFcmCredentials(config);
  if (!needApns && !needFcm) return;
  const { startSimulators } = require('../packages/simulators/dist');
  const sims = await startSimulators({
    dir: path.join(root, '.data', 'simulators'),
    apnsPort: Number(process.env.SIM_APNS_PORT ?? 2197),
    fcmPort: Number(process.env.SIM_FCM_PORT ?? 4443),
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
    `metrics: GET /metrics on the API and on ports ${apps[1][2].WORKER_METRICS_PORT} (APNs worker) and ${
      apps[2][2].WORKER_METRICS_PORT
    } (FCM worker), with Authorization: Bearer <${env.METRICS_TOKEN ? 'METRICS_TOKEN' : 'the API key'}>`,
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
