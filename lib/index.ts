/**
 * node-red-contrib-mqtt-sn: MQTT-SN v1.2 for Node.js.
 *
 * - encode / decode / codecImplementation: the wire format (native addon or TypeScript twin)
 * - createTimerQueue: retransmission timer book-keeping (native or TypeScript)
 * - MQTTSN: the client
 * - MqttSnGateway: the gateway that bridges MQTT-SN clients to an MQTT broker
 */
export { encode, decode, codec, codecImplementation, tsCodec } from './codec';
export * from './codec/packets';
export { MqttSnError, ErrorCode, ErrorDescription } from './errors';
export { hasWildcard, isValidTopicFilter, isValidTopicName, topicMatches } from './topics';
export { createTimerQueue, timerImplementation, tsTimers, nativeTimers } from './timers';
export type { TimerQueue, TimerQueueImplementation } from './timers/types';
export * from './client';
export * from './gateway';
