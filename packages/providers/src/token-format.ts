import { APNS_TOKEN_PATTERN, FCM_TOKEN_PATTERN } from '@push/contract';

/**
 * Device-token formats checked before anything is sent, with the patterns registration checks
 * (@push/contract). A token that fails here is answered `failed` without a request: it can never be
 * delivered, and for APNs it would otherwise become part of the URL. node-apn inserts the token into
 * `:path` unencoded (lib/client.js `makePath`), so only hex is let through: no `/`, `?`, `#`, `%` or `..`
 * can reach it. FCM tokens travel in the JSON body, never the path.
 */
export function isApnsToken(token: string): boolean {
  return APNS_TOKEN_PATTERN.test(token);
}

export function isFcmToken(token: string): boolean {
  return FCM_TOKEN_PATTERN.test(token);
}
