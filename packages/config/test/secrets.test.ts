import { basicCredentials, bearerToken, matchesSecret, secretIndex } from '@push/config';

describe('secrets', () => {
  it.each([
    [['first-key-0123456789', 'second-key-0123456789'], 'second-key-0123456789', true],
    [['first-key-0123456789'], 'first-key-012345678', false],
    [['first-key-0123456789'], '', false],
    [['first-key-0123456789'], undefined, false],
    [[], 'anything', false],
  ] as const)('matchesSecret(%j, %j) is %s', (secrets, given, expected) => {
    expect(matchesSecret(secrets, given)).toBe(expected);
  });

  it.each([
    [['first-key-0123456789', 'second-key-0123456789'], 'second-key-0123456789', 1],
    [['same-key-0123456789', 'same-key-0123456789'], 'same-key-0123456789', 0],
    [['first-key-0123456789'], 'FIRST-KEY-0123456789', -1],
    [['first-key-0123456789', 'second-key-0123456789'], 'first-key-0123456789,second-key-0123456789', -1],
  ] as const)('secretIndex(%j, %j) is %i: which key matched, for per-key limits', (secrets, given, expected) => {
    expect(secretIndex(secrets, given)).toBe(expected);
  });

  it.each([
    ['Bearer abc.def', 'abc.def'],
    ['bearer   abc', 'abc'],
    ['Basic abc', undefined],
    ['Bearer', undefined],
    ['Bearer a b', undefined],
    [undefined, undefined],
  ])('bearerToken(%j) is %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it('decodes Basic credentials, passwords with colons included', () => {
    const header = `Basic ${Buffer.from('admin:pa:ss').toString('base64')}`;
    expect(basicCredentials(header)).toEqual({ user: 'admin', password: 'pa:ss' });
    expect(basicCredentials(`Basic ${Buffer.from('no-colon').toString('base64')}`)).toBeUndefined();
    expect(basicCredentials('Bearer x')).toBeUndefined();
    expect(basicCredentials(undefined)).toBeUndefined();
  });
});
