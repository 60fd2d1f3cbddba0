import fc from 'fast-check';
import { distinct } from '@push/api/push-jobs';

describe("distinct (the request's client list without duplicates)", () => {
  it.each<[string, string[], string[]]>([
    ['empty', [], []],
    ['no duplicates', ['a', 'b', 'c'], ['a', 'b', 'c']],
    ['keeps first occurrences, in order', ['b', 'a', 'b', 'c', 'a'], ['b', 'a', 'c']],
    ['all the same', ['x', 'x', 'x'], ['x']],
    ['non-ASCII and long ids', ['系統', 'é', 'e\u0301', '系統', 'z'.repeat(256)], ['系統', 'é', 'e\u0301', 'z'.repeat(256)]],
  ])('%s', (_name, input, expected) => {
    expect(distinct(input)).toEqual(expected);
  });

  it('returns the input itself when nothing repeats (no copy of a million ids)', () => {
    const clients = Array.from({ length: 5000 }, (_, i) => `user${i}`);
    expect(distinct(clients)).toBe(clients);
  });

  it('is exactly [...new Set(clients)]', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 0, maxLength: 4, unit: 'grapheme' }), { maxLength: 300 }), (clients) => {
        expect(distinct(clients)).toEqual([...new Set(clients)]);
      }),
      { numRuns: 300 },
    );
  });
});
