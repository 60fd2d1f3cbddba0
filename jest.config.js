/** One jest run for the whole monorepo: sources are compiled on the fly by SWC (no type checking here;
 *  `npm run build` type-checks with tsc), and `@push/*` imports resolve to each workspace's `src/`. */
const swc = ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }];

/** `npm test`: everything but the browser and Redis Cluster tests, which `npm run test:e2e` runs. */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^@push/(api|apns-worker|fcm-worker|webpush-worker)/(.*)$': '<rootDir>/apps/$1/src/$2',
    '^@push/(.*)$': '<rootDir>/packages/$1/src',
  },
  testMatch: ['<rootDir>/{apps,packages}/*/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '\\.(browser|cluster)\\.test\\.ts$'],
  globalSetup: '<rootDir>/packages/testing/src/global-setup.ts',
  globalTeardown: '<rootDir>/packages/testing/src/global-teardown.ts',
  testTimeout: 60_000,
};
