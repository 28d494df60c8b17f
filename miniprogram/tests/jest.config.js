// The mini-program's tests: jsdom for miniprogram-simulate, the pages compiled once before the run.
module.exports = {
  rootDir: __dirname,
  testEnvironment: 'jsdom',
  testMatch: ['<rootDir>/**/*.test.js'],
  globalSetup: '<rootDir>/build.js',
  testTimeout: 180000,
  maxWorkers: 1,
}
