import { createHash, randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import type { AppApns, AppFcm, AppLimits, AppWebpush, CreateAppRequest, PatchAppRequest } from '@push/contract';
import { appRegistryKeys } from './keys';
import type { RedisClient } from './redis';
import { seal, unseal } from './sealed';

/** An app's provider credentials, secrets included: only ever sealed at rest, never returned by the API. */
export interface AppCredentials {
  apns?: AppApns;
  fcm?: AppFcm;
  webpush?: AppWebpush;
}

/** An app as the admin API shows it: no secret, only what identifies one (ids, fingerprints). */
export interface AppView {
  id: string;
  name?: string;
  apns?: Omit<AppApns, 'key'> & { keyFingerprint: string };
  fcm?: { projectId: string; endpoint?: string; credential: 'serviceAccount' | 'accessToken'; clientEmail?: string; fingerprint: string };
  webpush?: Omit<AppWebpush, 'privateKey'> & { keyFingerprint: string };
  limits: AppLimits;
  keys: { id: string; createdAt: string }[];
  createdAt: string;
  updatedAt: string;
}

/** What a worker needs of an app: its credentials and quotas, and the version they belong to. */
export interface AppSettings {
  version: number;
  limits: AppLimits;
  credentials: AppCredentials;
}

/** An API key's app, found from the key's hash. */
export interface ApiKeyOwner {
  app: string;
  keyId: string;
  limits: AppLimits;
}

export class AppExistsError extends Error {
  constructor(id: string) {
    super(`an app ${id} exists already`);
    this.name = this.constructor.name;
  }
}

export class SecretsKeyMissingError extends Error {
  constructor() {
    super('SECRETS_KEY is not set: an app cannot store provider credentials without it (64 hex characters, e.g. `openssl rand -hex 32`)');
    this.name = this.constructor.name;
  }
}

interface StoredKey {
  id: string;
  hash: string;
  createdAt: string;
}

/**
 * API keys are 256 random bits, so one SHA-256 is enough to store them: a slow password hash (scrypt,
 * argon2) defends guessable secrets, and would cost every request its time (docs/decisions.md).
 */
export const apiKeyHash = (key: string): string => createHash('sha256').update(key).digest('hex');
const fingerprint = (secret: string): string => createHash('sha256').update(secret).digest('hex').slice(0, 16);
const newApiKey = (): string => randomBytes(32).toString('base64url');

/**
 * The apps other than `default` (which the environment configures): records, API keys (as hashes) and
 * provider credentials (sealed with SECRETS_KEY, AES-256-GCM, bound to the app id). Every write bumps the
 * app's `version`, which workers poll to pick up new credentials.
 */
export class AppStore {
  private readonly keys: ReturnType<typeof appRegistryKeys>;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly secretsKey?: Buffer,
  ) {
    this.keys = appRegistryKeys(prefix);
  }

  /** Creates an app with its first API key (returned this once). AppExistsError when the id is taken. */
  async create(input: CreateAppRequest, now = new Date()): Promise<{ app: AppView; apiKey: string }> {
    const { id, name, limits = {}, ...credentials } = input;
    const sealed = this.sealCredentials(id, credentials);
    if ((await this.redis.sadd(this.keys.appIds(), id)) === 0) throw new AppExistsError(id);
    const apiKey = newApiKey();
    const key: StoredKey = { id: newKeyId(), hash: apiKeyHash(apiKey), createdAt: now.toISOString() };
    const meta = { id, ...(name && { name }), limits, createdAt: now.toISOString(), updatedAt: now.toISOString() };
    await this.redis.hset(this.keys.app(id), { meta: JSON.stringify(meta), secrets: sealed, keys: JSON.stringify([key]), version: 1 });
    await this.redis.set(this.keys.apiKey(key.hash), `${id} ${key.id}`);
    return { app: viewOf(meta, credentials, [key]), apiKey };
  }

  async get(id: string): Promise<AppView | undefined> {
    const stored = await this.read(id);
    return stored && viewOf(stored.meta, stored.credentials, stored.keys);
  }

  async list(): Promise<AppView[]> {
    const apps = await Promise.all((await this.ids()).map((id) => this.get(id)));
    return apps.filter((app): app is AppView => app !== undefined);
  }

  /** The ids of every app but `default`. */
  async ids(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.appIds())).sort();
  }

  /** Whether any app but `default` exists (the operators' pages then refuse the default app's API keys). */
  async any(): Promise<boolean> {
    return (await this.redis.scard(this.keys.appIds())) > 0;
  }

  /** Applies a PATCH: each section given replaces the old one, `null` removes it. Undefined: no such app. */
  async update(id: string, patch: PatchAppRequest, now = new Date()): Promise<AppView | undefined> {
    const stored = await this.read(id);
    if (!stored) return undefined;
    const credentials = { ...stored.credentials };
    for (const section of ['apns', 'fcm', 'webpush'] as const) {
      const value = patch[section];
      if (value === null) delete credentials[section];
      else if (value !== undefined) (credentials as Record<string, unknown>)[section] = value;
    }
    const meta = {
      ...stored.meta,
      ...(patch.name !== undefined && { name: patch.name }),
      ...(patch.limits !== undefined && { limits: patch.limits }),
      updatedAt: now.toISOString(),
    };
    await this.redis
      .multi()
      .hset(this.keys.app(id), { meta: JSON.stringify(meta), secrets: this.sealCredentials(id, credentials) })
      .hincrby(this.keys.app(id), 'version', 1)
      .exec();
    return viewOf(meta, credentials, stored.keys);
  }

  /** A new API key for the app (returned this once), or undefined when there is no such app. */
  async addKey(id: string, now = new Date()): Promise<{ keyId: string; apiKey: string } | undefined> {
    const stored = await this.read(id);
    if (!stored) return undefined;
    const apiKey = newApiKey();
    const key: StoredKey = { id: newKeyId(), hash: apiKeyHash(apiKey), createdAt: now.toISOString() };
    await this.redis.hset(this.keys.app(id), 'keys', JSON.stringify([...stored.keys, key]));
    await this.redis.set(this.keys.apiKey(key.hash), `${id} ${key.id}`);
    return { keyId: key.id, apiKey };
  }

  /** Revokes one key at once; false when the app or the key does not exist. */
  async revokeKey(id: string, keyId: string): Promise<boolean> {
    const stored = await this.read(id);
    const key = stored?.keys.find((k) => k.id === keyId);
    if (!stored || !key) return false;
    await this.redis.del(this.keys.apiKey(key.hash));
    await this.redis.hset(this.keys.app(id), 'keys', JSON.stringify(stored.keys.filter((k) => k !== key)));
    return true;
  }

  /**
   * Deletes an app: its keys first (they stop working at once), then its record, then every key of its
   * data (registry, jobs, results, pauses), which also stops its queued chunks (a chunk whose job record is
   * gone is dropped). False when there is no such app.
   */
  async delete(id: string): Promise<boolean> {
    const stored = await this.read(id);
    if (!stored) return false;
    await Promise.all(stored.keys.map((key) => this.redis.del(this.keys.apiKey(key.hash))));
    await this.redis.del(this.keys.app(id));
    await this.redis.srem(this.keys.appIds(), id);
    await deleteMatching(this.redis, this.keys.appData(id));
    return true;
  }

  /** The app an API key belongs to (undefined: no app's key, or revoked). */
  async findByApiKey(apiKey: string): Promise<ApiKeyOwner | undefined> {
    const owner = await this.redis.get(this.keys.apiKey(apiKeyHash(apiKey)));
    if (!owner) return undefined;
    const [app = '', keyId = ''] = owner.split(' ');
    const meta = await this.redis.hget(this.keys.app(app), 'meta');
    if (!meta) return undefined;
    return { app, keyId, limits: (JSON.parse(meta) as StoredMeta).limits };
  }

  /** The app's version: changes with every write (undefined: no such app). */
  async version(id: string): Promise<number | undefined> {
    const version = await this.redis.hget(this.keys.app(id), 'version');
    return version === null ? undefined : Number(version);
  }

  /** What a worker needs to deliver for the app (undefined: no such app). */
  async settings(id: string): Promise<AppSettings | undefined> {
    const stored = await this.read(id);
    return stored && { version: stored.version, limits: stored.meta.limits, credentials: stored.credentials };
  }

  private async read(
    id: string,
  ): Promise<{ meta: StoredMeta; credentials: AppCredentials; keys: StoredKey[]; version: number } | undefined> {
    const hash = await this.redis.hgetall(this.keys.app(id));
    if (!hash.meta) return undefined;
    return {
      meta: JSON.parse(hash.meta) as StoredMeta,
      credentials: hash.secrets ? (JSON.parse(this.open(id, hash.secrets)) as AppCredentials) : {},
      keys: JSON.parse(hash.keys ?? '[]') as StoredKey[],
      version: Number(hash.version ?? 0),
    };
  }

  private sealCredentials(id: string, credentials: AppCredentials): string {
    if (!credentials.apns && !credentials.fcm && !credentials.webpush) return '';
    if (!this.secretsKey) throw new SecretsKeyMissingError();
    return seal(this.secretsKey, id, JSON.stringify(credentials));
  }

  private open(id: string, sealed: string): string {
    if (!this.secretsKey) throw new SecretsKeyMissingError();
    return unseal(this.secretsKey, id, sealed);
  }
}

