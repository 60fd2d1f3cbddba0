import { createHash } from 'node:crypto';
import type { Platform, RegisteredToken } from '@push/contract';
import { storeKeys, type StoreKeys } from './keys';
import type { RedisClient } from './redis';
import { storeScripts, type StoreScripts } from './scripts';

export type { RegisteredToken } from '@push/contract';

export interface ResolvedToken {
  client: string;
  token: string;
  /** When the token was registered (epoch ms): a provider's "dead since" older than this does not count. */
  at?: number;
  /**
   * What a platform needs besides the token to send to it, stored with it: a Web Push subscription's
   * packed keys (`packSubscriptionKeys`). Never written into job data: a retried chunk reads it again.
   */
  keys?: string;
}

const platformCode: Record<Platform, string> = { ios: 'i', android: 'a', web: 'w' };
const codePlatform: Record<string, Platform> = { i: 'ios', a: 'android', w: 'web' };
/** Platforms whose tokens carry keys (a web token is the subscription's endpoint; its keys are separate). */
const keyedPlatforms: ReadonlySet<Platform> = new Set(['web']);

/**
 * Redis layout (the figures are `npm run bench` measurements, docs/performance.md):
 *
 * - `clientDevices(client)` (keys.ts): a string, the client's devices, one line each, `<code><createdAt ms>:<token>`
 *   (code `i`, `a` or `w`); a web line is `w<createdAt ms>.<keys>:<endpoint>`, the subscription's p256dh and
 *   auth packed into 108 base64url characters (no `:`, so the first `:` still ends the prefix). A hash with
 *   the token as field would be the obvious layout, but Redis keeps a hash
 *   compact (listpack) only while every field is at most 64 bytes (`hash-max-listpack-value`) and FCM
 *   tokens are ~150: such a client hash costs ~370 bytes for one token, the string ~230.
 * - `tokenOwners(<4 hex>)`: the reverse index token -> client, in 65,536 bucket hashes whose fields are
 *   10 more bytes of the token's SHA-256 (96 bits with the bucket: collisions are not a practical concern).
 *   Small hashes stay listpacks, so a token costs ~30 bytes here instead of a key of its own holding the
 *   whole token again. Buckets stay listpacks up to `hash-max-listpack-entries` entries (128 by default),
 *   i.e. ~8 million tokens; beyond, Redis turns full buckets into hash tables (~50 bytes more per token)
 *   unless that setting is raised.
 *
 * Every command touches one key (scripts included: `commands/setOwner-1.lua`, `takeOwner-1.lua`,
 * `putDevice-1.lua`), so the registry works unchanged on Redis Cluster.
 */

/** Clients per MGET on a single Redis: a thousand keys hold it well under a millisecond. */
const RESOLVE_BATCH = 1000;

/**
 * Which devices each client has: one small string per client (one read per client, or one MGET per
 * thousand on a single Redis), and a reverse index token -> client that lets a token move between
 * clients and be removed when it dies. Concurrent moves of one token can leave it listed under two
 * clients, which is harmless because a job sends to a token once.
 */
