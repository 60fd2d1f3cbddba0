import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Http2SessionPool } from '../src/fcm-session-pool';
import { RequestTimeoutError } from '../src/errors';
import { startSilentRelay } from './silent-relay';

/** A cleartext HTTP/2 server (h2c) whose handler each test sets; counts sessions and concurrent streams. */
async function startServer(settings: http2.Settings = {}) {
  const server = http2.createServer({ settings });
  const sessions = new Set<http2.ServerHttp2Session>();
  let sessionCount = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let handler: (stream: http2.ServerHttp2Stream, session: http2.ServerHttp2Session) => void = (stream) =>
    stream.respond({ ':status': 200 }, { endStream: true });
  server.on('session', (session) => {
    sessionCount += 1;
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    stream.on('close', () => (inFlight -= 1));
    stream.on('error', () => undefined); // streams refused by our own GOAWAY end with an error here
    stream.resume();
    stream.on('end', () => handler(stream, stream.session as http2.ServerHttp2Session));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    setHandler: (h: typeof handler) => (handler = h),
    stats: () => ({ sessions: sessionCount, maxInFlight }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Answers after `ms` unless the client or a GOAWAY has closed the stream meanwhile. */
function respondLater(stream: http2.ServerHttp2Stream, ms: number, status = 200): void {
  void later(ms).then(() => {
    if (!stream.destroyed && !stream.closed) stream.respond({ ':status': status }, { endStream: true });
  });
}

test('spreads requests over `connections` sessions within the server’s SETTINGS_MAX_CONCURRENT_STREAMS', async () => {
  const server = await startServer({ maxConcurrentStreams: 5 });
  server.setHandler((stream) => respondLater(stream, 20));
  const pool = new Http2SessionPool({ origin: server.origin, connections: 2, timeoutMs: 5000 });
  const answers = await Promise.all(Array.from({ length: 60 }, () => pool.request({ path: '/x', body: '{}' })));
  expect(answers.every((a) => a.status === 200)).toBe(true);
  expect(server.stats().sessions).toBe(2);
  expect(server.stats().maxInFlight).toBe(10); // 2 sessions x 5 streams, the rest queued locally
  await pool.close();
  await server.close();
});

test('after GOAWAY, refused streams are sent again on a new session and later requests reconnect', async () => {
  const server = await startServer();
  let goneAway = false;
  server.setHandler((stream, session) => {
    if (!goneAway) {
      goneAway = true;
      // Only the first stream (id 1) is processed; streams above it are refused (RFC 9113 §6.8).
      session.goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
    }
    respondLater(stream, 10);
  });
  const pool = new Http2SessionPool({ origin: server.origin, connections: 1, timeoutMs: 5000 });
  const first = await Promise.all(Array.from({ length: 5 }, () => pool.request({ path: '/x', body: '{}' })));
  expect(first.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
  expect(server.stats().sessions).toBe(2);
  expect((await pool.request({ path: '/x' })).status).toBe(200);
  await pool.close();
  await server.close();
});

test('a server that closes its sessions: the next request reconnects', async () => {
  const server = await startServer();
  const pool = new Http2SessionPool({ origin: server.origin, connections: 1, timeoutMs: 5000 });
  expect((await pool.request({ path: '/x' })).status).toBe(200);
  server.setHandler((stream, session) => {
    stream.respond({ ':status': 200 }, { endStream: true });
    session.close();
  });
  expect((await pool.request({ path: '/x' })).status).toBe(200);
  await later(50);
  expect((await pool.request({ path: '/x' })).status).toBe(200);
  expect(server.stats().sessions).toBe(2);
  await pool.close();
  await server.close();
});

test('a request without an answer times out', async () => {
  const server = await startServer();
  server.setHandler(() => undefined);
  const pool = new Http2SessionPool({ origin: server.origin, connections: 1, timeoutMs: 200 });
  await expect(pool.request({ path: '/x' })).rejects.toBeInstanceOf(RequestTimeoutError);
  await pool.close();
  await server.close();
});

test('a connection that goes silent is detected (PING after a timeout) and replaced', async () => {
  const server = await startServer();
  const relay = await startSilentRelay(server.port);
  const pool = new Http2SessionPool({ origin: `http://127.0.0.1:${relay.port}`, connections: 1, timeoutMs: 200 });
  expect((await pool.request({ path: '/x' })).status).toBe(200);
  relay.silenceOpenConnections();
  await expect(pool.request({ path: '/x' })).rejects.toBeInstanceOf(RequestTimeoutError);
  await later(300); // the unanswered PING has destroyed the silent session by now
  expect((await pool.request({ path: '/x' })).status).toBe(200);
  expect(server.stats().sessions).toBe(2);
  await pool.close();
  await relay.close();
  await server.close();
});

test('an unreachable origin fails the queued requests instead of holding them', async () => {
  const server = await startServer();
  const { origin } = server;
  await server.close();
  const pool = new Http2SessionPool({ origin, connections: 2, timeoutMs: 2000 });
  const results = await Promise.allSettled([pool.request({ path: '/x' }), pool.request({ path: '/y' })]);
  expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  await pool.close();
});

test('close() waits for in-flight requests, then refuses new ones', async () => {
  const server = await startServer();
  server.setHandler((stream) => respondLater(stream, 100, 204));
  const pool = new Http2SessionPool({ origin: server.origin, connections: 1, timeoutMs: 2000 });
  const pending = pool.request({ path: '/x' });
  await later(20);
  await pool.close();
  expect((await pending).status).toBe(204);
  await expect(pool.request({ path: '/x' })).rejects.toThrow(/closed/);
  await server.close();
});
