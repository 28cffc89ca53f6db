/**
 * The config node's Security tab: DTLS with the pre-shared key from Node-RED's
 * credentials, against OpenSSL's s_server playing the gateway.
 */
import * as assert from 'node:assert/strict';
import { encode } from '../../lib/codec';
import { freeUdpPort } from '../helpers/net';
import { OpenSslPeer } from '../helpers/openssl';
import { until } from '../helpers/until';
import { brokerNode, helper, mqttSnNodes, onTab, StatusLog } from './support';

const KEY = '00112233445566778899aabbccddeeff';

describe('nodes: DTLS on the config node', function () {
  this.timeout(30000);
  let peer: OpenSslPeer | undefined;

  afterEach(async () => {
    await helper.unload();
    await peer?.stop();
    peer = undefined;
  });

  it('connects with the PSK identity and key from the credentials and publishes over DTLS', async () => {
    const port = await freeUdpPort();
    peer = OpenSslPeer.server(port, ['-nocert', '-psk', KEY, '-psk_identity', 'node-red-1']);
    const flow = [
      brokerNode('b', port, { clientid: 'node-red-1', dtls: true, dtlsVerify: true }),
      { id: 'out', type: 'mqtt-sn out', broker: 'b', topic: 'ab', topicType: 'short', qos: '0', retain: '' },
    ];
    await helper.load([mqttSnNodes], onTab(flow), { b: { pskIdentity: 'node-red-1', pskKey: KEY } });
    await peer.acceptConnect('node-red-1');
    await new StatusLog(helper.getNode('out')).waitFor('green', 'dot', 15000);
    helper.getNode('out').receive({ payload: 'from node-red' });
    const publish = encode({ type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 2, topicId: 'ab', msgId: 0, payload: Buffer.from('from node-red') });
    await until(() => (peer as OpenSslPeer).outputBytes.includes(publish), 'the PUBLISH through s_server', 10000);
    assert.ok(!JSON.stringify(flow).includes(KEY), 'the key is not in the flow');
  });
});
