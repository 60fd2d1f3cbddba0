/**
 * The packed layout of a chunk's per-token results (keys.ts `jobChunk`), written by
 * `commands/trackChunk-1.lua` / `recordChunk-1.lua` and read by `JobStore.results`.
 *
 * One hash per chunk holds, for each platform `<p>`:
 * - `<p>:m<b>`: block `b` of the chunk's tokens, entries `<varint n><token, packed (n bytes)><varint n><client>`,
 *   cut at BLOCK_BYTES.
 * - `<p>:c<b>`: the block's codes, 2 bytes (big-endian) per entry: 0 while the token has no final result,
 *   else the number of its class.
 * - `<p>:k<code>`: a class, `<ms>,<status>,<reason>`: the results one record call gave one status and reason.
 * - `<p>:n` tokens, `<p>:b` blocks, `<p>:kn` classes, `<p>:<status>` counts, `<p>:done` once the chunk is done.
 *
 * A token's position is `block * 65536 + index in its block`: stable once given, as blocks only ever
 * grow by new blocks. Tokens are packed (hex and base64url as bytes) because most of a result's bytes are
 * its token: a 64-character APNs token takes 33 bytes, a 152-character FCM token 116.
 */

/**
 * A block is closed before it would pass this many bytes. Redis allocates a value as one piece of memory,
 * rounded up to the allocator's next size: this many bytes, with the 6 of Redis' string header, are 16 KiB
 * exactly (a 130 KB value would take 160 KiB).
 */
export const BLOCK_BYTES = 16_378;
/** Entries per block at most: a position's index within its block is 16 bits. */
export const BLOCK_ENTRIES = 65_535;
/** Classes per chunk and platform at most: a code is 16 bits, 0 meaning "no result yet". */
export const MAX_CLASSES = 65_535;

export const positionOf = (block: number, index: number): number => block * 65_536 + index;
export const blockOf = (position: number): number => Math.floor(position / 65_536);
export const indexOf = (position: number): number => position % 65_536;

const HEX = /^(?:[0-9a-f]{2})+$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Kinds, the packed token's first byte: what follows it. */
const RAW = 0;
const HEX_KIND = 1;
/** base64url, `+ pad` (0..3 'A's added to fill the last 4 characters); WITH_COLON: then the colon's index. */
const BASE64 = 0x10;
const BASE64_COLON = 0x20;

/** A token as stored: lowercase hex and base64url (FCM's `<id>:<base64url>` too) as their bytes. */
export function packToken(token: string): Buffer {
  if (HEX.test(token)) return Buffer.concat([Buffer.of(HEX_KIND), Buffer.from(token, 'hex')]);
  const colon = token.indexOf(':');
  const joined = colon < 0 ? token : token.slice(0, colon) + token.slice(colon + 1);
  if (colon < 256 && BASE64URL.test(joined)) {
    const pad = (4 - (joined.length % 4)) % 4;
    const bytes = Buffer.from(joined + 'A'.repeat(pad), 'base64url');
    const head = colon < 0 ? Buffer.of(BASE64 + pad) : Buffer.of(BASE64_COLON + pad, colon);
    return Buffer.concat([head, bytes]);
  }
  return Buffer.concat([Buffer.of(RAW), Buffer.from(token, 'utf8')]);
}

export function unpackToken(packed: Buffer): string {
  const kind = packed[0]!;
  if (kind === HEX_KIND) return packed.toString('hex', 1);
  if (kind >= BASE64 && kind < BASE64 + 4) return decodeBase64(packed.subarray(1), kind - BASE64);
  if (kind >= BASE64_COLON && kind < BASE64_COLON + 4) {
    const joined = decodeBase64(packed.subarray(2), kind - BASE64_COLON);
    const colon = packed[1]!;
    return `${joined.slice(0, colon)}:${joined.slice(colon)}`;
  }
  return packed.toString('utf8', 1);
}

function decodeBase64(bytes: Buffer, pad: number): string {
  const text = bytes.toString('base64url');
  return pad === 0 ? text : text.slice(0, -pad);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
}

/** One entry of a block: the packed token, then the client. */
export function packEntry(token: string, client: string): Buffer {
  const t = packToken(token);
  const c = Buffer.from(client, 'utf8');
  return Buffer.concat([varint(t.length), t, varint(c.length), c]);
}

/** Entries cut into blocks of at most BLOCK_BYTES (a bigger entry alone) and BLOCK_ENTRIES each. */
export function packBlocks(entries: readonly Buffer[]): Array<{ count: number; bytes: Buffer }> {
  const blocks: Array<{ count: number; bytes: Buffer }> = [];
  let current: Buffer[] = [];
  let size = 0;
  const close = () => {
    if (current.length > 0) blocks.push({ count: current.length, bytes: Buffer.concat(current, size) });
    current = [];
    size = 0;
  };
  for (const entry of entries) {
    if (current.length > 0 && (size + entry.length > BLOCK_BYTES || current.length === BLOCK_ENTRIES)) close();
    current.push(entry);
    size += entry.length;
  }
  close();
  return blocks;
}

/** The entries of a block, in order. */
export function readBlock(block: Buffer): Array<{ token: string; client: string }> {
  const out: Array<{ token: string; client: string }> = [];
  let at = 0;
  const readVarint = () => {
    let n = 0;
    let scale = 1;
    for (;;) {
      const byte = block[at++]!;
      n += (byte & 0x7f) * scale;
      if (byte < 0x80) return n;
      scale *= 0x80;
    }
  };
  while (at < block.length) {
    const tokenLength = readVarint();
    const token = unpackToken(block.subarray(at, at + tokenLength));
    at += tokenLength;
    const clientLength = readVarint();
    out.push({ token, client: block.toString('utf8', at, at + clientLength) });
    at += clientLength;
  }
  return out;
}

/** A class as stored (recordChunk-1.lua writes them): `<ms>,<status>,<reason>`. */
export function readClass(text: string): { at: number; status: string; reason: string } {
  const first = text.indexOf(',');
  const second = text.indexOf(',', first + 1);
  return { at: Number(text.slice(0, first)), status: text.slice(first + 1, second), reason: text.slice(second + 1) };
}
