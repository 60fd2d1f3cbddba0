import { loadavg } from 'node:os';
import { platforms, type SuccessEnvelope } from '@push/contract';
import { createQueue } from '@push/store';
import { quantile } from './measure';
import { clientIds } from './population';
import { CpuMeter, round } from './proc';
import { benchPayload, follow, type RunContext } from './service-run';

/** What `--mixed` runs: a blast, an alert to one user every `alertEveryMs`, a campaign `campaignAtMs` in. */
export interface MixedOptions {
  /** Clients of the blast. @defaultValue 200000 */
  blastClients: number;
  /** Clients of the campaign. @defaultValue 2000 */
  campaignClients: number;
  /** Interval between two alerts (one client each). @defaultValue 500 */
  alertEveryMs: number;
  /** When the campaign is sent, after the blast. @defaultValue 3000 */
  campaignAtMs: number;
}

/** Registered clients the mixed run needs: the blast's, then the campaign's, then the alert's user. */
export const mixedClients = (o: MixedOptions): number => o.blastClients + o.campaignClients + 1;

export interface MixedReport {
  options: MixedOptions;
  alone: {
    blastMs: number;
    blastTokens: number;
    blastTokensPerSecond: number;
    campaignMs: number;
    alertP50Ms: number;
    alertMaxMs: number;
  };
  mixed: {
    blastMs: number;
    blastTokensPerSecond: number;
    campaignMs: number;
    alerts: number;
  };
  /**
   * Where the alerts' time went during the blast, from BullMQ's timestamps of their chunks (both
   * platforms): request to a worker taking the chunk, and the chunk's run (resolve, send, record), p50 / p99.
   */
  alertChunks: { takenAfterMs: [number, number]; runMs: [number, number] };
  /** Alert: request to `completed` while the blast drains (every alert sent during it). */
  mixedAlertP50Ms: number;
  mixedAlertP99Ms: number;
  mixedAlertMaxMs: number;
  /** Campaign time during the blast / alone. */
  mixedCampaignSlowdown: number;
  /** Blast tokens/s with the alerts and the campaign / alone. */
  mixedBlastThroughputRatio: number;
  /** `uptime`'s 1-minute load average before each run, and the cores other processes used during the mixed run. */
  load: { beforeAlone: number; beforeMixed: number; othersCoresDuringMixed: number };
}

interface Finished {
  jobId: string;
  /** Epoch ms just before the request. */
  t0: number;
  ms: number;
  tokens: number;
}

