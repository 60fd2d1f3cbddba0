import express, { Router, type RequestHandler } from 'express';
import { appIdSchema, createAppSchema, describeIssues, ok, patchAppSchema } from '@push/contract';
import { bearerToken, matchesSecret } from '@push/config';
import { AppExistsError, SecretsKeyMissingError, type AppStore } from '@push/store';
import { ApiError, methodNotAllowed, notFound } from '../errors';
import { requireJsonBody } from '../validation';

/**
 * `Authorization: Bearer <ADMIN_TOKEN>`; without ADMIN_TOKEN the admin API answers 404 as if absent
 * (contract, "Apps (tenancy)").
 */
function requireAdminToken(tokens: readonly string[]): RequestHandler {
  return (req, res, next) => {
    if (tokens.length === 0) return notFound(req, res, next);
    if (matchesSecret(tokens, bearerToken(req.get('authorization')))) return next();
    res.set('WWW-Authenticate', 'Bearer realm="push admin API"');
    throw new ApiError(401, 'INVALID_ADMIN_TOKEN', 'the admin API needs Authorization: Bearer <ADMIN_TOKEN>');
  };
}

const appNotFound = (id: string) => new ApiError(404, 'APP_NOT_FOUND', `no app ${id}`);

function appId(raw: string): string {
  const id = appIdSchema.safeParse(raw);
  if (!id.success) throw appNotFound(raw);
  return id.data;
}

/** Runs a store write, turning its refusals into enveloped errors. */
async function writing<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof AppExistsError) throw new ApiError(409, 'APP_EXISTS', error.message);
    if (error instanceof SecretsKeyMissingError) throw new ApiError(400, 'SECRETS_KEY_MISSING', error.message);
    throw error;
  }
}

/** The admin API of the contract (`/admin/apps`): apps, their keys and credentials. */
export function appsApi(apps: AppStore, tokens: readonly string[]): Router {
  const router = Router();
  router.use('/apps', requireAdminToken(tokens), express.json({ limit: '256kb', strict: true }));

  router.post('/apps', async (req, res) => {
    const input = createAppSchema.safeParse(requireJsonBody(req));
    if (!input.success) throw new ApiError(400, 'INVALID_PARAMETER', describeIssues(input.error));
    res.json(ok(await writing(() => apps.create(input.data))));
  });
  router.get('/apps', async (_req, res) => {
    res.json(ok({ apps: await apps.list() }));
  });
  router.get('/apps/:id', async (req, res) => {
    const app = await apps.get(appId(req.params.id));
    if (!app) throw appNotFound(req.params.id);
    res.json(ok({ app }));
  });
  router.patch('/apps/:id', async (req, res) => {
    const id = appId(req.params.id);
    const patch = patchAppSchema.safeParse(requireJsonBody(req));
    if (!patch.success) throw new ApiError(400, 'INVALID_PARAMETER', describeIssues(patch.error));
    const app = await writing(() => apps.update(id, patch.data));
    if (!app) throw appNotFound(id);
    res.json(ok({ app }));
  });
  router.delete('/apps/:id', async (req, res) => {
    const id = appId(req.params.id);
    if (!(await apps.delete(id))) throw appNotFound(id);
    res.json(ok({}));
  });
  router.post('/apps/:id/keys', async (req, res) => {
    const id = appId(req.params.id);
    const key = await apps.addKey(id);
    if (!key) throw appNotFound(id);
    res.json(ok(key));
  });
  router.delete('/apps/:id/keys/:keyId', async (req, res) => {
    if (!(await apps.revokeKey(appId(req.params.id), req.params.keyId))) {
      throw new ApiError(404, 'KEY_NOT_FOUND', `no key ${req.params.keyId} of app ${req.params.id}`);
    }
    res.json(ok({}));
  });

  router.all('/apps', methodNotAllowed(['GET', 'POST']));
  router.all('/apps/:id', methodNotAllowed(['GET', 'PATCH', 'DELETE']));
  router.all('/apps/:id/keys', methodNotAllowed(['POST']));
  router.all('/apps/:id/keys/:keyId', methodNotAllowed(['DELETE']));
  return router;
}
