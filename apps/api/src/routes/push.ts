import { Router } from 'express';
import { ApiError, encodedSizes, MAX_PAYLOAD_BYTES, ok, push2clientsSchema, describeIssues } from '@push/contract';
import { enqueuePush, type PushJobsDeps } from '../push-jobs';
import { requireJsonBody } from '../validation';

/** `POST /push/push2clients` (push2clients.txt). */
export function pushRoutes(deps: PushJobsDeps & { maxClients: number }): Router {
  const schema = push2clientsSchema(deps.maxClients);
  const router = Router();
  router.post('/push2clients', async (req, res) => {
    const body = requireJsonBody(req);
    if (body.clients == null || body.payload == null) {
      throw new ApiError(400, 'MISSING_PARAMETER', 'clients and payload are required');
    }
    if (Array.isArray(body.clients) && body.clients.length > deps.maxClients) {
      throw new ApiError(400, 'TOO_MANY_CLIENTS', `clients: at most ${deps.maxClients} clients per request`);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new ApiError(400, 'INVALID_PARAMETER', describeIssues(parsed.error));
    const sizes = encodedSizes(parsed.data.payload, Date.now());
    if (sizes.apns > MAX_PAYLOAD_BYTES || sizes.fcm > MAX_PAYLOAD_BYTES) {
      throw new ApiError(400, 'PAYLOAD_TOO_LARGE',
        `payload encodes to ${sizes.apns} bytes for APNs and ${sizes.fcm} for FCM; the limit is ${MAX_PAYLOAD_BYTES}`);
    }
    const idempotencyKey = req.get('idempotency-key');
    if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
      throw new ApiError(400, 'INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1-255 visible ASCII characters');
    }
    const { jobId } = await enqueuePush(deps, parsed.data, idempotencyKey);
    res.json(ok({ jobId }));
  });
  return router;
}
