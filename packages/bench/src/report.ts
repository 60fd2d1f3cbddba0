import type { BenchReport } from './main';
import { transactionalRows } from './transactional';
import { stages } from './profile-stages';

const mb = (bytes: number | undefined) => `${((bytes ?? 0) / 2 ** 20).toFixed(0)} MB`;
const n = (value: number) => value.toLocaleString('en-US');

function table(title: string, header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [`\n${title}`, line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

/** The report for a person: markdown-style tables. */
export function formatReport(r: BenchReport): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`Machine: ${m.nproc} CPU (${m.cpuModel}), ${mb(m.memoryBytes)} RAM, node ${m.node}, redis ${m.redis}`);
  if (r.population) {
    out.push(
      `Clients: ${n(r.population.clients)} (${n(r.population.iosTokens)} iOS + ${n(r.population.androidTokens)} Android tokens, registered in ${r.population.registerSeconds} s)`,
    );
  }
  const s = r.service;
  if (s) {
    out.push(
      table(
        `Service: one POST /push/push2clients, ${s.workersPerPlatform} worker(s) per platform`,
        ['measure', 'value'],
        [
          ['API answer', `${s.apiAnswerMs} ms`],
          ['time to first delivery', `${s.firstDeliveryMs} ms`],
          ['time to completion', `${n(s.completionMs)} ms`],
          ['throughput overall', `${n(s.tokensPerSecond)} tokens/s`],
          ['throughput iOS / Android', `${n(s.platforms.ios.tokensPerSecond)} / ${n(s.platforms.android.tokensPerSecond)} tokens/s`],
          ['per-token latency p50 / p99 (request -> result)', `${n(s.p50Ms)} / ${n(s.p99Ms)} ms`],
          ['  iOS p50 / p99', `${n(s.platforms.ios.p50Ms)} / ${n(s.platforms.ios.p99Ms)} ms`],
          ['  Android p50 / p99', `${n(s.platforms.android.p50Ms)} / ${n(s.platforms.android.p99Ms)} ms`],
          [
            'results',
            Object.entries(s.statuses)
              .map(([k, v]) => `${k} ${n(v)}`)
              .join(', '),
          ],
          ['accepted by the simulators (iOS / Android)', `${n(s.accepted.ios)} / ${n(s.accepted.android)}`],
          ['new HTTP/2 connections during the run (APNs / FCM)', `${s.connections.ios} / ${s.connections.android}`],
          ['simulator event loop busy', `${Math.round(s.simulatorBusy * 100)} %`],
          [
            `Redis commands per chunk job (${n(s.redisCommands.chunkJobs)}; scripts' inner calls included)`,
            Object.entries(s.redisCommands.perChunk)
              .slice(0, 8)
              .map(([c, k]) => `${c} ${k}`)
              .join(', '),
          ],
          [
            'Redis per token: CPU (redis-server process), commands, script calls',
            `${s.redisCommands.redisCpuMicrosPerToken} µs, ${s.redisCommands.redisCommandsPerToken}, ${s.redisCommands.scriptCallsPerToken}`,
          ],
          ...(s.redisCommands.cluster
            ? [
                [
                  'Redis Cluster: commands / CPU seconds per master',
                  s.redisCommands.cluster.masters.map((m) => `${n(m.commands)} / ${m.cpuSeconds}`).join(', '),
                ],
                [
                  'Redis Cluster: busiest master share (commands, CPU)',
                  `${s.redisCommands.cluster.clusterMaxMasterShare}, ${s.redisCommands.cluster.clusterMaxMasterCpuShare}`,
                ],
              ]
            : []),
          ...Object.entries(s.peakRssBytes).map(([name, b]) => [`peak RSS ${name}`, mb(b)]),
          ...Object.entries(s.cpu).map(([name, c]) => [`CPU ${name}`, `${c.cpuSeconds} s (${c.cores} cores)`]),
        ],
      ),
    );
  }
  if (r.redis) {
    out.push(
      table(
        'Redis memory',
        ['measure', 'bytes'],
        [
          ['per registered token (used_memory delta)', r.redis.bytesPerRegisteredToken],
          ['per registered token (MEMORY USAGE of registry keys)', r.redis.registryKeyBytesPerToken],
          ...(r.redis.bytesPerResult !== undefined
            ? [['per kept result (used_memory freed by deleting the job; kept JOB_RETENTION_SECONDS)', r.redis.bytesPerResult]]
            : []),
          ...(r.service
            ? [['  MEMORY USAGE of the job keys, per result', Math.round(r.service.redis.jobKeysBytes / Math.max(1, r.service.tokens))]]
            : []),
        ],
      ),
    );
  }
  if (r.direct && r.direct.length > 0) {
    const rows: Array<Array<string | number>> = [];
    for (const d of r.direct) {
      for (const x of d.report.results)
        rows.push([d.libraries.join(' + '), x.library, n(x.tokens), n(x.tokensPerSecond), `${n(x.p50Ms)} / ${n(x.p99Ms)}`]);
      rows.push([
        d.libraries.join(' + '),
        'overall',
        n(d.report.overall.tokens),
        n(d.report.overall.tokensPerSecond),
        `peak RSS ${mb(d.report.peakRssBytes)}, CPU ${d.report.cpuSeconds.toFixed(1)} s + simulators ${d.report.simulatorCpuSeconds.toFixed(1)} s (others ${d.report.cpu.others?.cores ?? 0} cores), ` +
          `simulators busy ${Math.round(d.report.simulatorBusy * 100)} %, new connections ${d.report.connections.ios} / ${d.report.connections.android}`,
      ]);
    }
    out.push(
      table(
        'Direct scripts (the libraries called directly, one process)',
        ['script', 'library', 'tokens', 'tokens/s', 'p50 / p99 ms'],
        rows,
      ),
    );
  }
  if (r.ratios) {
    out.push(
      table(
        'Service / direct (throughput: service over direct; CPU per token: direct over the workers), median of the rounds',
        ['ratio', 'median', 'rounds (min..max)'],
        Object.entries(r.ratios).map(([k, v]) => {
          const spread = r.ratioSpread?.[k];
          const why = r.unmeasured?.[k];
          return [
            k,
            why === undefined ? v.toFixed(2) : 'too small to measure',
            spread ? `${spread.rounds.map((x) => x.toFixed(2)).join(', ')} (${spread.min.toFixed(2)}..${spread.max.toFixed(2)})` : '',
          ];
        }),
      ),
    );
    const reasons = [...new Set(Object.values(r.unmeasured ?? {}))];
    if (reasons.length > 0) out.push(`Too small to measure: ${reasons.join('; ')}.`);
  }
  if (r.cpuPerToken) {
    const who = (k: string) =>
      k === 'service' ? 'service (API + workers + Redis)' : k === 'workers' ? 'service: its workers' : `direct ${k}`;
    out.push(
      table(
        'CPU per token, median of the rounds (simulators excluded; hardly affected by other load on the machine)',
        ['who', 'µs per token'],
        Object.entries(r.cpuPerToken).map(([k, v]) => [who(k), v.toFixed(1)]),
      ),
    );
  }
  if (r.stages) {
    const names = stages.filter((st) => Object.values(r.stages!).some((f) => f.microsPerToken[st] !== undefined));
    out.push(
      table(
        'CPU per token by stage, µs (--cpu-prof: the process CPU of the reported run, split by its profile)',
        ['process', 'tokens', ...names, 'total'],
        Object.entries(r.stages).map(([name, f]) => [
          name,
          n(f.tokens),
          ...names.map((st) => f.microsPerToken[st]?.toFixed(1) ?? ''),
          Object.values(f.microsPerToken)
            .reduce((a, b) => a + b, 0)
            .toFixed(1),
        ]),
      ),
    );
  }
  const w = r.web;
  if (w) {
    const rows: Array<Array<string | number>> = [];
    if (w.service) {
      const web = w.service.platforms.web;
      rows.push([
        'service',
        n(web.tokens),
        n(web.tokensPerSecond),
        `${n(web.p50Ms)} / ${n(web.p99Ms)}`,
        w.cpuPerToken?.service?.toFixed(1) ?? '',
        `results ${Object.entries(w.service.statuses)
          .map(([k, v]) => `${k} ${n(v)}`)
          .join(', ')}; new connections ${w.service.connections.web}; ` + `simulators busy ${Math.round(w.service.simulatorBusy * 100)} %`,
      ]);
    }
    for (const x of w.direct?.report.results ?? []) {
      rows.push([
        `direct ${x.library} sendNotification`,
        n(x.tokens),
        n(x.tokensPerSecond),
        `${n(x.p50Ms)} / ${n(x.p99Ms)}`,
        w.cpuPerToken?.['web-push']?.toFixed(1) ?? '',
        `new connections ${w.direct!.report.connections.web}; simulators busy ${Math.round(w.direct!.report.simulatorBusy * 100)} %`,
      ]);
    }
    out.push(
      table(
        `Web Push: ${n(w.clients)} browser subscriptions (VAPID checked and payloads decrypted by the simulator)`,
        ['who', 'subscriptions', 'per second', 'p50 / p99 ms', 'CPU µs each', 'notes'],
        rows,
      ),
    );
  }
  if (r.scaling) {
    out.push(
      table(
        'Scaling (workers per platform)',
        ['workers', 'clients', 'tokens/s', 'iOS /s', 'Android /s', 'completion ms', 'simulators busy', 'worker peak RSS', 'others (cores)'],
        r.scaling.map((p) => [
          p.workersPerPlatform,
          n(p.clients),
          n(p.tokensPerSecond),
          n(p.iosTokensPerSecond),
          n(p.androidTokensPerSecond),
          n(p.completionMs),
          `${Math.round(p.simulatorBusy * 100)} %`,
          mb(p.peakWorkerRssBytes),
          String(p.cpu.others?.cores ?? 0),
        ]),
      ),
    );
  }
  if (r.apiMillion) {
    const a = r.apiMillion;
    const both = (m: { rssBytes: number; heapUsedBytes: number }) => `RSS ${mb(m.rssBytes)}, V8 heap used ${mb(m.heapUsedBytes)}`;
    out.push(
      table(
        `API alone: ${n(a.clients)} clients in one request (${mb(a.bodyBytes)} body)`,
        ['measure', 'value'],
        [
          ['answer times', `${a.answerMs.join(' / ')} ms`],
          ['idle', both(a.idle)],
          ['peak RSS', mb(a.peakRssBytes)],
          ['right after the last answer', both(a.afterAnswer)],
          [`after ${a.settleSeconds} s idle`, `${both(a.settled)} (${a.returnedToIdle ? 'back to idle' : 'NOT back to idle'})`],
        ],
      ),
    );
  }
  if (r.mixed) {
    const m = r.mixed;
    out.push(
      table(
        `Lanes: a ${n(m.options.blastClients)}-client blast, an alert every ${m.options.alertEveryMs} ms, a ${n(m.options.campaignClients)}-client campaign after ${m.options.campaignAtMs} ms; each round alone, then together`,
        [
          'round',
          'blast tokens/s alone / together (ratio)',
          'campaign ms alone / together (slowdown)',
          'alerts',
          "load before; others' cores during",
        ],
        m.rounds.map((x, i) => [
          String(i + 1),
          `${n(x.blastAloneTokensPerSecond)} / ${n(x.blastTogetherTokensPerSecond)} (${m.spread.mixedBlastThroughputRatio.rounds[i]})`,
          `${n(x.campaignAloneMs)} / ${n(x.campaignTogetherMs)} (${m.spread.mixedCampaignSlowdown.rounds[i]})`,
          String(x.alerts),
          `${x.load.beforeAlone}, ${x.load.beforeMixed}; ${x.load.othersCoresDuringMixed}`,
        ]),
      ),
      table(
        'Lanes: medians over the rounds, and the alerts',
        ['measure', 'value'],
        [
          ['blast throughput ratio (median)', String(m.mixedBlastThroughputRatio)],
          ['campaign slowdown (median)', String(m.mixedCampaignSlowdown)],
          ['alert alone: p50 / max', `${m.alertAlone.p50Ms} / ${m.alertAlone.maxMs} ms`],
          ['alert during the blast: p50 / p99 / max', `${m.mixedAlertP50Ms} / ${m.mixedAlertP99Ms} / ${m.mixedAlertMaxMs} ms`],
          [
            '  alert chunks: taken after / run, p50 and p99',
            `${m.alertChunks.takenAfterMs.join(' / ')} ms / ${m.alertChunks.runMs.join(' / ')} ms`,
          ],
          [
            'campaign chunks during the blast: taken after / run, p50 and p99',
            `${m.campaignChunks.takenAfterMs.join(' / ')} ms / ${m.campaignChunks.runMs.join(' / ')} ms`,
          ],
        ],
      ),
    );
  }
  if (r.transactional) {
    const { header, rows } = transactionalRows(r.transactional);
    out.push(table(`Transactional: one-client pushes, each rate for ${r.transactional.options.seconds} s`, header, rows));
  }
  out.push(
    table(
      'Targets',
      ['target', 'wanted', 'measured', 'met'],
      r.targets.map((t) => [t.name, t.target, t.value, t.met ? 'yes' : 'NO']),
    ),
  );
  if (r.warnings.length > 0) out.push('\nWARNINGS:', ...r.warnings.map((w) => `- ${w}`));
  out.push('\nMethod:', ...r.method.map((line) => `- ${line}`));
  return out.join('\n');
}
