import { STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import express from 'express';
import { createLogger } from '@push/config';
import { listQueues, TokenRegistry } from '@push/store';
import { fetchJson, JSON_CONTENT_TYPE, startTestApi, type HttpAnswer, type TestApi } from '@push/testing';
import { errorHandler } from '@push/api/errors';
import { verifyUtf8Body } from '@push/api/validation';

/**
 * Hostile and broken input against the real API (in this process, so prototype pollution would show
 * here): every answer is the documented envelope with a 4xx, the process keeps serving, nothing is queued.
 */

let api: TestApi;
const MAX_CLIENTS = 5000;
/** server.ts: 64 bytes a client + 64 KiB. */
const BODY_LIMIT = MAX_CLIENTS * 64 + 64 * 1024;

beforeAll(async () => {
  api = await startTestApi('hostile', { PUSH_MAX_CLIENTS: String(MAX_CLIENTS) });
});
afterAll(() => api.close());

function send(method: string, path: string, body?: string | Buffer | ReadableStream, headers: Record<string, string> = {}) {
  return fetchJson(api.url + path, method, body, { 'IM-API-KEY': api.apiKey, 'Content-Type': JSON_CONTENT_TYPE, ...headers }, 20_000);
}

/** The documented error envelope with this status (and code, when given). */
function expectError(res: HttpAnswer, status: number, code?: string | RegExp): void {
  expect({ status: res.status, body: res.json ?? res.text }).toEqual({
    status,
    body: {
      RC: status,
      RM: STATUS_CODES[status],
      error: {
        code:
          code === undefined ? expect.stringMatching(/^[A-Z][A-Z0-9_]*$/) : typeof code === 'string' ? code : expect.stringMatching(code),
        message: expect.any(String),
      },
    },
  });
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
}

async function queuedChunks(): Promise<number> {
  const counts = await Promise.all(
    listQueues(api.queues).map(({ queue }) => queue.getJobCountByTypes('waiting', 'delayed', 'prioritized')),
  );
  return counts.reduce((a, b) => a + b, 0);
}

async function expectHealthy(): Promise<void> {
  const health = await send('GET', '/healthz');
  expect(health.status).toBe(200);
  const valid = await send('POST', '/push/push2clients', JSON.stringify({ clients: ['still-ok'], payload: { alert: 'x' } }));
  expect(valid.status).toBe(200);
  expect(valid.json.result.jobId).toMatch(/^[0-9a-f-]{36}$/);
}

const nested = (depth: number, open: string, close: string, inner = '') => open.repeat(depth) + inner + close.repeat(depth);

describe('oversized bodies', () => {
  it('refuses a body over the limit with an enveloped 413, with and without Content-Length, queueing nothing', async () => {
    const before = await queuedChunks();
    const big = JSON.stringify({
      clients: Array.from({ length: 20_000 }, (_, i) => `client-${i}-${'x'.repeat(40)}`),
      payload: { alert: 'x' },
    });
    expect(Buffer.byteLength(big)).toBeGreaterThan(BODY_LIMIT);
    expectError(await send('POST', '/push/push2clients', big), 413, 'BODY_TOO_LARGE');

    // Chunked (no Content-Length): the limit is enforced while reading.
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 4 * 1024 * 1024) controller.close();
        else {
          sent += chunk.length;
          controller.enqueue(chunk);
        }
      },
    });
    expectError(await send('POST', '/push/push2clients', stream), 413, 'BODY_TOO_LARGE');
    expectError(await send('POST', '/push/tokens', big), 413, 'BODY_TOO_LARGE');
    // Without a valid key the body is never read: 401 first.
    expectError(await send('POST', '/push/push2clients', big, { 'IM-API-KEY': 'wrong-key-0123456789' }), 401, 'INVALID_API_KEY');
    expect(await queuedChunks()).toBe(before);
    await expectHealthy();
  });
});

