import type { SendOutcome } from './provider';
import { RequestTimeoutError } from './errors';

/**
 * A request that got no HTTP answer (timeout, reset stream, refused or dropped connection). The provider
 * may or may not have seen it, and nothing says the token is at fault: the provider is failing, which is
 * evidence for the provider-wide breaker (Apple and Google both ask for retries with backoff on such errors).
 */
export function transportOutcome(error: unknown): SendOutcome {
  return { status: 'retry', scope: 'outage', reason: transportReason(error) };
}

export function transportReason(error: unknown): string {
  if (error instanceof RequestTimeoutError) return `Timeout: ${error.message}`;
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return `ConnectionError: ${code ? `${code} ` : ''}${error.message}`;
  }
  return `ConnectionError: ${String(error)}`;
}
