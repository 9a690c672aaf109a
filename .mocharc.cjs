module.exports = {
  'node-option': ['import=tsx'],
  reporter: 'test/helpers/reporter.cjs',
  timeout: 20000,
  exit: false,
};