describe('deeply nested JSON', () => {
  const DEPTH = 100_000;
  it.each([
    ['the whole body: 100k nested arrays', '/push/push2clients', nested(DEPTH, '[', ']'), 'INVALID_BODY'],
    [
      'clients: 100k nested arrays',
      '/push/push2clients',
      `{"clients":${nested(DEPTH, '[', ']')},"payload":{"alert":"x"}}`,
      'INVALID_PARAMETER',
    ],
    [
      'payload.alert: 100k nested arrays',
      '/push/push2clients',
      `{"clients":["a"],"payload":{"alert":${nested(DEPTH, '[', ']')}}}`,
      'INVALID_PARAMETER',
    ],
    [
      'payload.alert: 50k nested objects',
      '/push/push2clients',
      `{"clients":["a"],"payload":{"alert":${nested(50_000, '{"a":', '}', '1')}}}`,
      'INVALID_PARAMETER',
    ],
    [
      'an unknown payload key holding 100k nested arrays',
      '/push/push2clients',
      `{"clients":["a"],"payload":{"zz":${nested(DEPTH, '[', ']')}}}`,
      'INVALID_PARAMETER',
    ],
    [
      'a token: 100k nested arrays',
      '/push/tokens',
      `{"client":"a","platform":"ios","token":${nested(DEPTH, '[', ']')}}`,
      'INVALID_PARAMETER',
    ],
    [
      'a platform: 50k nested objects',
      '/push/tokens',
      `{"client":"a","platform":${nested(50_000, '{"a":', '}', '1')},"token":"x"}`,
      'INVALID_PARAMETER',
    ],
  ])('%s: 400, not a crash', async (_name, path, body, code) => {
    expect(body.length).toBeLessThan(BODY_LIMIT);
    expectError(await send('POST', path, body), 400, code);
  });

  afterAll(expectHealthy);
});

describe('huge strings', () => {
  it.each([
    ['a 257-character client id', { clients: ['c'.repeat(257)], payload: { alert: 'x' } }, 'INVALID_PARAMETER', /^clients\[0\]: /],
    ['a 300 kB client id', { clients: ['c'.repeat(300_000)], payload: { alert: 'x' } }, 'INVALID_PARAMETER', /^clients\[0\]: /],
    ['a 300 kB alert', { clients: ['a'], payload: { alert: 'x'.repeat(300_000) } }, 'PAYLOAD_TOO_LARGE', /4096/],
    ['a 5 kB title', { clients: ['a'], payload: { title: '標'.repeat(2000) } }, 'PAYLOAD_TOO_LARGE', /4096/],
    // The topic travels in the apns-topic header, outside the 4096-byte body limit.
    ['a 300 kB topic', { clients: ['a'], payload: { topic: 't'.repeat(300_000) } }, 'INVALID_PARAMETER', /^payload\.topic: /],
    ['a 256-character topic', { clients: ['a'], payload: { topic: 't'.repeat(256) } }, 'INVALID_PARAMETER', /^payload\.topic: /],
    [
      'a topic with CR LF (header injection)',
      { clients: ['a'], payload: { topic: 'io.app\r\nx-evil: 1' } },
      'INVALID_PARAMETER',
      /^payload\.topic: /,
    ],
    ['a topic with spaces and non-ASCII', { clients: ['a'], payload: { topic: 'io.app é' } }, 'INVALID_PARAMETER', /^payload\.topic: /],
  ])('push2clients with %s: 400 %s', async (_name, body, code, message) => {
    const res = await send('POST', '/push/push2clients', JSON.stringify(body));
    expectError(res, 400, code);
    expect(res.json.error.message).toMatch(message);
  });

  it.each([
    ['a 5000-character iOS token', { client: 'a', platform: 'ios', token: 'a'.repeat(5000) }],
    ['a 300 kB Android token', { client: 'a', platform: 'android', token: 'A'.repeat(300_000) }],
    ['a 300 kB client id', { client: 'c'.repeat(300_000), platform: 'ios', token: 'ab'.repeat(32) }],
  ])('tokens with %s: 400 INVALID_PARAMETER', async (_name, body) => {
    expectError(await send('POST', '/push/tokens', JSON.stringify(body)), 400, 'INVALID_PARAMETER');
  });

  it('refuses an Idempotency-Key over 255 characters or with control characters', async () => {
    const body = JSON.stringify({ clients: ['a'], payload: { alert: 'x' } });
    expectError(await send('POST', '/push/push2clients', body, { 'Idempotency-Key': 'k'.repeat(256) }), 400, 'INVALID_IDEMPOTENCY_KEY');
    expectError(await send('POST', '/push/push2clients', body, { 'Idempotency-Key': 'a b\tc' }), 400, 'INVALID_IDEMPOTENCY_KEY');
  });
});

