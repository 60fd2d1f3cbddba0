import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { testRedisUrl } from '@push/testing';
import { parseOptions, UsageError } from '../src/options';

const run = promisify(execFile);
const cli = resolve(__dirname, '../dist/cli.js');

/**
 * The built CLI (npm test builds first), as `npm run bench` runs it, with `--json` on the tests' Redis (its
 * keys are deleted afterwards): the parsed report.
 */
async function benchReport(...flags: string[]) {
  const args = [cli, ...flags, '--json', '--redis-url', testRedisUrl()];
  const { stdout } = await run(process.execPath, args, { maxBuffer: 16 * 2 ** 20, timeout: 55_000 });
  return JSON.parse(stdout);
}

describe('npm run bench -- --quick --json', () => {
  it('runs the whole pipeline and the direct scripts, and reports every ratio as a number', async () => {
    // A few hundred clients keep it short.
    const report = await benchReport('--quick', '--clients', '300', '--web-clients', '200');
    expect(report.service).toMatchObject({ clients: 300, tokens: 600, statuses: { sent: 600 }, accepted: { ios: 300, android: 300 } });
    expect(report.service.tokensPerSecond).toBeGreaterThan(0);
    expect(report.direct.map((d: { libraries: string[] }) => d.libraries)).toEqual([
      ['node-apn', 'firebase-admin'],
      ['node-apn', 'fcm-provider'],
    ]);
    // The Web Push run: its own clients, every subscription sent by the service and by web-push, once each.
    expect(report.web.service).toMatchObject({ clients: 200, tokens: 200, statuses: { sent: 200 }, accepted: { web: 200 } });
    expect(report.web.direct.report.results).toEqual([expect.objectContaining({ library: 'web-push', tokens: 200, sent: 200 })]);
    expect(Object.keys(report.web.cpuPerToken)).toEqual(['service', 'workers', 'web-push']);
    for (const d of report.direct) for (const r of d.report.results) expect(r).toMatchObject({ tokens: 300, sent: 300 });
    const ratioFields = Object.keys(report.ratios).filter((name) => name.includes('ratio'));
    expect(ratioFields).toEqual(
      expect.arrayContaining([
        'ratioIosVsNodeApn',
        'ratioAndroidVsFirebaseAdmin',
        'ratioAndroidVsFcmProvider',
        'ratioOverallVsDirectLibraries',
        'ratioOverallVsDirectOwnSender',
        'ratioWebVsWebPushLib',
      ]),
    );
    for (const name of ratioFields) expect(typeof report.ratios[name]).toBe('number');
    expect(ratioFields).toEqual(expect.arrayContaining(['ratioCpuPerTokenDirectOverService', 'ratioCpuPerTokenOwnSenderOverService']));
    // Each ratio's spread over the rounds, and a run this small says it cannot measure them.
    for (const name of ratioFields) expect(report.ratioSpread[name].rounds).toHaveLength(1);
    expect(Object.keys(report.unmeasured)).toEqual(ratioFields);
    expect(report.cpuPerToken.workers).toBeGreaterThan(0);
    expect(typeof report.redis.bytesPerRegisteredToken).toBe('number');
    expect(report.machine.nproc).toBeGreaterThan(0);
  }, 60_000);
});

describe('npm run bench -- --mixed --json', () => {
  it('runs the blast, the alerts and the campaign alone and together, and reports the mixed figures', async () => {
    // Tiny: the figures mean nothing at this size; the fields and the counts are what is checked.
    const report = await benchReport(
      '--mixed',
      '--mixed-blast',
      '200',
      '--mixed-campaign',
      '20',
      '--mixed-alert-every',
      '50',
      '--mixed-campaign-at',
      '50',
      '--mixed-rounds',
      '2',
      '--wait-quiet',
      '0',
    );
    expect(report.population).toMatchObject({ clients: 221, iosTokens: 221, androidTokens: 221 });
    expect(report.mixed.blastTokens).toBe(400);
    expect(report.mixed.rounds).toHaveLength(2);
    for (const round of report.mixed.rounds) expect(round.alerts).toBeGreaterThanOrEqual(1);
    expect(report.mixed.spread.mixedCampaignSlowdown.rounds).toHaveLength(2);
    for (const field of ['mixedAlertP50Ms', 'mixedAlertP99Ms', 'mixedAlertMaxMs', 'mixedCampaignSlowdown', 'mixedBlastThroughputRatio']) {
      expect(report.mixed[field]).toBeGreaterThan(0);
    }
    // Chunk times come from BullMQ's events (high chunks leave BullMQ as they complete): a run includes the
    // simulators' answer, so it is never 0 ms.
    for (const chunks of [report.mixed.alertChunks, report.mixed.campaignChunks]) expect(chunks.runMs[0]).toBeGreaterThan(0);
    expect(report.targets.map((t: { name: string }) => t.name)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^mixed: alert p99/)]),
    );
  }, 60_000);
});

