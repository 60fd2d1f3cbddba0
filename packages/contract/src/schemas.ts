import { z } from 'zod';
import { localTimeSchema, timeZoneSchema } from './campaign';
import { pushSubscriptionSchema } from './webpush';

/** The platforms the service delivers to; the token registry and job totals are split by them. */
export const platforms = ['ios', 'android', 'web'] as const;
export const platformSchema = z.enum(platforms);
export type Platform = z.infer<typeof platformSchema>;

/**
 * The lanes of `POST /push/push2clients` (contract Part 2, "Lanes and fair share"): `high` never waits
 * behind `normal` work. Without the field the request's size decides (PRIORITY_HIGH_MAX_CLIENTS).
 */
export const priorities = ['high', 'normal'] as const;
export const prioritySchema = z.enum(priorities);
export type Priority = z.infer<typeof prioritySchema>;

/** A client id as the caller names its users: any non-empty string up to 256 characters. */
export const clientIdSchema = z.string().min(1, 'must be a non-empty string').max(256, 'must be at most 256 characters');

/** Apple's alert dictionary keys (Apple: "Generating a remote notification", table "alert"). */
const apnsAlertSchema = z.strictObject({
  title: z.string().optional(),
  subtitle: z.string().optional(),
  body: z.string().optional(),
  'launch-image': z.string().optional(),
  'title-loc-key': z.string().optional(),
  'title-loc-args': z.array(z.string()).optional(),
  'subtitle-loc-key': z.string().optional(),
  'subtitle-loc-args': z.array(z.string()).optional(),
  'loc-key': z.string().optional(),
  'loc-args': z.array(z.string()).optional(),
});

/**
 * Topics this service cannot send to: a `.voip` topic needs push type voip and PushKit on the device, a
 * `.complication` topic push type complication. Sent as the alert or background push this service makes,
 * Apple refuses or drops them, so they are refused rather than half-supported (README, "Choices").
 */
export const UNSUPPORTED_APNS_TOPIC = /\.(voip|complication)$/i;

/** The `payload` object of push2clients.txt. Unknown fields are refused rather than silently dropped. */
export const payloadSchema = z.strictObject({
  type: z.string().optional(),
  expiry: z.number().int('must be whole Unix seconds').nonnegative().optional(),
  alert: z.union([z.string(), apnsAlertSchema]).optional(),
  badge: z.number().int().nonnegative().optional(),
  sound: z.string().optional(),
  /**
   * Sent as the `apns-topic` header, so it is not counted in the 4096-byte payload: bounded here. A bundle
   * id (Apple: A-Z a-z 0-9 hyphen period), possibly with a push-type suffix other than `.voip` / `.complication`. An
   * unbounded one would reach the worker and break its HTTP/2 session to APNs (FRAME_SIZE_ERROR) on every
   * attempt, failing the other jobs' requests on that session too; CR LF would be a header injection.
   */
  topic: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,254}$/, 'must be an APNs topic: a bundle id of A-Z a-z 0-9 . - (at most 255 characters)')
    .refine(
      (topic) => !UNSUPPORTED_APNS_TOPIC.test(topic),
      "VoIP (.voip) and watch complication (.complication) topics are not supported: use the app's bundle id",
    )
    .optional(),
  title: z.string().optional(),
  body: z.string().optional(),
  icon: z.string().optional(),
  collapseKey: z.string().optional(),
});
export type Payload = z.infer<typeof payloadSchema>;