describe('client ids that are not non-empty strings', () => {
  it.each([
    ['a number', [1]],
    ['null', [null]],
    ['an object', [{ id: 'a' }]],
    ['an array', [['a']]],
    ['a boolean', [true]],
    ['an empty string', ['']],
    ['a valid id then a number', ['ok', 42]],
    ['a string instead of an array', 'user001'],
    ['an object instead of an array', { 0: 'user001' }],
    ['an empty array', []],
  ])('clients holding %s: 400 INVALID_PARAMETER, nothing queued', async (_name, clients) => {
    const before = await queuedChunks();
    const res = await send('POST', '/push/push2clients', JSON.stringify({ clients, payload: { alert: 'x' } }));
    expectError(res, 400, 'INVALID_PARAMETER');
    expect(res.json.error.message).toMatch(/^clients/);
    expect(await queuedChunks()).toBe(before);
  });

  it.each([
    ['a number', 12345],
    ['null', null],
    ['an object', { id: 'a' }],
    ['an array', ['a']],
  ])('a token registered for a client that is %s: 400', async (_name, client) => {
    const res = await send('POST', '/push/tokens', JSON.stringify({ client, platform: 'ios', token: 'ab'.repeat(32) }));
    expectError(res, 400, 'INVALID_PARAMETER');
  });
});

describe('prototype pollution', () => {
  const prototypeNames = () => Object.getOwnPropertyNames(Object.prototype).sort();
  let before: string[];
  beforeAll(() => {
    before = prototypeNames();
  });
  afterEach(() => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    expect(prototypeNames()).toEqual(before);
  });

  // Raw JSON text: an object literal with a `__proto__` key would not be serialised as one.
  const evil = '{"polluted":"yes"}';
  it.each([
    ['__proto__ at the top of push2clients', '/push/push2clients', `{"__proto__":${evil},"clients":["a"],"payload":{"alert":"x"}}`],
    [
      'constructor.prototype at the top of push2clients',
      '/push/push2clients',
      `{"constructor":{"prototype":${evil}},"clients":["a"],"payload":{"alert":"x"}}`,
    ],
    ['prototype at the top of push2clients', '/push/push2clients', `{"prototype":${evil},"clients":["a"],"payload":{"alert":"x"}}`],
    ['__proto__ in the payload', '/push/push2clients', `{"clients":["a"],"payload":{"alert":"x","__proto__":${evil}}}`],
    ['constructor in the payload', '/push/push2clients', `{"clients":["a"],"payload":{"alert":"x","constructor":{"prototype":${evil}}}}`],
    ['prototype in the payload', '/push/push2clients', `{"clients":["a"],"payload":{"alert":"x","prototype":${evil}}}`],
    ['__proto__ in the alert object', '/push/push2clients', `{"clients":["a"],"payload":{"alert":{"body":"x","__proto__":${evil}}}}`],
    [
      '__proto__ in a token registration',
      '/push/tokens',
      `{"client":"a","platform":"ios","token":"${'ab'.repeat(32)}","__proto__":${evil}}`,
    ],
    [
      'constructor in a token registration',
      '/push/tokens',
      `{"client":"a","platform":"android","token":"fcm_token_0123456789abcdef","constructor":{"prototype":${evil}}}`,
    ],
  ])('%s: 400 INVALID_PARAMETER naming the key', async (_name, path, body) => {
    const res = await send('POST', path, body);
    expectError(res, 400, 'INVALID_PARAMETER');
    expect(res.json.error.message).toMatch(/__proto__|constructor|prototype/);
  });

  it('__proto__ in a token deletion and in a results query: 400', async () => {
    expectError(await send('DELETE', '/push/tokens', `{"token":"abc","__proto__":${evil}}`), 400, 'INVALID_PARAMETER');
    const job = await send('POST', '/push/push2clients', JSON.stringify({ clients: ['q'], payload: { alert: 'x' } }));
    const { jobId } = job.json.result;
    for (const query of ['__proto__[polluted]=yes', '__proto__.polluted=yes', 'constructor[prototype][polluted]=yes']) {
      expectError(await send('GET', `/push/jobs/${jobId}/results?${query}`), 400, 'INVALID_PARAMETER');
    }
  });

  it('client ids named __proto__, constructor and prototype are plain data', async () => {
    const res = await send(
      'POST',
      '/push/push2clients',
      JSON.stringify({ clients: ['__proto__', 'constructor', 'prototype', 'hasOwnProperty'], payload: { alert: 'x' } }),
    );
    expect(res.status).toBe(200);
    const status = await send('GET', `/push/jobs/${res.json.result.jobId}`);
    expect(status.json.result.totals.clients).toBe(4);
    const registered = await send('POST', '/push/tokens', JSON.stringify({ client: '__proto__', platform: 'ios', token: 'cd'.repeat(32) }));
    expect(registered.status).toBe(200);
    const listed = await send('GET', '/push/clients/__proto__/tokens');
    expect(listed.json.result.tokens).toEqual([expect.objectContaining({ token: 'cd'.repeat(32), platform: 'ios' })]);
  });
});

