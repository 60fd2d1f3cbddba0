import type { RequestHandler } from 'express';
import type { RateLimiter } from '@push/store';
import { ApiError } from './errors';
import { requestApp, type RequestApp } from './auth';

/**
 * Request limit per API key of the `default` app (API_RATE_LIMIT_PER_MINUTE) and per app for the others
 * (their `limits.requestsPerMinute`, else the same setting), shared by every API process through Redis.
 */
export function rateLimitPerKey(limiterFor: (app: RequestApp) => RateLimiter): RequestHandler {
  return async (_req, res, next) => {
    const waitMs = await limiterFor(requestApp(res)).take(1);
    if (waitMs > 0) {
      throw new ApiError(
        429,
        'RATE_LIMITED',
        'too many requests for this API key; retry after the Retry-After delay',
        Math.ceil(waitMs / 1000),
      );
    }
    next();
  };
}
