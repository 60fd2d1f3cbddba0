import { mixedClients, type MixedOptions } from './mixed';
import { TRANSACTIONAL_CLIENTS, transactionalDefaults, type TransactionalOptions } from './transactional';

/** What one `npm run bench` does; every field has a command-line option (see `usage`). */
export interface BenchOptions {
  /** Registered clients. @defaultValue 100000 (1000 with --quick) */
  clients: number;
  /** Share (0..1) of clients with an iOS token. @defaultValue 1 */
  iosShare: number;
  /** Share (0..1) of clients with an Android token; with iosShare + androidShare <= 1 the two sets are disjoint. @defaultValue 1 */
  androidShare: number;
  /**
   * Web clients (one browser subscription each, clients of their own) of the Web Push run: one push to all
   * of them through the service, then the same with the web-push library directly; 0: no Web Push run.
   * @defaultValue 20000 (500 with --quick)
   */
  webClients: number;
  /** Simulated provider latency per request, ms. @defaultValue 20 */
  latencyMs: number;
  /** Uniform ± jitter on the latency, ms. @defaultValue 5 */
  jitterMs: number;
  /** Worker processes per platform for the main run. @defaultValue 1 */
  workers: number;
  /** Worker counts of the scaling run; empty: no scaling run. @defaultValue [1, 2, 4] in the full run, [] with --quick */
  scaling: number[];
  /** Clients of each scaling run. @defaultValue clients */
  scalingClients: number;
  /** Run the direct-library baselines. @defaultValue true */
  baselines: boolean;
  /** Clients of the API-only run (one request naming this many); 0: skipped. @defaultValue 1000000 (0 with --quick) */
  apiMillion: number;
  /** Requests of the API-only run, one after the other. @defaultValue 3 */
  apiRepeat: number;
  /** Skip the service run (e.g. `--api-million` alone). */
  skipService: boolean;
  /** FCM_RATE_LIMIT_PER_MINUTE given to the FCM workers. @defaultValue 600000 (the service default) */
  fcmRateLimitPerMinute: number;
  /** Extra environment for API and workers (`--env NAME=value`, repeatable). */
  env: Record<string, string>;
  /** An existing Redis to use instead of starting a private redis-server (keys under a random prefix, deleted at the end). */
  redisUrl?: string;
  /**
   * `--redis-cluster`: the service run alone on a private Redis Cluster of three masters (REDIS_CLUSTER),
   * reporting what each master handled (`clusterMaxMasterShare`).
   */
  redisCluster: boolean;
  /** Extra node flags for the API and worker processes (`--node-arg --trace-gc`, repeatable). */
  nodeArgs: string[];
  /** Write V8 CPU profiles of the API and workers into this folder. */
  cpuProfDir?: string;
  /** Print one JSON document instead of tables. */
  json: boolean;
  quick: boolean;
  /** Measured rounds of the service and of each direct script, taking turns; ratios are medians over them. @defaultValue 3 (1 with --quick) */
  repeat: number;
  /** Before each measured run, wait up to this long for other processes to leave the CPU alone, ms (0: don't). @defaultValue 60000 (0 with --quick) */
  waitQuietMs: number;
  /** Give up on a service run after this long, ms. @defaultValue 600000 */
  timeoutMs: number;
  /** `--mixed`: only the lanes run (a blast, alerts, a campaign; see mixed.ts); registers the clients it needs. */
  mixed?: MixedOptions;
  /** `--transactional`: only one-client pushes at fixed rates (transactional.ts); registers the clients it needs. */
  transactional?: TransactionalOptions;
  /** `--with-mixed`: the lanes run too, after the main rounds of a full run (registering the clients it needs beyond --clients). */
  withMixed?: MixedOptions;
}

