// isolatedModules: ts-jest only transpiles (fast, little memory); `npm run typecheck`
// does the type checking. jose is ESM-only, so Jest (CommonJS) must transform it.
const transpileOnly = { isolatedModules: true, module: 'commonjs', moduleResolution: 'node10', ignoreDeprecations: '6.0' };

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  // Long scenarios (*.long.test.ts) run with `npm run test:reliability` and `npm run test:rehearsal`, not `npm test`.
  testPathIgnorePatterns: process.env.RELIABILITY ? ['/node_modules/'] : ['/node_modules/', '\\.long\\.test\\.ts$'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: transpileOnly }],
    '^.+/node_modules/jose/.+\\.js$': ['ts-jest', { tsconfig: { ...transpileOnly, allowJs: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  setupFiles: ['<rootDir>/tests/support/jest-env.ts'],
  testTimeout: 30_000,
};
