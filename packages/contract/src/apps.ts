import { z } from 'zod';
import { UNSUPPORTED_APNS_TOPIC } from './schemas';

/** The app the environment configures (IM_API_KEY, APNS_*, FCM_*): every deployment has it. */
export const DEFAULT_APP = 'default';

/** `app.id` (contract, "Apps (tenancy)"): 1-64 of a-z 0-9 -. */
export const appIdSchema = z.string().regex(/^[a-z0-9-]{1,64}$/, 'must be 1-64 characters of a-z 0-9 -');

const text = (max: number) => z.string().trim().min(1, 'must be a non-empty string').max(max);
const host = z.string().regex(/^[A-Za-z0-9.:[\]-]{1,255}$/, 'must be a host name or IP address');

/** An app's APNs token-auth credentials; `host` / `port` are the per-app APNS_HOST / APNS_PORT. */
export const appApnsSchema = z.strictObject({
  key: z.string().max(10_000).includes('PRIVATE KEY', { message: 'must be the .p8 signing key (PEM text)' }),
  keyId: text(64),
  teamId: text(64),
  topic: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,254}$/, 'must be a bundle id of A-Z a-z 0-9 . -')
    .refine((topic) => !UNSUPPORTED_APNS_TOPIC.test(topic), 'VoIP and complication topics are not supported: use the bundle id'),
  production: z.boolean(),
  host: host.optional(),
  port: z.number().int().min(1).max(65535).optional(),
});
export type AppApns = z.infer<typeof appApnsSchema>;

/** An app's FCM credentials: a service account (its JSON, as an object or text) or a ready access token. */
export const appFcmSchema = z
  .strictObject({
    serviceAccount: z
      .union([z.string().max(20_000), z.record(z.string(), z.unknown())])
      .transform((value, ctx): Record<string, unknown> => {
        try {
          const account: unknown = typeof value === 'string' ? JSON.parse(value) : value;
          if (typeof account === 'object' && account !== null && 'private_key' in account && 'client_email' in account) {
            return account;
          }
        } catch {
          // reported below
        }
        ctx.addIssue({ code: 'custom', message: 'must be a service-account JSON with private_key and client_email' });
        return z.NEVER;
      })
      .optional(),
    accessToken: text(4096).optional(),
    projectId: text(128).optional(),
    endpoint: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional(),
  })
  .refine((fcm) => (fcm.serviceAccount === undefined) !== (fcm.accessToken === undefined), 'give serviceAccount or accessToken (one)')
  .refine((fcm) => fcm.projectId !== undefined || typeof fcm.serviceAccount?.project_id === 'string', {
    message: 'projectId is required unless the service account names its project_id',
    path: ['projectId'],
  });
export type AppFcm = z.infer<typeof appFcmSchema>;

/** An app's Web Push VAPID keys (base64url, P-256) and subject. */
export const appWebpushSchema = z.strictObject({
  publicKey: z.string().regex(/^[A-Za-z0-9_-]{80,100}$/, 'must be a base64url P-256 public key'),
  privateKey: z.string().regex(/^[A-Za-z0-9_-]{40,50}$/, 'must be a base64url P-256 private key'),
  subject: z.string().regex(/^(mailto:|https:)/, 'must be a mailto: or https: URL'),
});
export type AppWebpush = z.infer<typeof appWebpushSchema>;

/** An app's quotas; each unset one falls back to the deployment's setting. */
export const appLimitsSchema = z.strictObject({
  requestsPerMinute: z.number().int().min(0).optional(),
  maxClientsPerRequest: z.number().int().min(1).optional(),
  tokensPerMinute: z.number().int().min(0).optional(),
});
export type AppLimits = z.infer<typeof appLimitsSchema>;

/** `POST /admin/apps`. */
export const createAppSchema = z.strictObject({
  id: appIdSchema.refine((id) => id !== DEFAULT_APP, 'the app default is the one the environment configures'),
  name: text(200).optional(),
  apns: appApnsSchema.optional(),
  fcm: appFcmSchema.optional(),
  webpush: appWebpushSchema.optional(),
  limits: appLimitsSchema.optional(),
});
export type CreateAppRequest = z.infer<typeof createAppSchema>;

/** `PATCH /admin/apps/:id`: each section given replaces the old one; `null` removes it. */
export const patchAppSchema = z
  .strictObject({
    name: text(200).optional(),
    apns: appApnsSchema.nullable().optional(),
    fcm: appFcmSchema.nullable().optional(),
    webpush: appWebpushSchema.nullable().optional(),
    limits: appLimitsSchema.optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, 'give at least one of name, apns, fcm, webpush, limits');
export type PatchAppRequest = z.infer<typeof patchAppSchema>;
