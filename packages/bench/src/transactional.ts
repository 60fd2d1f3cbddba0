import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { storeKeys } from '@push/store';
import { commandsBetween, commandStats, quantile } from './measure';
import { clientId } from './population';
import { CpuMeter, round } from './proc';
import { benchPayload, type RunContext } from './service-run';
import type { Target } from './main';

/** What `--transactional` runs: one-client pushes offered open-loop at each rate in turn. */
export interface TransactionalOptions {
  /** Pushes per second offered, one rate after the other. @defaultValue [250, 500, 1000, 2000, 4000] */
  rates: number[];
  /** How long each rate is offered, seconds. @defaultValue 30 */
  seconds: number;
  /**
   * After the last request of a rate, how long its pushes may take to complete; a rate that leaves some
   * unfinished ends the run (a higher one would only fall further behind). @defaultValue 15000
   */
  drainMs: number;
}

export const transactionalDefaults = (): TransactionalOptions => ({ rates: [250, 500, 1000, 2000, 4000], seconds: 30, drainMs: 15_000 });

/** Registered clients of the run (an iOS and an Android token each): the issue's population. */
export const TRANSACTIONAL_CLIENTS = 2000;

/** The highest completion p99 a rate may have to count as sustained, ms. */
const SUSTAINED_P99_MS = 1000;

export interface TransactionalStep {
  /** Offered pushes per second. */
  rate: number;
  offered: number;
  /** Answered 200 by the API. */
  accepted: number;
  acceptedPerSecond: number;
  /** Answers other than 200 (or no answer), by status. */
  refused: Record<string, number>;
  /** Accepted pushes whose job reached `completed` within the drain time. */
  completed: number;
  /** Completed pushes / (first request to last completion). */
  completedPerSecond: number;
  /** From the time a request was due (open loop: not when it was sent) to the API's answer, ms. */
  apiP50Ms: number;
  apiP99Ms: number;
  /** From the time a request was due to its job's `finishedAt`, ms. */
  completionP50Ms: number;
  completionP99Ms: number;
  completionMaxMs: number;
  /** From the last request's due time to the last completion, ms. */
  drainedAfterMs: number;
  /** CPU per completed push, µs, per process (the API, each worker, Redis, the simulators, the bench itself). */
  cpuMicrosPerPush: Record<string, number>;
  /** Cores each process used meanwhile (`others`: processes outside the benchmark). */
  cores: Record<string, number>;
  /** Redis commands per completed push (INFO commandstats; scripts' inner calls included), busiest first: calls and µs. */
  redisPerPush: Array<{ command: string; calls: number; usec: number }>;
  /** `uptime`'s 1-minute load average before the rate started. */
  loadBefore: number;
  sustained: boolean;
}

export interface TransactionalReport {
  options: TransactionalOptions;
  steps: TransactionalStep[];
  /** The highest rate whose completion p99 <= 1 s with every push accepted and completed (0: none). */
  txMaxSustainedPerSecond: number;
  /** Completion p99 at 500 pushes/s, ms (null: that rate was not run). */
  txCompletionP99MsAt500: number | null;
}

interface Sent {
  jobId?: string;
  /** Epoch ms the request was due. */
  due: number;
  apiMs?: number;
  status?: number;
}

