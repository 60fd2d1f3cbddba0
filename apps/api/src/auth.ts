import type { NextFunction, Request, Response } from 'express';
import { secretIndex } from '@push/config';
import { DEFAULT_APP, type AppLimits } from '@push/contract';
import type { AppStore } from '@push/store';
import { ApiError } from './errors';

/** The app a request acts in, and which of its keys it came with (never the key itself). */
export interface RequestApp {
  id: string;
  /** The index of the IM_API_KEY that matched (default app), or the app key's id. */
  key: string;
  limits: AppLimits;
}

/** The app `requireApiKey` found for this request. */
export function requestApp(res: Response): RequestApp {
  return res.locals.app as RequestApp;
}

const invalidKey = () => new ApiError(401, 'INVALID_API_KEY', 'Invalid or missing API key');

/**
 * Finds the app of the `IM-API-KEY` header: one of `defaultKeys` (IM_API_KEY: the `default` app), compared
 * in constant time (secretIndex; its index is kept in `res.locals.apiKeyIndex`), else an app's key, found in `apps` by its hash (a revoked key
 * fails with the next request). 401 `INVALID_API_KEY` otherwise.
 */
export function requireApiKey(defaultKeys: readonly string[], apps?: AppStore) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const given = req.get('im-api-key');
    const index = secretIndex(defaultKeys, given);
    if (index >= 0) {
      res.locals.apiKeyIndex = index;
      res.locals.app = { id: DEFAULT_APP, key: String(index), limits: {} } satisfies RequestApp;
      return next();
    }
    if (!given || !apps) throw invalidKey();
    // Not an async function: a default key passes (and a missing one fails) without waiting for Redis.
    void apps.findByApiKey(given).then((owner) => {
      if (!owner) return next(invalidKey());
      res.locals.app = { id: owner.app, key: owner.keyId, limits: owner.limits } satisfies RequestApp;
      next();
    }, next);
  };
}
