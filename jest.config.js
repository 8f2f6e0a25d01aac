/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }] },
  // The package's public entry points, as a user imports them, mapped to the sources.
  moduleNameMapper: {
    '^weightgames$': '<rootDir>/src/index.ts',
    '^weightgames/games$': '<rootDir>/games/index.ts',
    '^weightgames/schemes$': '<rootDir>/schemes/index.ts',
    '^weightgames/adversaries$': '<rootDir>/adversaries/index.ts',
    '^weightgames/testing$': '<rootDir>/src/app/testing/index.ts',
  },
  testTimeout: 120000,
  // Two test files at a time: many tests spend their time in child processes (the CLI), and the
  // CI machine has two cores (Jest's default would use one worker there).
  maxWorkers: 2,
};
