import { DEFAULT_WEBPUSH_ALLOWED_ENDPOINTS, isP256PublicKey, parseHostPatterns } from '@push/contract';
import { z } from 'zod';
import { timeZoneSchema } from '@push/contract';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const text = z.string().trim().min(1);
/** base64url (RFC 4648 §5, unpadded as VAPID keys are written) of exactly `bytes` bytes. */
const base64url = (bytes: number, what: string) =>
  z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]+$/, `must be base64url (${what})`)
    .refine((v) => Buffer.from(v, 'base64url').length === bytes, `must be ${bytes} bytes once decoded (${what})`);

/** FCM HTTP v1's base URL: FCM_ENDPOINT's default, and an app's when its `fcm.endpoint` is unset. */
export const FCM_DEFAULT_ENDPOINT = 'https://fcm.googleapis.com';

/**
 * One environment variable: its schema (with `.default()` when it has one: the only place a default is
 * written), what it means, and for one without a default what leaving it unset does. docs/configuration.md
 * is generated from these (`npm run docs`), and a test fails when it is not.
 */
function setting<T extends z.ZodType>(schema: T, description: string, unset?: string): T {
  return schema.meta({ description, ...(unset !== undefined && { unset }) });
}

/** What every process reads. */
export const baseEnvSchema = z.object({
  NODE_ENV: setting(
    z.string().default('development'),
    '`production` makes `IM_API_KEY` required, and `APNS_PRODUCTION` when APNs credentials are set; it also switches logs from readable lines to JSON',
  ),
  LOG_LEVEL: setting(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'), 'pino log level'),
  LOG_FORMAT: setting(
    z.enum(['pretty', 'json']).optional(),
    '`pretty`: readable, coloured lines (pino-pretty); `json`: one JSON object per line, for log collectors',
    '`json` with `NODE_ENV=production`, else `pretty`',
  ),
  REDIS_URL: setting(
    z.url({ protocol: /^rediss?$/, message: 'must be a redis:// or rediss:// URL' }).default('redis://127.0.0.1:6379'),
    'Redis URL (with `REDIS_CLUSTER=true`: one seed node of the cluster)',
  ),
  REDIS_CLUSTER: setting(
    bool.default(false),
    '`true`: `REDIS_URL` is one seed node of a Redis Cluster (every key a script or transaction touches together shares a {hash tag})',
  ),
  REDIS_PREFIX: setting(
    z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ . -')
      .default('push'),
    'prefix of every Redis key (queues and stores)',
  ),
  IM_API_KEY: setting(
    z.string().optional(),
    'accepted API key(s), comma-separated to allow rotation; at least 16 characters each',
    'required when `NODE_ENV=production`; otherwise a random key is generated and printed',
  ),
  METRICS_TOKEN: setting(
    z.string().optional(),
    'bearer token(s) for `/metrics` (API and workers), comma-separated; at least 16 characters each',
    'any `IM_API_KEY` while no other app exists',
  ),
  ADMIN_TOKEN: setting(
    z.string().optional(),
    'bearer token(s) of the admin API `/admin/apps`, comma-separated; at least 32 characters each. Also opens `/metrics` and the dashboards',
    'none: no admin API (404)',
  ),
  SECRETS_KEY: setting(
    z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'must be 32 bytes as 64 hex characters (e.g. `openssl rand -hex 32`)')
      .optional(),
    "32 bytes as 64 hex characters (`openssl rand -hex 32`): encrypts the apps' provider credentials (AES-256-GCM); needed once an app stores credentials",
    'none: apps cannot store credentials',
  ),
  JOB_RETENTION_SECONDS: setting(int(60).default(7 * 24 * 3600), 'how long jobs and per-token results are kept (7 days)'),
});

/** The Web Push settings both the API (which takes subscriptions) and the Web Push worker read. */
const webPushShared = {
  WEBPUSH_VAPID_PUBLIC_KEY: setting(
    base64url(65, 'an uncompressed P-256 public key')
      .refine((v) => isP256PublicKey(Buffer.from(v, 'base64url')), 'must be a point on P-256')
      .optional(),
    'VAPID public key (base64url of the uncompressed P-256 point: what pages pass to `pushManager.subscribe`); at the API it turns Web Push on',
    'no Web Push: the API refuses browser subscriptions and queues nothing for web (`npm start` makes a pair and uses the Web Push simulator)',
  ),
  WEBPUSH_ALLOWED_ENDPOINTS: setting(
    z
      .string()
      .default(DEFAULT_WEBPUSH_ALLOWED_ENDPOINTS)
      .transform((value, ctx) => {
        try {
          return parseHostPatterns(value);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
          return z.NEVER;
        }
      }),
    'hosts subscription endpoints may name, comma-separated: `host`, `*.domain` for any subdomain, `:port` when not 443; checked at registration and again before every send',
  ),
};

