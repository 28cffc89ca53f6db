import { strict as assert } from 'node:assert';
import { QuietAnswers } from '../../lib/gateway/quiet-answers';

describe('gateway: answers to DISCONNECT from senders without a session', () => {
  it('answers a sender again only after it has been quiet for the whole window', () => {
    const answers = new QuietAnswers(5000, 10);
    assert.equal(answers.mayAnswer('a', 0), true);
    assert.equal(answers.mayAnswer('a', 4999), false);
    assert.equal(answers.mayAnswer('b', 4999), true, 'other senders are not affected');
    assert.equal(answers.mayAnswer('a', 5000), true);
    assert.equal(answers.mayAnswer('a', 6000), false);
  });

  it('forgets the oldest senders beyond its capacity', () => {
    const answers = new QuietAnswers(5000, 2);
    answers.mayAnswer('a', 0);
    answers.mayAnswer('b', 1);
    answers.mayAnswer('c', 2);
    assert.equal(answers.mayAnswer('a', 3), true, 'a was forgotten when c arrived');
    assert.equal(answers.mayAnswer('c', 4), false, 'c is still remembered');
  });
});
