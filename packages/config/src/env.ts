import { DEFAULT_WEBPUSH_ALLOWED_ENDPOINTS, isP256PublicKey, parseHostPatterns } from '@push/contract';
import { z } from 'zod';

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

/**
 * Every environment variable any process reads, with its default. The contract's names come first,
 * then the tuning knobs (docs/configuration.md).
 */
export const envSchema = z.object({
  NODE_ENV: z.string().default('development'),
  /** API port. @defaultValue 3000 */
  PORT: int(0, 65535).default(3000),
  /** Redis (or Redis Cluster seed) URL. @defaultValue redis://127.0.0.1:6379 */
  REDIS_URL: z.url({ protocol: /^rediss?$/, message: 'must be a redis:// or rediss:// URL' }).default('redis://127.0.0.1:6379'),
  /**
   * `true`: REDIS_URL is one seed node of a Redis Cluster (the other nodes are discovered from it). Every
   * key a script or transaction touches together shares a {hash tag}, so all of them work on a cluster.
   * @defaultValue false
   */
  REDIS_CLUSTER: bool.default(false),
  /** Prefix of every Redis key the service writes (queues and stores). @defaultValue push */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ . -')
    .default('push'),
  /** Accepted API keys, comma-separated. */
  IM_API_KEY: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  APNS_KEY_FILE: text.optional(),
  APNS_KEY: text.optional(),
  APNS_KEY_ID: text.optional(),
  APNS_TEAM_ID: text.optional(),
  APNS_TOPIC: text.optional(),
  /**
   * `true`: api.push.apple.com; `false`: the sandbox. Unset means the sandbox, except with
   * NODE_ENV=production, where it must be set (a forgotten one would call every token dead).
   */
  APNS_PRODUCTION: bool.optional(),
  APNS_HOST: text.optional(),
  APNS_PORT: int(1, 65535).optional(),

  FCM_SERVICE_ACCOUNT_FILE: text.optional(),
  GOOGLE_APPLICATION_CREDENTIALS: text.optional(),
  FCM_PROJECT_ID: text.optional(),
  FCM_ENDPOINT: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).default('https://fcm.googleapis.com'),
  FCM_ACCESS_TOKEN: text.optional(),

  /** VAPID public key (RFC 8292): base64url of the uncompressed P-256 point, what browsers get as `applicationServerKey`. */
  WEBPUSH_VAPID_PUBLIC_KEY: base64url(65, 'an uncompressed P-256 public key')
    .refine((v) => isP256PublicKey(Buffer.from(v, 'base64url')), 'must be a point on P-256')
    .optional(),
  /** VAPID private key: base64url of the 32-byte P-256 scalar. */
  WEBPUSH_VAPID_PRIVATE_KEY: base64url(32, 'a P-256 private key').optional(),
  /** VAPID `sub` claim: a `mailto:` or `https:` URL where the push service can reach the operator. */
  WEBPUSH_SUBJECT: z
    .string()
    .trim()
    .regex(/^(mailto:[^\s@]+@[^\s@]+|https:\/\/\S+)$/, 'must be a mailto: address or an https: URL')
    .optional(),
  /**
   * Hosts Web Push endpoints may point at, comma-separated: `host`, `*.domain` (any subdomain), with
   * `:port` when not 443. Checked at registration and again before every send.
   * @defaultValue the browsers' push services (contract)
   */
  WEBPUSH_ALLOWED_ENDPOINTS: z
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

  /** Most clients one push2clients request may name. @defaultValue 1000000 */
  PUSH_MAX_CLIENTS: int(1).default(1_000_000),
  /** Clients per chunk job the API queues for each platform. @defaultValue 1000 */
  PUSH_CHUNK_CLIENTS: int(1, 100_000).default(1000),
  /**
   * A push2clients request without `priority` naming at most this many distinct clients goes to the `high`
   * lane, a larger one to `normal`. @defaultValue 100
   */
  PRIORITY_HIGH_MAX_CLIENTS: int(0).default(100),
  /** How long job records and per-token results are kept. @defaultValue 604800 (7 days) */
  JOB_RETENTION_SECONDS: int(60).default(7 * 24 * 3600),
  /** Requests per minute one API key may make under /push/ (0: no limit). @defaultValue 60000 */
  API_RATE_LIMIT_PER_MINUTE: int(0).default(60_000),

  /** Chunk jobs one worker process handles at once. @defaultValue 4 */
  WORKER_CONCURRENCY: int(1, 1000).default(4),
  /**
   * Chunk jobs of the `high` lane one worker process handles at once, on top of WORKER_CONCURRENCY (which
   * only `normal` chunks use): the capacity normal work can never take. @defaultValue 2
   */
  HIGH_WORKER_CONCURRENCY: int(1, 1000).default(2),
  /** Delivery attempts per token before it is recorded `failed`. @defaultValue 5 */
  DELIVERY_ATTEMPTS: int(1, 100).default(5),
  /** Base of the exponential retry backoff (with jitter). @defaultValue 1000 */
  RETRY_BASE_DELAY_MS: int(1).default(1000),
  /** How often workers look for chunks of a crashed worker; its lock lasts twice as long. @defaultValue 5000 */
  STALLED_INTERVAL_MS: int(500).default(5000),
  /** Port of a worker's /metrics (0: a free port). @defaultValue 9464 */
  WORKER_METRICS_PORT: int(0, 65535).default(9464),
  /**
   * Bearer token(s) Prometheus sends to `GET /metrics` (API and workers), comma-separated to allow
   * rotation; at least 16 characters each. @defaultValue unset: the API keys (IM_API_KEY) are accepted
   */
  METRICS_TOKEN: z.string().optional(),
  /**
   * Password(s) of the user `admin` for the dashboards under /admin (HTTP Basic auth), comma-separated
   * to allow rotation; at least 16 characters each. @defaultValue unset: the API keys (IM_API_KEY) are accepted
   */
  ADMIN_PASSWORD: z.string().optional(),

  /** HTTP/2 connections to APNs. @defaultValue 4 */
  APNS_CONNECTIONS: int(1, 64).default(4),
  /** Tokens an APNs worker sends concurrently per chunk step (sized so a worker stays under 256 MB). @defaultValue 250 */
  APNS_BATCH_SIZE: int(1, 10_000).default(250),
  /** Proactive APNs limit in notifications per minute (0: none). @defaultValue 0 */
  APNS_RATE_LIMIT_PER_MINUTE: int(0).default(0),
  /** HTTP/2 connections to FCM. @defaultValue 2 */
  FCM_CONNECTIONS: int(1, 64).default(2),
  /** Tokens per FCM send group (at most firebase-admin's multicast size, 500). @defaultValue 250 */
  FCM_BATCH_SIZE: int(1, 500).default(250),
  /** Proactive FCM limit in messages per minute, FCM's default project quota (0: none). @defaultValue 600000 */
  FCM_RATE_LIMIT_PER_MINUTE: int(0).default(600_000),
  /** Persistent HTTPS connections per push-service origin, i.e. the requests in flight to one origin. @defaultValue 32 */
  WEBPUSH_CONNECTIONS: int(1, 1024).default(32),
  /** Subscriptions a Web Push worker sends concurrently per chunk step. @defaultValue 250 */
  WEBPUSH_BATCH_SIZE: int(1, 10_000).default(250),
  /** Proactive Web Push limit in messages per minute, all push services together (0: none). @defaultValue 0 */
  WEBPUSH_RATE_LIMIT_PER_MINUTE: int(0).default(0),
  /** Timeout of one provider request. @defaultValue 15000 */
  PROVIDER_TIMEOUT_MS: int(100).default(15_000),

  /**
   * How long a token may wait for a provider that is down (its breaker open) before it is `failed`,
   * counted from the request; a payload's `expiry` ends it sooner (`expired`). @defaultValue 86400 (24 h)
   */
  DELIVERY_WINDOW_SECONDS: int(1).default(24 * 3600),
  /** Provider failures in a row (5xx, timeouts, connection errors), across tokens and workers, that open the breaker. @defaultValue 10 */
  BREAKER_FAILURES: int(1).default(10),
  /** How long the breaker stays open the first time; doubled after each failed probe. @defaultValue 1000 */
  BREAKER_BASE_DELAY_MS: int(1).default(1000),
  /** The longest the breaker stays open between probes (a longer Retry-After is honoured). @defaultValue 300000 (5 min) */
  BREAKER_MAX_DELAY_MS: int(1).default(300_000),
  /** Answers the dead-token guard judges together. @defaultValue 200 */
  DEAD_TOKEN_GUARD_WINDOW: int(1).default(200),
  /** A cause of "dead token" answers above this share of a window is a suspected misconfiguration. @defaultValue 0.5 */
  DEAD_TOKEN_GUARD_SHARE: z.coerce.number().min(0).max(1).default(0.5),
  /** Fewer answers in a judged window keep the tokens but raise no alarm and pause nothing. @defaultValue 20 */
  DEAD_TOKEN_GUARD_MIN_ANSWERS: int(1).default(20),
  /** A window older than this is judged on the answers it has: the longest a dead token waits for its verdict. @defaultValue 10000 */
  DEAD_TOKEN_GUARD_WAIT_MS: int(1).default(10_000),
  /** How long a platform pauses after a suspected misconfiguration. @defaultValue 300 */
  DEAD_TOKEN_GUARD_PAUSE_SECONDS: int(0).default(300),
});

export type Env = z.infer<typeof envSchema>;
