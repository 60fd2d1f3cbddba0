import type { Request, RequestHandler } from 'express';
import { metricsAnswer, type HttpMetrics, type MetricsTokens, type Registry } from '@push/metrics';
import type { RequestApp } from './auth';

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

/** Counts every answer in `push_http_requests_total` / `push_http_request_duration_seconds`, with the app its API key is of (auth.ts). */
export function requestMetrics(http: HttpMetrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const route = trackRoute(req);
    res.once('finish', () => {
      const app = (res.locals.app as RequestApp | undefined)?.id ?? '';
      http.observe(req.method, route(), res.statusCode, Number(process.hrtime.bigint() - started) / 1e9, app);
    });
    next();
  };
}

/** `GET /metrics`: the registry in Prometheus text format, for a bearer token of `tokens` (metricsAnswer; config.ts `operatorSecrets`). */
export function metricsRoute(registry: Registry, tokens: MetricsTokens): RequestHandler {
  return async (req, res) => {
    const answer = await metricsAnswer(registry, tokens, req.get('authorization'));
    res.status(answer.status).set(answer.headers).send(answer.body);
  };
}
