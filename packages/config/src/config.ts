import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UNSUPPORTED_APNS_TOPIC } from '@push/contract';
import { envSchema, type Env } from './env';

/** Start-up refused: the message names the variable at fault. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = this.constructor.name;
  }
}

export interface Config extends Env {
  apiKeys: string[];
  /** Tokens accepted on `GET /metrics`: METRICS_TOKEN's list, else the API keys. */
  metricsTokens: string[];
  /** Passwords of the user `admin` on /admin: ADMIN_PASSWORD's list, else the API keys. */
  adminPasswords: string[];
  /** Bearer tokens of the admin API (ADMIN_TOKEN's list; empty: no admin API). Operators' pages take them too. */
  adminTokens: string[];
  /** Which of the two lists above are the API keys because METRICS_TOKEN / ADMIN_PASSWORD is unset. */
  apiKeysAsOperator: { metrics: boolean; dashboards: boolean };
  /** SECRETS_KEY as 32 bytes (unset: apps cannot store provider credentials). */
  secretsKey?: Buffer;
  /** True when IM_API_KEY was unset outside production and a random key was made for this run. */
  apiKeyGenerated: boolean;
}

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
 * Parses the environment once; throws ConfigError naming the first invalid variable. A variable set to
 * the empty string counts as unset (what `VAR: ${VAR:-}` in docker-compose.yml gives).
 */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const given = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== ''));
  const parsed = envSchema.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(`Invalid environment variable ${name}: ${issue?.message ?? 'invalid'}`);
  }
  const env = parsed.data;
  const keys = (env.IM_API_KEY ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  if (keys.length === 0 && env.NODE_ENV === 'production') {
    throw new ConfigError('IM_API_KEY is required when NODE_ENV=production (comma-separated to allow rotation)');
  }
  if (keys.some((k) => k.length < 16)) throw new ConfigError('IM_API_KEY: every key must be at least 16 characters');
  const apiKeyGenerated = keys.length === 0;
  const apiKeys = apiKeyGenerated ? [randomBytes(24).toString('base64url')] : keys;
  if (hasApnsCredentials(env)) {
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
  const metricsTokens = secretList('METRICS_TOKEN', env.METRICS_TOKEN);
  const adminPasswords = secretList('ADMIN_PASSWORD', env.ADMIN_PASSWORD);
  return {
    ...env,
    apiKeys,
    apiKeyGenerated,
    metricsTokens: metricsTokens.length > 0 ? metricsTokens : apiKeys,
    adminPasswords: adminPasswords.length > 0 ? adminPasswords : apiKeys,
    adminTokens: secretList('ADMIN_TOKEN', env.ADMIN_TOKEN, 32),
    apiKeysAsOperator: { metrics: metricsTokens.length === 0, dashboards: adminPasswords.length === 0 },
    ...(env.SECRETS_KEY && { secretsKey: Buffer.from(env.SECRETS_KEY, 'hex') }),
  };
}

/**
 * The secrets that open `/metrics` or the dashboards: METRICS_TOKEN / ADMIN_PASSWORD and ADMIN_TOKEN. The
 * `default` app's API keys stand in for an unset METRICS_TOKEN / ADMIN_PASSWORD only while no other app
 * exists: these pages show every app, so no app's key may open them once there are several.
 */
export function operatorSecrets(config: Config, page: 'metrics' | 'dashboards', otherAppsExist: boolean): string[] {
  const own = page === 'metrics' ? config.metricsTokens : config.adminPasswords;
  if (config.apiKeysAsOperator[page] && otherAppsExist) return config.adminTokens;
  return [...own, ...config.adminTokens];
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

export function hasApnsCredentials(config: Env): boolean {
  return Boolean(config.APNS_KEY_FILE || config.APNS_KEY);
}

/** The APNs token-auth settings, checked before the first job; ConfigError names what is missing. */
export function apnsCredentials(config: Env): ApnsCredentials {
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

export function hasFcmCredentials(config: Env): boolean {
  return Boolean(config.FCM_SERVICE_ACCOUNT_FILE || config.GOOGLE_APPLICATION_CREDENTIALS || config.FCM_ACCESS_TOKEN);
}

export type FcmCredential = { accessToken: string } | { serviceAccountFile: string } | { applicationDefault: true };

export interface FcmSettings {
  endpoint: string;
  projectId?: string;
  credential: FcmCredential;
}

/**
 * The FCM sender's settings: a ready token (FCM_ACCESS_TOKEN), a service account file, or Google's
 * application default credentials, in that order. Project id from FCM_PROJECT_ID, else the service account.
 */
export function fcmSettings(config: Env): FcmSettings {
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

/** Keys whose values never reach a log line. */
const secretNames = [
  'IM_API_KEY',
  'APNS_KEY',
  'FCM_ACCESS_TOKEN',
  'METRICS_TOKEN',
  'ADMIN_PASSWORD',
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
export function redactConfig(config: Config): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...config };
  for (const name of secretNames) if (copy[name] !== undefined) copy[name] = '[redacted]';
  copy.REDIS_URL = redactUrl(config.REDIS_URL);
  return copy;
}
