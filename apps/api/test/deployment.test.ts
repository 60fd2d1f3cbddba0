import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { enabledPlatforms, envSchema, fcmSettings, loadConfig, webPushCredentials } from '@push/config';
import { generateVapidKeys } from '@push/providers';
import { SIMULATOR_ENV_VARS } from '@push/simulators';

// No Docker engine runs the tests, so docker-compose.yml and the Dockerfile are checked as files: the
// services and profiles, health checks and start order, and that every variable they set is one the
// processes read, with demo defaults that match what the simulators are told.

const root = resolve(__dirname, '../../..');

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  profiles?: string[];
  ports?: string[];
  container_name?: string;
  environment?: Record<string, string | number | boolean>;
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
}
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const { services } = compose;
const apps = ['api', 'apns-worker', 'fcm-worker', 'webpush-worker'] as const;
const workers = ['apns-worker', 'fcm-worker', 'webpush-worker'] as const;

/** Compose's `${VAR:-default}` / `${VAR-default}` / `${VAR}` with `vars` as the shell environment. */
function interpolate(value: string | number | boolean, vars: Record<string, string>): string {
  return String(value).replace(/\$\{(\w+)(?:(:?-)([^}]*))?\}/g, (_, name: string, op: string | undefined, fallback: string | undefined) => {
    const given = vars[name];
    if (op === ':-') return given === undefined || given === '' ? fallback! : given;
    if (op === '-') return given === undefined ? fallback! : given;
    return given ?? '';
  });
}
const envOf = (service: string, vars: Record<string, string> = {}) =>
  Object.fromEntries(Object.entries(services[service]!.environment ?? {}).map(([k, v]) => [k, interpolate(v, vars)]));

