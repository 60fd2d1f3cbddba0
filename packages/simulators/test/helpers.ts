// Plain clients for the details the real libraries hide: raw HTTP/2 (and HTTP/1.1) requests, hand-made JWTs.
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import http2 from 'node:http2';
import https from 'node:https';

export interface Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  text: string;
  json: any;
  ms: number;
}

export interface RequestSpec {
  method?: string;
  path: string;
  headers?: http2.OutgoingHttpHeaders;
  body?: string | object;
}

/** An HTTP/2 client trusting the simulator CA; close() it after the test. */
export class H2Client {
  readonly session: http2.ClientHttp2Session;

  constructor(url: string, caPem: string) {
    this.session = http2.connect(url, { ca: caPem });
    this.session.on('error', () => undefined);
  }

  /** Resolves once the server has seen the session (a PING round trip), so it is counted before a test. */
  async ready(): Promise<void> {
    if (this.session.connecting) await new Promise((resolve) => this.session.once('connect', resolve));
    await new Promise<void>((resolve, reject) => {
      this.session.ping((err) => (err ? reject(err) : resolve()));
    });
  }

  request(spec: RequestSpec): Promise<Reply> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const req = this.session.request({ ':method': spec.method ?? 'POST', ':path': spec.path, ...spec.headers });
      let headers: http2.IncomingHttpHeaders = {};
      let text = '';
      req.setEncoding('utf8');
      req.on('response', (h) => (headers = h));
      req.on('data', (c: string) => (text += c));
      req.on('error', reject);
      req.on('end', () => resolve(reply(Number(headers[':status']), headers, text, started)));
      const body = spec.body === undefined ? undefined : typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body);
      req.end(body);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.session.close(() => resolve()));
  }
}

/** One HTTP/1.1 request over TLS, trusting `caPem`. */
export function http1(url: string, caPem: string, spec: RequestSpec): Promise<Reply & { httpVersion: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const body = spec.body === undefined ? undefined : typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body);
    const req = https.request(
      new URL(spec.path, url),
      { method: spec.method ?? 'POST', headers: spec.headers, ca: caPem, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ ...reply(res.statusCode ?? 0, res.headers, text, started), httpVersion: res.httpVersion }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function reply(status: number, headers: http2.IncomingHttpHeaders, text: string, started: number): Reply {
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status, headers, text, json, ms: performance.now() - started };
}

/** An APNs provider token signed with `keyPem`; every claim can be bent for negative tests. */
export function providerToken(keyPem: string, o: { kid: string; iss: string; iat?: number; alg?: string }): string {
  const header = Buffer.from(JSON.stringify({ alg: o.alg ?? 'ES256', kid: o.kid })).toString('base64url');
  const claims = Buffer.from(JSON.stringify({ iss: o.iss, iat: o.iat ?? Math.floor(Date.now() / 1000) })).toString('base64url');
  const sig = sign('sha256', Buffer.from(`${header}.${claims}`), { key: createPrivateKey(keyPem), dsaEncoding: 'ieee-p1363' });
  return `${header}.${claims}.${sig.toString('base64url')}`;
}

/** A P-256 key the simulator does not know. */
export function otherKeyPem(): string {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** A 64-hex-digit device token, distinct per `n`. */
export function hexToken(n: number | string): string {
  const hex = Buffer.from(String(n)).toString('hex');
  return hex.padStart(64, '0').slice(-64);
}
