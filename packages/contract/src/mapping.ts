import type { Payload } from './schemas';
import { toWebPush, WEBPUSH_ENCRYPTION_OVERHEAD } from './webpush';

/** Apple and Google both cap a notification's payload at 4096 bytes. */
export const MAX_PAYLOAD_BYTES = 4096;

export interface ApnsNotification {
  /** HTTP/2 request headers Apple documents ("Sending notification requests to APNs"). */
  headers: {
    'apns-push-type': 'alert' | 'background';
    'apns-priority': '10' | '5';
    'apns-topic'?: string;
    'apns-expiration'?: string;
  };
  /** The JSON body: `aps` plus the custom `type` key. */
  body: { aps: Record<string, unknown>; type?: string };
}

/** An FCM HTTP v1 `message` without its `token` (the sender adds one per device). */
export interface FcmMessage {
  notification?: { title?: string; body?: string };
  android?: { ttl?: string; collapse_key?: string; notification?: { icon: string } };
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
 * The contract's payload mapping for APNs. A payload that shows nothing is sent as a background
 * notification (`content-available`, priority 5), which is what Apple requires for silent pushes.
 */
export function toApns(payload: Payload, defaultTopic?: string): ApnsNotification {
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
  return {
    headers: {
      'apns-push-type': alerting ? 'alert' : 'background',
      'apns-priority': alerting ? '10' : '5',
      ...(topic !== undefined && { 'apns-topic': topic }),
      ...(payload.expiry !== undefined && { 'apns-expiration': String(payload.expiry) }),
    },
    body: { aps, ...(payload.type !== undefined && { type: payload.type }) },
  };
}

/** The contract's payload mapping for an FCM HTTP v1 message; `nowMs` fixes `android.ttl`. */
export function toFcm(payload: Payload, nowMs: number): FcmMessage {
  const message: FcmMessage = {};
  const body = payload.body ?? (payload.title === undefined && typeof payload.alert === 'string' ? payload.alert : undefined);
  if (payload.title !== undefined || body !== undefined) {
    message.notification = { ...(payload.title !== undefined && { title: payload.title }), ...(body !== undefined && { body }) };
  }
  const left = secondsLeft(payload, nowMs);
  const android: NonNullable<FcmMessage['android']> = {
    ...(left !== undefined && { ttl: `${Math.max(left, 0)}s` }),
    ...(payload.collapseKey !== undefined && { collapse_key: payload.collapseKey }),
    ...(payload.icon !== undefined && { notification: { icon: payload.icon } }),
  };
  if (Object.keys(android).length > 0) message.android = android;
  if (payload.type !== undefined) message.data = { type: payload.type };
  return message;
}

/**
 * Each encoding's size in bytes (Web Push: the encrypted body); the API refuses a payload when one is
 * above MAX_PAYLOAD_BYTES.
 */
export function encodedSizes(payload: Payload, nowMs: number): { apns: number; fcm: number; web: number } {
  return {
    apns: Buffer.byteLength(JSON.stringify(toApns(payload).body)),
    fcm: Buffer.byteLength(JSON.stringify(toFcm(payload, nowMs))),
    web: Buffer.byteLength(toWebPush(payload, nowMs).body) + WEBPUSH_ENCRYPTION_OVERHEAD,
  };
}
