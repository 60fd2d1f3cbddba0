import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { failure } from '@push/contract';
import type { Logger } from '@push/config';

/** An error a route throws to answer with a given status and code; the API's error handler envelopes it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds a client should wait before trying again (sent as `Retry-After`). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = this.constructor.name;
  }
}

/** body-parser's error types, answered in the envelope with their own codes. */
const bodyErrors: Record<string, [number, string, string]> = {
  'entity.parse.failed': [400, 'MALFORMED_JSON', 'the request body is not valid JSON'],
  'entity.too.large': [413, 'BODY_TOO_LARGE', 'the request body is larger than the API accepts'],
  'encoding.unsupported': [415, 'UNSUPPORTED_ENCODING', 'the request body uses an unsupported content encoding'],
  'charset.unsupported': [415, 'UNSUPPORTED_CHARSET', 'the request body must be UTF-8 JSON'],
  'request.aborted': [400, 'REQUEST_ABORTED', 'the request was aborted before its body arrived'],
  'request.size.invalid': [400, 'BAD_REQUEST', 'the request body length does not match Content-Length'],
};

/** The envelope answer of a body-parser error (it names its kind in `type`), if `error` is one. */
function bodyError(error: unknown): [number, string, string] | undefined {
  const type = (error as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? bodyErrors[type] : undefined;
}

/**
 * Other client errors Express and body-parser raise as http-errors (`status` 4xx, `expose: true`) without
 * a `type` of their own: a path whose percent-encoding does not decode (router's URIError), a gzip /
 * deflate / br body that does not decompress (zlib). Answered with their 4xx, never as a 500.
 */
function clientError(error: unknown): [number, string, string] | undefined {
  const e = error as { status?: unknown; statusCode?: unknown; expose?: unknown; errno?: unknown } | null;
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  if (status === undefined || status < 400 || status > 499 || e?.expose === false) return undefined;
  if (error instanceof URIError) return [400, 'MALFORMED_PATH', 'the request path is not valid percent-encoded UTF-8'];
  // zlib's errors carry an errno (Z_DATA_ERROR, brotli's ERR__...); body-parser gives them status 400.
  if (typeof e?.errno === 'number') {
    return [400, 'MALFORMED_BODY', 'the request body could not be decompressed (Content-Encoding)'];
  }
  const phrase = STATUS_CODES[status] ?? 'Bad Request';
  return [status, phrase.toUpperCase().replace(/[^A-Z]+/g, '_'), `the request was refused: ${phrase}`];
}

/** ioredis / Redis answers that mean "Redis is unreachable or not serving", whatever the client's status says. */
const REDIS_DOWN =
  /Connection is closed|Stream isn't writeable|enableOfflineQueue|max retries per request|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|^LOADING|^READONLY|^CLUSTERDOWN|^TRYAGAIN|^MASTERDOWN|Command timed out/;

/**
 * Whether an error comes from Redis being away. The connection's status alone is not enough: a command
 * can fail on a socket that just closed while the client still says `ready`, or on another connection
 * (a queue's) than the one checked.
 */
export function isRedisUnavailable(error: unknown): boolean {
  const e = error as { name?: unknown; message?: unknown } | null;
  return e?.name === 'MaxRetriesPerRequestError' || (typeof e?.message === 'string' && REDIS_DOWN.test(e.message));
}

export const notFound: RequestHandler = (req) => {
  throw new ApiError(404, 'NOT_FOUND', `no route ${req.method} ${req.path}`);
};

/** Answers a route that exists with another method. */
export function methodNotAllowed(allowed: string[]): RequestHandler {
  return (req, res) => {
    res.set('Allow', allowed.join(', '));
    throw new ApiError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.path}; use ${allowed.join(' or ')}`);
  };
}

/**
 * The last handler: everything becomes an enveloped JSON answer. Redis being unreachable is a 503
 * (the request changed nothing and can be retried), anything unexpected a logged 500.
 */
export function errorHandler(logger: Logger, redisReady: () => boolean): ErrorRequestHandler {
  return (error, req, res, _next) => {
    let status: number;
    let code: string;
    let message: string;
    let client: [number, string, string] | undefined;
    if (error instanceof ApiError) {
      ({ status, code, message } = error);
      if (error.retryAfterSeconds !== undefined) res.set('Retry-After', String(error.retryAfterSeconds));
    } else if (bodyError(error)) {
      [status, code, message] = bodyError(error)!;
    } else if ((client = clientError(error))) {
      [status, code, message] = client;
    } else if (!redisReady() || isRedisUnavailable(error)) {
      [status, code, message] = [503, 'SERVICE_UNAVAILABLE', 'the queue store is unreachable; nothing was changed, retry later'];
      res.set('Retry-After', '5');
      logger.warn({ err: error, path: req.path }, 'redis unavailable');
    } else {
      [status, code, message] = [500, 'INTERNAL_ERROR', 'an unexpected error occurred; nothing was queued'];
      logger.error({ err: error, path: req.path }, 'unhandled error');
    }
    if (res.headersSent) return;
    res.status(status).json(failure(status, code, message));
  };
}
