import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ApiError } from '@push/contract';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Checks the `IM-API-KEY` header against every configured key in constant time: both sides are hashed
 * to equal length and every key is compared, so timing reveals neither a key nor which one matched.
 * The matching key's index is kept in `res.locals.apiKeyIndex` (for per-key rate limits; never the key).
 */
export function requireApiKey(keys: readonly string[]): RequestHandler {
  const expected = keys.map(digest);
  return (req, res, next) => {
    const given = digest(req.get('im-api-key') ?? '');
    let match = -1;
    expected.forEach((key, i) => {
      if (timingSafeEqual(key, given) && match < 0) match = i;
    });
    if (match < 0 || !req.get('im-api-key')) throw new ApiError(401, 'INVALID_API_KEY', 'Invalid or missing API key');
    res.locals.apiKeyIndex = match;
    next();
  };
}
