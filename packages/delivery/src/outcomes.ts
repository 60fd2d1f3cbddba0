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

/** Default pause when a provider throttles us without saying for how long. */
export const DEFAULT_PAUSE_MS = 60_000;

export function sortOutcomes(tokens: readonly ResolvedToken[], outcomes: readonly SendOutcome[]): SortedOutcomes {
  const sorted: SortedOutcomes = { final: [], dead: [], retry: [] };
  tokens.forEach((target, i) => {
    const outcome = outcomes[i] ?? { status: 'retry', scope: 'token', reason: 'no answer from provider' };
    switch (outcome.status) {
      case 'sent':
        sorted.final.push({ ...target, status: 'sent' });
        break;
      case 'invalid':
        sorted.final.push({ ...target, status: 'invalid', reason: outcome.reason });
        sorted.dead.push(target.token);
        break;
      case 'failed':
        sorted.final.push({ ...target, status: 'failed', reason: outcome.reason });
        break;
      case 'retry':
        sorted.retry.push({ ...target, reason: outcome.reason });
        if (outcome.scope === 'provider') sorted.pauseMs = Math.max(sorted.pauseMs ?? 0, outcome.retryAfterMs ?? DEFAULT_PAUSE_MS);
        break;
    }
  });
  return sorted;
}

/** Splits `items` into groups of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += size) groups.push(items.slice(i, i + size));
  return groups;
}