interface StoredMeta {
  id: string;
  name?: string;
  limits: AppLimits;
  createdAt: string;
  updatedAt: string;
}

const newKeyId = (): string => randomBytes(6).toString('hex');

function viewOf(meta: StoredMeta, credentials: AppCredentials, keys: StoredKey[]): AppView {
  const { apns, fcm, webpush } = credentials;
  const fcmSecret = fcm && (fcm.accessToken ?? JSON.stringify(fcm.serviceAccount));
  return {
    ...meta,
    ...(apns && { apns: { ...withoutKey(apns), keyFingerprint: fingerprint(apns.key) } }),
    ...(fcm && {
      fcm: {
        projectId: fcm.projectId ?? String(fcm.serviceAccount?.project_id),
        ...(fcm.endpoint && { endpoint: fcm.endpoint }),
        credential: fcm.accessToken ? 'accessToken' : 'serviceAccount',
        ...(typeof fcm.serviceAccount?.client_email === 'string' && { clientEmail: fcm.serviceAccount.client_email }),
        fingerprint: fingerprint(fcmSecret ?? ''),
      },
    }),
    ...(webpush && {
      webpush: { publicKey: webpush.publicKey, subject: webpush.subject, keyFingerprint: fingerprint(webpush.privateKey) },
    }),
    keys: keys.map(({ id, createdAt }) => ({ id, createdAt })),
  };
}

function withoutKey({ key: _key, ...rest }: AppApns): Omit<AppApns, 'key'> {
  return rest;
}

/** UNLINKs every key matching `pattern`, on every master of a Cluster. */
async function deleteMatching(redis: RedisClient, pattern: string): Promise<void> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  await Promise.all(
    nodes.map(async (node) => {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        // One key per command: keys of one app spread over every slot of a Cluster node.
        await Promise.all(keys.map((key) => node.unlink(key)));
      } while (cursor !== '0');
    }),
  );
}
