import type { SendOutcome } from './provider';

/**
 * What one APNs answer means for one device token. Source: Apple, "Handling notification responses from
 * APNs" (status codes and the `reason` strings of the JSON error body).
 *
 * | status | reason                                   | outcome        | why                                                     |
 * | ------ | ---------------------------------------- | -------------- | ------------------------------------------------------- |
 * | 200    |                                          | sent           |                                                         |
 * | 410    | Unregistered, ExpiredToken (any)         | invalid        | "the device token is no longer active for the topic"    |
 * | 400    | BadDeviceToken                           | invalid        | malformed, or from the other environment (see below)    |
 * | 400    | DeviceTokenNotForTopic                   | invalid        | the token belongs to another app                        |
 * | 400    | IdleTimeout                              | retry (token)  | a connection-level hiccup, not the notification's fault |
 * | 400    | MissingTopic, BadTopic, TopicDisallowed, BadExpirationDate, BadPriority, BadCollapseId, InvalidPushType, PayloadEmpty, ... | failed | the notification is wrong: resending cannot help |
 * | 403    | InvalidProviderToken, BadCertificate, ExpiredProviderToken, ... | failed | credentials refused. ExpiredProviderToken only gets here after the provider refreshed the JWT and resent once |
 * | 404    | BadPath                                  | failed         |                                                         |
 * | 405    | MethodNotAllowed                         | failed         |                                                         |
 * | 413    | PayloadTooLarge                          | failed         |                                                         |
 * | 429    | TooManyRequests, TooManyProviderTokenUpdates | retry (token) | "too many requests to the same device token": one device, so only that token waits |
 * | 5xx    | InternalServerError, ServiceUnavailable, Shutdown | retry (token) | Apple: try again later                         |
 * | other  |                                          | failed         | unknown: do not loop on it                              |
 *
 * BadDeviceToken is also what a sandbox token gets from the production server (and the reverse). The
 * contract treats it as dead because, for this deployment's environment, it is: it can never be delivered.
 *
 * Requests without any HTTP answer (timeouts, resets) never get here: they are retried for the token (apns.ts).
 */
export function classifyApns(status: number, reason?: string): SendOutcome {
  const why = reason ?? `HTTP ${status}`;
  if (status === 200) return { status: 'sent' };
  if (status === 410) return { status: 'invalid', reason: why };
  if (status === 400) {
    if (reason === 'BadDeviceToken' || reason === 'DeviceTokenNotForTopic') return { status: 'invalid', reason: why };
    if (reason === 'IdleTimeout') return { status: 'retry', scope: 'token', reason: why };
    return { status: 'failed', reason: why };
  }
  if (status === 429 || status >= 500) return { status: 'retry', scope: 'token', reason: why };
  return { status: 'failed', reason: why };
}
