import type { SendOutcome } from './provider';

/**
 * Google asks for "exponential backoff with a minimum initial delay of 1 minute" after QUOTA_EXCEEDED
 * when the answer carries no Retry-After (FCM reference, "ErrorCode", QUOTA_EXCEEDED).
 */
export const FCM_DEFAULT_QUOTA_RETRY_MS = 60_000;

/** The parts of an FCM HTTP v1 error body we read (google.rpc.Status with FCM's details). */
interface FcmErrorBody {
  error?: {
    code?: number;
    message?: string;
    status?: string;
    details?: Array<{
      '@type'?: string;
      errorCode?: string;
      fieldViolations?: Array<{ field?: string; description?: string }>;
      violations?: Array<{ subject?: string; description?: string }>;
    }>;
  };
}

/** What the FCM answers that a guard may read as a misconfiguration would mean (dead-token guard). */
export const FCM_MISCONFIGURATION = {
  UNREGISTERED: 'wrong project: the tokens were not issued for this Firebase project (check FCM_PROJECT_ID and the service account)',
  INVALID_ARGUMENT: 'wrong project or token source: the tokens are not FCM tokens of this project (check FCM_PROJECT_ID)',
  SENDER_ID_MISMATCH: 'wrong project: the tokens belong to another sender (check FCM_PROJECT_ID and the service account)',
} as const;

/**
 * What one FCM HTTP v1 answer means for one registration token. Sources: FCM reference "ErrorCode" and
 * "FCM error codes" (firebase.google.com/docs/cloud-messaging/error-codes), and "Best practices for FCM
 * registration token management" (which tokens to delete).
 *
 * | HTTP | FCM errorCode / status                       | outcome          | why                                              |
 * | ---- | -------------------------------------------- | ---------------- | ------------------------------------------------ |
 * | 200  |                                              | sent             |                                                  |
 * | 404  | UNREGISTERED                                 | invalid (guarded) | the app instance is gone: delete the token      |
 * | 400  | INVALID_ARGUMENT naming `message.token` (google.rpc.BadRequest), or "registration token" in its message | invalid (guarded) | a malformed token: delete it |
 * | 400  | any other INVALID_ARGUMENT                   | failed           | the message itself is bad: resending cannot help |
 * | 403  | SENDER_ID_MISMATCH                           | failed (guarded) | the token belongs to another sender: it may be alive, only not ours to reach (Google lists it as a sender error, not a stale token) |
 * | 401  | THIRD_PARTY_AUTH_ERROR                       | failed           | the APNs credentials in Firebase were refused: nothing about the token |
 * | 401  | UNAUTHENTICATED                              | failed           | credentials refused (the sender refreshes them and resends once first, fcm.ts) |
 * | 403  | PERMISSION_DENIED (any other)                | failed           | credentials refused                              |
 * | 429  | QUOTA_EXCEEDED about one device (google.rpc.QuotaFailure or message naming the device) | retry (token) | "device message rate exceeded": only that device waits |
 * | 429  | QUOTA_EXCEEDED, RESOURCE_EXHAUSTED (project) | retry (provider) | the project is over quota: pause all sending for Retry-After, else 60 s |
 * | 5xx  | UNAVAILABLE, INTERNAL                        | retry (outage)   | "retry with exponential backoff", honouring Retry-After when given |
 * | other| (404 NOT_FOUND without UNREGISTERED, ...)   | failed           | e.g. a wrong project id: not the token's fault   |
 *
 * "Guarded": answers that, for most tokens at once, mean a wrong project rather than dead tokens; they
 * wait for the dead-token guard's verdict before anything is deleted.
 *
 * The reason keeps FCM's own code (`errorCode` from FcmError details, else `status`); INVALID_ARGUMENT
 * adds the message because that code alone does not say what was wrong.
 *
 * @param body the response body: raw text (JSON expected) or an already parsed object
 * @param retryAfter the `retry-after` header: delay seconds or an HTTP date
 * @param nowMs the clock an HTTP-date Retry-After is measured against
 */
export function classifyFcm(httpStatus: number, body: unknown, retryAfter?: string, nowMs: number = Date.now()): SendOutcome {
  if (httpStatus === 200) return { status: 'sent' };
  const error = parseBody(body).error ?? {};
  const fcmCode = error.details?.find((d) => d.errorCode !== undefined)?.errorCode;
  const code = fcmCode && fcmCode !== 'UNSPECIFIED_ERROR' ? fcmCode : (error.status ?? `HTTP ${httpStatus}`);
  const delay = parseRetryAfter(retryAfter, nowMs);
  const after = delay !== undefined ? { retryAfterMs: delay } : {};

  if (httpStatus === 429) {
    if (aboutOneDevice(error)) return { status: 'retry', scope: 'token', reason: `${code} (device)`, ...after };
    return { status: 'retry', scope: 'provider', reason: code, retryAfterMs: delay ?? FCM_DEFAULT_QUOTA_RETRY_MS };
  }
  if (httpStatus >= 500) return { status: 'retry', scope: 'outage', reason: code, ...after };
  if (code === 'UNREGISTERED') return { status: 'invalid', reason: code, misconfiguration: FCM_MISCONFIGURATION.UNREGISTERED };
  if (code === 'SENDER_ID_MISMATCH') return { status: 'failed', reason: code, misconfiguration: FCM_MISCONFIGURATION.SENDER_ID_MISMATCH };
  if (code === 'INVALID_ARGUMENT') {
    const reason = error.message ? `INVALID_ARGUMENT: ${error.message}` : 'INVALID_ARGUMENT';
    return namesTheToken(error)
      ? { status: 'invalid', reason, misconfiguration: FCM_MISCONFIGURATION.INVALID_ARGUMENT }
      : { status: 'failed', reason };
  }
  return { status: 'failed', reason: code };
}

/**
 * A 429 about one device rather than the project: FCM's "device message rate exceeded". Google's error
 * documents the code only (QUOTA_EXCEEDED for project, device and topic quotas alike), so this reads the
 * google.rpc.QuotaFailure detail and the message for the device they name.
 */
function aboutOneDevice(error: NonNullable<FcmErrorBody['error']>): boolean {
  const violations = error.details?.flatMap((d) => d.violations ?? []) ?? [];
  return [error.message, ...violations.flatMap((v) => [v.subject, v.description])].some((text) => /\bdevice\b/i.test(text ?? ''));
}

function namesTheToken(error: NonNullable<FcmErrorBody['error']>): boolean {
  const violations = error.details?.flatMap((d) => d.fieldViolations ?? []) ?? [];
  if (violations.some((v) => v.field === 'message.token')) return true;
  // Google's own example of an invalid token carries only FcmError details, no BadRequest.
  return /registration token/i.test(error.message ?? '');
}

function parseBody(body: unknown): FcmErrorBody {
  if (typeof body === 'string') {
    try {
      const parsed: unknown = JSON.parse(body);
      return typeof parsed === 'object' && parsed !== null ? parsed : {};
    } catch {
      return {};
    }
  }
  return typeof body === 'object' && body !== null ? body : {};
}

/** Retry-After as milliseconds: delay-seconds or an HTTP-date (RFC 9110 §10.2.3); undefined if absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
