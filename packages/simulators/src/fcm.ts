import { randomBytes } from 'node:crypto';
import { TokenBucket } from './behaviour';
import { SimulatorCore, listen, splitOptions } from './core';
import { TOKEN_CHARSET, validateRequest, type Violation } from './fcm-message';
import { deviceHeaders, type Exchange } from './server';
import type { FcmBehaviour, FcmSimulator, FcmSimulatorOptions } from './types';

// Answers and their shapes from Google's FCM HTTP v1 reference: ErrorCode
// (firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode) and "FCM error codes"
// (firebase.google.com/docs/cloud-messaging/error-codes).

const SEND_PATH = /^\/v1\/projects\/([^/]+)\/messages:send$/;
/** Google: "4096 bytes for most messages", keys and values included. */
const MAX_MESSAGE = 4096;
const JSON_HEADERS = { 'content-type': 'application/json; charset=UTF-8' } as const;
const FCM_ERROR = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const BAD_REQUEST = 'type.googleapis.com/google.rpc.BadRequest';

interface Answer {
  status: number;
  body: string;
  /** Counted in stats.rejected: the FcmError errorCode, else the canonical status. */
  reason: string;
  retryAfter?: number;
}

function error(code: number, status: string, message: string, errorCode?: string, extra: object[] = []): Answer {
  const details = errorCode ? [{ '@type': FCM_ERROR, errorCode }, ...extra] : extra;
  const err = details.length ? { code, message, status, details } : { code, message, status };
  return { status: code, body: JSON.stringify({ error: err }), reason: errorCode ?? status };
}

/** Answers that never vary, built once so an error costs no JSON.stringify. */
const ANSWERS = {
  unregistered: error(404, 'NOT_FOUND', 'Requested entity was not found.', 'UNREGISTERED'),
  senderMismatch: error(403, 'PERMISSION_DENIED', 'SenderId mismatch', 'SENDER_ID_MISMATCH'),
  deviceQuota: error(429, 'RESOURCE_EXHAUSTED', 'Sending limit exceeded for this device.', 'QUOTA_EXCEEDED', [
    {
      '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
      violations: [{ subject: 'device', description: 'Device message rate exceeded.' }],
    },
  ]),
  projectQuota: error(
    429,
    'RESOURCE_EXHAUSTED',
    "Quota exceeded for quota metric 'Send requests' and limit 'Send requests per minute' of service 'fcm.googleapis.com'.",
    'QUOTA_EXCEEDED',
  ),
  unavailable: error(503, 'UNAVAILABLE', 'The service is currently unavailable.', 'UNAVAILABLE'),
  internal: error(500, 'INTERNAL', 'Internal error encountered.', 'INTERNAL'),
  unauthenticated: error(
    401,
    'UNAUTHENTICATED',
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
  ),
  // A token problem names message.token in a BadRequest detail; a message problem names another field.
  badToken: error(400, 'INVALID_ARGUMENT', 'The registration token is not a valid FCM registration token', 'INVALID_ARGUMENT', [
    { '@type': BAD_REQUEST, fieldViolations: [{ field: 'message.token', description: 'Invalid registration token' }] },
  ]),
  tooBig: error(400, 'INVALID_ARGUMENT', `Message is too big: the payload must not exceed ${MAX_MESSAGE} bytes`, 'INVALID_ARGUMENT'),
  notFound: error(404, 'NOT_FOUND', 'Method not found.'),
} satisfies Record<string, Answer>;

function badRequest(v: Violation): Answer {
  return error(400, 'INVALID_ARGUMENT', v.description, undefined, [{ '@type': BAD_REQUEST, fieldViolations: [v] }]);
}

function permissionDenied(projectId: string): Answer {
  return error(
    403,
    'PERMISSION_DENIED',
    `Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${projectId}' (or it may not exist).`,
    undefined,
    [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'IAM_PERMISSION_DENIED',
        domain: 'cloudresourcemanager.googleapis.com',
      },
    ],
  );
}

function outageAnswer(status: number): Answer {
  return status === 500 ? ANSWERS.internal : status === 429 ? ANSWERS.projectQuota : ANSWERS.unavailable;
}

/** Starts an FCM HTTP v1 stand-in: HTTPS (HTTP/2 and HTTP/1.1), bearer token, Google's answers. */
export async function startFcmSimulator(options: FcmSimulatorOptions = {}): Promise<FcmSimulator> {
  const { server, extra, behaviour } = splitOptions(options, ['projectId', 'accessToken'] as const);
  const projectId = extra.projectId ?? 'sim-project';
  const accessToken = extra.accessToken ?? `ya29.sim-${randomBytes(24).toString('base64url')}`;
  const core = new SimulatorCore<FcmBehaviour>('fcm', { quotaPerMinute: 0 }, ['senderMismatch', 'deviceThrottled'], behaviour);
  const bucket = new TokenBucket(core.behaviour.current.quotaPerMinute ?? 0);
  core.onChange = (b) => bucket.setRate(b.quotaPerMinute ?? 0);

  const ctx: Context = { core, bucket, projects: new Map([[accessToken, projectId]]), seq: 0 };
  const { sim } = await listen(core, server, true, (ex) => handle(ex, ctx));
  return {
    ...sim,
    projectId,
    accessToken,
    addProject(project = {}) {
      const added = {
        projectId: project.projectId ?? `sim-project-${ctx.projects.size + 1}`,
        accessToken: project.accessToken ?? `ya29.sim-${randomBytes(24).toString('base64url')}`,
      };
      ctx.projects.set(added.accessToken, added.projectId);
      return added;
    },
  };
}

