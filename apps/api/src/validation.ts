import type { Request } from 'express';
import { ApiError } from '@push/contract';

/** The parsed JSON object of a request that must carry one; enveloped 415 / 400 otherwise. */
export function requireJsonBody(req: Request): Record<string, unknown> {
  if (!req.is('application/json')) {
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json; charset=utf-8');
  }
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, 'INVALID_BODY', 'the request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}
