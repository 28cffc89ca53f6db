'use strict';
// Compiled tests: `npm test` builds first (pretest), scripts/test.js runs this
// configuration once per codec implementation and names the spec files (mocha
// would add a `spec` given here to any files named on the command line).
module.exports = {
  timeout: 20000,
  slow: 2000,
  require: [require.resolve('./scripts/mocha-leak-check.js')],
  reporter: require.resolve('./scripts/mocha-reporter.js'),
};