export const usage = `npm run bench -- [options]

  --clients N           registered clients (default 100000; --quick: 1000)
  --ios-share S         share 0..1 of clients with an iOS token (default 1)
  --android-share S     share 0..1 of clients with an Android token (default 1); shares summing to <= 1 are disjoint
  --web-clients N       the Web Push run: N browser subscriptions, the service against web-push's sendNotification (default 20000; --quick: 500)
  --no-web              no Web Push run
  --latency MS          simulated provider latency per request (default 20)
  --jitter MS           uniform +- spread on the latency (default 5)
  --workers N           worker processes per platform (default 1)
  --scaling [1,2,4]     also run with these worker counts per platform (default in the full run: 1,2,4)
  --no-scaling          no scaling run
  --scaling-clients N   clients of each scaling run (default: --clients)
  --no-baselines        skip the direct-library baselines
  --api-million [N]     API-only run: one request naming N clients (default 1000000; part of the full run)
  --api-repeat N        requests of the API-only run, one after the other (default 3)
  --no-api-million      skip the API-only run
  --only-api-million    only the API-only run
  --fcm-rate-limit N    FCM_RATE_LIMIT_PER_MINUTE of the FCM workers (default 600000, the service default; 0: off)
  --redis-url URL       use this Redis instead of a private redis-server (keys under a prefix of the run's own, deleted after)
  --redis-cluster       the service run alone, on a private Redis Cluster of 3 masters: commands and CPU per master
  --env NAME=VALUE      extra environment for the API and the workers (repeatable)
  --node-arg FLAG        an extra node flag for the API and the workers, e.g. --node-arg=--trace-gc (repeatable)
  --cpu-prof DIR        write CPU profiles (node --cpu-prof) of the API and the workers into DIR
  --repeat N            measured rounds of the service and of each direct script, taking turns; each ratio is the median
                        of the rounds, with its spread (default 3; --quick: 1)
  --wait-quiet MS       before each measured run, wait up to MS for other processes to go quiet (default 60000; --quick: 0)
  --quick               small and fast (under a minute): 1000 clients, no scaling, no million run
  --mixed               only the lanes run: a blast, a high-priority alert to one user every 500 ms while it drains,
                        a normal campaign a few seconds in; each alone first (mixedAlertP50Ms ... mixedBlastThroughputRatio)
  --with-mixed          the full run includes the lanes run (as --mixed, after the main rounds; the --mixed-* options apply)
  --mixed-blast N       clients of the blast (default 200000)
  --mixed-campaign N    clients of the campaign (default 2000)
  --mixed-alert-every MS  interval between alerts (default 500)
  --mixed-campaign-at MS  when the campaign starts, after the blast (default 3000)
  --mixed-rounds N      rounds of the lanes run, each alone then together; its ratios are the medians (default 3)
  --transactional       only one-client pushes, offered open-loop at fixed rates, each followed to completed
                        (txMaxSustainedPerSecond, txCompletionP99MsAt500); 2000 clients unless --clients
  --tx-rates R1,R2,...  pushes per second of each step (default 250,500,1000,2000,4000)
  --tx-seconds S        how long each rate is offered (default 30)
  --tx-drain MS         how long a rate's pushes may take to complete after its last request (default 15000)
  --timeout MS          give up on a run after this long (default 600000)
  --json                one JSON document on stdout instead of tables
  --help`;

const mixedDefaults = (): MixedOptions => ({
  blastClients: 200_000,
  campaignClients: 2000,
  alertEveryMs: 500,
  campaignAtMs: 3000,
  rounds: 3,
});

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = this.constructor.name;
  }
}

