import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SimulatorCore, listen, splitOptions } from './core';
import { appleId, generateSigningKey, ProviderTokenVerifier, publicKeyOf } from './jwt';
import { deviceHeaders, type Exchange } from './server';
import type { ApnsBehaviour, ApnsSimulator, ApnsSimulatorOptions } from './types';

// Rules and reasons from Apple's "Sending notification requests to APNs" and "Handling notification
// responses from APNs" (developer.apple.com/documentation/usernotifications).

const DEVICE_PATH = '/3/device/';
/** Apple: 4 KB for regular notifications, 5 KB for VoIP. */
const MAX_PAYLOAD = 4096;
const MAX_VOIP_PAYLOAD = 5120;
const MAX_COLLAPSE_ID = 64;
const PRIORITIES = new Set(['1', '5', '10']);
const PUSH_TYPES = new Set([
  'alert',
  'background',
  'location',
  'voip',
  'complication',
  'fileprovider',
  'mdm',
  'liveactivity',
  'pushtotalk',
  'widgets',
  'controls',
]);
const HEX = /^[0-9a-fA-F]+$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const INTEGER = /^\d+$/;

const STATUS_OF: Record<string, number> = {
  BadCollapseId: 400,
  BadDeviceToken: 400,
  BadExpirationDate: 400,
  BadMessageId: 400,
  BadPriority: 400,
  DeviceTokenNotForTopic: 400,
  InvalidPushType: 400,
  MissingDeviceToken: 400,
  MissingTopic: 400,
  PayloadEmpty: 400,
  // Not an Apple reason: Apple does not document its answer to a body that is not JSON.
  BadPayload: 400,
  ExpiredProviderToken: 403,
  InvalidProviderToken: 403,
  MissingProviderToken: 403,
  BadPath: 404,
  MethodNotAllowed: 405,
  Unregistered: 410,
  PayloadTooLarge: 413,
  TooManyRequests: 429,
  InternalServerError: 500,
  ServiceUnavailable: 503,
};
/** Bodies built once: an error answer costs no JSON.stringify. */
const BODY_OF = Object.fromEntries(Object.keys(STATUS_OF).map((r) => [r, JSON.stringify({ reason: r })]));
const REASON_FOR_STATUS: Record<number, string> = { 429: 'TooManyRequests', 500: 'InternalServerError', 503: 'ServiceUnavailable' };

const DEFAULTS: ApnsBehaviour = { maxConcurrentStreams: 1000, maxTokenAgeSeconds: 3600 };

/** Starts an APNs stand-in: HTTP/2 over TLS, token authentication, Apple's answers. */
export async function startApnsSimulator(options: ApnsSimulatorOptions = {}): Promise<ApnsSimulator> {
  const { server, extra, behaviour } = splitOptions(options, ['keyId', 'teamId', 'signingKeyPem'] as const);
  const keyId = extra.keyId ?? appleId();
  const teamId = extra.teamId ?? appleId();
  let signingKeyPem = extra.signingKeyPem;
  let publicKey;
  if (signingKeyPem === undefined) {
    ({ privatePem: signingKeyPem, publicKey } = generateSigningKey());
  } else {
    publicKey = publicKeyOf(signingKeyPem);
  }
  const verifier = new ProviderTokenVerifier(publicKey, keyId, teamId);
  const core = new SimulatorCore<ApnsBehaviour>('apns', DEFAULTS, ['wrongTopic'], behaviour);
  verifier.maxAgeSeconds = core.behaviour.current.maxTokenAgeSeconds ?? 3600;

  const { sim, server: srv } = await listen(core, server, false, (ex) => handle(ex, core, verifier));
  core.onChange = (b) => {
    verifier.maxAgeSeconds = b.maxTokenAgeSeconds ?? 3600;
    if (b.maxConcurrentStreams !== undefined) srv.setMaxConcurrentStreams(b.maxConcurrentStreams);
  };
  return {
    ...sim,
    keyId,
    teamId,
    signingKeyPem,
    expireProviderTokens: () => verifier.expireAll(Date.now()),
    addKey(key = {}) {
      const generated = generateSigningKey();
      const added = { keyId: key.keyId ?? appleId(), teamId: key.teamId ?? appleId(), signingKeyPem: generated.privatePem };
      verifier.addKey(generated.publicKey, added.keyId, added.teamId);
      return added;
    },
  };
}