export class TokenRegistry {
  private readonly keys: StoreKeys;
  private readonly scripts: StoreScripts;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = storeKeys(prefix);
    this.scripts = storeScripts(redis);
  }

  /**
   * Registers `token` for `client`, taking it away from any client that had it. A `timezone` becomes the
   * client's (a device that registers from a new zone moves its user there). `keys` is required for a
   * platform whose tokens carry keys (web: the packed subscription keys) and refused for the others.
   */
  async register(
    client: string,
    platform: Platform,
    token: string,
    now = Date.now(),
    { timezone, keys }: { timezone?: string; keys?: string } = {},
  ): Promise<void> {
    if (token.includes('\n')) throw new RangeError('a device token cannot contain a line break');
    if (keyedPlatforms.has(platform) !== (keys !== undefined))
      throw new RangeError(`${platform} tokens ${keys === undefined ? 'need' : 'take no'} keys`);
    if (keys !== undefined && !/^[A-Za-z0-9_-]+$/.test(keys)) throw new RangeError('keys must be base64url');
    if (timezone !== undefined) await this.setTimeZone(client, timezone);
    const digest = digestOf(token);
    const previous = await this.scripts.setOwner(this.keys.tokenOwners(digest.toString('hex', 0, 2)), digest.subarray(2, 12), client);
    if (previous !== null && previous !== client) await this.scripts.putDevice(this.keys.clientDevices(previous), token);
    const line = `${platformCode[platform]}${now}${keys === undefined ? '' : `.${keys}`}:${token}`;
    await this.scripts.putDevice(this.keys.clientDevices(client), token, line);
  }

  /** Removes a token wherever it is registered; returns the client that had it, if any. */
  async remove(token: string): Promise<string | null> {
    const digest = digestOf(token);
    const owner = await this.scripts.takeOwner(this.keys.tokenOwners(digest.toString('hex', 0, 2)), digest.subarray(2, 12));
    if (owner !== null) await this.scripts.putDevice(this.keys.clientDevices(owner), token);
    return owner;
  }

  /** Sets the IANA time zone of `client` (all its devices), for `localTime` jobs. */
  async setTimeZone(client: string, timezone: string): Promise<void> {
    await this.redis.set(this.keys.clientTimeZone(client), timezone);
  }

  /** The time zone of each client (null: none registered), in client order. */
  async timeZones(clients: readonly string[]): Promise<(string | null)[]> {
    return this.getMany(clients.map((client) => this.keys.clientTimeZone(client)));
  }

  async list(client: string): Promise<RegisteredToken[]> {
    const devices: RegisteredToken[] = [];
    const [value, timezone] = await Promise.all([
      this.redis.get(this.keys.clientDevices(client)),
      this.redis.get(this.keys.clientTimeZone(client)),
    ]);
    forEachDevice(value, (code, createdAt, _keys, token) => {
      const platform = codePlatform[code];
      if (platform) devices.push({ token, platform, createdAt: new Date(createdAt).toISOString(), ...(timezone !== null && { timezone }) });
    });
    return devices.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /**
   * The `platform` tokens of many clients, in client order. On a single Redis, one MGET per thousand
   * clients; on a Cluster, where one command may only touch keys of one slot, one GET per client, issued
   * together and auto-pipelined per node. (A worker's profile showed ioredis spending ~8 µs per command:
   * a thousand GETs cost a chunk 8 ms of CPU, one MGET well under one.)
   */
  async resolve(clients: readonly string[], platform: Platform): Promise<ResolvedToken[]> {
    const values = await this.getMany(clients.map((client) => this.keys.clientDevices(client)));
    const code = platformCode[platform];
    const resolved: ResolvedToken[] = [];
    values.forEach((value, i) => {
      forEachDevice(value, (c, createdAt, keys, token) => {
        if (c === code)
          resolved.push(
            keys === undefined ? { client: clients[i]!, token, at: createdAt } : { client: clients[i]!, token, at: createdAt, keys },
          );
      });
    });
    return resolved;
  }

  /** The platforms on which at least one of `clients` has a device now. */
  async platformsOf(clients: readonly string[]): Promise<Set<Platform>> {
    const values = await this.getMany(clients.map((client) => this.keys.clientDevices(client)));
    const found = new Set<Platform>();
    for (const value of values)
      forEachDevice(value, (code) => {
        const platform = codePlatform[code];
        if (platform) found.add(platform);
      });
    return found;
  }

  /**
   * `tokens` with their keys, for a platform whose tokens carry keys: those without (job data holds none)
   * read them again; a token no longer registered to its client comes back without. `tokens` itself when
   * nothing is missing or the platform has no keys.
   */
  async withKeys<T extends ResolvedToken>(tokens: T[], platform: Platform): Promise<T[]> {
    if (!keyedPlatforms.has(platform) || tokens.every((t) => t.keys !== undefined)) return tokens;
    const missing = tokens.filter((t) => t.keys === undefined);
    const current = await this.resolve([...new Set(missing.map((t) => t.client))], platform);
    const keysOf = new Map(current.map((t) => [`${t.client}\n${t.token}`, t.keys]));
    return tokens.map((t) => {
      const keys = t.keys ?? keysOf.get(`${t.client}\n${t.token}`);
      return keys === undefined ? t : { ...t, keys };
    });
  }

  /** Reads many one-per-client keys: MGETs on a single Redis, GETs (auto-pipelined per node) on a Cluster. */
  private async getMany(keys: readonly string[]): Promise<(string | null)[]> {
    if (this.redis.isCluster) return Promise.all(keys.map((key) => this.redis.get(key)));
    const batches: Promise<(string | null)[]>[] = [];
    for (let from = 0; from < keys.length; from += RESOLVE_BATCH) batches.push(this.redis.mget(keys.slice(from, from + RESOLVE_BATCH)));
    return (await Promise.all(batches)).flat();
  }
}

function digestOf(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** Calls `each` for every `<code><createdAt ms>[.<keys>]:<token>` line of a client's device string. */
function forEachDevice(
  value: string | null,
  each: (code: string, createdAt: number, keys: string | undefined, token: string) => void,
): void {
  if (!value) return;
  for (let start = 0; start < value.length;) {
    let end = value.indexOf('\n', start);
    if (end < 0) end = value.length;
    const colon = value.indexOf(':', start);
    if (colon > start && colon < end) {
      const dot = value.indexOf('.', start);
      const keyed = dot > start && dot < colon;
      each(
        value[start]!,
        Number(value.slice(start + 1, keyed ? dot : colon)),
        keyed ? value.slice(dot + 1, colon) : undefined,
        value.slice(colon + 1, end),
      );
    }
    start = end + 1;
  }
}
