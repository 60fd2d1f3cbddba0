/**
 * Device-token formats checked before anything is sent. A token that fails here is answered `failed`
 * without a request: it can never be delivered, and for APNs it would otherwise become part of the URL.
 */

/**
 * APNs device tokens are hexadecimal strings (Apple, "Sending notification requests to APNs": the
 * request path is `/3/device/<device token>`). node-apn inserts the token into `:path` unencoded
 * (lib/client.js `makePath`), so only hex is let through: no `/`, `?`, `#`, `%` or `..` can reach it.
 */
const APNS_TOKEN = /^[0-9a-fA-F]{1,512}$/;

/** FCM registration tokens are URL-safe base64 plus `:`; they travel in the JSON body, never the path. */
const FCM_TOKEN = /^[A-Za-z0-9_:-]{1,4096}$/;

export function isApnsToken(token: string): boolean {
  return APNS_TOKEN.test(token);
}

export function isFcmToken(token: string): boolean {
  return FCM_TOKEN.test(token);
}
