import { Redis } from 'ioredis';
import { platforms, tokenStatuses } from '@push/contract';
import { BLOCK_BYTES, packBlocks, packEntry, readBlock, storeCommands, storeKeys, storeScripts, type StoreScripts } from '@push/store';
import { deleteKeys, testRedisUrl, uniquePrefix } from '@push/testing';

// Each Lua script called directly, as the stores call it: the atomic guarantees live here.
const prefix = uniquePrefix('scripts');
const keys = storeKeys(prefix);
let redis: Redis;
let scripts: StoreScripts;
beforeAll(() => {
  redis = new Redis(testRedisUrl());
  scripts = storeScripts(redis);
});
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

const expiresAt = () => Math.floor(Date.now() / 1000) + 3600;
const streams = (jobId: string) => tokenStatuses.map((status) => keys.jobResults(jobId, status));

async function newJob(jobId: string, chunks: number): Promise<void> {
  await redis.hset(keys.job(jobId), { createdAt: 1, chunks });
}

describe('store scripts, called directly', () => {
  it('are all defined, each with a header naming its KEYS, ARGV and what it returns', () => {
    expect(storeCommands.map((c) => c.name).sort()).toEqual([
      'breakerAdmit',
      'breakerObserve',
      'cancelJob',
      'chunkDone',
      'createJob',
      'deadTokenGuard',
      'extendPause',
      'fairShare',
      'putDevice',
      'recordChunk',
      'recordResults',
      'sealChunk',
      'setOwner',
      'takeOwner',
      'takePermits',
      'throttle',
      'trackChunk',
      'trackTokens',
    ]);
    for (const { lua, numberOfKeys } of storeCommands) {
      expect(lua).toMatch(/^--\[\[[\s\S]*KEYS\[1\][\s\S]*ARGV\[1\][\s\S]*Returns [\s\S]*\]\]/);
      expect(lua).toMatch(new RegExp(`KEYS\\[(\\d\\.\\.)?${numberOfKeys}\\]`));
    }
  });

  it('trackTokens counts each token once and returns the indexes of tokens that already have a final result', async () => {
    const job = keys.job('j1');
    const tokens = keys.jobTokens('j1', 'ios');
    expect(await scripts.trackTokens(job, tokens, 'ios', expiresAt(), 5, 'a', 'b')).toBe(-1); // no job: nothing written
    expect(await redis.exists(tokens)).toBe(0);

    await newJob('j1', 1);
    expect(await scripts.trackTokens(job, tokens, 'ios', expiresAt(), 5, 'a', 'b', 'c')).toEqual([]);
    await redis.hset(tokens, 'b', 'sent');
    expect(await scripts.trackTokens(job, tokens, 'ios', expiresAt(), 9, 'a', 'b', 'c', 'd')).toEqual([1]);
    expect(await redis.hmget(job, 'ios:tokens', 'startedAt')).toEqual(['4', '5']);
    expect(await redis.ttl(tokens)).toBeGreaterThan(3500);
  });

  it('recordResults records each token once, streams it by status and counts it', async () => {
    const job = keys.job('j2');
    const tokens = keys.jobTokens('j2', 'android');
    const record = (...results: string[]) =>
      scripts.recordResults(job, tokens, ...streams('j2'), 'android', expiresAt(), ...tokenStatuses, ...results);
    expect(await record('t1', 'c1', 'sent', '')).toBe(-1);

    await newJob('j2', 1);
    await redis.hset(tokens, 't1', 'p');
    expect(await record('t1', 'c1', 'sent', '', 't2', 'c2', 'invalid', 'UNREGISTERED')).toBe(2);
    expect(await record('t1', 'c1', 'failed', 'late', 't3', 'c3', 'expired', 'expiry passed')).toBe(1);
    expect(await redis.hgetall(tokens)).toEqual({ t1: 'sent', t2: 'invalid', t3: 'expired' });
    // t1 was tracked (counted in tokens then); t2 and t3 were not, so recording counts them.
    expect(await redis.hmget(job, 'android:tokens', 'android:sent', 'android:invalid', 'android:expired', 'android:failed')).toEqual([
      '2',
      '1',
      '1',
      '1',
      null,
    ]);
    const invalid = await redis.xrange(keys.jobResults('j2', 'invalid'), '-', '+');
    expect(invalid.map(([, fields]) => fields)).toEqual([['c', 'c2', 'p', 'android', 't', 't2', 'r', 'UNREGISTERED']]);
    expect(await redis.xlen(keys.jobResults('j2', 'failed'))).toBe(0);
  });

  it('chunkDone counts a chunk once and finishes the job when every chunk of every platform is done', async () => {
    const job = keys.job('j3');
    const chunks = keys.jobChunks('j3');
    // A job hash without its own `platforms` (created before jobs listed them): the platforms given.
    const done = (platform: string, chunk: number, now: number) =>
      scripts.chunkDone(job, chunks, platform, chunk, 3, now, expiresAt(), 'ios,android', 'tokens', 2, 'sent', 1, 'failed', 0);
    expect(await done('ios', 0, 1)).toBe(-1);

    await newJob('j3', 2);
    expect(await done('ios', 0, 10)).toBe(1);
    expect(await done('ios', 0, 11)).toBe(0);
    expect(await done('ios', 1, 12)).toBe(1);
    expect(await done('android', 0, 13)).toBe(1);
    expect(await redis.hget(job, 'finishedAt')).toBeNull();
    expect(await done('android', 1, 14)).toBe(1);
    expect(await redis.hmget(job, 'ios:chunksDone', 'ios:clients', 'android:chunksDone', 'startedAt', 'finishedAt')).toEqual([
      '2',
      '6',
      '2',
      '10',
      '14',
    ]);
    // Each chunk's counts once; a count of 0 writes nothing.
    expect(await redis.hmget(job, 'ios:tokens', 'ios:sent', 'android:sent', 'ios:failed')).toEqual(['4', '2', '2', null]);
  });

  it('chunkDone finishes a job that lists its platforms when every chunk of those is done, whatever is given', async () => {
    const job = keys.job('j9');
    const done = (platform: string, chunk: number, now: number) =>
      scripts.chunkDone(job, keys.jobChunks('j9'), platform, chunk, 0, now, expiresAt(), 'ios,android');
    await redis.hset(job, { createdAt: 1, chunks: 1, platforms: platforms.join(',') });
    expect(await done('ios', 0, 10)).toBe(1);
    expect(await done('android', 0, 11)).toBe(1);
    expect(await redis.hget(job, 'finishedAt')).toBeNull();
    expect(await done('web', 0, 12)).toBe(1);
    expect(await redis.hget(job, 'finishedAt')).toBe('12');
  });

  describe("a chunk's results record", () => {
    const blocksOf = (...entries: Array<[string, string]>) =>
      packBlocks(entries.map(([client, token]) => packEntry(token, client))).flatMap((b) => [b.count, b.bytes]);
    const chunk = keys.jobChunk('j4', 0);

    it('trackChunk stores new tokens as given, then finds known ones and appends the rest', async () => {
      expect(await scripts.trackChunk(chunk, 'ios', expiresAt(), BLOCK_BYTES, ...blocksOf(['c1', 'aa01'], ['c2', 'aa02']))).toBe(0);
      expect(await redis.hmget(chunk, 'ios:n', 'ios:b')).toEqual(['2', '1']);
      expect(readBlock((await redis.hgetBuffer(chunk, 'ios:m0'))!)).toEqual([
        { client: 'c1', token: 'aa01' },
        { client: 'c2', token: 'aa02' },
      ]);
      expect(await redis.ttl(chunk)).toBeGreaterThan(3500);
      // Again, with a new token: the known keep their positions, the new one opens block 1.
      expect(
        await scripts.trackChunk(chunk, 'ios', expiresAt(), BLOCK_BYTES, ...blocksOf(['c2', 'aa02'], ['c3', 'aa03'], ['c1', 'aa01'])),
      ).toEqual([1, 65536, 0]);
      expect(await redis.hmget(chunk, 'ios:n', 'ios:b')).toEqual(['3', '2']);
      // Another platform of the same chunk has a record of its own.
      expect(await scripts.trackChunk(chunk, 'android', expiresAt(), BLOCK_BYTES, ...blocksOf(['c1', 'f:1']))).toBe(0);
    });

    it('recordChunk records each position once, counts it, and keeps its class; trackChunk then says it is final', async () => {
      // Runs: position, count, class.
      const record = (now: number, classes: string[], ...runs: number[]) =>
        scripts.recordChunk(chunk, 'ios', now, classes.length / 2, ...classes, ...runs);
      expect(await scripts.recordChunk(keys.jobChunk('j4', 9), 'ios', 5, 1, 'sent', '', 0, 1, 1)).toBe(-1);
      expect(await record(100, ['sent', '', 'invalid', 'Unregistered'], 0, 1, 1, 1, 1, 2)).toBe(2);
      // Positions 0 and 1 again (late duplicates, in a run with 2, which block 0 does not have), and 65536 (new).
      expect(await record(200, ['failed', 'late'], 0, 3, 1, 65536, 1, 1)).toBe(1);
      await expect(record(300, ['sent', ''], 5, 2, 1, 6, 1, 1)).rejects.toThrow('must ascend');
      expect(await redis.hmget(chunk, 'ios:sent', 'ios:invalid', 'ios:failed', 'ios:kn')).toEqual(['1', '1', '1', '3']);
      expect(await redis.hmget(chunk, 'ios:k1', 'ios:k2', 'ios:k3')).toEqual(['100,sent,', '100,invalid,Unregistered', '200,failed,late']);
      expect([...(await redis.hgetBuffer(chunk, 'ios:c0'))!]).toEqual([0, 1, 0, 2]);
      expect([...(await redis.hgetBuffer(chunk, 'ios:c1'))!]).toEqual([0, 3]);
      expect(await scripts.trackChunk(chunk, 'ios', expiresAt(), BLOCK_BYTES, ...blocksOf(['c1', 'aa01'], ['c3', 'aa03']))).toEqual([
        -1, -1,
      ]);
    });

    it('sealChunk returns the final counts; after it nothing is recorded, and every token counts as final', async () => {
      const other = keys.jobChunk('j4', 1);
      expect(await scripts.sealChunk(other, 'ios', ...tokenStatuses)).toEqual([0, 0, 0, 0, 0, 0]);
      expect(await redis.exists(other)).toBe(0); // nothing written without an expiry
      await scripts.trackChunk(other, 'ios', expiresAt(), BLOCK_BYTES, ...blocksOf(['c1', 'bb01'], ['c2', 'bb02']));
      await scripts.recordChunk(other, 'ios', 1, 1, 'sent', '', 0, 1, 1);
      expect(await scripts.sealChunk(other, 'ios', ...tokenStatuses)).toEqual([2, 1, 0, 0, 0, 0]);
      expect(await scripts.recordChunk(other, 'ios', 2, 1, 'sent', '', 1, 1, 1)).toBe(0);
      expect(await scripts.trackChunk(other, 'ios', expiresAt(), BLOCK_BYTES, ...blocksOf(['c2', 'bb02'], ['c9', 'bb09']))).toEqual([
        -1, -1,
      ]);
      expect(await scripts.sealChunk(other, 'ios', ...tokenStatuses)).toEqual([2, 1, 0, 0, 0, 0]);
    });
  });

  it('extendPause only ever lengthens a pause', async () => {
    const key = keys.providerPause('p');
    await scripts.extendPause(key, 60_000);
    await scripts.extendPause(key, 1000);
    expect(await redis.pttl(key)).toBeGreaterThan(59_000);
    await scripts.extendPause(key, 120_000);
    expect(await redis.pttl(key)).toBeGreaterThan(119_000);
  });

  it('takePermits hands out the capacity, then says how long until the permits exist', async () => {
    const key = keys.rateLimit('bucket');
    expect(await scripts.takePermits(key, 10, 60_000, 6, 0)).toBe(0);
    expect(await scripts.takePermits(key, 10, 60_000, 4, 0)).toBe(0);
    // Empty: 5 permits refill in 5/10 of the window (less the few ms since the bucket was last written).
    const wait = await scripts.takePermits(key, 10, 60_000, 5, 0);
    expect(wait).toBeGreaterThan(29_000);
    expect(wait).toBeLessThanOrEqual(30_000);
    expect(Number(await redis.hget(key, 'tokens'))).toBeLessThan(1); // nothing taken by the refusal
  });

  it('cancelJob cancels once, answers the first canceledAt again, and refuses a finished job', async () => {
    const job = keys.job('j4');
    expect(await scripts.cancelJob(job, 100)).toBe(-1);
    expect(await redis.exists(job)).toBe(0);
    await newJob('j4', 1);
    expect(await scripts.cancelJob(job, 100)).toBe(100);
    expect(await scripts.cancelJob(job, 200)).toBe(100);
    expect(await redis.hget(job, 'canceledAt')).toBe('100');
    // A canceled job that then finishes (its chunks ended `canceled`) still answers as canceled.
    await redis.hset(job, 'finishedAt', 300);
    expect(await scripts.cancelJob(job, 400)).toBe(100);

    const finished = keys.job('j5');
    await newJob('j5', 1);
    await redis.hset(finished, 'finishedAt', 50);
    expect(await scripts.cancelJob(finished, 100)).toBe(0);
    expect(await redis.hexists(finished, 'canceledAt')).toBe(0);
  });

  it('throttle reserves evenly spaced slots and never saves unused time for a burst', async () => {
    const key = keys.jobThrottle('j6');
    // 100 ms a send: the first 2 at once, the next 3 after those 2 (200 ms), the next after those 3 (500 ms).
    const start = Date.now();
    expect(await scripts.throttle(key, 100, 2, expiresAt())).toBe(0);
    const second = await scripts.throttle(key, 100, 3, expiresAt());
    const third = await scripts.throttle(key, 100, 1, expiresAt());
    const elapsed = Date.now() - start + 1;
    expect(second).toBeGreaterThanOrEqual(200 - elapsed);
    expect(second).toBeLessThanOrEqual(200);
    expect(third).toBeGreaterThanOrEqual(500 - elapsed);
    expect(third).toBeLessThanOrEqual(500);
    expect(await redis.ttl(key)).toBeGreaterThan(3500);
    // A schedule left idle restarts from now: the time nobody used is gone.
    await redis.set(key, String(Date.now() - 60_000));
    expect(await scripts.throttle(key, 100, 1, expiresAt())).toBe(0);
    const next = await scripts.throttle(key, 100, 1, expiresAt());
    expect(next).toBeGreaterThan(90);
  });

  it('takePermits leaves the reserve it is given in the bucket', async () => {
    const key = keys.rateLimit('reserved');
    expect(await scripts.takePermits(key, 10, 60_000, 7, 3)).toBe(0);
    // 3 left, all reserved: a take with that reserve waits for its permit on top of them (~6 s)...
    const wait = await scripts.takePermits(key, 10, 60_000, 1, 3);
    expect(wait).toBeGreaterThan(5_000);
    expect(wait).toBeLessThanOrEqual(6_000);
    // ...one without a reserve takes them.
    expect(await scripts.takePermits(key, 10, 60_000, 3, 0)).toBe(0);
  });

  it("setOwner / takeOwner keep one owner per token field; putDevice rewrites a client's lines", async () => {
    const bucket = keys.tokenOwners('abcd');
    const field = Buffer.from('0123456789');
    expect(await scripts.setOwner(bucket, field, 'alice')).toBeNull();
    expect(await scripts.setOwner(bucket, field, 'bob')).toBe('alice');
    expect(await scripts.takeOwner(bucket, field)).toBe('bob');
    expect(await scripts.takeOwner(bucket, field)).toBeNull();

    const devices = keys.clientDevices('carol');
    expect(await scripts.putDevice(devices, 'tok:1', 'a1:tok:1')).toBe(1);
    expect(await scripts.putDevice(devices, 'tok2', 'i2:tok2')).toBe(2);
    expect(await scripts.putDevice(devices, 'tok:1', 'a3:tok:1')).toBe(2);
    expect(await redis.get(devices)).toBe('i2:tok2\na3:tok:1');
    expect(await scripts.putDevice(devices, 'tok2')).toBe(1);
    expect(await scripts.putDevice(devices, 'tok:1')).toBe(0);
    expect(await redis.exists(devices)).toBe(0);
  });
});
