import { chunk, DEFAULT_PAUSE_MS, REGISTERED_AGAIN, sortOutcomes } from '../src/outcomes';
import type { SendOutcome } from '@push/providers';

const t = (n: number) => ({ client: `c${n}`, token: `t${n}` });

describe('sortOutcomes', () => {
  it.each<[string, SendOutcome, object]>([
    ['sent', { status: 'sent' }, { final: [{ ...t(0), status: 'sent' }], dead: [], retry: [] }],
    [
      'invalid',
      { status: 'invalid', reason: 'Unregistered', misconfiguration: 'm' },
      { final: [{ ...t(0), status: 'invalid', reason: 'Unregistered' }], dead: ['t0'], retry: [] },
    ],
    [
      'failed',
      { status: 'failed', reason: 'MissingTopic' },
      { final: [{ ...t(0), status: 'failed', reason: 'MissingTopic' }], dead: [], retry: [] },
    ],
    [
      'token retry',
      { status: 'retry', scope: 'token', reason: 'TooManyRequests' },
      { final: [], dead: [], retry: [{ ...t(0), reason: 'TooManyRequests' }] },
    ],
    [
      'provider retry',
      { status: 'retry', scope: 'provider', reason: 'QUOTA_EXCEEDED', retryAfterMs: 1500 },
      { final: [], dead: [], retry: [{ ...t(0), reason: 'QUOTA_EXCEEDED' }], pauseMs: 1500 },
    ],
    [
      'provider retry without delay',
      { status: 'retry', scope: 'provider', reason: 'QUOTA_EXCEEDED' },
      { final: [], dead: [], retry: [{ ...t(0), reason: 'QUOTA_EXCEEDED' }], pauseMs: DEFAULT_PAUSE_MS },
    ],
  ])('sorts %s', (_name, outcome, expected) => {
    expect(sortOutcomes([t(0)], [outcome])).toEqual(expected);
  });

  it('APNs 410 timestamp: a token registered after it stays, one registered before it is dead', () => {
    const dead: SendOutcome = { status: 'invalid', reason: 'Unregistered', misconfiguration: 'm', since: 2000 };
    const sorted = sortOutcomes(
      [
        { ...t(0), at: 3000 },
        { ...t(1), at: 1000 },
      ],
      [dead, dead],
    );
    expect(sorted.final).toEqual([
      { ...t(0), status: 'failed', reason: `Unregistered: ${REGISTERED_AGAIN}` },
      { ...t(1), status: 'invalid', reason: 'Unregistered' },
    ]);
    expect(sorted.dead).toEqual(['t1']);
  });

  it('keeps the longest pause and treats a missing answer as a token retry', () => {
    const sorted = sortOutcomes(
      [t(0), t(1), t(2)],
      [
        { status: 'retry', scope: 'provider', reason: 'q', retryAfterMs: 100 },
        { status: 'retry', scope: 'provider', reason: 'q', retryAfterMs: 900 },
      ],
    );
    expect(sorted.pauseMs).toBe(900);
    expect(sorted.retry.map((r) => r.token)).toEqual(['t0', 't1', 't2']);
    expect(sorted.retry[2]!.reason).toBe('no answer from provider');
  });
});

describe('chunk', () => {
  it.each([
    [[], 3, []],
    [[1, 2, 3], 3, [[1, 2, 3]]],
    [[1, 2, 3, 4, 5, 6, 7], 3, [[1, 2, 3], [4, 5, 6], [7]]],
    [[1, 2], 1, [[1], [2]]],
  ])('splits %j by %i', (items, size, expected) => {
    expect(chunk(items, size)).toEqual(expected);
  });
});
