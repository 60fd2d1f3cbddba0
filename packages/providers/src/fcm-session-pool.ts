import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { Logger } from '@push/config';
import { ProviderClosedError, RequestTimeoutError } from './errors';
import { probeSession } from './http2-probe';

export interface SessionPoolOptions {
  /** `https://host[:port]` (or `http://` for cleartext HTTP/2): every request goes there. */
  origin: string;
  /** HTTP/2 sessions kept open to `origin`. */
  connections: number;
  /** How long one request may wait for its answer once sent, and a new session may take to be ready, in ms. */
  timeoutMs: number;
  /** A PEM CA to trust; it replaces Node's default trust store (which includes NODE_EXTRA_CA_CERTS). */
  ca?: string;
  logger?: Logger;
}

export interface PoolRequest {
  path: string;
  /** @defaultValue POST */
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: string;
}

export interface PoolResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Used when a server sets no limit: HTTP/2's "unlimited" is not a promise to serve millions of streams. */
const MAX_STREAMS_CAP = 1000;
/** After a failed connection attempt, no new one for this long (no reconnect storm against a dead host). */
const RECONNECT_DELAY_MS = 1000;

interface Pending {
  request: PoolRequest;
  resolve(response: PoolResponse): void;
  reject(error: Error): void;
  /** Times the request was refused unprocessed (REFUSED_STREAM); see `start`. */
  refusals: number;
}

interface Conn {
  session: ClientHttp2Session;
  /** The server's SETTINGS arrived: `maxStreams` is known and streams may start. */
  ready: boolean;
  active: number;
  maxStreams: number;
  lastError?: Error;
}

/**
 * A fixed number of persistent HTTP/2 sessions to one origin. Requests take the least busy ready session
 * that is below the server's SETTINGS_MAX_CONCURRENT_STREAMS; when all are full they wait in a local FIFO
 * (nothing is handed to nghttp2 that the server has not agreed to take). A session that sends GOAWAY,
 * closes or fails is replaced on the next demand; a stream the server refused unprocessed
 * (REFUSED_STREAM, e.g. above a GOAWAY's last stream id) is sent again, which RFC 9113 §8.7 allows.
 */
export class Http2SessionPool {
  private readonly conns: Conn[] = [];
  private readonly queue: Pending[] = [];
  private pendingCount = 0;
  private closed = false;
  private readonly idle: Array<() => void> = [];
  private connectAfter = 0;
  private connectTimer: NodeJS.Timeout | undefined;
  /** The last request's header block: a send group's requests share theirs, so it is built once per group. */
  private lastHeaders: { method: string; path: string; headers: OutgoingHttpHeaders | undefined; block: OutgoingHttpHeaders } | undefined;

  constructor(private readonly options: SessionPoolOptions) {
    if (!Number.isInteger(options.connections) || options.connections < 1) throw new RangeError('connections must be a positive integer');
  }

  request(request: PoolRequest): Promise<PoolResponse> {
    if (this.closed) return Promise.reject(new ProviderClosedError('FCM'));
    this.pendingCount += 1;
    return new Promise<PoolResponse>((resolve, reject) => {
      this.queue.push({ request, resolve, reject, refusals: 0 });
      this.pump();
    });
  }

