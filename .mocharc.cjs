module.exports = {
  'node-option': ['import=tsx'],
  spec: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
  reporter: 'test/helpers/reporter.cjs',
  timeout: 20000,
  exit: false,
};
