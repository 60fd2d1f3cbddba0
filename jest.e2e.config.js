/** `npm run test:e2e`: the tests that need more than Redis: Chromium (`*.browser.test.ts`) and a Redis
 *  Cluster of `redis-server` processes (`*.cluster.test.ts`). */
const base = require('./jest.config');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/{apps,packages}/*/test/**/*.{browser,cluster}.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 120_000,
};