describe('docker-compose.yml', () => {
  it('has Redis, the API and the workers, the simulators in the demo profile only and the Web Push worker in the web profile', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'apns-worker', 'fcm-worker', 'redis', 'simulators', 'webpush-worker']);
    expect(services.simulators!.profiles).toEqual(['demo']);
    expect(services['webpush-worker']!.profiles).toEqual(['web']);
    for (const name of ['redis', 'api', 'apns-worker', 'fcm-worker']) expect(services[name]!.profiles).toBeUndefined();
  });

  it('delivers to browsers only once .env has the VAPID keys: the API queues web chunks, the Web Push worker starts', () => {
    expect(enabledPlatforms(loadConfig(envOf('api')))).toEqual(['ios', 'android']);
    const vapid = generateVapidKeys();
    const vars = {
      WEBPUSH_VAPID_PUBLIC_KEY: vapid.publicKey,
      WEBPUSH_VAPID_PRIVATE_KEY: vapid.privateKey,
      WEBPUSH_SUBJECT: 'mailto:ops@example.com',
    };
    expect(enabledPlatforms(loadConfig(envOf('api', vars)))).toEqual(['ios', 'android', 'web']);
    expect(webPushCredentials(loadConfig(envOf('webpush-worker', vars)))).toEqual({
      publicKey: vapid.publicKey,
      privateKey: vapid.privateKey,
      subject: 'mailto:ops@example.com',
    });
    expect(
      loadConfig(envOf('webpush-worker', { ...vars, WEBPUSH_ALLOWED_ENDPOINTS: 'simulators:4444' })).WEBPUSH_ALLOWED_ENDPOINTS,
    ).toEqual([{ host: 'simulators', anySubdomain: false, port: '4444' }]);
  });

  it("repeats the processes' own numeric defaults, so a default changed in the code is not kept at its old value here", () => {
    const shape = envSchema.shape as Record<string, { safeParse(v: unknown): { success: boolean; data?: unknown } }>;
    const checked: string[] = [];
    for (const app of apps) {
      for (const [name, value] of Object.entries(services[app]!.environment ?? {})) {
        const fallback = /^\$\{\w+:-(\d+)\}$/.exec(String(value))?.[1];
        const parsed = shape[name]?.safeParse(undefined);
        if (fallback === undefined || typeof parsed?.data !== 'number') continue;
        checked.push(name);
        expect(`${name}=${fallback}`).toBe(`${name}=${parsed.data}`);
      }
    }
    expect(checked).toEqual(
      expect.arrayContaining(['HIGH_WORKER_CONCURRENCY', 'FCM_CONNECTIONS', 'APNS_CONNECTIONS', 'PUSH_CHUNK_CLIENTS']),
    );
  });

  it('runs Redis 7 with append-only persistence on a volume and without eviction', () => {
    const redis = services.redis!;
    expect(redis.image).toMatch(/^redis:7/);
    expect(redis.command!.join(' ')).toContain('--appendonly yes');
    expect(redis.command!.join(' ')).toContain('--maxmemory-policy noeviction');
    expect(redis.volumes).toContain('redis-data:/data');
    expect(compose.volumes).toHaveProperty('redis-data');
  });

  it('builds one image for every process, each started by its command from a file the build makes', () => {
    for (const name of [...apps, 'simulators']) {
      const service = services[name]!;
      expect(service.image).toBe('push-dispatch:latest');
      expect(service.build).toBe('.');
      expect(service.command![0]).toBe('node');
      expect(existsSync(join(root, service.command![1]!))).toBe(true);
    }
  });

  it('publishes only the API port, so workers scale with --scale', () => {
    expect(services.api!.ports).toEqual(['${API_PORT:-3000}:3000']);
    for (const name of [...workers, 'redis', 'simulators']) {
      expect(services[name]!.ports).toBeUndefined();
      expect(services[name]!.container_name).toBeUndefined();
    }
  });

  it('checks health everywhere and starts each process after what it needs is healthy', () => {
    for (const name of Object.keys(services)) expect(services[name]!.healthcheck?.test[0]).toBe('CMD');
    expect(services.api!.healthcheck!.test.join(' ')).toContain('http://127.0.0.1:3000/readyz');
    for (const name of apps) expect(services[name]!.depends_on!.redis).toEqual({ condition: 'service_healthy' });
    for (const name of workers) {
      expect(services[name]!.healthcheck!.test.join(' ')).toContain('http://127.0.0.1:9464/healthz');
      expect(services[name]!.environment!.WORKER_METRICS_PORT).toBe(9464);
      expect(services[name]!.depends_on!.simulators).toEqual({ condition: 'service_healthy', required: false });
      expect(services[name]!.volumes).toEqual(['simulators:/app/.data/simulators:ro']);
    }
    expect(services.simulators!.volumes).toEqual(['simulators:/app/.data/simulators']);
  });

  it('sets only variables the processes read', () => {
    // Read by Node (NODE_EXTRA_CA_CERTS) and glibc (MALLOC_MMAP_THRESHOLD_) rather than by our config.
    const known = new Set([...Object.keys(envSchema.shape), 'NODE_EXTRA_CA_CERTS', 'MALLOC_MMAP_THRESHOLD_']);
    for (const name of apps)
      for (const key of Object.keys(services[name]!.environment!)) expect([name, key, known.has(key)]).toEqual([name, key, true]);
    // SIM_CERT_HOSTS: the extra certificate names the simulators need to be reached as `simulators` (pending there).
    const simulatorVars = new Set([...SIMULATOR_ENV_VARS, 'SIM_CERT_HOSTS']);
    for (const key of Object.keys(services.simulators!.environment!)) expect([key, simulatorVars.has(key)]).toEqual([key, true]);
  });

  it('points the workers, with no provider settings, at the demo simulators with their ids', () => {
    const sim = envOf('simulators');
    for (const name of ['apns-worker', 'fcm-worker']) {
      const env = envOf(name);
      const config = loadConfig(env);
      expect(config.APNS_HOST).toBe('simulators');
      expect(config.APNS_PORT).toBe(2197);
      expect(config.APNS_KEY_ID).toBe(sim.SIM_APNS_KEY_ID);
      expect(config.APNS_TEAM_ID).toBe(sim.SIM_APNS_TEAM_ID);
      expect(config.APNS_KEY_FILE).toBe(`${sim.SIM_DIR}/apns-key.p8`);
      expect(env.NODE_EXTRA_CA_CERTS).toBe(`${sim.SIM_DIR}/ca.pem`);
      expect(fcmSettings(config)).toEqual({
        endpoint: 'https://simulators:4443',
        projectId: sim.SIM_FCM_PROJECT_ID,
        credential: { accessToken: sim.SIM_FCM_ACCESS_TOKEN },
      });
      expect(config.REDIS_URL).toBe('redis://redis:6379');
    }
    expect(sim.SIM_HOST).toBe('0.0.0.0');
    expect(sim.SIM_CERT_HOSTS).toBe('simulators');
  });

  it('lets .env switch the workers to the real providers by clearing the simulator defaults', () => {
    const env = envOf('fcm-worker', {
      NODE_ENV: 'production',
      IM_API_KEY: 'production-key-0123456789',
      APNS_KEY_FILE: '/run/secrets/apns.p8',
      APNS_KEY_ID: 'ABCDE12345',
      APNS_TEAM_ID: 'TEAM123456',
      APNS_HOST: '',
      APNS_PORT: '',
      FCM_SERVICE_ACCOUNT_FILE: '/run/secrets/fcm.json',
      FCM_PROJECT_ID: 'my-project',
      FCM_ENDPOINT: 'https://fcm.googleapis.com',
      FCM_ACCESS_TOKEN: '',
      NODE_EXTRA_CA_CERTS: '',
    });
    const config = loadConfig(env);
    expect(config.APNS_HOST).toBeUndefined();
    expect(config.APNS_PORT).toBeUndefined();
    expect(fcmSettings(config)).toEqual({
      endpoint: 'https://fcm.googleapis.com',
      projectId: 'my-project',
      credential: { serviceAccountFile: '/run/secrets/fcm.json' },
    });
    expect(config.apiKeys).toEqual(['production-key-0123456789']);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const stages = dockerfile.split(/^FROM /m).slice(1);

  it('builds in one stage and runs production dependencies only, as the node user, in another', () => {
    expect(stages).toHaveLength(2);
    expect(stages[0]).toMatch(/npm ci/);
    expect(stages[0]).toMatch(/turbo run build/);
    expect(stages[0]).toMatch(/npm prune --omit=dev/);
    expect(stages[1]).toMatch(/^COPY --from=build /m);
    expect(stages[1]).not.toMatch(/npm (ci|install)/);
    expect(stages[1]).toMatch(/^USER node$/m);
    expect(stages[1]).toMatch(/^CMD \["node", "apps\/api\/dist\/index\.js"\]$/m);
  });

  it('keeps host builds, dependencies, secrets and git out of the build context', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['**/node_modules', '**/dist', '.git', '.env', '.data', '**/*.p8']) expect(ignored).toContain(entry);
  });
});
