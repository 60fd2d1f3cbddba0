import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { failure } from '@push/contract';
import { bearerToken, matchesSecret } from '@push/config';

/** Bearer tokens `/metrics` accepts, or a function of those it accepts now (config.ts `operatorSecrets`). */
export type MetricsTokens = readonly string[] | (() => Promise<readonly string[]>);

export interface MetricsAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * The answer to `GET /metrics` (the API's route and a worker's server alike): the registry in Prometheus
 * text format for `Authorization: Bearer <one of tokens>`, else an enveloped 401.
 */
export async function metricsAnswer(registry: Registry, tokens: MetricsTokens, authorization: string | undefined): Promise<MetricsAnswer> {
  if (!matchesSecret(typeof tokens === 'function' ? await tokens() : tokens, bearerToken(authorization))) {
    return {
      status: 401,
      headers: { 'Content-Type': 'application/json; charset=utf-8', 'WWW-Authenticate': 'Bearer realm="metrics"' },
      body: JSON.stringify(failure(401, 'INVALID_METRICS_TOKEN', 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>')),
    };
  }
  return { status: 200, headers: { 'Content-Type': registry.contentType }, body: await registry.metrics() };
}

export interface MetricsServerOptions {
  registry: Registry;
  /** Tokens accepted in `Authorization: Bearer <token>`. */
  tokens: MetricsTokens;
  /** 0: a free port. */
  port: number;
  /** @defaultValue every interface */
  host?: string;
}

export interface MetricsServer {
  server: Server;
  /** The port it listens on (the chosen one when asked for 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * A worker's own small HTTP server: `GET /metrics` (Prometheus text, bearer token required) and
 * `GET /healthz` (200 while the process runs, no token: for container health checks).
 */
export async function startMetricsServer({ registry, tokens, port, host }: MetricsServerOptions): Promise<MetricsServer> {
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      return json(res, 200, { RC: 0, RM: 'OK', result: { status: 'ok' } });
    }
    if (path !== '/metrics') return json(res, 404, failure(404, 'NOT_FOUND', `no route ${req.method} ${path}`));
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return json(res, 405, failure(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on /metrics; use GET`), { Allow: 'GET' });
    }
    const answer = await metricsAnswer(registry, tokens, req.headers.authorization);
    res.writeHead(answer.status, answer.headers).end(req.method === 'HEAD' ? undefined : answer.body);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) json(res, 500, failure(500, 'INTERNAL_ERROR', error.message));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