interface Context {
  core: SimulatorCore<FcmBehaviour>;
  bucket: TokenBucket;
  /** Each accepted bearer token and the one project it may send for. */
  projects: Map<string, string>;
  seq: number;
}

function handle(ex: Exchange, ctx: Context): void {
  const { core } = ctx;
  core.recorder.request();
  const now = Date.now();
  const outcome = decide(ex, ctx, now);
  const token = 'token' in outcome ? outcome.token : undefined;
  const delay = core.behaviour.delayFor(token);
  if ('status' in outcome) {
    core.recorder.reject(outcome.reason);
    const headers: Record<string, string> = { ...JSON_HEADERS };
    if (outcome.retryAfter !== undefined) headers['retry-after'] = String(outcome.retryAfter);
    return core.later(delay, () => ex.respond(outcome.status, headers, outcome.body));
  }
  let name: string;
  if (outcome.validateOnly) {
    // What Google answers to a dry run.
    name = `projects/${outcome.projectId}/messages/fake_message_id`;
  } else {
    const { token, body, projectId } = outcome;
    core.recorder.add({ token, headers: deviceHeaders(ex.headers), body, at: now, credential: projectId });
    name = `projects/${projectId}/messages/0:${now}%${(++ctx.seq).toString(16)}`;
  }
  core.later(delay, () => ex.respond(200, { ...JSON_HEADERS }, `{"name":"${name}"}`));
}

type Outcome = (Answer & { token?: string }) | { token: string; body: unknown; validateOnly: boolean; projectId: string };

/** Google's answer to this request, or what to record when it is accepted. */
function decide(ex: Exchange, ctx: Context, now: number): Outcome {
  const { core, bucket } = ctx;
  const b = core.behaviour;
  const q = ex.path.indexOf('?');
  const route = SEND_PATH.exec(q < 0 ? ex.path : ex.path.slice(0, q));
  if (!route || ex.method !== 'POST') return ANSWERS.notFound;

  const outage = b.outageStatus(now);
  if (outage) {
    if (b.current.outageRetryAfter === false) return outageAnswer(outage);
    return { ...outageAnswer(outage), retryAfter: Math.max(1, Math.ceil(((b.current.outageUntil ?? now) - now) / 1000)) };
  }
  if (b.randomError()) return ANSWERS.unavailable;
  const auth = ex.headers.authorization;
  // The scheme is case-insensitive (RFC 9110), the credential is not.
  const projectId = auth?.slice(0, 7).toLowerCase() === 'bearer ' ? ctx.projects.get(auth.slice(7)) : undefined;
  if (projectId === undefined) return ANSWERS.unauthenticated;
  if (route[1] !== projectId) return permissionDenied(decodeURIComponent(route[1] ?? ''));
  const wait = bucket.take(now);
  if (wait > 0) return { ...ANSWERS.projectQuota, retryAfter: wait };

  if (ex.bodyLength > ex.body.length) return ANSWERS.tooBig;
  let body: unknown;
  try {
    body = JSON.parse(ex.body.toString('utf8'));
  } catch (err) {
    return badRequest({ description: `Invalid JSON payload received. ${(err as Error).message}` });
  }
  const violation = validateRequest(body);
  if (violation) return badRequest(violation);
  const request = body as { message: Record<string, unknown>; validate_only?: boolean; validateOnly?: boolean };
  const { token, ...payload } = request.message;
  if (ex.bodyLength > MAX_MESSAGE && Buffer.byteLength(JSON.stringify(payload)) > MAX_MESSAGE) return ANSWERS.tooBig;

  if (typeof token !== 'string') return ANSWERS.badToken;
  if (!TOKEN_CHARSET.test(token) || b.in('bad', token)) return { ...ANSWERS.badToken, token };
  if (b.in('dead', token)) return { ...ANSWERS.unregistered, token };
  if (b.in('senderMismatch', token)) return { ...ANSWERS.senderMismatch, token };
  if (b.in('deviceThrottled', token)) return { ...ANSWERS.deviceQuota, retryAfter: b.current.retryAfterSeconds ?? 1, token };
  if (b.in('throttled', token)) return { ...ANSWERS.projectQuota, retryAfter: b.current.retryAfterSeconds ?? 1, token };
  if (b.flakyFirstTime(token)) return { ...ANSWERS.internal, token };
  return { token, body, validateOnly: (request.validate_only ?? request.validateOnly) === true, projectId };
}
