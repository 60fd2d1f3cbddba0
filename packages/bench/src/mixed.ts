import { loadavg } from 'node:os';
import type { SuccessEnvelope } from '@push/contract';
import { createLaneQueues, listQueues } from '@push/store';
import { quantile } from './measure';
import { clientIds } from './population';
import { CpuMeter, round } from './proc';
import { benchPayload, follow, type RunContext } from './service-run';
import { acrossRounds, type Spread } from './summary';

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
  /** Rounds (each part alone, then together); the ratios are their medians. @defaultValue 3 */
  rounds: number;
}

/** Registered clients the mixed run needs: the blast's, then the campaign's, then the alert's user. */
export const mixedClients = (o: MixedOptions): number => o.blastClients + o.campaignClients + 1;

/** From BullMQ's timestamps of chunks: request to a worker taking each, and each one's run, p50 / p99. */
export interface ChunkTimes {
  takenAfterMs: [number, number];
  runMs: [number, number];
}

/** One round: each part alone, then all together. */
export interface MixedRound {
  blastAloneTokensPerSecond: number;
  blastTogetherTokensPerSecond: number;
  campaignAloneMs: number;
  campaignTogetherMs: number;
  /** Alerts sent while the blast drained. */
  alerts: number;
  /** `uptime`'s 1-minute load average before each part, and the cores other processes used during the mixed part. */
  load: { beforeAlone: number; beforeMixed: number; othersCoresDuringMixed: number };
}