  /** Refuses new requests, waits for queued and in-flight ones, then closes every session. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.pendingCount > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    clearTimeout(this.connectTimer);
    await Promise.all(this.conns.splice(0).map(closeSession));
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const conn = this.leastBusy();
      if (!conn) break;
      this.start(conn, this.queue.shift()!);
    }
    if (this.queue.length > 0) this.grow();
  }

  private leastBusy(): Conn | undefined {
    let best: Conn | undefined;
    for (const conn of this.conns) {
      if (conn.ready && conn.active < conn.maxStreams && (!best || conn.active < best.active)) best = conn;
    }
    return best;
  }

  private grow(): void {
    const wait = this.connectAfter - Date.now();
    if (wait > 0) {
      this.connectTimer ??= setTimeout(() => {
        this.connectTimer = undefined;
        this.pump();
      }, wait);
      return;
    }
    while (this.conns.length < this.options.connections) this.connect();
  }

  private connect(): void {
    const { origin, ca, timeoutMs, logger } = this.options;
    const session = http2.connect(origin, ca === undefined ? {} : { ca });
    const conn: Conn = { session, ready: false, active: 0, maxStreams: 0 };
    this.conns.push(conn);
    const timer = setTimeout(() => session.destroy(new Error(`no HTTP/2 session with ${origin} within ${timeoutMs} ms`)), timeoutMs);

    session.on('remoteSettings', (settings: http2.Settings) => {
      conn.maxStreams = Math.max(1, Math.min(settings.maxConcurrentStreams ?? MAX_STREAMS_CAP, MAX_STREAMS_CAP));
      if (!conn.ready) {
        conn.ready = true;
        clearTimeout(timer);
        logger?.debug({ origin, maxStreams: conn.maxStreams }, 'fcm session ready');
      }
      this.pump();
    });
    // After GOAWAY Node itself closes the session (streams below the last stream id still finish).
    session.on('goaway', (code) => {
      logger?.debug({ origin, code }, 'fcm session goaway');
      this.retire(conn);
      this.pump();
    });
    session.on('error', (error: Error) => {
      conn.lastError = error;
    });
    session.on('close', () => {
      clearTimeout(timer);
      this.retire(conn);
      if (conn.ready) this.pump();
      else this.connectFailed(conn.lastError ?? new Error(`HTTP/2 session with ${origin} closed before it was ready`));
    });
  }

  private retire(conn: Conn): void {
    const at = this.conns.indexOf(conn);
    if (at >= 0) this.conns.splice(at, 1);
  }

  private connectFailed(error: Error): void {
    this.options.logger?.warn({ origin: this.options.origin, err: error.message }, 'fcm connection failed');
    this.connectAfter = Date.now() + RECONNECT_DELAY_MS;
    // Nobody can serve the queue now: fail it (the callers retry later) instead of holding it through
    // an unbounded series of reconnection attempts.
    if (this.conns.length === 0) for (const pending of this.queue.splice(0)) this.settle(pending, error);
    else this.pump();
  }

  /** The request's header block; node copies it into each stream, so one object serves a whole group. */
  private headerBlock(request: PoolRequest): OutgoingHttpHeaders {
    const method = request.method ?? 'POST';
    const last = this.lastHeaders;
    if (last && last.headers === request.headers && last.path === request.path && last.method === method) return last.block;
    const block = { ':method': method, ':path': request.path, ...request.headers };
    this.lastHeaders = { method, path: request.path, headers: request.headers, block };
    return block;
  }

  private start(conn: Conn, pending: Pending): void {
    const { request } = pending;
    let stream: ClientHttp2Stream;
    try {
      stream = conn.session.request(this.headerBlock(request));
    } catch {
      // The session closed since its last event: drop it, the request waits for another one.
      this.retire(conn);
      this.queue.unshift(pending);
      return;
    }
    conn.active += 1;
    let status: number | undefined;
    let headers: IncomingHttpHeaders = {};
    // Raw chunks, decoded once at the end (a 200's body is a few dozen bytes, usually in one chunk).
    const chunks: Buffer[] = [];
    let timedOut = false;
    let streamError: Error | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      stream.close(http2.constants.NGHTTP2_CANCEL);
      probeSession(conn.session, this.options.timeoutMs);
    }, this.options.timeoutMs);

    stream.on('response', (h) => {
      headers = h;
      status = Number(h[':status']);
    });
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
    });
    stream.on('error', (error: Error) => {
      streamError = error;
    });
    stream.on('close', () => {
      clearTimeout(timer);
      conn.active -= 1;
      if (timedOut) this.settle(pending, new RequestTimeoutError(this.options.timeoutMs));
      else if (stream.readableEnded && status !== undefined) {
        const body = chunks.length === 1 ? chunks[0]!.toString() : Buffer.concat(chunks).toString();
        this.settle(pending, undefined, { status, headers, body });
      } else if (stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM && pending.refusals < this.options.connections) {
        // Not processed, so safe to send again. Every session of a restarted server refuses in turn until
        // its GOAWAY is read, hence up to one more attempt per session.
        pending.refusals += 1;
        this.queue.unshift(pending);
      } else this.settle(pending, streamError ?? new Error(`stream closed without an answer (HTTP/2 code ${stream.rstCode})`));
      this.pump();
    });
    stream.end(request.body);
  }

  private settle(pending: Pending, error: Error | undefined, response?: PoolResponse): void {
    this.pendingCount -= 1;
    if (error) pending.reject(error);
    else pending.resolve(response!);
    if (this.closed && this.pendingCount === 0) for (const resolve of this.idle.splice(0)) resolve();
  }
}

function closeSession(conn: Conn): Promise<void> {
  const { session } = conn;
  if (session.destroyed) return Promise.resolve();
  if (!conn.ready) {
    session.destroy();
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => session.close(() => resolve()));
}
