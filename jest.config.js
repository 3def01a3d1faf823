/**
 * Jest runs our TypeScript as native ES modules (got is ESM-only): ts-jest in ESM mode,
 * Node's --experimental-vm-modules (set by the npm scripts), and `.js` import
 * specifiers mapped back to their `.ts` sources. Type checking is `npm run typecheck`'s job.
 */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/emulator/test/**/*.test.ts'],
  setupFiles: ['<rootDir>/test/support/environment.ts'],
  testTimeout: 30000,
};
