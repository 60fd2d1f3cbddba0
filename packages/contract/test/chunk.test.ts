import { chunk } from '@push/contract';

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