describe('tokens with path characters', () => {
  const hex = 'ab'.repeat(32);
  const hostile = [
    '../../../4/broadcasts/x',
    `${hex}/../x`,
    `${hex}/x`,
    `${hex}%2F..`,
    `${hex}?x=1`,
    `${hex}#frag`,
    `..%2f..%2f${hex}`,
    `${hex}\r\nx: y`,
    `${hex} `,
    `${hex}.`,
  ];

  it.each(hostile)('refuses %j at registration on both platforms, registering nothing', async (token) => {
    const registry = new TokenRegistry(api.redis, api.prefix);
    for (const platform of ['ios', 'android']) {
      const res = await send('POST', '/push/tokens', JSON.stringify({ client: 'path-client', platform, token }));
      expectError(res, 400, 'INVALID_PARAMETER');
      expect(res.json.error.message).toMatch(/^token: /);
    }
    expect(await registry.list('path-client')).toEqual([]);
  });

  it('treats path characters in a client id as data, never as a path', async () => {
    const res = await send('GET', '/push/clients/..%2F..%2Fjobs/tokens');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ RC: 0, RM: 'OK', result: { tokens: [] } });
    const registered = await send(
      'POST',
      '/push/tokens',
      JSON.stringify({ client: '../../admin', platform: 'ios', token: 'ef'.repeat(32) }),
    );
    expect(registered.status).toBe(200);
    const listed = await send('GET', '/push/clients/..%2F..%2Fadmin/tokens');
    expect(listed.json.result.tokens.map((t: { token: string }) => t.token)).toEqual(['ef'.repeat(32)]);
  });
});

