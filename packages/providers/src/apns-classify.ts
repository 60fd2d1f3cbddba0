import type { SendOutcome } from './provider';

/** What the APNs answers that a guard may read as a misconfiguration would mean (dead-token guard). */
export const APNS_MISCONFIGURATION = {
  BadDeviceToken: 'sandbox vs production: the tokens belong to the other APNs environment (check APNS_PRODUCTION)',
  DeviceTokenNotForTopic: 'wrong topic: the tokens belong to another app than the topic sent (check APNS_TOPIC and the payload topic)',
  Unregistered: 'wrong topic or APNs environment (check APNS_TOPIC and APNS_PRODUCTION)',
} as const;

/** What classifyApns needs to know about the request besides Apple's answer. */
export interface ApnsAnswerContext {
  /** The 410 body's `timestamp` (epoch ms): when APNs found the token no longer valid for the topic. */
  timestamp?: number;
  /**
   * Whether the request carried the configured topic (APNS_TOPIC). DeviceTokenNotForTopic for a topic the
   * caller chose says nothing about the token, only about that topic. @defaultValue true
   */
  configuredTopic?: boolean;
}

/**
 * What one APNs answer means for one device token. Source: Apple, "Handling notification responses from
 * APNs" (status codes and the `reason` strings of the JSON error body).
 *
 * | status | reason                                   | outcome        | why                                                     |
 * | ------ | ---------------------------------------- | -------------- | ------------------------------------------------------- |
 * | 200    |                                          | sent           |                                                         |
 * | 410    | Unregistered, ExpiredToken (any)         | invalid (guarded), `since` = timestamp | "the device token is no longer active for the topic"; Apple: stop sending until the device registers a token with a later timestamp, so a token registered after `timestamp` stays |
 * | 400    | BadDeviceToken                           | invalid (guarded) | malformed, or from the other environment (see below) |
 * | 400    | DeviceTokenNotForTopic, configured topic | invalid (guarded) | the token belongs to another app                     |
 * | 400    | DeviceTokenNotForTopic, caller's topic   | failed (guarded) | the caller's topic is wrong for this token: the token may well be alive for ours |
 * | 400    | IdleTimeout                              | retry (token)  | a connection-level hiccup, not the notification's fault |
 * | 400    | MissingTopic, BadTopic, TopicDisallowed, BadExpirationDate, BadPriority, BadCollapseId, InvalidPushType, PayloadEmpty, ... | failed | the notification is wrong: resending cannot help |
 * | 403    | InvalidProviderToken, BadCertificate, ExpiredProviderToken, ... | failed | credentials refused. ExpiredProviderToken only gets here after the provider refreshed the JWT and resent once |
 * | 404    | BadPath                                  | failed         |                                                         |
 * | 405    | MethodNotAllowed                         | failed         |                                                         |
 * | 413    | PayloadTooLarge                          | failed         |                                                         |
 * | 429    | TooManyRequests, TooManyProviderTokenUpdates | retry (token) | "too many requests to the same device token": one device, so only that token waits |
 * | 5xx    | InternalServerError, ServiceUnavailable, Shutdown | retry (outage) | Apple: try again later; the provider is failing, not the token |
 * | other  |                                          | failed         | unknown: do not loop on it                              |
 *
 * "Guarded": BadDeviceToken is also what a sandbox token gets from the production server (and the
 * reverse), DeviceTokenNotForTopic what every token gets under a wrong APNS_TOPIC. One such answer is
 * a dead token; most answers at once are a misconfiguration, so these carry `misconfiguration` and wait
 * for the dead-token guard's verdict before anything is deleted.
 *
 * Requests without any HTTP answer (timeouts, resets) never get here: they are outages too (apns.ts).
 */
export function classifyApns(status: number, reason?: string, context: ApnsAnswerContext = {}): SendOutcome {
  const why = reason ?? `HTTP ${status}`;
  if (status === 200) return { status: 'sent' };
  if (status === 410) {
    return {
      status: 'invalid',
      reason: why,
      misconfiguration: APNS_MISCONFIGURATION.Unregistered,
      ...(context.timestamp !== undefined && { since: context.timestamp }),
    };
  }
  if (status === 400) {
    if (reason === 'BadDeviceToken') return { status: 'invalid', reason: why, misconfiguration: APNS_MISCONFIGURATION.BadDeviceToken };
    if (reason === 'DeviceTokenNotForTopic') {
      const misconfiguration = APNS_MISCONFIGURATION.DeviceTokenNotForTopic;
      return context.configuredTopic === false
        ? { status: 'failed', reason: `${why} (the payload's topic)`, misconfiguration }
        : { status: 'invalid', reason: why, misconfiguration };
    }
    if (reason === 'IdleTimeout') return { status: 'retry', scope: 'token', reason: why };
    return { status: 'failed', reason: why };
  }
  if (status === 429) return { status: 'retry', scope: 'token', reason: why };
  if (status >= 500) return { status: 'retry', scope: 'outage', reason: why };
  return { status: 'failed', reason: why };
}
