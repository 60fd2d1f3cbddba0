import type { SendOutcome } from '@push/providers';
import type { ResolvedToken, TokenResult } from '@push/store';

export interface RetryToken extends ResolvedToken {
  reason: string;
}

/** One send group's answers, sorted into what is final now and what must be tried again. */
export interface SortedOutcomes {
  final: TokenResult[];
  /** Tokens the provider declared dead: recorded `invalid` and removed from the registry. */
  dead: string[];
  retry: RetryToken[];
  /** Set when the provider asked to pause all sending (FCM quota): the longest delay it asked for. */
  pauseMs?: number;
}

/** Why a token the provider called dead is kept: it was registered after the provider's `since`. */
export const REGISTERED_AGAIN = 'the device registered this token again after the provider found it dead: kept';

/** Default pause when a provider throttles us without saying for how long. */
export const DEFAULT_PAUSE_MS = 60_000;

const NO_ANSWER: SendOutcome = { status: 'retry', scope: 'token', reason: 'no answer from provider' };

export function sortOutcomes(tokens: readonly ResolvedToken[], outcomes: readonly SendOutcome[]): SortedOutcomes {
  const sorted: SortedOutcomes = { final: [], dead: [], retry: [] };
  // A plain loop building each result literally: this runs once per token sent.
  for (let i = 0; i < tokens.length; i++) {
    const { client, token, at } = tokens[i]!;
    const outcome = outcomes[i] ?? NO_ANSWER;
    switch (outcome.status) {
      case 'sent':
        sorted.final.push({ client, token, status: 'sent' });
        break;
      case 'invalid':
        if (outcome.since !== undefined && (at ?? 0) > outcome.since) {
          // Apple: stop sending until the device registers a token with a later timestamp; this one was.
          sorted.final.push({ client, token, status: 'failed', reason: `${outcome.reason}: ${REGISTERED_AGAIN}` });
        } else {
          sorted.final.push({ client, token, status: 'invalid', reason: outcome.reason });
          sorted.dead.push(token);
        }
        break;
      case 'failed':
        sorted.final.push({ client, token, status: 'failed', reason: outcome.reason });
        break;
      case 'retry':
        sorted.retry.push({ ...tokens[i]!, reason: outcome.reason });
        if (outcome.scope === 'provider') sorted.pauseMs = Math.max(sorted.pauseMs ?? 0, outcome.retryAfterMs ?? DEFAULT_PAUSE_MS);
        break;
    }
  }
  return sorted;
}

/** A retried token sent again within the same run: as it was resolved (keys included), without the reason. */
export function toResend({ reason: _reason, ...token }: RetryToken): ResolvedToken {
  return token;
}

/** A token as chunk job data keeps it (without a retry's reason, without keys). */
export function resolvedOnly({ client, token, at }: ResolvedToken): ResolvedToken {
  return at === undefined ? { client, token } : { client, token, at };
}

/** Splits `items` into groups of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += size) groups.push(items.slice(i, i + size));
  return groups;
}