/** Offers `rate` one-client pushes a second for `seconds`, open-loop, round robin over `clients`. */
async function offer(ctx: RunContext, rate: number, seconds: number, clients: number, agent: Agent): Promise<Sent[]> {
  const url = new URL(ctx.service.url);
  const total = Math.round(rate * seconds);
  const sent: Sent[] = [];
  const answers: Array<Promise<void>> = [];
  const start = performance.now();
  const epoch = performance.timeOrigin;
  const post = (entry: Sent, body: string) =>
    new Promise<void>((resolve) => {
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: '/push/push2clients',
          headers: { 'IM-API-KEY': ctx.service.apiKey, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (part: Buffer) => parts.push(part));
          res.on('end', () => {
            entry.apiMs = epoch + performance.now() - entry.due;
            entry.status = res.statusCode ?? 0;
            if (entry.status === 200)
              entry.jobId = (JSON.parse(Buffer.concat(parts).toString()) as { result: { jobId: string } }).result.jobId;
            resolve();
          });
        },
      );
      req.on('error', () => {
        entry.status = 0;
        resolve();
      });
      req.end(body);
    });
  // Each tick sends every request due by now: the schedule, not the answers, sets the pace.
  while (sent.length < total) {
    const dueNow = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    while (sent.length < dueNow) {
      const entry: Sent = { due: epoch + start + (sent.length / rate) * 1000 };
      const body = JSON.stringify({ clients: [clientId(sent.length % clients)], payload: benchPayload });
      sent.push(entry);
      answers.push(post(entry, body));
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await Promise.all(answers);
  return sent;
}

/** Reads the jobs' `finishedAt` until every one has it or `deadline` (epoch ms) passes: finishedAt by job id. */
async function finishedTimes(ctx: RunContext, jobIds: string[], deadline: number): Promise<Map<string, number>> {
  const keys = storeKeys(ctx.prefix);
  const finished = new Map<string, number>();
  let waiting = jobIds;
  for (;;) {
    const next: string[] = [];
    for (let i = 0; i < waiting.length; i += 1000) {
      const batch = waiting.slice(i, i + 1000);
      const pipeline = ctx.redis.pipeline();
      for (const id of batch) pipeline.hget(keys.job(id), 'finishedAt');
      const replies = (await pipeline.exec()) ?? [];
      batch.forEach((id, k) => {
        const at = replies[k]?.[1];
        if (typeof at === 'string') finished.set(id, Number(at));
        else next.push(id);
      });
    }
    waiting = next;
    if (waiting.length === 0 || Date.now() > deadline) return finished;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function step(ctx: RunContext, o: TransactionalOptions, rate: number, clients: number, agent: Agent): Promise<TransactionalStep> {
  const loadBefore = round(loadavg()[0]!, 2);
  const commandsBefore = await commandStats(ctx.redis);
  const cpu = new CpuMeter(() => ({ ...ctx.service.pids(), ...ctx.otherPids }));
  cpu.start();
  const sent = await offer(ctx, rate, o.seconds, clients, agent);
  const lastDue = sent[sent.length - 1]!.due;
  const accepted = sent.filter((s) => s.jobId !== undefined);
  const finished = await finishedTimes(
    ctx,
    accepted.map((s) => s.jobId!),
    lastDue + o.drainMs,
  );
  const used = cpu.stop();
  const commands = commandsBetween(commandsBefore, await commandStats(ctx.redis));
  const refused: Record<string, number> = {};
  for (const s of sent) if (s.status !== 200) refused[String(s.status)] = (refused[String(s.status)] ?? 0) + 1;
  const api = sent.map((s) => s.apiMs ?? Infinity).sort((a, b) => a - b);
  const completion = accepted
    .filter((s) => finished.has(s.jobId!))
    .map((s) => finished.get(s.jobId!)! - s.due)
    .sort((a, b) => a - b);
  const lastFinish = Math.max(0, ...finished.values());
  const firstDue = sent[0]!.due;
  const done = finished.size;
  const completionP99Ms = round(quantile(completion, 0.99));
  const perPush = (seconds: number) => (done > 0 ? round((seconds * 1e6) / done) : 0);
  return {
    rate,
    offered: sent.length,
    accepted: accepted.length,
    acceptedPerSecond: round(accepted.length / o.seconds),
    refused,
    completed: done,
    completedPerSecond: done > 0 ? round(done / ((lastFinish - firstDue) / 1000)) : 0,
    apiP50Ms: round(quantile(api, 0.5), 1),
    apiP99Ms: round(quantile(api, 0.99), 1),
    completionP50Ms: round(quantile(completion, 0.5)),
    completionP99Ms,
    completionMaxMs: round(completion[completion.length - 1] ?? 0),
    drainedAfterMs: done > 0 ? round(lastFinish - lastDue) : 0,
    cpuMicrosPerPush: Object.fromEntries(Object.entries(used).map(([name, c]) => [name, perPush(c.cpuSeconds)])),
    cores: Object.fromEntries(Object.entries(used).map(([name, c]) => [name, c.cores])),
    redisPerPush: commands
      .slice(0, 12)
      .map((c) => ({ command: c.command, calls: round(c.calls / done, 2), usec: round(c.usec / done, 1) })),
    loadBefore,
    sustained: accepted.length === sent.length && done === accepted.length && completionP99Ms <= SUSTAINED_P99_MS,
  };
}

/**
 * The transactional run (issue 14): one-client pushes offered open-loop at each rate, lowest first, each
 * followed to `completed` (its job's `finishedAt`, read from Redis after the rate ends: following
 * thousands of jobs through the API would load what is measured). A rate whose pushes do not all
 * complete within `drainMs` ends the run.
 */
export async function transactionalRun(ctx: RunContext, o: TransactionalOptions, quiet: () => Promise<void>): Promise<TransactionalReport> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const steps: TransactionalStep[] = [];
  try {
    // The one-client path (API route, high lane) warmed up first: the service's warm-up push is one big job.
    const warmUp = await offer(ctx, o.rates[0]!, Math.min(3, o.seconds), TRANSACTIONAL_CLIENTS, agent);
    await finishedTimes(
      ctx,
      warmUp.flatMap((s) => s.jobId ?? []),
      Date.now() + o.drainMs,
    );
    for (const rate of o.rates) {
      await quiet();
      ctx.log(`transactional: ${rate} one-client pushes/s for ${o.seconds} s`);
      const s = await step(ctx, o, rate, TRANSACTIONAL_CLIENTS, agent);
      steps.push(s);
      ctx.log(
        `  accepted ${s.acceptedPerSecond}/s, completed ${s.completed}/${s.accepted} (${s.completedPerSecond}/s), ` +
          `API p50/p99 ${s.apiP50Ms}/${s.apiP99Ms} ms, completion p50/p99 ${s.completionP50Ms}/${s.completionP99Ms} ms, ` +
          `drained ${s.drainedAfterMs} ms after the last request`,
      );
      if (s.completed < s.accepted) {
        ctx.log(`  ${s.accepted - s.completed} pushes not completed within ${o.drainMs} ms: higher rates skipped`);
        break;
      }
    }
  } finally {
    agent.destroy();
  }
  const at500 = steps.find((s) => s.rate === 500);
  return {
    options: o,
    steps,
    txMaxSustainedPerSecond: Math.max(0, ...steps.filter((s) => s.sustained).map((s) => s.rate)),
    txCompletionP99MsAt500: at500 ? at500.completionP99Ms : null,
  };
}

/** The issue's goals, as targets. */
export function transactionalTargets(r: TransactionalReport): Target[] {
  const at = (rate: number) => r.steps.find((s) => s.rate === rate);
  const out: Target[] = [
    {
      name: 'transactional: max sustained one-client pushes/s (all completed, p99 <= 1 s)',
      target: '>= 2000/s',
      value: `${r.txMaxSustainedPerSecond}/s`,
      met: r.txMaxSustainedPerSecond >= 2000,
    },
  ];
  if (r.txCompletionP99MsAt500 !== null) {
    out.push({
      name: 'transactional: completion p99 at 500/s',
      target: '<= 250 ms',
      value: `${r.txCompletionP99MsAt500} ms`,
      met: r.txCompletionP99MsAt500 <= 250,
    });
  }
  const k = at(1000);
  if (k)
    out.push({ name: 'transactional: API answer p99 at 1000/s', target: '<= 50 ms', value: `${k.apiP99Ms} ms`, met: k.apiP99Ms <= 50 });
  return out;
}

/** The run as a table: one row per rate. */
export function transactionalRows(r: TransactionalReport): { header: string[]; rows: Array<Array<string | number>> } {
  const header = [
    'offered/s',
    'accepted/s',
    'completed/s',
    'API p50 / p99 ms',
    'completion p50 / p99 ms',
    'drained after',
    'CPU µs per push',
    'load',
  ];
  const rows = r.steps.map((s) => [
    s.rate,
    s.acceptedPerSecond,
    `${s.completedPerSecond}${s.completed < s.accepted ? ` (${s.accepted - s.completed} unfinished)` : ''}`,
    `${s.apiP50Ms} / ${s.apiP99Ms}`,
    `${s.completionP50Ms} / ${s.completionP99Ms}`,
    `${s.drainedAfterMs} ms`,
    Object.entries(s.cpuMicrosPerPush)
      .filter(([name]) => name !== 'others')
      .map(([name, us]) => `${name} ${us}`)
      .join(', '),
    s.loadBefore,
  ]);
  return { header, rows };
}
