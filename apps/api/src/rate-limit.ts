import type { RequestHandler } from 'express';
import type { RateLimiter } from '@push/store';
import { ApiError } from './errors';

/** Per-API-key request limit (API_RATE_LIMIT_PER_MINUTE), shared by every API process through Redis. */
export function rateLimitPerKey(limiterFor: (keyIndex: number) => RateLimiter): RequestHandler {
  return async (_req, res, next) => {
    const waitMs = await limiterFor(res.locals.apiKeyIndex as number).take(1);
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
