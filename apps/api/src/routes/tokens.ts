import { Router } from 'express';
import {
  clientIdSchema,
  clientSettingsSchema,
  deleteTokenSchema,
  describeIssues,
  endpointRefusal,
  ok,
  packSubscriptionKeys,
  registerTokenSchema,
  type HostPattern,
} from '@push/contract';
import type { Response } from 'express';
import type { TokenRegistry } from '@push/store';
import { ApiError, methodNotAllowed } from '../errors';
import { requireJsonBody } from '../validation';

export interface WebPushRegistration {
  /** Whether this deployment delivers to browsers (a VAPID public key is configured). */
  web: boolean;
  /** WEBPUSH_ALLOWED_ENDPOINTS: the hosts a subscription's endpoint may name. */
  allowedEndpoints: readonly HostPattern[];
}

/** The token registry routes of the contract, on the registry of the request's app. */
export function tokenRoutes(registryOf: (res: Response) => TokenRegistry, webPush: WebPushRegistration): Router {
  const router = Router();

  router.post('/tokens', async (req, res) => {
    const parsed = registerTokenSchema.safeParse(requireJsonBody(req));
    if (!parsed.success) throw new ApiError(400, 'INVALID_PARAMETER', describeIssues(parsed.error));
    const request = parsed.data;
    const registry = registryOf(res);
    if (request.platform === 'web') {
      if (!webPush.web)
        throw new ApiError(400, 'INVALID_PARAMETER', 'platform: web is not enabled on this deployment (no WEBPUSH_VAPID_PUBLIC_KEY)');
      const { endpoint, keys } = request.subscription;
      const refusal = endpointRefusal(endpoint, webPush.allowedEndpoints);
      if (refusal !== undefined) throw new ApiError(400, 'INVALID_PARAMETER', `subscription.endpoint: ${refusal}`);
      await registry.register(request.client, 'web', endpoint, Date.now(), {
        timezone: request.timezone,
        keys: packSubscriptionKeys(keys),
      });
    } else {
      await registry.register(request.client, request.platform, request.token, Date.now(), { timezone: request.timezone });
    }
    res.json(ok({}));
  });

  router.delete('/tokens', async (req, res) => {
    const parsed = deleteTokenSchema.safeParse(requireJsonBody(req));
    if (!parsed.success) throw new ApiError(400, 'INVALID_PARAMETER', describeIssues(parsed.error));
    // iOS tokens are stored lower-case; a caller may quote one in upper case. Not a web endpoint: its path
    // is case-sensitive, and its lower-case form may be another browser's subscription.
    const { token } = parsed.data;
    const registry = registryOf(res);
    // Deleting is idempotent: a token no client has is already gone.
    if ((await registry.remove(token)) === null && !token.includes('://') && token !== token.toLowerCase())
      await registry.remove(token.toLowerCase());
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
