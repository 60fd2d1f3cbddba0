import type { SendOutcome } from '@push/providers';
import type { GuardVerdict, PlannedToken, ResolvedToken, TokenResult } from '@push/store';

export interface RetryToken extends ResolvedToken {
  reason: string;
}

/** An answer that waits for the dead-token guard's verdict before anything is recorded or deleted. */
export interface Suspect {
  token: ResolvedToken;
  outcome: Extract<SendOutcome, { status: 'invalid' | 'failed' }> & { misconfiguration: string };
}

/** One send group's answers, sorted into what is final now and what must wait or be tried again. */
export interface SortedOutcomes {
  final: TokenResult[];
  /** Answers the dead-token guard must judge first (dead tokens, and failures a misconfiguration explains). */
  suspects: Suspect[];
  /** Temporary failures of one token (a device's 429, a bad moment): retried with the token's attempts. */
  retry: RetryToken[];
  /** The provider failing (5xx, timeouts, connection errors): evidence for the breaker. */
  outage: RetryToken[];
  /** Answers about the tokens (everything but provider failures), for the breaker and the guard. */
  answers: number;
  /** Suspects by cause, for the guard. */
  causes: Map<string, number>;
  /** Set when the provider asked to pause all sending (FCM quota): the longest delay it asked for. */
  pauseMs?: number;
  /** The longest Retry-After of the retried and failing tokens. */
  retryAfterMs?: number;
}

/** Why a token the provider called dead is kept: it was registered after the provider's `since`. */
export const REGISTERED_AGAIN = 'the device registered this token again after the provider found it dead: kept';

/** Default pause when a provider throttles us without saying for how long. */
export const DEFAULT_PAUSE_MS = 60_000;

const NO_ANSWER: SendOutcome = { status: 'retry', scope: 'outage', reason: 'no answer from provider' };

export function sortOutcomes(tokens: readonly ResolvedToken[], outcomes: readonly SendOutcome[]): SortedOutcomes {
  const sorted: SortedOutcomes = { final: [], suspects: [], retry: [], outage: [], answers: 0, causes: new Map() };
  // A plain loop building each result literally: this runs once per token sent.
  for (let i = 0; i < tokens.length; i++) {
    const resolved = tokens[i]!;
    const { client, token } = resolved;
    const outcome = outcomes[i] ?? NO_ANSWER;
    if (outcome.status !== 'retry' || outcome.scope !== 'outage') sorted.answers++;
    switch (outcome.status) {
      case 'sent':
        sorted.final.push({ client, token, status: 'sent' });
        break;
      case 'invalid':
      case 'failed':
        if (outcome.misconfiguration !== undefined) {
          sorted.suspects.push({ token: resolved, outcome: outcome as Suspect['outcome'] });
          sorted.causes.set(outcome.misconfiguration, (sorted.causes.get(outcome.misconfiguration) ?? 0) + 1);
        } else {
          // Only guarded answers call a token dead (see the providers' classification tables).
          sorted.final.push({ client, token, status: 'failed', reason: outcome.reason });
        }
        break;
      case 'retry': {
        const retry = { ...resolvedOnly(resolved), reason: outcome.reason };
        if (outcome.scope === 'outage') sorted.outage.push(retry);
        else sorted.retry.push(retry);
        if (outcome.scope === 'provider') sorted.pauseMs = Math.max(sorted.pauseMs ?? 0, outcome.retryAfterMs ?? DEFAULT_PAUSE_MS);
        else if (outcome.retryAfterMs !== undefined) sorted.retryAfterMs = Math.max(sorted.retryAfterMs ?? 0, outcome.retryAfterMs);
        break;
      }
    }
  }
  return sorted;
}

/**
 * A suspect's final result once its window is judged, and whether the token is dead (to be removed).
 * A cause judged a misconfiguration keeps the token: `failed`, with a reason that says so.
 */
export function judge({ token, outcome }: Suspect, verdict: GuardVerdict, share: number): { result: TokenResult; dead: boolean } {
  const { client } = token;
  if (verdict.suspected.has(outcome.misconfiguration)) {
    const reason = `suspected misconfiguration: ${outcome.misconfiguration} (${outcome.reason}; more than ${share * 100} % of ${verdict.answers} answers in a row)`;
    return { result: { client, token: token.token, status: 'failed', reason }, dead: false };
  }
  if (outcome.status === 'failed') return { result: { client, token: token.token, status: 'failed', reason: outcome.reason }, dead: false };
  if (outcome.since !== undefined && (token.at ?? 0) > outcome.since) {
    // Apple: stop sending until the device registers a token with a later timestamp; this one was.
    return { result: { client, token: token.token, status: 'failed', reason: `${outcome.reason}: ${REGISTERED_AGAIN}` }, dead: false };
  }
  return { result: { client, token: token.token, status: 'invalid', reason: outcome.reason }, dead: true };
}

/** A token as chunk job data keeps it (without a retry's reason). */
export function resolvedOnly({ client, token, at, due }: PlannedToken): PlannedToken {
  return { client, token, ...(at !== undefined && { at }), ...(due !== undefined && { due }) };
}
