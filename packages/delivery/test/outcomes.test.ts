import { DEFAULT_PAUSE_MS, judge, REGISTERED_AGAIN, sortOutcomes } from '../src/outcomes';
import { CHUNK_BACKOFF } from '@push/store';
import type { SendOutcome } from '@push/providers';
import { chunkBackoff, ChunkRetryError } from '../src/worker';

const t = (n: number) => ({ client: `c${n}`, token: `t${n}` });
const none = { final: [], suspects: [], retry: [], outage: [], causes: new Map() };

describe('sortOutcomes', () => {
  it.each<[string, SendOutcome, object]>([
    ['sent', { status: 'sent' }, { ...none, final: [{ ...t(0), status: 'sent' }], answers: 1 }],
    [
      'failed',
      { status: 'failed', reason: 'MissingTopic' },
      { ...none, final: [{ ...t(0), status: 'failed', reason: 'MissingTopic' }], answers: 1 },
    ],
    [
      'guarded invalid: waits for the guard',
      { status: 'invalid', reason: 'Unregistered', misconfiguration: 'm' },
      {
        ...none,
        suspects: [{ token: t(0), outcome: { status: 'invalid', reason: 'Unregistered', misconfiguration: 'm' } }],
        causes: new Map([['m', 1]]),
        answers: 1,
      },
    ],
    [
      'guarded failed: waits for the guard',
      { status: 'failed', reason: 'SENDER_ID_MISMATCH', misconfiguration: 'p' },
      {
        ...none,
        suspects: [{ token: t(0), outcome: { status: 'failed', reason: 'SENDER_ID_MISMATCH', misconfiguration: 'p' } }],
        causes: new Map([['p', 1]]),
        answers: 1,
      },
    ],
    [
      'token retry',
      { status: 'retry', scope: 'token', reason: 'TooManyRequests' },
      { ...none, retry: [{ ...t(0), reason: 'TooManyRequests' }], answers: 1 },
    ],
    [
      'token retry with Retry-After',
      { status: 'retry', scope: 'token', reason: 'QUOTA_EXCEEDED (device)', retryAfterMs: 2000 },
      { ...none, retry: [{ ...t(0), reason: 'QUOTA_EXCEEDED (device)' }], answers: 1, retryAfterMs: 2000 },
    ],
    [
      'outage',
      { status: 'retry', scope: 'outage', reason: 'UNAVAILABLE', retryAfterMs: 3000 },
      { ...none, outage: [{ ...t(0), reason: 'UNAVAILABLE' }], answers: 0, retryAfterMs: 3000 },
    ],
    [
      'provider retry',
      { status: 'retry', scope: 'provider', reason: 'QUOTA_EXCEEDED', retryAfterMs: 1500 },
      { ...none, retry: [{ ...t(0), reason: 'QUOTA_EXCEEDED' }], answers: 1, pauseMs: 1500 },
    ],
    [
      'provider retry without delay',
      { status: 'retry', scope: 'provider', reason: 'QUOTA_EXCEEDED' },
      { ...none, retry: [{ ...t(0), reason: 'QUOTA_EXCEEDED' }], answers: 1, pauseMs: DEFAULT_PAUSE_MS },
    ],
  ])('sorts %s', (_name, outcome, expected) => {
    expect(sortOutcomes([t(0)], [outcome])).toEqual(expected);
  });

  it('keeps the longest pause and treats a missing answer as a provider failure', () => {
    const sorted = sortOutcomes(
      [t(0), t(1), t(2)],
      [
        { status: 'retry', scope: 'provider', reason: 'q', retryAfterMs: 100 },
        { status: 'retry', scope: 'provider', reason: 'q', retryAfterMs: 900 },
      ],
    );
    expect(sorted.pauseMs).toBe(900);
    expect(sorted.retry.map((r) => r.token)).toEqual(['t0', 't1']);
    expect(sorted.outage).toEqual([{ ...t(2), reason: 'no answer from provider' }]);
  });
});

describe('judge (a suspect once its window has a verdict)', () => {
  const dead = (since?: number) => ({
    status: 'invalid' as const,
    reason: 'Unregistered',
    misconfiguration: 'wrong topic',
    ...(since !== undefined && { since }),
  });
  const healthy = { answers: 200, suspected: new Set<string>() };

  it('a suspected cause keeps the token: failed, saying so', () => {
    expect(judge({ token: t(0), outcome: dead() }, { answers: 200, suspected: new Set(['wrong topic']) }, 0.5)).toEqual({
      result: {
        ...t(0),
        status: 'failed',
        reason: 'suspected misconfiguration: wrong topic (Unregistered; more than 50 % of 200 answers in a row)',
      },
      dead: false,
    });
  });

  it('otherwise a dead token is invalid and removed, a guarded failure stays failed', () => {
    expect(judge({ token: t(0), outcome: dead() }, healthy, 0.5)).toEqual({
      result: { ...t(0), status: 'invalid', reason: 'Unregistered' },
      dead: true,
    });
    expect(
      judge({ token: t(0), outcome: { status: 'failed', reason: 'SENDER_ID_MISMATCH', misconfiguration: 'p' } }, healthy, 0.5),
    ).toEqual({ result: { ...t(0), status: 'failed', reason: 'SENDER_ID_MISMATCH' }, dead: false });
  });

  it('APNs 410 timestamp: a token registered after it stays, one registered before it is dead', () => {
    expect(judge({ token: { ...t(0), at: 3000 }, outcome: dead(2000) }, healthy, 0.5)).toEqual({
      result: { ...t(0), status: 'failed', reason: `Unregistered: ${REGISTERED_AGAIN}` },
      dead: false,
    });
    expect(judge({ token: { ...t(1), at: 1000 }, outcome: dead(2000) }, healthy, 0.5)).toEqual({
      result: { ...t(1), status: 'invalid', reason: 'Unregistered' },
      dead: true,
    });
  });
});

describe('chunkBackoff', () => {
  const job = { opts: { backoff: { type: CHUNK_BACKOFF, delay: 100, jitter: 0.5 } } } as never;

  it("is BullMQ's exponential backoff with jitter, lengthened to the provider's Retry-After", () => {
    for (let attempt = 1; attempt <= 4; attempt++) {
      const delay = chunkBackoff(attempt, CHUNK_BACKOFF, new ChunkRetryError('x'), job);
      expect(delay).toBeGreaterThanOrEqual(100 * 2 ** (attempt - 1) * 0.5);
      expect(delay).toBeLessThanOrEqual(100 * 2 ** (attempt - 1));
    }
    expect(chunkBackoff(1, CHUNK_BACKOFF, new ChunkRetryError('x', 5000), job)).toBe(5000);
  });
});