/** Parses `argv` (without node and the script); throws UsageError naming the bad option. */
export function parseOptions(argv: readonly string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const o: BenchOptions = {
    clients: quick ? 1000 : 100_000,
    iosShare: 1,
    androidShare: 1,
    webClients: quick ? 500 : 20_000,
    latencyMs: 20,
    jitterMs: 5,
    workers: 1,
    scaling: quick ? [] : [1, 2, 4],
    scalingClients: 0,
    baselines: true,
    apiMillion: quick ? 0 : 1_000_000,
    apiRepeat: 3,
    skipService: false,
    fcmRateLimitPerMinute: 600_000,
    env: {},
    redisCluster: false,
    nodeArgs: [],
    json: false,
    quick,
    repeat: quick ? 1 : 3,
    waitQuietMs: quick ? 0 : 60_000,
    timeoutMs: 600_000,
  };
  let withMixed = false;
  const args = [...argv];
  const next = (name: string): string => {
    const value = args.shift();
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${name} needs a value`);
    return value;
  };
  const optionalValue = (): string | undefined => (args[0] !== undefined && !args[0].startsWith('--') ? args.shift() : undefined);
  const int = (name: string, min: number, text = next(name)): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`${name}: expected an integer >= ${min}, got ${text}`);
    return n;
  };
  const share = (name: string): number => {
    const text = next(name);
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`${name}: expected a number from 0 to 1, got ${text}`);
    return n;
  };
  while (args.length > 0) {
    let arg = args.shift()!;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      // --name=value
      args.unshift(arg.slice(eq + 1));
      arg = arg.slice(0, eq);
    }
    switch (arg) {
      case '--clients':
        o.clients = int(arg, 1);
        break;
      case '--ios-share':
        o.iosShare = share(arg);
        break;
      case '--android-share':
        o.androidShare = share(arg);
        break;
      case '--web-clients':
        o.webClients = int(arg, 1);
        break;
      case '--no-web':
        o.webClients = 0;
        break;
      case '--latency':
        o.latencyMs = int(arg, 0);
        break;
      case '--jitter':
        o.jitterMs = int(arg, 0);
        break;
      case '--workers':
        o.workers = int(arg, 1);
        break;
      case '--scaling': {
        const list = optionalValue();
        o.scaling = list === undefined ? [1, 2, 4] : list.split(',').map((n) => int(arg, 1, n));
        break;
      }
      case '--no-scaling':
        o.scaling = [];
        break;
      case '--scaling-clients':
        o.scalingClients = int(arg, 1);
        break;
      case '--no-baselines':
        o.baselines = false;
        break;
      case '--api-million': {
        const n = optionalValue();
        o.apiMillion = n === undefined ? 1_000_000 : int(arg, 1, n);
        break;
      }
      case '--no-api-million':
        o.apiMillion = 0;
        break;
      case '--api-repeat':
        o.apiRepeat = int(arg, 1);
        break;
      case '--only-api-million':
        o.skipService = true;
        o.baselines = false;
        o.scaling = [];
        if (o.apiMillion === 0) o.apiMillion = 1_000_000;
        break;
      case '--fcm-rate-limit':
        o.fcmRateLimitPerMinute = int(arg, 0);
        break;
      case '--env': {
        const pair = next(arg);
        const at = pair.indexOf('=');
        if (at <= 0) throw new UsageError(`--env: expected NAME=VALUE, got ${pair}`);
        o.env[pair.slice(0, at)] = pair.slice(at + 1);
        break;
      }
      case '--cpu-prof':
        o.cpuProfDir = next(arg);
        break;
      case '--redis-url':
        o.redisUrl = next(arg);
        break;
      case '--redis-cluster':
        o.redisCluster = true;
        break;
      case '--node-arg': {
        const flag = args.shift();
        if (flag === undefined) throw new UsageError('--node-arg needs a value');
        o.nodeArgs.push(flag);
        break;
      }
      case '--timeout':
        o.timeoutMs = int(arg, 1000);
        break;
      case '--repeat':
        o.repeat = int(arg, 1);
        break;
      case '--wait-quiet':
        o.waitQuietMs = int(arg, 0);
        break;
      case '--json':
        o.json = true;
        break;
      case '--quick':
        break;
      case '--mixed':
        o.mixed ??= mixedDefaults();
        break;
      case '--with-mixed':
        withMixed = true;
        break;
      case '--mixed-blast':
        (o.mixed ??= mixedDefaults()).blastClients = int(arg, 1);
        break;
      case '--mixed-campaign':
        (o.mixed ??= mixedDefaults()).campaignClients = int(arg, 1);
        break;
      case '--mixed-alert-every':
        (o.mixed ??= mixedDefaults()).alertEveryMs = int(arg, 10);
        break;
      case '--mixed-campaign-at':
        (o.mixed ??= mixedDefaults()).campaignAtMs = int(arg, 0);
        break;
      case '--mixed-rounds':
        (o.mixed ??= mixedDefaults()).rounds = int(arg, 1);
        break;
      case '--transactional':
        o.transactional ??= transactionalDefaults();
        break;
      case '--tx-rates':
        (o.transactional ??= transactionalDefaults()).rates = next(arg)
          .split(',')
          .map((n) => int(arg, 1, n));
        break;
      case '--tx-seconds':
        (o.transactional ??= transactionalDefaults()).seconds = int(arg, 1);
        break;
      case '--tx-drain':
        (o.transactional ??= transactionalDefaults()).drainMs = int(arg, 0);
        break;
      default:
        throw new UsageError(`unknown option ${arg}`);
    }
  }
  if (withMixed) {
    o.withMixed = o.mixed ?? mixedDefaults();
    delete o.mixed;
  } else if (o.mixed) {
    // The mixed run alone, on the clients it names.
    Object.assign(o, { clients: mixedClients(o.mixed), baselines: false, scaling: [], apiMillion: 0, repeat: 1, webClients: 0 });
  }
  if (o.redisCluster) {
    if (o.redisUrl !== undefined) throw new UsageError('--redis-cluster starts its own cluster: not with --redis-url');
    // What each master handles in one push: nothing else runs on the cluster.
    Object.assign(o, { baselines: false, scaling: [], apiMillion: 0, webClients: 0, repeat: 1 });
  }
  if (o.transactional) {
    // The transactional run alone, on its own population unless --clients names one.
    const clients = argv.some((a) => a.startsWith('--clients')) ? o.clients : TRANSACTIONAL_CLIENTS;
    Object.assign(o, { clients, webClients: 0, baselines: false, scaling: [], apiMillion: 0, repeat: 1 });
    // The default per-key request limit (1000/s) would refuse the higher rates: twice the highest, unless --env sets it.
    o.env.API_RATE_LIMIT_PER_MINUTE ??= String(Math.max(...o.transactional.rates) * 120);
  }
  if (o.scalingClients === 0) o.scalingClients = o.clients;
  if (o.iosShare === 0 && o.androidShare === 0) throw new UsageError('--ios-share and --android-share are both 0: nothing to send');
  return o;
}