export interface MixedReport {
  options: MixedOptions;
  blastTokens: number;
  rounds: MixedRound[];
  /** Ten alerts with nothing else running (first round): request to `completed`. */
  alertAlone: { p50Ms: number; maxMs: number };
  /** Where the alerts' time went during the blast: their chunks' times (addChunkTimes). */
  alertChunks: ChunkTimes;
  /** The same for the campaign's chunks during the blast. */
  campaignChunks: ChunkTimes;
  /** Alert: request to `completed` while the blast drains (every alert of every round). */
  mixedAlertP50Ms: number;
  mixedAlertP99Ms: number;
  mixedAlertMaxMs: number;
  /** Campaign time during the blast / alone: the median over rounds. */
  mixedCampaignSlowdown: number;
  /** Blast tokens/s with the alerts and the campaign / alone: the median over rounds. */
  mixedBlastThroughputRatio: number;
  /** Both ratios' spread over the rounds. */
  spread: Record<'mixedCampaignSlowdown' | 'mixedBlastThroughputRatio', Spread>;
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

/** Chunk times in ms: request to a worker taking each chunk, and each chunk's run (resolve, send, record). */
interface ChunkSamples {
  takenAfter: number[];
  run: number[];
}

/**
 * Adds to `into` the times of the chunks of `sent`, every platform and lane, from each queue's BullMQ events
 * (a high chunk leaves BullMQ as it completes, taking its timestamps with it): when a worker last took each
 * (`active`) and when it completed. Read after each round: a stream keeps only its last ~10,000 events.
 */
async function addChunkTimes(ctx: RunContext, sent: Finished[], into: ChunkSamples): Promise<void> {
  const t0Of = new Map(sent.map((f) => [f.jobId, f.t0]));
  for (const { queue } of listQueues(createLaneQueues(() => ctx.redis, ctx.prefix))) {
    const taken = new Map<string, number>();
    // Each entry: [`<ms>-<seq>`, ['event', name, 'jobId', `<jobId>-<chunk>`, ...]].
    for (const [id, fields] of await ctx.redis.xrange(queue.keys.events!, '-', '+')) {
      const [, event, , chunk] = fields;
      const t0 = chunk === undefined ? undefined : t0Of.get(chunk.slice(0, chunk.lastIndexOf('-')));
      if (t0 === undefined) continue;
      const at = Number(id.slice(0, id.indexOf('-')));
      if (event === 'active') taken.set(chunk!, at);
      const takenAt = taken.get(chunk!);
      if (event === 'completed' && takenAt !== undefined) {
        into.takenAfter.push(takenAt - t0);
        into.run.push(at - takenAt);
      }
    }
    await queue.close();
  }
}

const timesOf = (samples: ChunkSamples): ChunkTimes => ({ takenAfterMs: p50p99(samples.takenAfter), runMs: p50p99(samples.run) });

/**
 * The mixed run (contract Part 2, "Lanes and fair share"), `rounds` times: each part alone first, then all
 * together: the blast, an alert every `alertEveryMs` while it drains, the campaign `campaignAtMs` after it.
 * One round's ratios move by a quarter between runs on this machine (a neighbour's CPU, a GC, which
 * worker took which chunk); the report gives their medians and spread, and every alert's time.
 */
export async function mixedRun(ctx: RunContext, o: MixedOptions, quiet: () => Promise<void>): Promise<MixedReport> {
  const blast = clientIds(o.blastClients);
  const campaign = clientIds(o.campaignClients, o.blastClients);
  const perSecond = (f: Finished) => Math.round(f.tokens / (f.ms / 1000));

  const rounds: MixedRound[] = [];
  const alertsMixed: Finished[] = [];
  const alertChunks: ChunkSamples = { takenAfter: [], run: [] };
  const campaignChunks: ChunkSamples = { takenAfter: [], run: [] };
  let alertsAlone: Finished[] = [];
  let blastTokens = 0;
  for (let r = 1; r <= o.rounds; r++) {
    await quiet();
    const beforeAlone = loadavg()[0]!;
    ctx.log(`mixed round ${r}/${o.rounds}: the blast alone (${o.blastClients} clients)`);
    const blastAlone = await send(ctx, blast);
    blastTokens = blastAlone.tokens;
    ctx.log(`  ${blastAlone.ms} ms, ${perSecond(blastAlone)} tokens/s`);
    const campaignAlone = await send(ctx, campaign);
    ctx.log(`  the campaign alone (${o.campaignClients} clients): ${campaignAlone.ms} ms`);
    if (r === 1) {
      let done = 0;
      alertsAlone = await alerts(ctx, o, () => done++ >= 10);
      ctx.log(`  10 alerts alone: ${alertsAlone.map((a) => a.ms).join(', ')} ms`);
    }

    await quiet();
    const beforeMixed = loadavg()[0]!;
    ctx.log(`  the blast, an alert every ${o.alertEveryMs} ms, the campaign after ${o.campaignAtMs} ms`);
    const cpu = new CpuMeter(() => ({ ...ctx.service.pids(), ...ctx.otherPids }));
    cpu.start();
    let blastOver = false;
    const blastRun = send(ctx, blast).finally(() => {
      blastOver = true;
    });
    const alertRun = alerts(ctx, o, () => blastOver);
    await sleep(o.campaignAtMs);
    const campaignRun = send(ctx, campaign);
    const [blastMixed, campaignMixed, roundAlerts] = await Promise.all([blastRun, campaignRun, alertRun]);
    const others = cpu.stop().others?.cores ?? 0;
    alertsMixed.push(...roundAlerts);
    await addChunkTimes(ctx, roundAlerts, alertChunks);
    await addChunkTimes(ctx, [campaignMixed], campaignChunks);
    const sorted = roundAlerts.map((a) => a.ms).sort((a, b) => a - b);
    ctx.log(
      `  blast ${blastMixed.ms} ms (${perSecond(blastMixed)} tokens/s), campaign ${campaignMixed.ms} ms, ` +
        `${sorted.length} alerts p50 ${quantile(sorted, 0.5)} / p99 ${quantile(sorted, 0.99)} / max ${sorted[sorted.length - 1]} ms`,
    );
    rounds.push({
      blastAloneTokensPerSecond: perSecond(blastAlone),
      blastTogetherTokensPerSecond: perSecond(blastMixed),
      campaignAloneMs: campaignAlone.ms,
      campaignTogetherMs: campaignMixed.ms,
      alerts: roundAlerts.length,
      load: { beforeAlone: round(beforeAlone, 2), beforeMixed: round(beforeMixed, 2), othersCoresDuringMixed: others },
    });
  }

  const { median, spread } = acrossRounds(
    rounds.map((r) => ({
      mixedCampaignSlowdown: r.campaignTogetherMs / r.campaignAloneMs,
      mixedBlastThroughputRatio: r.blastTogetherTokensPerSecond / r.blastAloneTokensPerSecond,
    })),
  );
  const sorted = alertsMixed.map((a) => a.ms).sort((a, b) => a - b);
  return {
    options: o,
    blastTokens,
    rounds,
    alertAlone: { p50Ms: p50p99(alertsAlone.map((a) => a.ms))[0], maxMs: Math.max(...alertsAlone.map((a) => a.ms)) },
    alertChunks: timesOf(alertChunks),
    campaignChunks: timesOf(campaignChunks),
    mixedAlertP50Ms: quantile(sorted, 0.5),
    mixedAlertP99Ms: quantile(sorted, 0.99),
    mixedAlertMaxMs: sorted[sorted.length - 1] ?? 0,
    mixedCampaignSlowdown: median.mixedCampaignSlowdown!,
    mixedBlastThroughputRatio: median.mixedBlastThroughputRatio!,
    spread: {
      mixedCampaignSlowdown: roundedSpread(spread.mixedCampaignSlowdown!),
      mixedBlastThroughputRatio: roundedSpread(spread.mixedBlastThroughputRatio!),
    },
  };
}

const roundedSpread = (s: Spread): Spread => ({ min: round(s.min, 2), max: round(s.max, 2), rounds: s.rounds.map((v) => round(v, 2)) });