/** What the API reads, besides the base. */
export const apiEnvSchema = baseEnvSchema.extend({
  PORT: setting(int(0, 65535).default(3000), 'API port'),
  PUSH_MAX_CLIENTS: setting(
    int(1).default(1_000_000),
    'most clients one request may name (the JSON body limit is sized from it: 64 bytes a client + 64 KiB)',
  ),
  PUSH_CHUNK_CLIENTS: setting(int(1, 100_000).default(1000), 'clients per chunk job the API queues for each platform'),
  PRIORITY_HIGH_MAX_CLIENTS: setting(
    int(0).default(100),
    'a request without `priority` naming at most this many distinct clients is `high`, a larger one `normal` ([lanes.md](lanes.md))',
  ),
  API_RATE_LIMIT_PER_MINUTE: setting(int(0).default(60_000), 'requests per minute per API key under `/push/` (0: off)'),
  ADMIN_PASSWORD: setting(
    z.string().optional(),
    'password(s) of user `admin` for `/admin/*`, comma-separated; at least 16 characters each',
    'any `IM_API_KEY`',
  ),
  DELIVERY_ATTEMPTS: setting(int(1, 100).default(5), 'attempts per token before it is `failed` (set on the chunk jobs the API queues)'),
  RETRY_BASE_DELAY_MS: setting(int(1).default(1000), 'base of the exponential retry backoff, with 50 % jitter (set on the chunk jobs)'),
  ...webPushShared,
});

/** What every worker reads, besides the base. */
export const workerEnvSchema = baseEnvSchema.extend({
  WORKER_CONCURRENCY: setting(int(1, 1000).default(4), 'chunk jobs of the `normal` lane one worker process handles at once'),
  HIGH_WORKER_CONCURRENCY: setting(
    int(1, 1000).default(64),
    '`high` chunk jobs one worker process handles at once, in slots of their own that normal work never takes ([lanes.md](lanes.md#sizing-the-high-lane))',
  ),
  APP_REFRESH_MS: setting(
    int(50, 10_000).default(5000),
    "how often a worker checks an app's record for new credentials (they take effect within this)",
  ),
  APP_IDLE_MS: setting(int(100).default(60_000), "an app's provider connections on a worker are closed after this long unused"),
  APP_MAX_OPEN: setting(
    int(1, 100_000).default(100),
    'apps whose provider connections one worker keeps open at once (least recently used closed first)',
  ),
  DEFAULT_TIMEZONE: setting(timeZoneSchema.default('UTC'), 'IANA time zone of clients that registered none, for `localTime` jobs'),
  STALLED_INTERVAL_MS: setting(int(500).default(5000), 'how often workers look for chunks of a crashed worker (its lock lasts twice this)'),
  WORKER_METRICS_PORT: setting(int(0, 65535).default(9464), "port of a worker's `/metrics` and `/healthz` (0: any free port)"),
  PROVIDER_TIMEOUT_MS: setting(int(100).default(15_000), 'timeout of one provider request'),
  DELIVERY_WINDOW_SECONDS: setting(
    int(1).default(24 * 3600),
    "how long a token may wait for a provider that keeps failing (its breaker open), counted from the request (24 h); then `failed` (a payload's `expiry` ends it sooner: `expired`)",
  ),
  BREAKER_FAILURES: setting(
    int(1).default(10),
    "provider failures in a row (5xx, timeouts, refused or reset connections), across tokens and workers, that open a platform's breaker",
  ),
  BREAKER_BASE_DELAY_MS: setting(int(1).default(1000), 'how long the breaker stays open the first time; doubled after each failed probe'),
  BREAKER_MAX_DELAY_MS: setting(
    int(1).default(300_000),
    'the longest it stays open between two probes (5 min; a longer `Retry-After` is honoured)',
  ),
  DEAD_TOKEN_GUARD_WINDOW: setting(int(1).default(200), 'answers the dead-token guard judges together'),
  DEAD_TOKEN_GUARD_SHARE: setting(
    z.coerce.number().min(0).max(1).default(0.5),
    'a cause of "dead token" answers above this share of a window is a suspected misconfiguration (`1`: never)',
  ),
  DEAD_TOKEN_GUARD_MIN_ANSWERS: setting(
    int(1).default(20),
    "a judged window with fewer answers keeps its suspects' tokens, but raises no alarm and pauses nothing",
  ),
  DEAD_TOKEN_GUARD_WAIT_MS: setting(
    int(1).default(10_000),
    'a window older than this is judged on the answers it has: the longest a dead token waits for its verdict',
  ),
  DEAD_TOKEN_GUARD_PAUSE_SECONDS: setting(
    int(0).default(300),
    'how long a platform stops sending after a suspected misconfiguration (`0`: no pause)',
  ),
});

