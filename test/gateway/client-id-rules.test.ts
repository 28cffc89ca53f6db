import { strict as assert } from 'node:assert';
import { ClientIdRules, checkClientIdBindings, parseClientIdFile } from '../../lib/gateway/client-id-rules';
import { ErrorCode, MqttSnError } from '../../lib/errors';

describe('gateway: client ids bound to DTLS identities', () => {
  const rules = new ClientIdRules({ 'site-a': ['pump-1', 'sensor-*'], 'lab:key': ['lab'] });

  it('lets an identity use its listed ids and prefixes, and nothing else', () => {
    assert.equal(rules.refusal('pump-1', 'site-a'), undefined);
    assert.equal(rules.refusal('sensor-17', 'site-a'), undefined);
    assert.match(rules.refusal('lab', 'site-a') as string, /"site-a" may not use client id lab/);
  });

  it('lets an identity without a list use only the id equal to itself', () => {
    assert.equal(rules.refusal('dev-9', 'dev-9'), undefined);
    assert.ok(rules.refusal('pump-1', 'dev-9'));
  });

  it('keeps clients without DTLS off ids that belong to an identity', () => {
    assert.match(rules.refusal('sensor-3', undefined) as string, /belongs to DTLS identity "site-a"/);
    assert.ok(rules.refusal('site-a', undefined));
    assert.equal(rules.refusal('anything-else', undefined), undefined);
  });

  it('allows everything when no bindings are configured', () => {
    const open = new ClientIdRules(undefined);
    assert.equal(open.active, false);
    assert.equal(open.refusal('pump-1', 'whoever'), undefined);
    assert.equal(open.refusal('pump-1', undefined), undefined);
  });

  it('reads bindings from a file and refuses malformed ones with coded errors', () => {
    assert.deepEqual(parseClientIdFile('# who may use what\nsite-a: pump-1 sensor-*\n\nlab:key: lab\nsite-a: pump-2\n'), {
      'site-a': ['pump-1', 'sensor-*', 'pump-2'],
      'lab:key': ['lab'],
    });
    for (const bad of ['no colon here', 'site-a:', 'site-a: *']) {
      assert.throws(() => parseClientIdFile(bad), (e: unknown) => e instanceof MqttSnError && e.code === ErrorCode.INVALID_ARGUMENT, bad);
    }
    assert.throws(() => checkClientIdBindings({ a: 'pump-1' }, 'dtls.clientIds'), /must be an array/);
  });
});
