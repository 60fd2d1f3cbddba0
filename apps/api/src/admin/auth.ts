import type { RequestHandler } from 'express';
import { failure } from '@push/contract';
import { basicCredentials, matchesSecret } from '@push/config';

/** The one user name of the dashboards. */
export const ADMIN_USER = 'admin';

/**
 * HTTP Basic auth (RFC 7617) for everything under /admin: user `admin`, a password of `passwords()`
 * (config.ts `operatorSecrets`), both compared in constant time. A browser asks once and then sends the
 * credentials itself, so the pages need no key in their scripts.
 */
export function requireAdmin(passwords: () => Promise<readonly string[]>): RequestHandler {
  return async (req, res, next) => {
    const given = basicCredentials(req.get('authorization'));
    const userOk = matchesSecret([ADMIN_USER], given?.user);
    const passwordOk = matchesSecret(await passwords(), given?.password);
    if (userOk && passwordOk) return next();
    res.set('WWW-Authenticate', 'Basic realm="push admin", charset="UTF-8"');
    res.status(401).json(failure(401, 'ADMIN_AUTH_REQUIRED', 'the dashboards need HTTP Basic auth: user admin and the admin password'));
  };
}
