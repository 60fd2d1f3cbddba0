import type { Request, RequestHandler } from 'express';
import { failure } from '@push/contract';
import { bearerToken, matchesSecret, type HttpMetrics, type Registry } from '@push/metrics';

/**
 * Remembers, on the request, the route pattern that matched (`/push/jobs/:jobId`) with the path it was
 * mounted under, as Express sets them. Express restores `baseUrl` when an error leaves a router, so the
 * label is taken when the route is set, not when the answer ends.
 */
function trackRoute(req: Request): () => string {
  let route: { path: string } | undefined;
  let label: string | undefined;
  let baseUrl = req.baseUrl;
  let deepestBase = '';
  Object.defineProperty(req, 'baseUrl', {
    configurable: true,
    enumerable: true,
    get: () => baseUrl,
    set(value: string) {
      baseUrl = value;
      if (value.length > deepestBase.length) deepestBase = value;
    },
  });
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set(value: { path: string } | undefined) {
      route = value;
      if (value && typeof value.path === 'string') label = baseUrl + value.path;
    },
  });
  // No route matched (404, or refused before routing, e.g. 401): the deepest router it reached.
  return () => label ?? (deepestBase ? `${deepestBase}/*` : '<unmatched>');
}

/** Counts every answer in `push_http_requests_total` / `push_http_request_duration_seconds`. */
export function requestMetrics(http: HttpMetrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const route = trackRoute(req);
    res.once('finish', () => {
      http.observe(req.method, route(), res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}

/** `GET /metrics`: the registry in Prometheus text format, for a bearer token of `tokens()` (config.ts `operatorSecrets`). */
export function metricsRoute(registry: Registry, tokens: () => Promise<readonly string[]>): RequestHandler {
  return async (req, res) => {
    if (!matchesSecret(await tokens(), bearerToken(req.get('authorization')))) {
      res.set('WWW-Authenticate', 'Bearer realm="metrics"');
      res.status(401).json(failure(401, 'INVALID_METRICS_TOKEN', 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>'));
      return;
    }
    res.set('Content-Type', registry.contentType).send(await registry.metrics());
  };
}
