import { Router, type Response } from 'express';
import type { PushMetrics } from '@push/metrics';
import {
  clientIdSchema,
  describeIssues,
  encodedSizes,
  isExpired,
  MAX_PAYLOAD_BYTES,
  MAX_SCHEDULE_SECONDS,
  ok,
  payloadSchema,
  prioritySchema,
  push2clientsSchema,
  type Push2ClientsRequest,
} from '@push/contract';
import type { AppStores } from '../app-stores';
import { ApiError, methodNotAllowed } from '../errors';
import { enqueuePush, type PushJobsDeps } from '../push-jobs';
import { requireJsonBody } from '../validation';

/** `POST /push/push2clients` (push2clients.txt), in the request's app: its stores and its `maxClientsPerRequest`. */
export function pushRoutes(
  deps: Omit<PushJobsDeps, 'prefix' | 'jobs' | 'registry' | 'app'> & { maxClients: number; pushes: PushMetrics },
  storesOf: (res: Response) => AppStores,
): Router {
  const schema = push2clientsSchema(deps.maxClients);
  const router = Router();
  router.post('/push2clients', async (req, res) => {
    const body = requireJsonBody(req);
    if (body.clients == null || body.payload == null) {
      throw new ApiError(400, 'MISSING_PARAMETER', 'clients and payload are required');
    }
    const stores = storesOf(res);
    const maxClients = Math.min(deps.maxClients, stores.app.limits.maxClientsPerRequest ?? Infinity);
    if (Array.isArray(body.clients) && body.clients.length > maxClients) {
      throw new ApiError(400, 'TOO_MANY_CLIENTS', `clients: at most ${maxClients} clients per request`);
    }
    const parsed = parseCommonCase(body, maxClients) ?? schema.safeParse(body);
    if (!parsed.success) throw new ApiError(400, 'INVALID_PARAMETER', describeIssues(parsed.error));
    const sizes = encodedSizes(parsed.data.payload, Date.now());
    if (sizes.apns > MAX_PAYLOAD_BYTES || sizes.fcm > MAX_PAYLOAD_BYTES || sizes.web > MAX_PAYLOAD_BYTES) {
      throw new ApiError(
        400,
        'PAYLOAD_TOO_LARGE',
        `payload encodes to ${sizes.apns} bytes for APNs, ${sizes.fcm} for FCM and ${sizes.web} for Web Push; the limit is ${MAX_PAYLOAD_BYTES}`,
      );
    }
    checkCampaign(parsed.data, deps.clock.now());
    const idempotencyKey = req.get('idempotency-key');
    if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
      throw new ApiError(400, 'INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1-255 visible ASCII characters');
    }
    const { jobId, replayed } = await enqueuePush(
      { ...deps, app: stores.app.id, prefix: stores.prefix, jobs: stores.jobs, registry: stores.registry },
      parsed.data,
      idempotencyKey,
    );
    if (!replayed) deps.pushes.accepted(stores.app.id, parsed.data.clients.length);
    res.json(ok({ jobId }));
  });
  // Every other method, OPTIONS included (Express would answer that one itself, in plain text).
  router.all('/push2clients', methodNotAllowed(['POST']));
  return router;
}

/**
 * The campaign controls' rules that need the clock: `sendAt` at most MAX_SCHEDULE_SECONDS ahead, and a
 * scheduled job's `expiry` after its planned send time (`sendAt`, or now for `localTime` alone).
 */
function checkCampaign({ sendAt, localTime, payload }: Push2ClientsRequest, now: number): void {
  if (sendAt !== undefined && sendAt > now / 1000 + MAX_SCHEDULE_SECONDS) {
    throw new ApiError(400, 'INVALID_PARAMETER', `sendAt: at most ${MAX_SCHEDULE_SECONDS / 86_400} days ahead`);
  }
  if ((sendAt !== undefined || localTime !== undefined) && isExpired(payload, Math.max(now, (sendAt ?? 0) * 1000))) {
    throw new ApiError(400, 'INVALID_PARAMETER', 'payload.expiry: before the planned send time (sendAt, or now)');
  }
}

/**
 * A client id's bounds when the contract's `clientIdSchema` is exactly "a string of min..max characters"
 * (its two checks); undefined, and no fast path, as soon as it says anything more.
 */
const clientIdBounds = (() => {
  const { minLength, maxLength } = clientIdSchema;
  const checks = clientIdSchema._zod.def.checks ?? [];
  return checks.length === 2 && minLength !== null && maxLength !== null ? { min: minLength, max: maxLength } : undefined;
})();

/**
 * The valid request, checked without running zod over every client id: zod validates a million ids in
 * ~80 ms and copies the array; this loop takes a few ms. It answers only when the request is valid (only
 * `clients` and `payload`, every id a string within the schema's bounds, the payload valid by its schema);
 * anything else returns undefined and the full schema runs, so errors read exactly as before.
 */
function parseCommonCase(body: Record<string, unknown>, maxClients: number): { success: true; data: Push2ClientsRequest } | undefined {
  const { clients } = body;
  if (!clientIdBounds || !Array.isArray(clients) || clients.length < 1 || clients.length > maxClients) return undefined;
  for (const key in body) if (key !== 'clients' && key !== 'payload' && key !== 'priority') return undefined;
  const priority = body.priority === undefined ? undefined : prioritySchema.safeParse(body.priority);
  if (priority && !priority.success) return undefined;
  const { min, max } = clientIdBounds;
  for (let i = 0; i < clients.length; i++) {
    const id: unknown = clients[i];
    if (typeof id !== 'string' || id.length < min || id.length > max) return undefined;
  }
  const payload = payloadSchema.safeParse(body.payload);
  if (!payload.success) return undefined;
  return { success: true, data: { clients: clients as string[], payload: payload.data, ...(priority && { priority: priority.data }) } };
}
