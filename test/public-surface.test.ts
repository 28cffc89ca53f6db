/**
 * What `require('node-red-contrib-mqtt-sn')` gives a user: the documented parts,
 * and none of the internals tests and benchmarks reach by module path.
 */
import * as assert from 'node:assert/strict';
import * as sn from '../lib';

describe('public surface (lib/index.ts)', () => {
  it('exports the client, the gateway, the codec, errors, topic rules, timers and the transport seam', () => {
    const expected = [
      'MqttSnClient',
      'MQTTSN',
      'MqttSnGateway',
      'GatewayMetrics',
      'startMetricsServer',
      'encode',
      'decode',
      'codec',
      'codecImplementation',
      'MsgType',
      'TopicIdType',
      'ReturnCode',
      'MqttSnError',
      'ErrorCode',
      'ErrorDescription',
      'topicMatches',
      'isValidTopicName',
      'isValidTopicFilter',
      'hasWildcard',
      'isTopicId',
      'parsePredefinedTopics',
      'shortTopicToId',
      'shortTopicFromId',
      'createTimerQueue',
      'timerImplementation',
      'UdpTransport',
      'udpTransport',
      'NativeUdpTransport',
      'nativeUdpAvailable',
      'MemoryNetwork',
      'DtlsTransport',
      'formatEndpoint',
    ];
    const missing = expected.filter((name) => !(name in sn));
    assert.deepEqual(missing, []);
  });

  it('keeps the twins and the addon loader internal', () => {
    const internals = [
      'tsCodec',
      'createNativeCodec',
      'tsTimers',
      'nativeTimers',
      'loadNativeTimers',
      'TsTimerQueue',
      'NativeTimerQueue',
      'loadAddon',
      'loadNative',
      'twinAddon',
      'twinContract',
    ];
    assert.deepEqual(
      internals.filter((name) => name in sn),
      [],
    );
  });

  it('reports the twins in use as functions, chosen on first use', () => {
    const expected = process.env.MQTTSN_NATIVE === '1' ? 'native' : 'ts';
    assert.equal(sn.codecImplementation(), expected);
    assert.equal(sn.timerImplementation(), expected);
    assert.equal(sn.codec.name, sn.codecImplementation());
  });
});
