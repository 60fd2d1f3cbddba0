import { createHash } from 'node:crypto';
import type { Payload } from './schemas';
import { toWebPush, WEBPUSH_ENCRYPTION_OVERHEAD } from './webpush';

/** Apple and Google both cap a notification's payload at 4096 bytes. */
export const MAX_PAYLOAD_BYTES = 4096;

/** FCM refuses an `android.ttl` above 28 days (FCM reference, AndroidConfig.ttl: "up to 4 weeks"). */
export const FCM_MAX_TTL_SECONDS = 2_419_200;

/** Apple: `apns-collapse-id` "must not exceed 64 bytes". */
export const APNS_MAX_COLLAPSE_ID_BYTES = 64;

/** Android cannot load a small icon from a URL: a URL is the notification's image (contract, Payload mapping). */
const URL = /^https?:\/\//i;

export interface ApnsNotification {
  /** HTTP/2 request headers Apple documents ("Sending notification requests to APNs"). */
  headers: {
    'apns-push-type': 'alert' | 'background';
    'apns-priority': '10' | '5';
    'apns-topic'?: string;
    'apns-expiration'?: string;
    'apns-collapse-id'?: string;
  };
  /** The JSON body: `aps` plus the custom `type` key. */
  body: { aps: Record<string, unknown>; type?: string };
}

/** An FCM HTTP v1 `message` without its `token` (the sender adds one per device). */
export interface FcmMessage {
  notification?: { title?: string; body?: string };
  android?: { ttl?: string; collapse_key?: string; notification?: { icon?: string; image?: string; tag?: string } };
  data?: Record<string, string>;
}

function showsSomething(payload: Payload): boolean {
  return [payload.alert, payload.title, payload.body, payload.badge, payload.sound].some((v) => v !== undefined);
}

/** Seconds until `expiry` (Unix seconds), or undefined when the payload has none. */
export function secondsLeft(payload: Payload, nowMs: number): number | undefined {
  return payload.expiry === undefined ? undefined : payload.expiry - Math.floor(nowMs / 1000);
}

/** True once a payload's `expiry` has passed: such a notification is recorded `expired` and never sent. */
export function isExpired(payload: Payload, nowMs: number): boolean {
  const left = secondsLeft(payload, nowMs);
  return left !== undefined && left <= 0;
}

/**
 * The `apns-collapse-id`: the payload's `collapseKey` (so notifications with one key replace each other
 * on iOS as they collapse on Android), else the job id (so a notification re-sent after a worker crash
 * replaces the first instead of showing twice). A key longer than Apple's 64 bytes is replaced by its
 * SHA-256 (64 hex characters): still one id per key.
 */
export function apnsCollapseId(payload: Payload, jobId?: string): string | undefined {
  const id = payload.collapseKey ?? jobId;
  if (id === undefined || Buffer.byteLength(id) <= APNS_MAX_COLLAPSE_ID_BYTES) return id;
  return createHash('sha256').update(id).digest('hex');
}

/**
 * The contract's payload mapping for APNs. A payload that shows nothing is sent as a background
 * notification (`content-available`, priority 5), which is what Apple requires for silent pushes.
 * `jobId` gives the notification its per-job collapse id (see apnsCollapseId).
 */
export function toApns(payload: Payload, defaultTopic?: string, jobId?: string): ApnsNotification {
  const alerting = showsSomething(payload);
  const aps: Record<string, unknown> = {};
  if (payload.alert !== undefined) aps.alert = payload.alert;
  else if (payload.title !== undefined || payload.body !== undefined) {
    aps.alert = { ...(payload.title !== undefined && { title: payload.title }), ...(payload.body !== undefined && { body: payload.body }) };
  }
  if (payload.badge !== undefined) aps.badge = payload.badge;
  if (payload.sound !== undefined) aps.sound = payload.sound;
  if (!alerting) aps['content-available'] = 1;

  const topic = payload.topic ?? defaultTopic;
  const collapseId = apnsCollapseId(payload, jobId);
  return {
    headers: {
      'apns-push-type': alerting ? 'alert' : 'background',
      'apns-priority': alerting ? '10' : '5',
      ...(topic !== undefined && { 'apns-topic': topic }),
      ...(payload.expiry !== undefined && { 'apns-expiration': String(payload.expiry) }),
      ...(collapseId !== undefined && { 'apns-collapse-id': collapseId }),
    },
    body: { aps, ...(payload.type !== undefined && { type: payload.type }) },
  };
}

/**
 * The contract's payload mapping for an FCM HTTP v1 message; `nowMs` fixes `android.ttl`. A message that
 * shows a notification and has no `collapseKey` gets `android.notification.tag` = `jobId`, so a re-sent
 * one replaces the first on the device (a data-only message gets none: a tag would make it show).
 */
export function toFcm(payload: Payload, nowMs: number, jobId?: string): FcmMessage {
  const message: FcmMessage = {};
  const body = payload.body ?? (payload.title === undefined && typeof payload.alert === 'string' ? payload.alert : undefined);
  if (payload.title !== undefined || body !== undefined) {
    message.notification = { ...(payload.title !== undefined && { title: payload.title }), ...(body !== undefined && { body }) };
  }
  const left = secondsLeft(payload, nowMs);
  const shown: NonNullable<NonNullable<FcmMessage['android']>['notification']> = {
    ...(payload.icon !== undefined && (URL.test(payload.icon) ? { image: payload.icon } : { icon: payload.icon })),
  };
  if (payload.collapseKey === undefined && jobId !== undefined && (message.notification !== undefined || payload.icon !== undefined)) {
    shown.tag = jobId;
  }
  const android: NonNullable<FcmMessage['android']> = {
    ...(left !== undefined && { ttl: `${Math.min(Math.max(left, 0), FCM_MAX_TTL_SECONDS)}s` }),
    ...(payload.collapseKey !== undefined && { collapse_key: payload.collapseKey }),
    ...(Object.keys(shown).length > 0 && { notification: shown }),
  };
  if (Object.keys(android).length > 0) message.android = android;
  if (payload.type !== undefined) message.data = { type: payload.type };
  return message;
}

/** As long as any job id (a UUID): the size check counts the per-job tag a worker adds. */
const SIZED_JOB_ID = '00000000-0000-0000-0000-000000000000';

/**
 * Each encoding's size in bytes (Web Push: the encrypted body); the API refuses a payload when one is
 * above MAX_PAYLOAD_BYTES.
 */
export function encodedSizes(payload: Payload, nowMs: number): { apns: number; fcm: number; web: number } {
  return {
    apns: Buffer.byteLength(JSON.stringify(toApns(payload).body)),
    fcm: Buffer.byteLength(JSON.stringify(toFcm(payload, nowMs, SIZED_JOB_ID))),
    web: Buffer.byteLength(toWebPush(payload, nowMs).body) + WEBPUSH_ENCRYPTION_OVERHEAD,
  };
}
