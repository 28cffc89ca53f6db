'use strict';
// The spec reporter, plus a summary file that scripts/test.js adds up: counts,
// and each failure's full title with the first lines of its error, so the end
// of a long CI log still says what failed.
const fs = require('node:fs');
const Mocha = require('mocha');

const ERROR_LINES = 6;

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const failed = [];
    runner.on('fail', (test, err) => {
      const text = String((err && (err.stack || err.message)) || err);
      failed.push({ title: test.fullTitle(), error: text.split('\n').slice(0, ERROR_LINES).join('\n') });
    });
    runner.once('end', () => {
      const file = process.env.MQTTSN_TEST_SUMMARY;
      if (!file) return;
      const { passes, failures, pending, tests } = this.stats;
      fs.writeFileSync(file, JSON.stringify({ passes, failures, pending, tests, failed }));
    });
  }
}

module.exports = SummaryReporter;
