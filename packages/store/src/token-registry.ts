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
 * Which devices each client has. A client's tokens live in one small hash (compact in Redis, one read per
 * client); a reverse key token -> client lets a token move between clients and be removed when it dies.
 * Each step touches one key, so it works unchanged on Redis Cluster; concurrent moves of one token can
 * leave it listed under two clients, which is harmless because a job sends to a token once.
 */
export class TokenRegistry {
  private readonly keys: StoreKeys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = storeKeys(prefix);
  }

  /** Registers `token` for `client`, taking it away from any client that had it. */
  async register(client: string, platform: Platform, token: string, now = Date.now()): Promise<void> {
    const previous = await this.redis.set(this.keys.tokenOwner(token), client, 'GET');
    if (previous !== null && previous !== client) await this.redis.hdel(this.keys.clientTokens(previous), token);
    await this.redis.hset(this.keys.clientTokens(client), token, `${platformCode[platform]}|${now}`);
  }

  /** Removes a token wherever it is registered; returns the client that had it, if any. */
  async remove(token: string): Promise<string | null> {
    const owner = await this.redis.getdel(this.keys.tokenOwner(token));
    if (owner !== null) await this.redis.hdel(this.keys.clientTokens(owner), token);
    return owner;
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
