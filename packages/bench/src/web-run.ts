import type { DirectLibrary } from './direct';
import type { DirectComparison } from './main';
import { webClientId } from './population';
import { serviceRun, warmUp, type RunContext, type ServiceRunReport } from './service-run';
import { cpuPerToken } from './summary';

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
 * Takes turns like the main run: `repeat` service runs and `repeat` web-push script runs, the best of each
 * kept. The web clients have no other device, so the whole job is Web Push.
 */
export async function webRun(steps: WebRunSteps): Promise<WebReport> {
  const ids = Array.from({ length: steps.clients }, (_, i) => webClientId(i));
  const report: WebReport = { clients: steps.clients };
  if (steps.ctx) {
    steps.ctx.log(`Web Push: warm-up push to ${Math.min(2000, ids.length)} web clients`);
    await warmUp(steps.ctx, ids.slice(0, 2000));
  }
  for (let round = 1; round <= steps.repeat; round++) {
    if (steps.ctx) {
      await steps.quiet();
      steps.ctx.log(`Web Push service run${round > 1 ? ` (round ${round})` : ''}: one push to ${ids.length} web clients`);
      const run = await serviceRun(steps.ctx, ids, steps.workers);
      steps.ctx.log(`  ${run.platforms.web.tokensPerSecond} subscriptions/s`);
      if (!report.service || run.platforms.web.tokensPerSecond > report.service.platforms.web.tokensPerSecond) report.service = run;
    }
    if (steps.baselines) {
      const direct = await steps.runScript(['web-push'], round);
      if (!report.direct || direct.report.overall.tokensPerSecond > report.direct.report.overall.tokensPerSecond) report.direct = direct;
    }
  }
  if (report.service && report.direct) report.cpuPerToken = cpuPerToken(report.service, [report.direct]);
  return report;
}

/** Web Push throughput of the service / of web-push's sendNotification (target >= 1). */
export function webRatio(web: WebReport): number | undefined {
  const lib = web.direct?.report.results.find((r) => r.library === 'web-push');
  if (!web.service || !lib || lib.tokensPerSecond === 0) return undefined;
  return Math.round((web.service.platforms.web.tokensPerSecond / lib.tokensPerSecond) * 100) / 100;
}