function handle(ex: Exchange, core: SimulatorCore<ApnsBehaviour>, verifier: ProviderTokenVerifier): void {
  const h = ex.headers;
  const requestId = header(h, 'apns-id');
  const apnsId = requestId !== undefined && UUID.test(requestId) ? requestId : randomUUID();
  const q = ex.path.indexOf('?');
  const path = q < 0 ? ex.path : ex.path.slice(0, q);
  core.recorder.request();
  if (!path.startsWith(DEVICE_PATH)) return reject(ex, core, apnsId, 'BadPath', 0);
  if (ex.method !== 'POST') return reject(ex, core, apnsId, 'MethodNotAllowed', 0);

  const token = path.slice(DEVICE_PATH.length);
  const b = core.behaviour;
  const now = Date.now();
  const delay = b.delayFor(token);
  const outcome = check(ex, token, requestId, now, core, verifier);
  if (typeof outcome === 'string') return reject(ex, core, apnsId, outcome, delay, now);

  core.recorder.add({ token, headers: deviceHeaders(h), body: outcome.payload, at: now, credential: outcome.credential });
  // Apple sends apns-unique-id in the development environment only; a simulator is one.
  core.later(delay, () => ex.respond(200, { 'apns-id': apnsId, 'apns-unique-id': randomUUID() }));
}

/** The first reason Apple would refuse this request for, or the parsed payload when it is accepted. */
function check(
  ex: Exchange,
  token: string,
  requestId: string | undefined,
  now: number,
  core: SimulatorCore<ApnsBehaviour>,
  verifier: ProviderTokenVerifier,
): string | { payload: object; credential: string } {
  const b = core.behaviour;
  const h = ex.headers;
  const outage = b.outageStatus(now);
  if (outage) return REASON_FOR_STATUS[outage] ?? 'ServiceUnavailable';
  if (b.randomError()) return 'InternalServerError';

  const auth = verifier.check(header(h, 'authorization'), now);
  if (typeof auth === 'string') return auth;

  const topic = header(h, 'apns-topic');
  if (!topic) return 'MissingTopic';
  if (requestId !== undefined && !UUID.test(requestId)) return 'BadMessageId';
  const priority = header(h, 'apns-priority');
  if (priority !== undefined && !PRIORITIES.has(priority)) return 'BadPriority';
  const expiration = header(h, 'apns-expiration');
  if (expiration !== undefined && !INTEGER.test(expiration)) return 'BadExpirationDate';
  const pushType = header(h, 'apns-push-type');
  if (pushType !== undefined && !PUSH_TYPES.has(pushType)) return 'InvalidPushType';
  const collapseId = header(h, 'apns-collapse-id');
  if (collapseId !== undefined && Buffer.byteLength(collapseId) > MAX_COLLAPSE_ID) return 'BadCollapseId';

  if (ex.bodyLength === 0) return 'PayloadEmpty';
  if (ex.bodyLength > (pushType === 'voip' ? MAX_VOIP_PAYLOAD : MAX_PAYLOAD)) return 'PayloadTooLarge';
  const payload = parseObject(ex.body);
  if (payload === undefined) return 'BadPayload';

  if (token === '') return 'MissingDeviceToken';
  if (!HEX.test(token) || b.in('bad', token)) return 'BadDeviceToken';
  const allowed = b.current.allowedTopics;
  if (b.in('wrongTopic', token) || (allowed !== undefined && !allowed.includes(topic))) return 'DeviceTokenNotForTopic';
  if (b.in('dead', token)) return 'Unregistered';
  if (b.in('throttled', token)) return 'TooManyRequests';
  if (b.flakyFirstTime(token)) return 'ServiceUnavailable';
  return { payload, credential: auth.credential };
}

function reject(ex: Exchange, core: SimulatorCore<ApnsBehaviour>, apnsId: string, reason: string, delayMs: number, now = Date.now()): void {
  core.recorder.reject(reason);
  const status = STATUS_OF[reason] ?? 500;
  // 410: "the time at which APNs confirmed the token was no longer valid for the topic", in ms.
  const body = status === 410 ? `{"reason":"${reason}","timestamp":${core.behaviour.current.unregisteredAt ?? now}}` : BODY_OF[reason];
  core.later(delayMs, () => ex.respond(status, { 'apns-id': apnsId, 'content-type': 'application/json' }, body));
}

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A payload is a JSON dictionary; anything else is refused. */
function parseObject(body: Buffer): object | undefined {
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
