import http2 from 'node:http2';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { CertBundle } from './certs';
import type { Recorder } from './recorder';

/** One request, whatever the HTTP version, with its body already read. */
export interface Exchange {
  readonly method: string;
  /** Path and query, as sent. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The body (only the first MAX_KEPT_BODY bytes are kept; `bodyLength` counts all of them). */
  readonly body: Buffer;
  readonly bodyLength: number;
  /** Sends the answer, unless the client has gone away. */
  respond(status: number, headers: OutgoingHttpHeaders, body?: string): void;
}

export type Handler = (ex: Exchange) => void;

/** Bodies beyond this are counted but not kept: every simulator limit is far below it. */
const MAX_KEPT_BODY = 1024 * 1024;
const CONTROL_PREFIX = '/_sim/';
const noop = (): void => undefined;

export interface SimServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  setMaxConcurrentStreams(n: number): void;
  close(): Promise<void>;
}

export interface SimServerOptions {
  host: string;
  port: number;
  certs: CertBundle;
  /** FCM accepts HTTP/1.1 too; APNs is HTTP/2 only, like Apple. */
  allowHTTP1: boolean;
  maxConcurrentStreams?: number;
  recorder: Recorder;
  /** The provider API. */
  handle: Handler;
  /** The `/_sim/` endpoints (not counted in stats). */
  control: Handler;
}

/** An HTTP/2 TLS server that turns streams (and HTTP/1.1 requests) into Exchanges. */
export async function startServer(o: SimServerOptions): Promise<SimServer> {
  const settings: http2.Settings = {};
  if (o.maxConcurrentStreams !== undefined) settings.maxConcurrentStreams = o.maxConcurrentStreams;
  const server = http2.createSecureServer({
    key: o.certs.keyPem,
    cert: o.certs.certPem,
    allowHTTP1: o.allowHTTP1,
    settings,
    // Thousands of concurrent streams per session need more than the 10 MB default.
    maxSessionMemory: 64,
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<Socket>();

  server.on('session', (session) => {
    sessions.add(session);
    o.recorder.sessionOpened();
    session.on('close', () => sessions.delete(session));
    session.on('error', noop);
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    // HTTP/2 connections are counted as sessions above; HTTP/1.1 ones here.
    if (socket.alpnProtocol !== 'h2') o.recorder.sessionOpened();
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // A client that rejects our certificate or drops a connection must not take the simulator down.
  server.on('tlsClientError', noop);
  server.on('sessionError', noop);

  server.on('stream', (stream, headers) => {
    const path = headers[':path'] ?? '/';
    const control = path.startsWith(CONTROL_PREFIX);
    if (!control) {
      o.recorder.streamOpened();
      stream.on('close', () => o.recorder.streamClosed());
    }
    stream.on('error', noop);
    readBody(stream, (body, bodyLength) => {
      (control ? o.control : o.handle)({
        method: headers[':method'] ?? 'GET',
        path,
        headers,
        body,
        bodyLength,
        respond(status, h, text) {
          if (stream.destroyed || stream.closed || stream.headersSent) return;
          h[':status'] = status;
          if (text === undefined) {
            stream.respond(h, { endStream: true });
          } else {
            stream.respond(h);
            stream.end(text);
          }
        },
      });
    });
  });

  if (o.allowHTTP1) {
    // Listening for 'request' makes node add its compatibility handler to every HTTP/2 stream as
    // well; remove it so HTTP/2 stays on the fast stream path above and only HTTP/1.1 comes here.
    const before = new Set(server.listeners('stream'));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (req.httpVersionMajor >= 2) return;
      onHttp1(req, res, o);
    });
    for (const l of server.listeners('stream')) {
      if (!before.has(l)) server.removeListener('stream', l as (...args: unknown[]) => void);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;

  return {
    host: o.host,
    port,
    url: `https://${urlHost(o.host)}:${port}`,
    setMaxConcurrentStreams(n) {
      server.updateSettings({ maxConcurrentStreams: n });
      for (const s of sessions) if (!s.destroyed) s.settings({ maxConcurrentStreams: n });
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.destroy();
        for (const s of sockets) s.destroy();
      });
    },
  };
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

function readBody(source: NodeJS.ReadableStream, done: (body: Buffer, length: number) => void): void {
  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  let length = 0;
  source.on('data', (chunk: Buffer) => {
    length += chunk.length;
    if (length > MAX_KEPT_BODY) return;
    // Most bodies come in one chunk: keep it as is, no concat.
    if (first === undefined) first = chunk;
    else (chunks ??= [first]).push(chunk);
  });
  source.on('end', () => {
    done(chunks ? Buffer.concat(chunks) : (first ?? Buffer.alloc(0)), length);
  });
}

function onHttp1(req: IncomingMessage, res: ServerResponse, o: SimServerOptions): void {
  const path = req.url ?? '/';
  const control = path.startsWith(CONTROL_PREFIX);
  if (!control) {
    o.recorder.streamOpened();
    res.on('close', () => o.recorder.streamClosed());
  }
  req.on('error', noop);
  readBody(req, (body, bodyLength) => {
    (control ? o.control : o.handle)({
      method: req.method ?? 'GET',
      path,
      headers: req.headers,
      body,
      bodyLength,
      respond(status, h, text) {
        if (res.destroyed || res.headersSent) return;
        res.writeHead(status, h);
        res.end(text);
      },
    });
  });
}

/** What the device side would see: the headers without pseudo-headers and without the credential. */
export function deviceHeaders(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in h) {
    if (k.charCodeAt(0) === 58 /* ':' */ || k === 'authorization') continue;
    const v = h[k];
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}