/** What the APNs worker reads, besides every worker's settings. */
export const apnsWorkerEnvSchema = workerEnvSchema.extend({
  APNS_KEY_FILE: setting(text.optional(), 'APNs token-auth signing key (.p8): a path', 'none: `npm start` uses the iOS simulator'),
  APNS_KEY: setting(text.optional(), 'the same key as PEM text, instead of `APNS_KEY_FILE`'),
  APNS_KEY_ID: setting(text.optional(), "the signing key's id; required with a key"),
  APNS_TEAM_ID: setting(text.optional(), 'the Apple team id; required with a key'),
  APNS_TOPIC: setting(text.optional(), 'topic (bundle id) used when a payload has no `topic`; required with a key'),
  APNS_PRODUCTION: setting(
    bool.optional(),
    '`true`: api.push.apple.com; `false`: the sandbox. With `NODE_ENV=production` and a key it must be set explicitly (a wrong one calls every token dead)',
    '`false` outside production',
  ),
  APNS_HOST: setting(text.optional(), 'send to this host instead (proxies, simulators, tests)', "Apple's"),
  APNS_PORT: setting(int(1, 65535).optional(), 'send to this port instead', '`443`'),
  APNS_CONNECTIONS: setting(int(1, 64).default(4), 'HTTP/2 connections to APNs per worker'),
  APNS_BATCH_SIZE: setting(
    int(1, 10_000).default(250),
    'tokens an APNs worker sends concurrently per chunk step (sized so a worker stays under 256 MB)',
  ),
  APNS_RATE_LIMIT_PER_MINUTE: setting(int(0).default(0), 'proactive APNs limit shared by all workers (0: none)'),
});

/** What the FCM worker reads, besides every worker's settings. */
export const fcmWorkerEnvSchema = workerEnvSchema.extend({
  FCM_SERVICE_ACCOUNT_FILE: setting(text.optional(), 'Firebase service-account JSON file', 'none: `npm start` uses the Android simulator'),
  GOOGLE_APPLICATION_CREDENTIALS: setting(text.optional(), "Google's application default credentials, instead of a service account file"),
  FCM_PROJECT_ID: setting(text.optional(), 'Firebase project id', 'from the service account'),
  FCM_ENDPOINT: setting(
    z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).default(FCM_DEFAULT_ENDPOINT),
    'FCM HTTP v1 base URL',
  ),
  FCM_ACCESS_TOKEN: setting(text.optional(), 'a ready OAuth2 bearer token, used instead of a service account (needs `FCM_PROJECT_ID`)'),
  FCM_CONNECTIONS: setting(int(1, 64).default(4), 'HTTP/2 connections to FCM per worker'),
  FCM_BATCH_SIZE: setting(int(1, 500).default(250), "tokens per FCM send group (at most firebase-admin's multicast size, 500)"),
  FCM_RATE_LIMIT_PER_MINUTE: setting(
    int(0).default(600_000),
    "proactive FCM limit shared by all workers (0: none); the default is FCM's default project quota",
  ),
});

/** What the Web Push worker reads, besides every worker's settings. */
export const webpushWorkerEnvSchema = workerEnvSchema.extend({
  ...webPushShared,
  WEBPUSH_VAPID_PRIVATE_KEY: setting(
    base64url(32, 'a P-256 private key').optional(),
    'VAPID private key (base64url of the 32-byte scalar); checked to belong to the public key',
    'required by the Web Push worker',
  ),
  WEBPUSH_SUBJECT: setting(
    z
      .string()
      .trim()
      .regex(/^(mailto:[^\s@]+@[^\s@]+|https:\/\/\S+)$/, 'must be a mailto: address or an https: URL')
      .optional(),
    'VAPID contact sent to the push services: a `mailto:` or `https:` URL',
    'required by the Web Push worker',
  ),
  WEBPUSH_CONNECTIONS: setting(
    int(1, 1024).default(32),
    'keep-alive HTTPS connections per push-service origin per worker, i.e. the requests in flight to one origin',
  ),
  WEBPUSH_BATCH_SIZE: setting(int(1, 10_000).default(250), 'subscriptions a Web Push worker sends concurrently per chunk step'),
  WEBPUSH_RATE_LIMIT_PER_MINUTE: setting(int(0).default(0), 'proactive Web Push limit shared by all workers (0: none)'),
});

/** Each process role and the variables it reads. */
export const roleEnvSchemas = {
  api: apiEnvSchema,
  'apns-worker': apnsWorkerEnvSchema,
  'fcm-worker': fcmWorkerEnvSchema,
  'webpush-worker': webpushWorkerEnvSchema,
} as const;

/** Every variable any process reads: what `npm start`, which runs them all, checks before starting any. */
export const envSchema = apiEnvSchema
  .extend(apnsWorkerEnvSchema.shape)
  .extend(fcmWorkerEnvSchema.shape)
  .extend(webpushWorkerEnvSchema.shape);

export type BaseEnv = z.infer<typeof baseEnvSchema>;
export type ApiEnv = z.infer<typeof apiEnvSchema>;
export type WorkerEnv = z.infer<typeof workerEnvSchema>;
export type ApnsWorkerEnv = z.infer<typeof apnsWorkerEnvSchema>;
export type FcmWorkerEnv = z.infer<typeof fcmWorkerEnvSchema>;
export type WebPushWorkerEnv = z.infer<typeof webpushWorkerEnvSchema>;
export type Env = z.infer<typeof envSchema>;
