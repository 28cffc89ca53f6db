#!/usr/bin/env node
// A first look at the codec: decodes a few MQTT-SN datagrams and encodes them back.
'use strict';
const sn = require('../dist/lib');

console.log(`MQTT-SN codec: ${sn.codecImplementation}`);
for (const hex of ['0c0c200001000268656c6c6f', '0d040401003c64656d6f2d31', '0a0a00010001612f62', '02160']) {
  const bytes = Buffer.from(hex.length % 2 ? hex + '0' : hex, 'hex');
  try {
    const packet = sn.decode(bytes);
    console.log(hex.padEnd(26), '->', packet, '->', sn.encode(packet).toString('hex'));
  } catch (err) {
    console.log(hex.padEnd(26), '->', `MqttSnError ${err.code}: ${err.description}`);
  }
}
