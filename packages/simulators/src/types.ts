/** Exact device tokens, or prefixes when an entry ends with `*` (`"dead*"` matches `"dead-1"`). */
export type TokenList = string[];

/** Behaviour shared by both simulators. Every field can be changed at run time with `setBehaviour`. */
export interface CommonBehaviour {
  /** Added to every provider answer (errors included), emulating the network. @defaultValue 0 */
  latencyMs?: number;
  /** Uniform ± spread around `latencyMs` (never below 0). @defaultValue 0 */
  jitterMs?: number;
  /** Share (0..1) of requests answered with a server error (APNs 500 InternalServerError, FCM 503 UNAVAILABLE). @defaultValue 0 */
  errorRate?: number;
  /** Epoch ms until which every provider request answers `outageStatus`. @defaultValue 0 (no outage) */
  outageUntil?: number;
  /** Status answered during an outage (500, 503 or 429). @defaultValue 503 */
  outageStatus?: number;
  /** Tokens that are no longer registered (APNs 410 Unregistered, FCM 404 UNREGISTERED). */
  dead?: TokenList;
  /** Tokens the provider calls malformed (APNs 400 BadDeviceToken, FCM 400 INVALID_ARGUMENT on `message.token`). */
  bad?: TokenList;
  /** Tokens whose first request fails (APNs 503 ServiceUnavailable, FCM 500 INTERNAL); later ones succeed. */
  flakyOnce?: TokenList;
  /**
   * Tokens answered 429: APNs TooManyRequests (one device); FCM QUOTA_EXCEEDED with Retry-After about the
   * project quota (see FcmBehaviour.deviceThrottled for FCM's per-device limit).
   */
  throttled?: TokenList;
  /** Tokens whose answer takes `slowMs` longer. */
  slow?: TokenList;
  /** @defaultValue 1000 */
  slowMs?: number;
  /** Retry-After (seconds) sent with FCM 429 answers for throttled tokens. @defaultValue 1 */
  retryAfterSeconds?: number;
  /** How many accepted notifications are kept (oldest dropped first; counters still count all). @defaultValue 100000 */
  recordLimit?: number;
}

export interface ApnsBehaviour extends CommonBehaviour {
  /** Tokens answered 400 DeviceTokenNotForTopic. */
  wrongTopic?: TokenList;
  /** The `timestamp` (epoch ms) of 410 Unregistered answers: when APNs found the token dead. @defaultValue the answer's time */
  unregisteredAt?: number;
  /** When set, any other `apns-topic` is answered 400 DeviceTokenNotForTopic. @defaultValue unset (all topics) */
  allowedTopics?: string[];
  /** SETTINGS_MAX_CONCURRENT_STREAMS sent to clients (Apple uses 1000). @defaultValue 1000 */
  maxConcurrentStreams?: number;
  /** Provider tokens (JWT) older than this answer 403 ExpiredProviderToken. @defaultValue 3600 */
  maxTokenAgeSeconds?: number;
}

export interface FcmBehaviour extends CommonBehaviour {
  /** Tokens answered 403 PERMISSION_DENIED / SENDER_ID_MISMATCH. */
  senderMismatch?: TokenList;
  /**
   * Tokens answered 429 QUOTA_EXCEEDED about the device ("device message rate exceeded", with a
   * google.rpc.QuotaFailure naming the device and Retry-After `retryAfterSeconds`).
   */
  deviceThrottled?: TokenList;
  /** Whether answers during an outage carry Retry-After (the seconds left). @defaultValue true */
  outageRetryAfter?: boolean;
  /** Per-project token bucket (messages per minute); over it, 429 QUOTA_EXCEEDED. @defaultValue 0 (off) */
  quotaPerMinute?: number;
}

export interface WebPushBehaviour extends CommonBehaviour {
  /** Subscriptions answered 400 (a request the push service refuses). */
  badRequest?: TokenList;
  /** Encrypted bodies above this answer 413 (RFC 8030 §7.2: at least 4096 must be accepted). @defaultValue 4096 */
  maxPayloadBytes?: number;
}

export interface RecordedNotification {
  token: string;
  /** Request headers without HTTP/2 pseudo-headers and without `authorization`. */
  headers: Record<string, string>;
  /**
   * The request body, parsed as JSON (APNs: the payload; FCM: `{ message, validate_only? }`; Web Push:
   * the decrypted plaintext, parsed when it is JSON).
   */
  body: unknown;
  /** Web Push: the claims of the VAPID token the message was sent with. */
  vapid?: { aud: string; exp: number; sub: string; k: string };
  /** Epoch ms when the notification was accepted. */
  at: number;
  /** Whose credentials it came with: APNs `<teamId>.<keyId>`, FCM the project id. */
  credential?: string;
}