describe('npm run bench -- --transactional --json', () => {
  it('offers one-client pushes at each rate and follows every one to completed', async () => {
    // Tiny rates for a second each: the fields and the counts are what is checked, not the figures.
    const report = await benchReport('--transactional', '--tx-rates', '10,20', '--tx-seconds', '1', '--wait-quiet', '0');
    expect(report.population).toMatchObject({ clients: 2000, iosTokens: 2000, androidTokens: 2000 });
    expect(report.transactional.steps).toEqual([
      expect.objectContaining({ rate: 10, offered: 10, accepted: 10, completed: 10, refused: {} }),
      expect.objectContaining({ rate: 20, offered: 20, accepted: 20, completed: 20, refused: {} }),
    ]);
    for (const s of report.transactional.steps) {
      expect(s.completionP99Ms).toBeGreaterThan(0);
      expect(s.cpuMicrosPerPush.api).toBeGreaterThan(0);
    }
    expect(typeof report.transactional.txMaxSustainedPerSecond).toBe('number');
    expect(report.transactional.txCompletionP99MsAt500).toBeNull();
  }, 60_000);
});

describe('options', () => {
  it('has defaults for the full run and for --quick', () => {
    expect(parseOptions([])).toMatchObject({
      clients: 100_000,
      webClients: 20_000,
      scaling: [1, 2, 4],
      apiMillion: 1_000_000,
      repeat: 3,
      json: false,
    });
    expect(parseOptions(['--quick'])).toMatchObject({
      clients: 1000,
      webClients: 500,
      scaling: [],
      apiMillion: 0,
      repeat: 1,
      waitQuietMs: 0,
    });
  });

  it.each<[string[], object]>([
    [
      ['--clients', '5000', '--ios-share', '0.5', '--android-share=0.5'],
      { clients: 5000, iosShare: 0.5, androidShare: 0.5, scalingClients: 5000 },
    ],
    [['--latency', '50', '--jitter', '0', '--workers', '2'], { latencyMs: 50, jitterMs: 0, workers: 2 }],
    [['--web-clients', '3000'], { webClients: 3000 }],
    [['--no-web'], { webClients: 0 }],
    [['--scaling', '1,3', '--scaling-clients', '2000'], { scaling: [1, 3], scalingClients: 2000 }],
    [['--scaling', '--json'], { scaling: [1, 2, 4], json: true }],
    [['--only-api-million'], { skipService: true, baselines: false, scaling: [], apiMillion: 1_000_000 }],
    [['--redis-cluster'], { redisCluster: true, baselines: false, scaling: [], apiMillion: 0, webClients: 0, repeat: 1 }],
    [['--api-million', '200000', '--no-baselines', '--no-scaling'], { apiMillion: 200_000, baselines: false, scaling: [] }],
    [
      ['--env', 'APNS_BATCH_SIZE=250', '--env', 'A=b=c', '--node-arg=--trace-gc'],
      { env: { APNS_BATCH_SIZE: '250', A: 'b=c' }, nodeArgs: ['--trace-gc'] },
    ],
    [
      ['--mixed'],
      {
        mixed: { blastClients: 200_000, campaignClients: 2000, alertEveryMs: 500, campaignAtMs: 3000 },
        clients: 202_001,
        baselines: false,
        scaling: [],
        apiMillion: 0,
        repeat: 1,
        webClients: 0,
      },
    ],
    [
      ['--with-mixed', '--mixed-blast', '50000'],
      { withMixed: { blastClients: 50_000, campaignClients: 2000, alertEveryMs: 500, campaignAtMs: 3000 }, clients: 100_000 },
    ],
    [
      ['--mixed-blast', '50000', '--mixed-campaign-at', '1500'],
      { mixed: { blastClients: 50_000, campaignClients: 2000, alertEveryMs: 500, campaignAtMs: 1500 }, clients: 52_001 },
    ],
    [
      ['--transactional'],
      {
        transactional: { rates: [250, 500, 1000, 2000, 4000], seconds: 30, drainMs: 15_000 },
        clients: 2000,
        webClients: 0,
        baselines: false,
        env: { API_RATE_LIMIT_PER_MINUTE: '480000' },
      },
    ],
    [
      ['--tx-rates', '100,200', '--tx-seconds', '5', '--clients', '500', '--env', 'API_RATE_LIMIT_PER_MINUTE=0'],
      { transactional: { rates: [100, 200], seconds: 5, drainMs: 15_000 }, clients: 500, env: { API_RATE_LIMIT_PER_MINUTE: '0' } },
    ],
  ])('%j', (argv, expected) => {
    expect(parseOptions(argv)).toMatchObject(expected);
  });

  it.each([
    [['--clients', '0']],
    [['--ios-share', '2']],
    [['--ios-share', '0', '--android-share', '0']],
    [['--env', 'NOEQUALS']],
    [['--frobnicate']],
    [['--redis-cluster', '--redis-url', 'redis://127.0.0.1:6379']],
    [['--tx-rates', '100,x']],
  ])('refuses %j', (argv) => {
    expect(() => parseOptions(argv)).toThrow(UsageError);
  });
});
