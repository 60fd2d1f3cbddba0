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

/**
 * How a token is stored: lowercase hex and base64url (FCM's `<id>:<base64url>` too) as their bytes. `text`
 * is what to decode (`encoding`), after `head` (the kind byte, and a colon's index).
 */
function tokenForm(token: string): { head: number[]; text: string; encoding: BufferEncoding; size: number } {
  if (HEX.test(token)) return { head: [HEX_KIND], text: token, encoding: 'hex', size: 1 + token.length / 2 };
  const colon = token.indexOf(':');
  const joined = colon < 0 ? token : token.slice(0, colon) + token.slice(colon + 1);
  if (colon < 256 && BASE64URL.test(joined)) {
    const pad = (4 - (joined.length % 4)) % 4;
    const head = colon < 0 ? [BASE64 + pad] : [BASE64_COLON + pad, colon];
    return { head, text: joined + 'A'.repeat(pad), encoding: 'base64url', size: head.length + ((joined.length + pad) / 4) * 3 };
  }
  return { head: [RAW], text: token, encoding: 'utf8', size: 1 + Buffer.byteLength(token) };
}

/** A token as stored (see tokenForm). */
export function packToken(token: string): Buffer {
  const form = tokenForm(token);
  const out = Buffer.allocUnsafe(form.size);
  out.set(form.head);
  out.write(form.text, form.head.length, form.encoding);
  return out;
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

function writeVarint(buffer: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    buffer[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buffer[at++] = n;
  return at;
}

const varintSize = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4);

/**
 * Tokens and their clients as blocks of entries (`<varint n><packed token><varint n><client>`), each at most
 * BLOCK_BYTES (an entry bigger than that alone) and BLOCK_ENTRIES entries; written straight into one buffer
 * per block (this runs for every token a worker sends).
 */
export function packBlocks(tokens: ReadonlyArray<{ token: string; client: string }>): Array<{ count: number; bytes: Buffer }> {
  const blocks: Array<{ count: number; bytes: Buffer }> = [];
  let buffer = Buffer.allocUnsafe(BLOCK_BYTES);
  let size = 0;
  let count = 0;
  const close = () => {
    if (count > 0) blocks.push({ count, bytes: Buffer.from(buffer.subarray(0, size)) });
    size = 0;
    count = 0;
  };
  for (const { token, client } of tokens) {
    const form = tokenForm(token);
    const clientSize = Buffer.byteLength(client);
    const entrySize = varintSize(form.size) + form.size + varintSize(clientSize) + clientSize;
    if (count > 0 && (size + entrySize > BLOCK_BYTES || count === BLOCK_ENTRIES)) close();
    if (entrySize > buffer.length) buffer = Buffer.allocUnsafe(entrySize);
    let at = writeVarint(buffer, size, form.size);
    buffer.set(form.head, at);
    at += form.head.length;
    at += buffer.write(form.text, at, form.encoding);
    at = writeVarint(buffer, at, clientSize);
    at += buffer.write(client, at, 'utf8');
    size = at;
    count++;
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
