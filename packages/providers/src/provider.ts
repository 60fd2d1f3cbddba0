import type { Payload, Platform } from '@push/contract';

/**
 * What a provider said about one token. Dead tokens are data, not exceptions; errors come in two kinds
 * only: permanent (`failed`, never retried) and temporary (`retry`).
 */
export type SendOutcome =
  | { status: 'sent' }
  /** The provider says the token is dead: it is removed from the registry. */
  | { status: 'invalid'; reason: string }
  /** A permanent error for this notification (bad topic, payload too large, credentials refused). */
  | { status: 'failed'; reason: string }
  /**
   * A temporary error. `scope: 'provider'` means the whole provider asked us to slow down (FCM quota):
   * the platform queue pauses for `retryAfterMs`. `scope: 'token'` retries only this token, later.
   */
  | { status: 'retry'; reason: string; scope: 'token' | 'provider'; retryAfterMs?: number };

export interface SendRequest {
  token: string;
  payload: Payload;
}

/** One push provider (APNs, FCM or Web Push). The delivery pipeline drives it without knowing which it is. */
export interface PushProvider {
  readonly platform: Platform;
  /**
   * Sends one notification per token concurrently; the outcomes are in the order of `tokens`. `keys`,
   * in the same order, is what the registry stores with a token besides it (Web Push: the subscription's
   * packed keys); platforms without keys ignore it.
   */
  send(tokens: readonly string[], payload: Payload, keys?: readonly (string | undefined)[]): Promise<SendOutcome[]>;
  /** Closes connections after in-flight requests finish. */
  close(): Promise<void>;
}