describe('undecodable input', () => {
  const valid = JSON.stringify({ clients: ['z1'], payload: { alert: 'compressed' } });

  it.each([
    ['gzip', 'not gzip at all'],
    ['deflate', 'not deflate either'],
    ['br', 'nor brotli'],
  ])('a corrupt %s body: 400 MALFORMED_BODY, not 500', async (encoding, garbage) => {
    expectError(await send('POST', '/push/push2clients', garbage, { 'Content-Encoding': encoding }), 400, 'MALFORMED_BODY');
  });

  it('accepts a well-formed compressed body', async () => {
    expect((await send('POST', '/push/push2clients', gzipSync(valid), { 'Content-Encoding': 'gzip' })).status).toBe(200);
    expect((await send('POST', '/push/push2clients', brotliCompressSync(valid), { 'Content-Encoding': 'br' })).status).toBe(200);
  });

  it('an unknown Content-Encoding: 415', async () => {
    expectError(await send('POST', '/push/push2clients', valid, { 'Content-Encoding': 'zstd-ish' }), 415, 'UNSUPPORTED_ENCODING');
  });

  it.each(['/push/clients/%E0%A4%A/tokens', '/push/jobs/%ZZ', '/push/jobs/%C0%AF/results', '/push/clients/%/tokens'])(
    'a path that does not percent-decode (%s): 400 MALFORMED_PATH, not 500',
    async (path) => {
      expectError(await send('GET', path), 400, 'MALFORMED_PATH');
    },
  );

  it('answers OPTIONS and other methods on the token and job routes with an enveloped 405', async () => {
    for (const [method, path, allow] of [
      ['OPTIONS', '/push/tokens', 'POST, DELETE'],
      ['PUT', '/push/tokens', 'POST, DELETE'],
      ['OPTIONS', '/push/clients/a/tokens', 'GET'],
      ['DELETE', '/push/clients/a/tokens', 'GET'],
      ['OPTIONS', '/push/jobs/00000000-0000-0000-0000-000000000000', 'GET, DELETE'],
      ['POST', '/push/jobs/00000000-0000-0000-0000-000000000000', 'GET, DELETE'],
      ['GET', '/push/clients/a', 'PUT'],
      ['POST', '/push/jobs/00000000-0000-0000-0000-000000000000/results', 'GET'],
    ] as const) {
      const res = await send(method, path);
      expectError(res, 405, 'METHOD_NOT_ALLOWED');
      expect(res.headers.get('allow')).toBe(allow);
    }
  });

  it('answers OPTIONS /push/push2clients with an enveloped 405', async () => {
    const res = await send('OPTIONS', '/push/push2clients');
    expectError(res, 405, 'METHOD_NOT_ALLOWED');
  });

  // body-parser alone would turn invalid bytes into U+FFFD, making `a\xff` and `a\xfe` the same client.
  it('refuses a body with invalid UTF-8 bytes with 400 INVALID_UTF8', async () => {
    const body = Buffer.concat([Buffer.from('{"clients":["a'), Buffer.from([0xff, 0xfe]), Buffer.from('"],"payload":{"alert":"x"}}')]);
    expectError(await send('POST', '/push/push2clients', body), 400, 'INVALID_UTF8');
  });

  it('verifyUtf8Body refuses invalid UTF-8 in the envelope and lets every valid text through', async () => {
    // The hook as server.ts would wire it, on a bare app with the API's error handler.
    const app = express();
    app.use(express.json({ verify: verifyUtf8Body }));
    app.post('/', (req, res) => {
      res.json({ RC: 0, RM: 'OK', result: req.body });
    });
    app.use(errorHandler(createLogger('test', 'silent'), () => true));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const post = async (body: Buffer) => {
        const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json; charset=utf-8' }, body });
        return { status: r.status, json: await r.json() };
      };
      for (const bad of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe4, 0xbd], [0xf4, 0x90, 0x80, 0x80]]) {
        const res = await post(Buffer.concat([Buffer.from('{"c":"a'), Buffer.from(bad), Buffer.from('"}')]));
        expect(res).toEqual({
          status: 400,
          json: { RC: 400, RM: 'Bad Request', error: { code: 'INVALID_UTF8', message: expect.any(String) } },
        });
      }
      const text = '張小明 \uFFFD 😀 é';
      expect(await post(Buffer.from(JSON.stringify({ c: text })))).toEqual({ status: 200, json: { RC: 0, RM: 'OK', result: { c: text } } });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  afterAll(expectHealthy);
});