export interface SimulatorStats {
  /** Provider requests received (control endpoints excluded). */
  requests: number;
  accepted: number;
  /** Rejections by provider reason (APNs `reason`, FCM `errorCode` or else `status`). */
  rejected: Record<string, number>;
  /** Connections opened (HTTP/2 sessions and HTTP/1.1 keep-alive connections). */
  sessions: number;
  /** Streams open right now. */
  inFlight: number;
  /** High-water mark of concurrently open streams. */
  maxInFlight: number;
}

export interface Simulator<B> {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The CA that signed the server certificate, PEM text. */
  readonly caPem: string;
  /** The same CA as a file (for NODE_EXTRA_CA_CERTS). */
  readonly caFile: string;
  /** Changes the given keys; a key given as `undefined` goes back to its default. */
  setBehaviour(b: Partial<B>): void;
  /** Every provider request answers `status` (default 503) for the next `ms` milliseconds. */
  outage(ms: number, status?: number): void;
  received(): RecordedNotification[];
  receivedFor(token: string): RecordedNotification[];
  stats(): SimulatorStats;
  /** Clears records, counters and flaky-once memory; keeps behaviour. */
  reset(): void;
  /** Stops listening and destroys open sessions. */
  close(): Promise<void>;
}

export interface ApnsSimulator extends Simulator<ApnsBehaviour> {
  readonly keyId: string;
  readonly teamId: string;
  /** The token-auth signing key, PKCS#8 PEM (what a .p8 file holds). */
  readonly signingKeyPem: string;
  /** Every provider token issued before now answers 403 ExpiredProviderToken. */
  expireProviderTokens(): void;
  /** Accepts one more signing key (another team's, or the same team's second key); returns it with its ids. */
  addKey(key?: { keyId?: string; teamId?: string }): { keyId: string; teamId: string; signingKeyPem: string };
}

export interface FcmSimulator extends Simulator<FcmBehaviour> {
  readonly projectId: string;
  readonly accessToken: string;
  /** Accepts one more project with its own bearer token (a token is valid for its project only); returns both. */
  addProject(project?: { projectId?: string; accessToken?: string }): { projectId: string; accessToken: string };
}

/** A browser's `PushSubscription.toJSON()`. */
export interface SimulatedSubscription {
  endpoint: string;
  expirationTime: null;
  keys: { p256dh: string; auth: string };
}

export interface SubscribeOptions {
  /** The endpoint's last path segment (A-Z a-z 0-9 _ -). @defaultValue random */
  name?: string;
  /** The VAPID public key the page subscribed with: messages signed with another key answer 403. @defaultValue unset (any key) */
  applicationServerKey?: string;
  /**
   * The subscription's P-256 private key and 16-byte auth secret (base64url), for a caller that derives
   * the same subscriptions in several processes (the benchmark). @defaultValue random, as a browser makes them
   */
  privateKey?: string;
  auth?: string;
}

export interface WebPushSimulator extends Simulator<WebPushBehaviour> {
  /**
   * Creates a subscription the way a browser does (`pushManager.subscribe`): a P-256 key pair and a
   * 16-byte auth secret whose private halves stay here, so what arrives can be decrypted.
   */
  subscribe(options?: SubscribeOptions): SimulatedSubscription;
  /** The user unsubscribed: the endpoint answers 410 Gone from now on. */
  unsubscribe(endpoint: string): void;
}

export interface WebPushSimulatorOptions extends ServerOptions, WebPushBehaviour {}

export interface ServerOptions {
  /** @defaultValue 0 (a free port) */
  port?: number;
  /** @defaultValue 127.0.0.1 */
  host?: string;
  /** Where the CA and server certificate are kept and reused; unset: generated per process, CA in a temp file. */
  certDir?: string;
  /**
   * Extra DNS names or IP addresses the server certificate is valid for, besides localhost, 127.0.0.1 and ::1
   * (e.g. `simulators`, the name other containers reach it by). @defaultValue none
   */
  certHosts?: string[];
}

export interface ApnsSimulatorOptions extends ServerOptions, ApnsBehaviour {
  /** @defaultValue random 10 characters */
  keyId?: string;
  /** @defaultValue random 10 characters */
  teamId?: string;
  /** PKCS#8 PEM of an EC P-256 key; unset: generated. */
  signingKeyPem?: string;
}

export interface FcmSimulatorOptions extends ServerOptions, FcmBehaviour {
  /** @defaultValue "sim-project" */
  projectId?: string;
  /** The only bearer token accepted. @defaultValue random */
  accessToken?: string;
}
