import { join } from 'node:path';
import type { DirectLibrary, DirectRunReport, DirectRunRequest } from './direct';
import { forkHelper, type Helper } from './ipc';
import { CpuMeter, round } from './proc';
import { monotonicUs } from './profile-stages';
import type { Platform } from '@push/contract';
import { perPlatform } from './service-run';
import type { SimHostInfo, SimSnapshot } from './sim-host';

export interface DirectScriptReport extends DirectRunReport {
  /** CPU of the script, the simulators, Redis (idle here) and everything else on the machine during the run. */
  cpu: Record<string, { cpuSeconds: number; cores: number }>;
  simulatorCpuSeconds: number;
  /** The simulators' event-loop utilisation during the run. */
  simulatorBusy: number;
  /** Connections the simulators saw opened during the measured run. */
  connections: Record<Platform, number>;
  accepted: Record<Platform, number>;
  /** The script's process id and its measured run, CLOCK_MONOTONIC µs (to find and slice its CPU profile). */
  pid: number;
  window: { fromUs: number; toUs: number };
}

/** Where a direct script's CPU profiles go under --cpu-prof's folder. */
export const directProfileDir = (cpuProfDir: string, libraries: readonly DirectLibrary[]): string =>
  join(cpuProfDir, `direct-${libraries.join('+')}`);

/**
 * Runs one direct script (direct.ts) in a fresh process: the given libraries send their platform's
 * tokens concurrently, as a script sending one notification to everyone would.
 */
export async function runDirect(
  sim: SimHostInfo,
  request: DirectRunRequest,
  sims: Helper,
  otherPids: Record<string, number> = {},
  cpuProfDir?: string,
): Promise<DirectScriptReport> {
  const execArgv = cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', directProfileDir(cpuProfDir, request.libraries)];
  const { helper } = await forkHelper<boolean>(join(__dirname, 'direct.js'), [JSON.stringify(sim)], { execArgv });
  try {
    await helper.call('prepare', request);
    await sims.call('arm');
    const meter = new CpuMeter(() => ({ direct: helper.pid, simulators: sims.pid, ...otherPids }));
    meter.start();
    const fromUs = monotonicUs();
    const report = await helper.call<DirectRunReport>('run', request);
    const toUs = monotonicUs();
    const cpu = meter.stop();
    const snap = await sims.call<SimSnapshot>('disarm');
    return {
      ...report,
      cpu,
      simulatorCpuSeconds: cpu.simulators?.cpuSeconds ?? 0,
      simulatorBusy: round(snap.eventLoopUtilization, 2),
      connections: perPlatform((p) => snap.stats[p].sessions),
      accepted: perPlatform((p) => snap.stats[p].accepted),
      pid: helper.pid,
      window: { fromUs, toUs },
    };
  } finally {
    await helper.stop();
  }
}

const platformOf: Record<DirectLibrary, Platform> = {
  'node-apn': 'ios',
  'firebase-admin': 'android',
  'fcm-provider': 'android',
  'web-push': 'web',
};
export const libraryPlatform = (library: DirectLibrary): Platform => platformOf[library];
