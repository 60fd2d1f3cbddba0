import type { DirectLibrary } from './direct';
import type { DirectComparison } from './main';
import { webClientId } from './population';
import { serviceRun, warmUp, type RunContext, type ServiceRunReport } from './service-run';
import { round } from './proc';
import { cpuPerToken, median, medianRun } from './summary';

/** The Web Push run: the service's web workers against web-push's own sendNotification, same subscriptions. */
export interface WebReport {
  clients: number;
  /** One push to every web client (clients with one browser subscription and nothing else). */
  service?: ServiceRunReport;
  /** The web-push library sending to the same subscriptions with the workers' settings. */
  direct?: DirectComparison;
  /** CPU per subscription sent, microseconds: the service's processes (API, workers, Redis), and the web-push script. */
  cpuPerToken?: Record<string, number>;
}

export interface WebRunSteps {
  ctx?: RunContext;
  workers: number;
  clients: number;
  repeat: number;
  baselines: boolean;
  quiet(): Promise<void>;
  runScript(libraries: DirectLibrary[], round: number): Promise<DirectComparison>;
}

/**
 * Takes turns like the main run: `repeat` service runs and `repeat` web-push script runs; the run of
 * median throughput of each is reported in full, and `rounds` gives each round's ratio and CPU per token.
 * The web clients have no other device, so the whole job is Web Push.
 */
export async function webRun(steps: WebRunSteps): Promise<WebReport & { rounds: Array<Record<string, number>>; roundsMs: number[] }> {
  const ids = Array.from({ length: steps.clients }, (_, i) => webClientId(i));
  const report: WebReport = { clients: steps.clients };
  if (steps.ctx) {
    steps.ctx.log(`Web Push: warm-up push to ${Math.min(2000, ids.length)} web clients`);
    await warmUp(steps.ctx, ids.slice(0, 2000));
  }
  const services: ServiceRunReport[] = [];
  const directs: DirectComparison[] = [];
  for (let round = 1; round <= steps.repeat; round++) {
    if (steps.ctx) {
      await steps.quiet();
      steps.ctx.log(`Web Push service run${round > 1 ? ` (round ${round})` : ''}: one push to ${ids.length} web clients`);
      const run = await serviceRun(steps.ctx, ids, steps.workers);
      steps.ctx.log(`  ${run.platforms.web.tokensPerSecond} subscriptions/s`);
      services.push(run);
    }
    if (steps.baselines) directs.push(await steps.runScript(['web-push'], round));
  }
  if (services.length > 0) report.service = medianRun(services, (r) => r.platforms.web.tokensPerSecond);
  if (directs.length > 0) report.direct = medianRun(directs, (d) => d.report.overall.tokensPerSecond);
  const rounds: Array<Record<string, number>> = [];
  if (services.length > 0 && directs.length > 0) {
    const cpu = services.map((run, i) => cpuPerToken(run, [directs[i]!]));
    report.cpuPerToken = Object.fromEntries(Object.keys(cpu[0]!).map((k) => [k, round(median(cpu.map((c) => c[k]!)), 1)]));
    services.forEach((run, i) => {
      const ratio = webRatio(run, directs[i]!);
      if (ratio !== undefined) rounds.push({ ratioWebVsWebPushLib: ratio });
    });
  }
  const roundsMs = [...services.map((r) => r.completionMs), ...directs.map((d) => Math.round(d.report.overall.seconds * 1000))];
  return { ...report, rounds, roundsMs };
}

/** Web Push throughput of the service / of web-push's sendNotification (target >= 1). */
function webRatio(service: ServiceRunReport, direct: DirectComparison): number | undefined {
  const lib = direct.report.results.find((r) => r.library === 'web-push');
  if (!lib || lib.tokensPerSecond === 0) return undefined;
  return Math.round((service.platforms.web.tokensPerSecond / lib.tokensPerSecond) * 100) / 100;
}
