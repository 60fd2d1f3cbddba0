// The provider simulators in a process of their own, driven by the bench over IPC. A separate process
// because the simulators need CPU like real providers would not: in the bench's own process they would
// compete with it, and the numbers would depend on how busy the bench happens to be.
import { performance } from 'node:perf_hooks';
import { platforms, type Platform } from '@push/contract';
import { startSimulators, type Simulator, type SimulatorStats } from '@push/simulators';
import { serveHelper } from './ipc';
import { webSecrets, webSubscriptionName } from './population';

export interface SimHostOptions {
  latencyMs: number;
  jitterMs: number;
}

export interface SimHostInfo {
  env: Record<string, string>;
  apnsCaPem: string;
  apnsUrl: string;
  fcmUrl: string;
  fcmProjectId: string;
  fcmAccessToken: string;
  apnsKeyPem: string;
  apnsKeyId: string;
  apnsTeamId: string;
  webpushUrl: string;
}

export interface SimSnapshot {
  /** Each platform's simulator's counters. */
  stats: Record<Platform, SimulatorStats>;
  /** Epoch ms of the first notification each accepted since `arm` (null: none yet). */
  firstAt: Record<Platform, number | null>;
  /** Share of the time the simulators' event loop was busy since `arm` (1: saturated). */
  eventLoopUtilization: number;
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as SimHostOptions;
  // recordLimit 0: counters only. The bench reads per-token times from the service's own results, and a
  // hundred thousand kept notifications would cost this process memory and time.
  const sims = await startSimulators({ common: { latencyMs: options.latencyMs, jitterMs: options.jitterMs, recordLimit: 0 } });
  const byPlatform: Record<Platform, Simulator<object>> = { ios: sims.apns, android: sims.fcm, web: sims.webpush };
  const none = () => Object.fromEntries(platforms.map((p) => [p, null])) as SimSnapshot['firstAt'];
  let firstAt = none();
  let elu = performance.eventLoopUtilization();
  let poll: NodeJS.Timeout | undefined;

  const arm = () => {
    for (const p of platforms) byPlatform[p].reset();
    firstAt = none();
    elu = performance.eventLoopUtilization();
    clearInterval(poll);
    poll = setInterval(() => {
      const now = Date.now();
      for (const p of platforms) if (firstAt[p] === null && byPlatform[p].stats().accepted > 0) firstAt[p] = now;
      if (platforms.every((p) => firstAt[p] !== null)) clearInterval(poll);
    }, 1);
  };
  const snapshot = (): SimSnapshot => ({
    stats: Object.fromEntries(platforms.map((p) => [p, byPlatform[p].stats()])) as SimSnapshot['stats'],
    firstAt,
    eventLoopUtilization: performance.eventLoopUtilization(elu).utilization,
  });

  const info: SimHostInfo = {
    env: sims.info.env,
    apnsCaPem: sims.apns.caPem,
    apnsUrl: sims.apns.url,
    fcmUrl: sims.fcm.url,
    fcmProjectId: sims.fcm.projectId,
    fcmAccessToken: sims.fcm.accessToken,
    apnsKeyPem: sims.apns.signingKeyPem,
    apnsKeyId: sims.apns.keyId,
    apnsTeamId: sims.apns.teamId,
    webpushUrl: sims.webpush.url,
  };
  serveHelper(
    info,
    {
      arm,
      snapshot,
      /** The benchmark's browser subscriptions 0..count-1, with the keys the bench derives for them. */
      subscribeWeb: (count: number) => {
        for (let i = 0; i < count; i++) sims.webpush.subscribe({ name: webSubscriptionName(i), ...webSecrets(i) });
      },
      disarm: () => {
        clearInterval(poll);
        return snapshot();
      },
    },
    async () => {
      clearInterval(poll);
      await sims.close();
    },
  );
}

void main();
