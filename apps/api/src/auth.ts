import type { RequestHandler } from 'express';
import { secretIndex } from '@push/config';
import { ApiError } from './errors';

/**
 * Checks the `IM-API-KEY` header against every configured key in constant time (secretIndex). The
 * matching key's index is kept in `res.locals.apiKeyIndex` (for per-key rate limits; never the key).
 */
export function requireApiKey(keys: readonly string[]): RequestHandler {
  return (req, res, next) => {
    const match = secretIndex(keys, req.get('im-api-key'));
    if (match < 0) throw new ApiError(401, 'INVALID_API_KEY', 'Invalid or missing API key');
    res.locals.apiKeyIndex = match;
    next();
  };
}
