import { Router } from 'express';
import { clientIdSchema, clientSettingsSchema, deleteTokenSchema, describeIssues, ok, registerTokenSchema } from '@push/contract';
import type { Response } from 'express';
import type { TokenRegistry } from '@push/store';
import { ApiError, methodNotAllowed } from '../errors';
import { requireJsonBody } from '../validation';

/** The token registry routes of the contract, on the registry of the request's app. */
export function tokenRoutes(registryOf: (res: Response) => TokenRegistry): Router {
  const router = Router();

  router.post('/tokens', async (req, res) => {
    const parsed = registerTokenSchema.safeParse(requireJsonBody(req));
    if (!parsed.success) throw new ApiError(400, 'INVALID_PARAMETER', describeIssues(parsed.error));
    const { client, platform, token, timezone } = parsed.data;
    await registryOf(res).register(client, platform, token, Date.now(), timezone);
    res.json(ok({}));
  });

  router.delete('/tokens', async (req, res) => {
    const parsed = deleteTokenSchema.safeParse(requireJsonBody(req));
    if (!parsed.success) throw new ApiError(400, 'INVALID_PARAMETER', describeIssues(parsed.error));
    // iOS tokens are stored lower-case; a caller may quote one in upper case.
    const { token } = parsed.data;
    const registry = registryOf(res);
    // Deleting is idempotent: a token no client has is already gone.
    if ((await registry.remove(token)) === null && token !== token.toLowerCase()) await registry.remove(token.toLowerCase());
    res.json(ok({}));
  });

  router.get('/clients/:client/tokens', async (req, res) => {
    const client = clientIdSchema.safeParse(req.params.client);
    if (!client.success) throw new ApiError(400, 'INVALID_PARAMETER', `client: ${describeIssues(client.error)}`);
    res.json(ok({ tokens: await registryOf(res).list(client.data) }));
  });

  router.put('/clients/:client', async (req, res) => {
    const client = clientIdSchema.safeParse(req.params.client);
    if (!client.success) throw new ApiError(400, 'INVALID_PARAMETER', `client: ${describeIssues(client.error)}`);
    const parsed = clientSettingsSchema.safeParse(requireJsonBody(req));
    if (!parsed.success) throw new ApiError(400, 'INVALID_PARAMETER', describeIssues(parsed.error));
    await registryOf(res).setTimeZone(client.data, parsed.data.timezone);
    res.json(ok({}));
  });

  // Any other method (OPTIONS included, which Express would otherwise answer in plain text) gets the enveloped 405.
  router.all('/tokens', methodNotAllowed(['POST', 'DELETE']));
  router.all('/clients/:client/tokens', methodNotAllowed(['GET']));
  router.all('/clients/:client', methodNotAllowed(['PUT']));

  return router;
}
