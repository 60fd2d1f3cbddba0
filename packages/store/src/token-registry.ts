import { createHash } from 'node:crypto';
import type { Platform } from '@push/contract';
import type { RedisClient } from './redis';
import { storeKeys, type StoreKeys } from './keys';

export interface RegisteredToken {
  token: string;
  platform: Platform;
  createdAt: string;
}

export interface ResolvedToken {
  client: string;
  token: string;
}

const platformCode: Record<Platform, string> = { ios: 'i', android: 'a' };
const codePlatform: Record<string, Platform> = { i: 'ios', a: 'android' };

/**
 * The reverse index token -> client lives in 65,536 bucket hashes `<prefix>:reg:o:{<4 hex>}` whose
 * fields are a 10-byte digest of the token: small hashes Redis keeps as compact listpacks, instead of one
 * top-level key per token holding the whole token again (a key costs ~100 bytes of overhead, an FCM token
 * ~150 bytes). With the bucket, 96 bits of SHA-256 name a token: a collision is not a practical concern.
 * Buckets stay listpacks up to `hash-max-listpack-entries` (128 by default) entries, so up to ~8 million
 * registered tokens at the default; beyond that Redis converts the fuller ones to hash tables (about
 * 50 bytes more per token) unless that setting is raised. (Key name to move to keys.ts.)
 */
const ownerBucket = (prefix: string, digest: Buffer) => `${prefix}:reg:o:{${digest.toString('hex', 0, 2)}}`;

function digestOf(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

// Swap the owner of one token (one bucket key: atomic, and Cluster-safe), returning the previous one.
const SET_OWNER = `
local previous = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return previous`;

const TAKE_OWNER = `
local previous = redis.call('HGET', KEYS[1], ARGV[1])
if previous then redis.call('HDEL', KEYS[1], ARGV[1]) end
return previous`;

/**
 * Which devices each client has. A client's tokens live in one small hash (compact in Redis, one read per
 * client); a reverse index token -> client (see `ownerBucket`) lets a token move between clients and be
 * removed when it dies. Each command touches one key, so it works unchanged on Redis Cluster; concurrent
 * moves of one token can leave it listed under two clients, which is harmless because a job sends to a
 * token once. Registries written before the bucketed reverse index kept one key per token
 * (`<prefix>:reg:t:{token}`): those are still read, and consumed, when their token is registered again or
 * removed, in the same round trip.
 */
export class TokenRegistry {
  private readonly keys: StoreKeys;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {
    this.keys = storeKeys(prefix);
  }

  /** Registers `token` for `client`, taking it away from any client that had it. */
  async register(client: string, platform: Platform, token: string, now = Date.now()): Promise<void> {
    const previous = await this.owner(SET_OWNER, token, client);
    if (previous !== null && previous !== client) await this.redis.hdel(this.keys.clientTokens(previous), token);
    await this.redis.hset(this.keys.clientTokens(client), token, `${platformCode[platform]}|${now}`);
  }

  /** Removes a token wherever it is registered; returns the client that had it, if any. */
  async remove(token: string): Promise<string | null> {
    const owner = await this.owner(TAKE_OWNER, token);
    if (owner !== null) await this.redis.hdel(this.keys.clientTokens(owner), token);
    return owner;
  }

  /** Runs an owner script on the token's bucket, and consumes a legacy per-token key if one is left. */
  private async owner(script: string, token: string, client?: string): Promise<string | null> {
    const digest = digestOf(token);
    const args = client === undefined ? [digest.subarray(2, 12)] : [digest.subarray(2, 12), client];
    const [current, legacy] = await Promise.all([
      this.redis.eval(script, 1, ownerBucket(this.prefix, digest), ...args) as Promise<string | null>,
      this.redis.getdel(this.keys.tokenOwner(token)),
    ]);
    return current ?? legacy;
  }

  async list(client: string): Promise<RegisteredToken[]> {
    const entries = await this.redis.hgetall(this.keys.clientTokens(client));
    return Object.entries(entries)
      .map(([token, value]) => decode(token, value))
      .filter((entry): entry is RegisteredToken => entry !== undefined)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /**
   * The `platform` tokens of many clients. The reads are issued together and auto-pipelined, so a
   * thousand clients cost a few round trips, on a single Redis or a cluster alike.
   */
  async resolve(clients: readonly string[], platform: Platform): Promise<ResolvedToken[]> {
    const code = platformCode[platform];
    const hashes = await Promise.all(clients.map((client) => this.redis.hgetall(this.keys.clientTokens(client))));
    const resolved: ResolvedToken[] = [];
    hashes.forEach((hash, i) => {
      for (const [token, value] of Object.entries(hash)) if (value[0] === code) resolved.push({ client: clients[i]!, token });
    });
    return resolved;
  }
}

function decode(token: string, value: string): RegisteredToken | undefined {
  const [code, createdAt] = value.split('|');
  const platform = codePlatform[code ?? ''];
  if (!platform) return undefined;
  return { token, platform, createdAt: new Date(Number(createdAt)).toISOString() };
}