/** The body of `POST /push/push2clients`; `maxClients` is the operator's per-request cap. */
export function push2clientsSchema(maxClients: number) {
  return z.strictObject({
    clients: z.array(clientIdSchema).min(1, 'must list at least one client').max(maxClients, `must list at most ${maxClients} clients`),
    payload: payloadSchema,
    /** Unix seconds: deliver then, not before (campaign.ts: at most MAX_SCHEDULE_SECONDS ahead, checked with the clock). */
    sendAt: z.number().int('must be whole Unix seconds').nonnegative().optional(),
    /** Deliver at this time of day in each client's zone, at the first such moment at or after `sendAt` (or now). */
    localTime: localTimeSchema.optional(),
    /** At most this many notifications of the job per minute, all platforms together, spread evenly. */
    ratePerMinute: z.number().int('must be a whole number').min(1).max(6_000_000).optional(),
    priority: prioritySchema.optional(),
  });
}
export type Push2ClientsRequest = z.infer<ReturnType<typeof push2clientsSchema>>;

/**
 * APNs device tokens are hex (Apple, "Sending notification requests to APNs": the request path is
 * `/3/device/<device token>`; Apple does not promise a length, so none is fixed here beyond sanity).
 * Checked at registration and again by the APNs sender, where the token becomes part of the path.
 */
export const APNS_TOKEN_PATTERN = /^[0-9a-fA-F]{16,512}$/;
/** FCM registration tokens are URL-safe base64 with `:`; anything else (`/`, `%`, `.`) is refused. */
export const FCM_TOKEN_PATTERN = /^[A-Za-z0-9_:-]{16,4096}$/;

const apnsTokenSchema = z
  .string()
  .regex(APNS_TOKEN_PATTERN, 'an iOS token must be 16 to 512 hexadecimal characters')
  .transform((token) => token.toLowerCase());
const fcmTokenSchema = z.string().regex(FCM_TOKEN_PATTERN, 'an Android token must be 16 to 4096 characters of A-Z a-z 0-9 _ : -');

/**
 * `POST /push/tokens`; `timezone` (optional) becomes the client's zone, as `PUT /push/clients/:client` sets it.
 * A browser registers its `PushSubscription` instead of a token; its endpoint is its token everywhere else
 * (its host is checked against the allowlist by the API, which has it).
 */
export const registerTokenSchema = z.discriminatedUnion('platform', [
  z.strictObject({ client: clientIdSchema, platform: z.literal('ios'), token: apnsTokenSchema, timezone: timeZoneSchema.optional() }),
  z.strictObject({ client: clientIdSchema, platform: z.literal('android'), token: fcmTokenSchema, timezone: timeZoneSchema.optional() }),
  z.strictObject({
    client: clientIdSchema,
    platform: z.literal('web'),
    subscription: pushSubscriptionSchema,
    timezone: timeZoneSchema.optional(),
  }),
]);

/** `PUT /push/clients/:client`: the client's time zone, for `localTime` jobs. */
export const clientSettingsSchema = z.strictObject({ timezone: timeZoneSchema });
export type RegisterTokenRequest = z.infer<typeof registerTokenSchema>;

/** `DELETE /push/tokens`. */
export const deleteTokenSchema = z.strictObject({ token: z.string().min(1).max(4096) });

/** Final statuses a token can end with (contract, "A token's final status"; `canceled`: Part 2, "Campaign controls"). */
export const tokenStatuses = ['sent', 'failed', 'invalid', 'expired', 'canceled'] as const;
export const tokenStatusSchema = z.enum(tokenStatuses);
export type TokenStatus = z.infer<typeof tokenStatusSchema>;

/** `GET /push/jobs/:jobId/results` query. */
export const resultsQuerySchema = z.strictObject({
  status: tokenStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(200).optional(),
});
export type ResultsQuery = z.infer<typeof resultsQuerySchema>;

/** Turns zod issues into one readable sentence: `clients[3]: must be a non-empty string; payload.badge: ...`. */
export function describeIssues(error: z.ZodError, limit = 5): string {
  const parts = error.issues.slice(0, limit).map((issue) => {
    const path = issue.path.reduce<string>(
      (text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)),
      '',
    );
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  const more = error.issues.length > limit ? ` (and ${error.issues.length - limit} more)` : '';
  return parts.join('; ') + more;
}
