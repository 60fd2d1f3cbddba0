import { BLOCK_BYTES, packBlocks, packEntry, packToken, readBlock, unpackToken } from '@push/store';

// The packed tokens of a chunk's results record (chunk-results.ts): every token comes back as it went in.
const fcm = `${'a1B2c3D4e5F6g7H8i9J0kL'}:APA91b${'x_Y-z0'.repeat(20)}abc`;

describe('chunk results: packed tokens and blocks', () => {
  it.each([
    ['an APNs token (hex)', 'a'.repeat(32) + '0123456789abcdef'.repeat(2), 33],
    ['an FCM token (<id>:<base64url>)', fcm, 116],
    ['base64url without a colon, 3 to pad', 'ghijk', 7],
    ['base64url, 2 to pad', 'ghijkl', 7],
    ['base64url, 1 to pad', 'abcdefg', 7],
    ['base64url, none to pad', 'abcdefgh', 7],
    ['a Web Push endpoint (raw)', 'https://push.example.com/send/abc?x=1', 38],
    ['uppercase hex (as base64url: hex would come back lowercase)', 'ABCDEF', 7],
    ['odd-length hex', 'abc', 4],
    ['text with a line break and non-ASCII', 'é\nü', 6],
    ['empty', '', 1],
    ['a colon past 255 characters (raw)', `${'a'.repeat(300)}:b`, 303],
    ['two colons', 'a:b:c', 6],
  ])('%s', (_, token, size) => {
    const packed = packToken(token);
    expect(packed.length).toBe(size);
    expect(unpackToken(packed)).toBe(token);
  });

  it('cuts blocks at BLOCK_BYTES and reads each entry back with its client', () => {
    const entries = Array.from({ length: 500 }, (_, i) => ({
      client: `client ${i} é`,
      token: i % 2 ? fcm : i.toString(16).padStart(64, '0'),
    }));
    const blocks = packBlocks(entries.map((e) => packEntry(e.token, e.client)));
    expect(blocks.length).toBeGreaterThan(1);
    for (const b of blocks) expect(b.bytes.length).toBeLessThanOrEqual(BLOCK_BYTES);
    expect(blocks.reduce((n, b) => n + b.count, 0)).toBe(500);
    expect(blocks.flatMap((b) => readBlock(b.bytes))).toEqual(entries);
  });
});
