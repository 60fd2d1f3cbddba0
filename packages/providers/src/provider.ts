import type { Payload, Platform, Priority } from '@push/contract';

/**
 * What a provider said about one token. Dead tokens are data, not exceptions; errors come in two kinds
 * only: permanent (`failed`, never retried) and temporary (`retry`).
 *
 * `misconfiguration` marks an answer that, for one token, means what it says, but for most tokens at once
 * means the service is set up wrong (sandbox vs production, wrong project, wrong topic). Such answers
 * wait for the dead-token guard's verdict (packages/store dead-token-guard.ts) before anything is deleted.
 */
export type SendOutcome =
  | { status: 'sent' }
  /**
   * The provider says the token is dead: it is removed from the registry. `since` (epoch ms, APNs 410
   * `timestamp`): when the provider found it dead; a token registered after that is kept.
   */
  | { status: 'invalid'; reason: string; misconfiguration: string; since?: number }
  /** A permanent error for this notification (bad topic, payload too large, credentials refused). */
  | { status: 'failed'; reason: string; misconfiguration?: string }
  /**
   * A temporary error. `scope: 'token'` retries only this token, later (one device throttled, one
   * request refused). `scope: 'provider'`: the whole provider asked us to slow down (FCM project quota):
   * every worker pauses for `retryAfterMs`. `scope: 'outage'`: the provider failed for its own reasons
   * (5xx, timeout, refused or reset connection): evidence for the provider-wide breaker.
   */
  | { status: 'retry'; reason: string; scope: 'token' | 'provider' | 'outage'; retryAfterMs?: number };

export interface SendRequest {
  token: string;
  payload: Payload;
}

/** What one send is about, besides its payload. */
export interface SendContext {
  /**
   * The push job's id: the per-job collapse id (`apns-collapse-id`, `android.notification.tag`) unless
   * the payload sets `collapseKey`, so a notification re-sent after a crash replaces the first one.
   */
  jobId?: string;
  /**
   * In the order of the tokens: what the registry stores with a token besides it (Web Push: the
   * subscription's packed keys). Platforms without keys ignore it.
   */
  keys?: readonly (string | undefined)[];
  /** The job's priority (its lane): Web Push asks for `Urgency: high` for `high` jobs. */
  priority?: Priority;
}

/** One push provider (APNs, FCM or Web Push). The delivery pipeline drives it without knowing which it is. */
export interface PushProvider {
  readonly platform: Platform;
  /** Sends one notification per token concurrently; the outcomes are in the order of `tokens`. */
  send(tokens: readonly string[], payload: Payload, context?: SendContext): Promise<SendOutcome[]>;
  /** Where this provider sends (APNs environment and host, FCM project, VAPID key), for the start-up log. No secrets. */
  describe(): Promise<Record<string, string>>;
  /** Closes connections after in-flight requests finish. */
  close(): Promise<void>;
}
