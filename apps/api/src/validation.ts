import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { Request } from 'express';
import { ApiError } from './errors';

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

/**
 * body-parser's `verify` hook for `express.json`: refuses a UTF-8 body whose bytes are not valid UTF-8
 * (RFC 8259 §8.1) with 400 `INVALID_UTF8`, instead of letting the decoder turn them into U+FFFD, which
 * would silently change client ids (two different invalid ids would become the same one).
 */
export function verifyUtf8Body(_req: IncomingMessage, _res: unknown, body: Buffer, encoding: string): void {
  if (/^utf-?8$/i.test(encoding) && !isUtf8(body)) {
    throw new ApiError(400, 'INVALID_UTF8', 'the request body is not valid UTF-8');
  }
}
