// The provider simulators in a process of their own, driven by the bench over IPC. A separate process
// because the simulators need CPU like real providers would not: in the bench's own process they would
// compete with it, and the numbers would depend on how busy the bench happens to be.
import { performance } from 'node:perf_hooks';
import { startSimulators, type SimulatorStats } from '@push/simulators';
import { serveHelper } from './ipc';

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
}

export interface SimSnapshot {
  apns: SimulatorStats;
  fcm: SimulatorStats;
  /** Epoch ms of the first notification each accepted since `arm` (null: none yet). */
  firstAt: { apns: number | null; fcm: number | null };
  /** Share of the time the simulators' event loop was busy since `arm` (1: saturated). */
  eventLoopUtilization: number;
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as SimHostOptions;
  // recordLimit 0: counters only. The bench reads per-token times from the service's own results, and a
  // hundred thousand kept notifications would cost this process memory and time.
  const sims = await startSimulators({ common: { latencyMs: options.latencyMs, jitterMs: options.jitterMs, recordLimit: 0 } });
  let firstAt: SimSnapshot['firstAt'] = { apns: null, fcm: null };
  let elu = performance.eventLoopUtilization();
  let poll: NodeJS.Timeout | undefined;

  const arm = () => {
    sims.apns.reset();
    sims.fcm.reset();
    firstAt = { apns: null, fcm: null };
    elu = performance.eventLoopUtilization();
    clearInterval(poll);
    poll = setInterval(() => {
      const now = Date.now();
      if (firstAt.apns === null && sims.apns.stats().accepted > 0) firstAt.apns = now;
      if (firstAt.fcm === null && sims.fcm.stats().accepted > 0) firstAt.fcm = now;
      if (firstAt.apns !== null && firstAt.fcm !== null) clearInterval(poll);
    }, 1);
  };
  const snapshot = (): SimSnapshot => ({
    apns: sims.apns.stats(),
    fcm: sims.fcm.stats(),
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
  };
  serveHelper(
    info,
    {
      arm,
      snapshot,
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
