import { tokenStatuses, type Platform, type ResultItem, type TokenStatus } from '@push/contract';
import { blockOf, indexOf, positionOf, readBlock, readClass } from './chunk-results';
import type { StoreKeys } from './keys';
import type { RedisClient } from './redis';

/** A page of a job's per-token results, and the cursor of the next (null: none). */
export interface ResultsPage {
  items: ResultItem[];
  nextCursor: string | null;
}

export interface ResultsQuery {
  status?: TokenStatus;
  limit: number;
  cursor?: string;
}

export class InvalidCursorError extends Error {
  constructor() {
    super('cursor is not one this API returned');
    this.name = this.constructor.name;
  }
}

/** Chunks whose counts are read at once, looking for the next one with results of a status. */
const COUNTS_WINDOW = 64;

/**
 * A page of a job whose results are kept per chunk (chunk-results.ts): by status, then chunk, platform
 * (in the job's order) and position. The cursor `<status>.<chunk>.<platform>.<position>` names the next
 * result to return; each of its parts is checked against the job.
 */
export async function chunkResultsPage(
  redis: RedisClient,
  keys: StoreKeys,
  job: { jobId: string; chunks: number; platforms: readonly Platform[] },
  query: ResultsQuery,
): Promise<ResultsPage> {
  const only = query.status === undefined ? undefined : tokenStatuses.indexOf(query.status);
  let from = { status: only ?? 0, chunk: 0, platform: 0, position: 0 };
  if (query.cursor !== undefined) {
    const match = /^(\d)\.(\d{1,9})\.(\d)\.(\d{1,15})$/.exec(query.cursor);
    const [status, chunk, platform, position] = (match ?? []).slice(1).map(Number);
    if (
      !match ||
      status! >= tokenStatuses.length ||
      (only !== undefined && status !== only) ||
      chunk! >= job.chunks ||
      platform! >= job.platforms.length
    ) {
      throw new InvalidCursorError();
    }
    from = { status: status!, chunk: chunk!, platform: platform!, position: position! };
  }

  // One more result than the page holds tells where the next page starts.
  const want = query.limit + 1;
  const found: Array<{ item: ResultItem; cursor: string }> = [];
  for (let s = from.status; s < tokenStatuses.length && (only === undefined || s === only) && found.length < want; s++) {
    const status = tokenStatuses[s]!;
    const first = s === from.status ? from : { chunk: 0, platform: 0, position: 0 };
    for (let window = first.chunk; window < job.chunks && found.length < want; window += COUNTS_WINDOW) {
      const chunks = Array.from({ length: Math.min(COUNTS_WINDOW, job.chunks - window) }, (_, i) => window + i);
      const counts = await Promise.all(
        chunks.map((c) => redis.hmget(keys.jobChunk(job.jobId, c), ...job.platforms.map((p) => `${p}:${status}`))),
      );
      for (const [i, c] of chunks.entries()) {
        for (let pi = c === first.chunk ? first.platform : 0; pi < job.platforms.length && found.length < want; pi++) {
          if (!Number(counts[i]![pi] ?? 0)) continue;
          const position = c === first.chunk && pi === first.platform ? first.position : 0;
          const platform = job.platforms[pi]!;
          for (const { position: at, ...item } of await readChunk(
            redis,
            keys.jobChunk(job.jobId, c),
            platform,
            status,
            position,
            want - found.length,
          )) {
            found.push({ item, cursor: `${s}.${c}.${pi}.${at}` });
          }
        }
        if (found.length >= want) break;
      }
    }
  }
  const items = found.slice(0, query.limit).map((f) => f.item);
  return { items, nextCursor: found.length > query.limit ? found[query.limit]!.cursor : null };
}

