import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RedisClient } from './redis';

type Arg = string | number | Buffer;

/**
 * The stores' Lua scripts (`commands/<name>-<numberOfKeys>.lua`, each opening with what its KEYS, ARGV
 * and return value are), as ioredis commands: defined once per connection, sent by SHA (EVALSHA, with
 * ioredis falling back to EVAL the first time a server has not seen one).
 */
export interface StoreScripts {
  trackTokens(
    job: string,
    tokens: string,
    platform: string,
    expiresAt: number,
    now: number,
    ...tokenList: string[]
  ): Promise<number[] | number>;
  recordResults(...keysAndArgs: Arg[]): Promise<number>;
  trackChunk(chunk: string, platform: string, expiresAt: number, blockBytes: number, ...blocks: Arg[]): Promise<number[] | 0>;
  recordChunk(chunk: string, platform: string, now: number, classes: number, ...args: Arg[]): Promise<number>;
  sealChunk(chunk: string, platform: string, ...statuses: string[]): Promise<number[]>;
  chunkDone(job: string, chunks: string, ...args: Arg[]): Promise<number>;
  extendPause(key: string, ms: number): Promise<null>;
  takePermits(key: string, capacity: number, windowMs: number, want: number, reserve: number): Promise<number>;
  setOwner(bucket: string, field: Buffer, client: string): Promise<string | null>;
  takeOwner(bucket: string, field: Buffer): Promise<string | null>;
  putDevice(key: string, token: string, line?: string): Promise<number>;
  cancelJob(job: string, now: number): Promise<number>;
  createJob(job: string, expiresAt: number, ...fieldsAndValues: Arg[]): Promise<number>;
  throttle(key: string, intervalMs: number, sends: number, expiresAt: number): Promise<number>;
  deadTokenGuard(
    key: string,
    mode: 'observe' | 'verdict',
    share: number,
    waitMs: number,
    ...args: Arg[]
  ): Promise<[number, ...Array<number | string>]>;
  breakerAdmit(key: string, probeLeaseMs: number, pollMs: number): Promise<number[]>;
  breakerObserve(key: string, ...args: number[]): Promise<number[]>;
  fairShare(
    index: string,
    prioritized: string,
    counter: string,
    jobPrefix: string,
    limit: number,
    ttl: number,
    ...ids: string[]
  ): Promise<number>;
}

const directory = join(__dirname, 'commands');

/** Every script file, read once: the command is named after the file, its key count ends the name. */
export const storeCommands: ReadonlyArray<{ name: keyof StoreScripts; numberOfKeys: number; lua: string }> = readdirSync(directory)
  .filter((file) => file.endsWith('.lua'))
  .map((file) => {
    const match = /^(\w+)-(\d+)\.lua$/.exec(file);
    if (!match) throw new Error(`${file}: a store script is named <command>-<numberOfKeys>.lua`);
    return { name: match[1] as keyof StoreScripts, numberOfKeys: Number(match[2]), lua: readFileSync(join(directory, file), 'utf8') };
  });

const defined = new WeakSet<RedisClient>();

/** The scripts as commands of `redis` (defined on the first call for each connection). */
export function storeScripts(redis: RedisClient): StoreScripts {
  if (!defined.has(redis)) {
    for (const { name, numberOfKeys, lua } of storeCommands) redis.defineCommand(name, { numberOfKeys, lua });
    defined.add(redis);
  }
  return redis as unknown as StoreScripts;
}
