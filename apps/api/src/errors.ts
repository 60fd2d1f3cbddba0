import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ApiError, failure } from '@push/contract';
import type { Logger } from '@push/config';

/** body-parser's error types, answered in the envelope with their own codes. */
const bodyErrors: Record<string, [number, string, string]> = {
  'entity.parse.failed': [400, 'MALFORMED_JSON', 'the request body is not valid JSON'],
  'entity.too.large': [413, 'BODY_TOO_LARGE', 'the request body is larger than the API accepts'],
  'encoding.unsupported': [415, 'UNSUPPORTED_ENCODING', 'the request body uses an unsupported content encoding'],
  'charset.unsupported': [415, 'UNSUPPORTED_CHARSET', 'the request body must be UTF-8 JSON'],
  'request.aborted': [400, 'REQUEST_ABORTED', 'the request was aborted before its body arrived'],
  'request.size.invalid': [400, 'BAD_REQUEST', 'the request body length does not match Content-Length'],
};

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
    if (error instanceof ApiError) {
      ({ status, code, message } = error);
      if (error.retryAfterSeconds !== undefined) res.set('Retry-After', String(error.retryAfterSeconds));
    } else if (typeof error?.type === 'string' && bodyErrors[error.type]) {
      [status, code, message] = bodyErrors[error.type]!;
    } else if (!redisReady()) {
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