/** Up to `want` results of one status of a chunk's platform, from `from` (a position) on. */
async function readChunk(
  redis: RedisClient,
  key: string,
  platform: Platform,
  status: TokenStatus,
  from: number,
  want: number,
): Promise<Array<ResultItem & { position: number }>> {
  const [blocks, classCount] = (await redis.hmget(key, `${platform}:b`, `${platform}:kn`)).map(Number);
  const codes = Array.from({ length: classCount! }, (_, i) => `${platform}:k${i + 1}`);
  const classes = codes.length === 0 ? [] : (await redis.hmget(key, ...codes)).map((text) => readClass(text ?? ''));
  const out: Array<ResultItem & { position: number }> = [];
  for (let b = blockOf(from); b < blocks! && out.length < want; b++) {
    const blockCodes = await redis.hgetBuffer(key, `${platform}:c${b}`);
    if (!blockCodes) continue;
    const matches: Array<{ index: number; code: number }> = [];
    for (
      let index = b === blockOf(from) ? indexOf(from) : 0;
      index * 2 < blockCodes.length && out.length + matches.length < want;
      index++
    ) {
      const code = blockCodes.readUInt16BE(index * 2);
      if (code !== 0 && classes[code - 1]?.status === status) matches.push({ index, code });
    }
    if (matches.length === 0) continue;
    const entries = readBlock((await redis.hgetBuffer(key, `${platform}:m${b}`))!);
    for (const { index, code } of matches) {
      const entry = entries[index]!;
      const c = classes[code - 1]!;
      out.push({
        client: entry.client,
        platform,
        token: entry.token,
        status,
        reason: c.reason,
        at: new Date(c.at).toISOString(),
        position: positionOf(b, index),
      });
    }
  }
  return out;
}

/** A results cursor of the old layout: which status stream, and the last stream id returned. */
function parseStreamCursor(cursor: string | undefined): { status: number; after: string } | null {
  if (cursor === undefined) return { status: 0, after: '-' };
  const match = /^(\d):(\d{1,20}-\d{1,20})$/.exec(cursor);
  if (!match || Number(match[1]) >= tokenStatuses.length) return null;
  return { status: Number(match[1]), after: `(${match[2]}` };
}

/**
 * A page of a job of the old layout (created before results were kept per chunk): a stream per status,
 * oldest first; the cursor `<status>:<stream id>` is the last result returned.
 */
export async function streamResultsPage(redis: RedisClient, keys: StoreKeys, jobId: string, query: ResultsQuery): Promise<ResultsPage> {
  const position = parseStreamCursor(query.cursor);
  if (!position) throw new InvalidCursorError();
  const only = query.status === undefined ? undefined : tokenStatuses.indexOf(query.status);
  if (only !== undefined && query.cursor === undefined) position.status = only;
  if (only !== undefined && position.status !== only) throw new InvalidCursorError();

  const items: ResultItem[] = [];
  for (let s = position.status; s < tokenStatuses.length && (only === undefined || s === only); s++) {
    const status = tokenStatuses[s]!;
    const after = s === position.status ? position.after : '-';
    const want = query.limit - items.length;
    // One more than needed tells whether this stream goes on.
    const entries = await redis.xrange(keys.jobResults(jobId, status), after, '+', 'COUNT', want + 1);
    for (const [id, fields] of entries.slice(0, want)) items.push(streamItem(status, id, fields));
    if (entries.length > want) return { items, nextCursor: `${s}:${entries[want - 1]![0]}` };
    if (items.length === query.limit) {
      const next = only === undefined ? await nextNonEmptyStream(redis, keys, jobId, s + 1) : undefined;
      return { items, nextCursor: next === undefined ? null : `${s}:${entries[entries.length - 1]![0]}` };
    }
  }
  return { items, nextCursor: null };
}

/** The index of the next status stream with entries, if the page ended exactly at a stream's end. */
async function nextNonEmptyStream(redis: RedisClient, keys: StoreKeys, jobId: string, from: number): Promise<number | undefined> {
  for (let s = from; s < tokenStatuses.length; s++) {
    if ((await redis.xlen(keys.jobResults(jobId, tokenStatuses[s]!))) > 0) return s;
  }
  return undefined;
}

function streamItem(status: TokenStatus, id: string, fields: string[]): ResultItem {
  const value: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) value[fields[i]!] = fields[i + 1]!;
  return {
    client: value.c ?? '',
    platform: value.p as Platform,
    token: value.t ?? '',
    status,
    reason: value.r ?? '',
    at: new Date(Number(id.split('-')[0])).toISOString(),
  };
}
