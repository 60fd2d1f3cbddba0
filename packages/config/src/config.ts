import { createECDH, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { platforms, UNSUPPORTED_APNS_TOPIC, type Platform } from '@push/contract';
import type { z } from 'zod';
import {
  apiEnvSchema,
  apnsWorkerEnvSchema,
  envSchema,
  fcmWorkerEnvSchema,
  webpushWorkerEnvSchema,
  type ApiEnv,
  type ApnsWorkerEnv,
  type BaseEnv,
  type Env,
  type FcmWorkerEnv,
  type WebPushWorkerEnv,
} from './env';

/** Start-up refused: the message names the variable at fault. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = this.constructor.name;
  }
}

/** The secrets every process derives from the environment. */
export interface Secrets {
  apiKeys: string[];
  /** True when IM_API_KEY was unset outside production and a random key was made for this run. */
  apiKeyGenerated: boolean;
  /** Tokens accepted on `GET /metrics`: METRICS_TOKEN's list, else the API keys. */
  metricsTokens: string[];
  /** True when `metricsTokens` are the API keys (METRICS_TOKEN unset). */
  metricsFromApiKeys: boolean;
  /** Bearer tokens of the admin API (ADMIN_TOKEN's list; empty: no admin API). The operators' pages take them too. */
  adminTokens: string[];
  /** SECRETS_KEY as 32 bytes (unset: apps cannot store provider credentials). */
  secretsKey?: Buffer;
}

export type ApiConfig = ApiEnv &
  Secrets & {
    /** Passwords of the user `admin` on /admin: ADMIN_PASSWORD's list, else the API keys. */
    adminPasswords: string[];
    /** True when `adminPasswords` are the API keys (ADMIN_PASSWORD unset). */
    dashboardsFromApiKeys: boolean;
  };
export type ApnsWorkerConfig = ApnsWorkerEnv & Secrets;
export type FcmWorkerConfig = FcmWorkerEnv & Secrets;
export type WebPushWorkerConfig = WebPushWorkerEnv & Secrets;
/** Every role's settings at once (`npm start`, which checks them all before starting anything; tools). */
export type Config = Env & ApiConfig;

/** A comma-separated list of secrets; ConfigError when one is shorter than `minLength` characters. */
function secretList(name: string, value: string | undefined, minLength = 16): string[] {
  const list = (value ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  if (list.some((k) => k.length < minLength)) throw new ConfigError(`${name}: every key must be at least ${minLength} characters`);
  return list;
}

/**
 * Parses the environment with one role's schema; throws ConfigError naming the first invalid variable. A
 * variable set to the empty string counts as unset (what `VAR: ${VAR:-}` in docker-compose.yml gives).
 */
function parseEnv<S extends z.ZodType>(schema: S, source: NodeJS.ProcessEnv): z.infer<S> {
  const given = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== ''));
  const parsed = schema.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(`Invalid environment variable ${name}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

function withSecrets<E extends BaseEnv>(env: E): E & Secrets {
  const keys = secretList('IM_API_KEY', env.IM_API_KEY);
  if (keys.length === 0 && env.NODE_ENV === 'production') {
    throw new ConfigError('IM_API_KEY is required when NODE_ENV=production (comma-separated to allow rotation)');
  }
  const apiKeyGenerated = keys.length === 0;
  const apiKeys = apiKeyGenerated ? [randomBytes(24).toString('base64url')] : keys;
  const metricsTokens = secretList('METRICS_TOKEN', env.METRICS_TOKEN);
  return {
    ...env,
    apiKeys,
    apiKeyGenerated,
    metricsTokens: metricsTokens.length > 0 ? metricsTokens : apiKeys,
    metricsFromApiKeys: metricsTokens.length === 0,
    adminTokens: secretList('ADMIN_TOKEN', env.ADMIN_TOKEN, 32),
    ...(env.SECRETS_KEY && { secretsKey: Buffer.from(env.SECRETS_KEY, 'hex') }),
  };
}

function withAdminPasswords<E extends ApiEnv & Secrets>(env: E): E & { adminPasswords: string[]; dashboardsFromApiKeys: boolean } {
  const adminPasswords = secretList('ADMIN_PASSWORD', env.ADMIN_PASSWORD);
  return {
    ...env,
    adminPasswords: adminPasswords.length > 0 ? adminPasswords : env.apiKeys,
    dashboardsFromApiKeys: adminPasswords.length === 0,
  };
}

/**
 * The secrets that open `/metrics` or the dashboards: METRICS_TOKEN / ADMIN_PASSWORD and ADMIN_TOKEN. The
 * `default` app's API keys stand in for an unset METRICS_TOKEN / ADMIN_PASSWORD only while no other app
 * exists: these pages show every app, so no app's key may open them once there are several.
 */
export function operatorSecrets(config: Secrets, page: 'metrics', otherAppsExist: boolean): string[];
export function operatorSecrets(config: ApiConfig, page: 'metrics' | 'dashboards', otherAppsExist: boolean): string[];
export function operatorSecrets(config: Secrets & Partial<ApiConfig>, page: 'metrics' | 'dashboards', otherAppsExist: boolean): string[] {
  const [own, fromApiKeys] =
    page === 'metrics'
      ? [config.metricsTokens, config.metricsFromApiKeys]
      : [config.adminPasswords ?? [], config.dashboardsFromApiKeys ?? false];
  if (fromApiKeys && otherAppsExist) return config.adminTokens;
  return [...own, ...config.adminTokens];
}

/** APNs settings that cannot work stop the worker at start-up rather than fail every job. */
function checkApns(env: ApnsWorkerEnv): void {
  if (!hasApnsCredentials(env)) return;
  // Without a topic every iOS send fails MissingTopic; started anyway, the worker would fail every job.
  if (!env.APNS_TOPIC) throw new ConfigError('APNS_TOPIC is required with APNS_KEY_FILE / APNS_KEY (the bundle id of the app)');
  if (UNSUPPORTED_APNS_TOPIC.test(env.APNS_TOPIC))
    throw new ConfigError('APNS_TOPIC: VoIP and complication topics are not supported: use the bundle id');
  // The sandbox answers BadDeviceToken to production tokens (and the reverse): a production deployment
  // must say which environment it means.
  if (env.NODE_ENV === 'production' && env.APNS_PRODUCTION === undefined) {
    throw new ConfigError('APNS_PRODUCTION must be set explicitly (true: production APNs, false: sandbox) when NODE_ENV=production');
  }
}

/** The API's settings, read once at start-up. */
export function loadApiConfig(source: NodeJS.ProcessEnv = process.env): ApiConfig {
  return withAdminPasswords(withSecrets(parseEnv(apiEnvSchema, source)));
}

/** The APNs worker's settings, read once at start-up. */
export function loadApnsWorkerConfig(source: NodeJS.ProcessEnv = process.env): ApnsWorkerConfig {
  const env = parseEnv(apnsWorkerEnvSchema, source);
  checkApns(env);
  return withSecrets(env);
}

/** The FCM worker's settings, read once at start-up. */
export function loadFcmWorkerConfig(source: NodeJS.ProcessEnv = process.env): FcmWorkerConfig {
  return withSecrets(parseEnv(fcmWorkerEnvSchema, source));
}

/** The Web Push worker's settings, read once at start-up (the VAPID identity is checked by webPushCredentials). */
export function loadWebPushWorkerConfig(source: NodeJS.ProcessEnv = process.env): WebPushWorkerConfig {
  return withSecrets(parseEnv(webpushWorkerEnvSchema, source));
}

/** Every role's settings, checked together (what `npm start` does before it starts the API and both workers). */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const env = parseEnv(envSchema, source);
  checkApns(env);
  return withAdminPasswords(withSecrets(env));
}

export interface ApnsCredentials {
  /** The .p8 signing key as PEM text. */
  key: string;
  keyId: string;
  teamId: string;
  production: boolean;
  defaultTopic?: string;
  host?: string;
  port?: number;
}

export function hasApnsCredentials(config: Pick<ApnsWorkerEnv, 'APNS_KEY_FILE' | 'APNS_KEY'>): boolean {
  return Boolean(config.APNS_KEY_FILE || config.APNS_KEY);
}

/** The APNs token-auth settings, checked before the first job; ConfigError names what is missing. */
export function apnsCredentials(config: ApnsWorkerEnv): ApnsCredentials {
  if (!hasApnsCredentials(config)) throw new ConfigError('APNS_KEY_FILE or APNS_KEY is required by the APNs worker');
  if (!config.APNS_KEY_ID) throw new ConfigError('APNS_KEY_ID is required with APNS_KEY_FILE / APNS_KEY');
  if (!config.APNS_TEAM_ID) throw new ConfigError('APNS_TEAM_ID is required with APNS_KEY_FILE / APNS_KEY');
  let key = config.APNS_KEY;
  if (!key) {
    try {
      key = readFileSync(config.APNS_KEY_FILE!, 'utf8');
    } catch (error) {
      throw new ConfigError(`APNS_KEY_FILE: cannot read ${config.APNS_KEY_FILE}: ${(error as Error).message}`);
    }
  }
  if (!key.includes('PRIVATE KEY')) throw new ConfigError('APNS_KEY / APNS_KEY_FILE: not a PEM private key (.p8)');
  return {
    key,
    keyId: config.APNS_KEY_ID,
    teamId: config.APNS_TEAM_ID,
    production: config.APNS_PRODUCTION ?? false,
    ...(config.APNS_TOPIC && { defaultTopic: config.APNS_TOPIC }),
    ...(config.APNS_HOST && { host: config.APNS_HOST }),
    ...(config.APNS_PORT && { port: config.APNS_PORT }),
  };
}

export function hasFcmCredentials(
  config: Pick<FcmWorkerEnv, 'FCM_SERVICE_ACCOUNT_FILE' | 'GOOGLE_APPLICATION_CREDENTIALS' | 'FCM_ACCESS_TOKEN'>,
): boolean {
  return Boolean(config.FCM_SERVICE_ACCOUNT_FILE || config.GOOGLE_APPLICATION_CREDENTIALS || config.FCM_ACCESS_TOKEN);
}

/** Where FCM's OAuth2 bearer token comes from. */
export type FcmCredential =
  /** A ready token minted elsewhere (FCM_ACCESS_TOKEN, simulators): used as is, never refreshed. */
  | { accessToken: string }
  /** A Firebase service-account JSON file (FCM_SERVICE_ACCOUNT_FILE). */
  | { serviceAccountFile: string }
  /** A Firebase service account's JSON, parsed (an app's `fcm.serviceAccount`). */
  | { serviceAccount: Record<string, unknown> }
  /** Google Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, metadata server). */
  | { applicationDefault: true }
  /** Any firebase-admin `Credential` (tokens minted by the caller's code), cached and refreshed like the others. */
  | { credential: { getAccessToken(): Promise<{ access_token: string; expires_in: number }> } };

export interface FcmSettings {
  endpoint: string;
  projectId?: string;
  credential: FcmCredential;
}

/**
 * The FCM sender's settings: a ready token (FCM_ACCESS_TOKEN), a service account file, or Google's
 * application default credentials, in that order. Project id from FCM_PROJECT_ID, else the service account.
 */
export function fcmSettings(config: FcmWorkerEnv): FcmSettings {
  const credential: FcmCredential | undefined = config.FCM_ACCESS_TOKEN
    ? { accessToken: config.FCM_ACCESS_TOKEN }
    : config.FCM_SERVICE_ACCOUNT_FILE
      ? { serviceAccountFile: config.FCM_SERVICE_ACCOUNT_FILE }
      : config.GOOGLE_APPLICATION_CREDENTIALS
        ? { applicationDefault: true }
        : undefined;
  if (!credential) {
    throw new ConfigError('FCM_SERVICE_ACCOUNT_FILE, GOOGLE_APPLICATION_CREDENTIALS or FCM_ACCESS_TOKEN is required by the FCM worker');
  }
  if ('accessToken' in credential && !config.FCM_PROJECT_ID) throw new ConfigError('FCM_PROJECT_ID is required with FCM_ACCESS_TOKEN');
  return { endpoint: config.FCM_ENDPOINT, ...(config.FCM_PROJECT_ID && { projectId: config.FCM_PROJECT_ID }), credential };
}

/**
 * The VAPID identity (RFC 8292) Web Push requests are signed with. A type of its own, separate from
 * the environment, so that apps can later carry their own.
 */
export interface WebPushCredentials {
  /** base64url of the uncompressed P-256 public key (what browsers get as `applicationServerKey`). */
  publicKey: string;
  /** base64url of the 32-byte private key. */
  privateKey: string;
  /** `mailto:` or `https:` contact sent as the JWT's `sub`. */
  subject: string;
}

export function hasWebPushCredentials(config: Pick<WebPushWorkerEnv, 'WEBPUSH_VAPID_PUBLIC_KEY' | 'WEBPUSH_VAPID_PRIVATE_KEY'>): boolean {
  return Boolean(config.WEBPUSH_VAPID_PUBLIC_KEY || config.WEBPUSH_VAPID_PRIVATE_KEY);
}

/**
 * The platforms this deployment delivers to: iOS and Android always, web once a VAPID public key is
 * configured. The API queues jobs only on these and refuses web subscriptions otherwise, so a deployment
 * that runs no Web Push worker never has jobs waiting for one.
 */
export function enabledPlatforms(config: Pick<ApiEnv, 'WEBPUSH_VAPID_PUBLIC_KEY'>): Platform[] {
  return platforms.filter((p) => p !== 'web' || config.WEBPUSH_VAPID_PUBLIC_KEY !== undefined);
}

/** The VAPID settings, checked before the first job: all three present and the two keys one pair. */
export function webPushCredentials(config: WebPushWorkerEnv): WebPushCredentials {
  const { WEBPUSH_VAPID_PUBLIC_KEY: publicKey, WEBPUSH_VAPID_PRIVATE_KEY: privateKey, WEBPUSH_SUBJECT: subject } = config;
  if (!publicKey) {
    throw new ConfigError(
      'WEBPUSH_VAPID_PUBLIC_KEY is required by the Web Push worker (with WEBPUSH_VAPID_PRIVATE_KEY and WEBPUSH_SUBJECT)',
    );
  }
  if (!privateKey) throw new ConfigError('WEBPUSH_VAPID_PRIVATE_KEY is required with WEBPUSH_VAPID_PUBLIC_KEY');
  if (!subject) throw new ConfigError('WEBPUSH_SUBJECT is required with the VAPID keys (mailto: or https:, RFC 8292 §2.1)');
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(privateKey, 'base64url'));
  if (ecdh.getPublicKey('base64url') !== publicKey) {
    throw new ConfigError('WEBPUSH_VAPID_PRIVATE_KEY does not belong to WEBPUSH_VAPID_PUBLIC_KEY (not one key pair)');
  }
  return { publicKey, privateKey, subject };
}

/** Keys whose values never reach a log line. */
const secretNames = [
  'IM_API_KEY',
  'APNS_KEY',
  'FCM_ACCESS_TOKEN',
  'METRICS_TOKEN',
  'ADMIN_PASSWORD',
  'WEBPUSH_VAPID_PRIVATE_KEY',
  'ADMIN_TOKEN',
  'SECRETS_KEY',
  'secretsKey',
  'adminTokens',
  'apiKeys',
  'metricsTokens',
  'adminPasswords',
] as const;

/** A URL as it may be logged: any user and password removed. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//[redacted]@');
}

/** The configuration as it may be logged: secrets replaced, credentials in the Redis URL removed. */
export function redactConfig(config: BaseEnv): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...config };
  for (const name of secretNames) if (copy[name] !== undefined) copy[name] = '[redacted]';
  copy.REDIS_URL = redactUrl(config.REDIS_URL);
  return copy;
}
