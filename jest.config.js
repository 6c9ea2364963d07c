/**
 * Tests run on the compiled output (`npm test` builds first): worker threads and crash-test
 * child processes then run exactly the JavaScript the service ships, with no transpiler.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/dist/test'],
  testMatch: ['**/*.test.js'],
  testTimeout: 60_000,
  // Integration suites each start servers, worker threads and child processes.
  maxWorkers: 2,
};