/** POSTs one push and follows it to `completed`: request time to the job's `finishedAt`. */
async function send(ctx: RunContext, clients: string[]): Promise<Finished> {
  const t0 = Date.now();
  const res = await ctx.service.request('POST', '/push/push2clients', JSON.stringify({ clients, payload: benchPayload }));
  if (res.status !== 200) throw new Error(`push refused: ${res.status} ${JSON.stringify(res.body)}`);
  const { jobId } = (res.body as SuccessEnvelope<{ jobId: string }>).result;
  const { finishedAt, totals } = await follow(ctx, jobId);
  return { jobId, t0, ms: finishedAt - t0, tokens: totals.tokens ?? 0 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Alerts to the alert user every `everyMs` until `until()` says stop. */
async function alerts(ctx: RunContext, o: MixedOptions, until: () => boolean): Promise<Finished[]> {
  const user = clientIds(1, o.blastClients + o.campaignClients);
  const pending: Array<Promise<Finished>> = [];
  while (!until()) {
    pending.push(send(ctx, user));
    await sleep(o.alertEveryMs);
  }
  return Promise.all(pending);
}

const p50p99 = (values: number[]): [number, number] => {
  const sorted = [...values].sort((a, b) => a - b);
  return [quantile(sorted, 0.5), quantile(sorted, 0.99)];
};

/** BullMQ's timestamps of the alerts' chunks (one per platform, on the high lane; kept an hour after completion). */
async function alertChunks(ctx: RunContext, sent: Finished[]): Promise<MixedReport['alertChunks']> {
  const takenAfter: number[] = [];
  const run: number[] = [];
  for (const platform of platforms) {
    const queue = createQueue(platform, 'high', ctx.redis, ctx.prefix);
    for (const alert of sent) {
      const chunk = await queue.getJob(`${alert.jobId}-0`);
      if (chunk?.processedOn === undefined || chunk.finishedOn === undefined) continue;
      takenAfter.push(chunk.processedOn - alert.t0);
      run.push(chunk.finishedOn - chunk.processedOn);
    }
    await queue.close();
  }
  return { takenAfterMs: p50p99(takenAfter), runMs: p50p99(run) };
}

/**
 * The mixed run (contract Part 2, "Lanes and fair share"): each part alone first, then all together: the
 * blast, an alert every `alertEveryMs` while it drains, the campaign `campaignAtMs` after it.
 */
export async function mixedRun(ctx: RunContext, o: MixedOptions, quiet: () => Promise<void>): Promise<MixedReport> {
  const blast = clientIds(o.blastClients);
  const campaign = clientIds(o.campaignClients, o.blastClients);
  const perSecond = (f: Finished) => Math.round(f.tokens / (f.ms / 1000));

  await quiet();
  const beforeAlone = loadavg()[0]!;
  ctx.log(`mixed: the blast alone (${o.blastClients} clients)`);
  const blastAlone = await send(ctx, blast);
  ctx.log(`  ${blastAlone.ms} ms, ${perSecond(blastAlone)} tokens/s`);
  const campaignAlone = await send(ctx, campaign);
  ctx.log(`mixed: the campaign alone (${o.campaignClients} clients): ${campaignAlone.ms} ms`);
  let done = 0;
  const alertsAlone = await alerts(ctx, o, () => done++ >= 10);
  ctx.log(`mixed: 10 alerts alone: ${alertsAlone.map((a) => a.ms).join(', ')} ms`);

  await quiet();
  const beforeMixed = loadavg()[0]!;
  ctx.log(`mixed: the blast, an alert every ${o.alertEveryMs} ms, the campaign after ${o.campaignAtMs} ms`);
  const cpu = new CpuMeter(() => ({ ...ctx.service.pids(), ...ctx.otherPids }));
  cpu.start();
  let blastOver = false;
  const blastRun = send(ctx, blast).finally(() => {
    blastOver = true;
  });
  const alertRun = alerts(ctx, o, () => blastOver);
  await sleep(o.campaignAtMs);
  const campaignRun = send(ctx, campaign);
  const [blastMixed, campaignMixed, alertsMixed] = await Promise.all([blastRun, campaignRun, alertRun]);
  const others = cpu.stop().others?.cores ?? 0;
  const sorted = alertsMixed.map((a) => a.ms).sort((a, b) => a - b);
  ctx.log(
    `  blast ${blastMixed.ms} ms (${perSecond(blastMixed)} tokens/s), campaign ${campaignMixed.ms} ms, ` +
      `${sorted.length} alerts p50 ${quantile(sorted, 0.5)} / p99 ${quantile(sorted, 0.99)} / max ${sorted[sorted.length - 1]} ms`,
  );

  return {
    options: o,
    alone: {
      blastMs: blastAlone.ms,
      blastTokens: blastAlone.tokens,
      blastTokensPerSecond: perSecond(blastAlone),
      campaignMs: campaignAlone.ms,
      alertP50Ms: p50p99(alertsAlone.map((a) => a.ms))[0],
      alertMaxMs: Math.max(...alertsAlone.map((a) => a.ms)),
    },
    mixed: { blastMs: blastMixed.ms, blastTokensPerSecond: perSecond(blastMixed), campaignMs: campaignMixed.ms, alerts: sorted.length },
    alertChunks: await alertChunks(ctx, alertsMixed),
    mixedAlertP50Ms: quantile(sorted, 0.5),
    mixedAlertP99Ms: quantile(sorted, 0.99),
    mixedAlertMaxMs: sorted[sorted.length - 1] ?? 0,
    mixedCampaignSlowdown: round(campaignMixed.ms / campaignAlone.ms, 2),
    mixedBlastThroughputRatio: round(perSecond(blastMixed) / perSecond(blastAlone), 3),
    load: { beforeAlone: round(beforeAlone, 2), beforeMixed: round(beforeMixed, 2), othersCoresDuringMixed: others },
  };
}
