/**
 * node-red-contrib-mqtt-sn: MQTT-SN v1.2 for Node.js. What a user needs:
 *
 * - MqttSnClient: the managed client (reconnects, restores its session, topics by name)
 * - MQTTSN: the reference-shaped client
 * - MqttSnGateway: the gateway that bridges MQTT-SN clients to an MQTT broker
 * - encode / decode: the wire format, and the packet types (docs/codec.md)
 * - MqttSnError, ErrorCode, ErrorDescription: every failure's numeric code
 * - topicMatches, isValidTopicName, isValidTopicFilter, hasWildcard: the MQTT topic rules
 * - isTopicId, parsePredefinedTopics, shortTopicToId, shortTopicFromId: MQTT-SN topic ids
 * - createTimerQueue: retransmission timer book-keeping (docs/timers.md)
 * - the datagram transport seam: UdpTransport, NativeUdpTransport (the batched engine), the in-memory
 *   MemoryNetwork, endpoints, and DtlsTransport (DTLS 1.2 over any of them, docs/security.md)
 * - codecImplementation(), timerImplementation(): which twin runs, native or
 *   TypeScript (MQTTSN_NATIVE, chosen on first use)
 *
 * The twins themselves and other test and benchmark internals are not part of
 * it: tests and benchmarks import them from their modules.
 */
export { encode, decode, codec, codecImplementation } from './codec';
export * from './codec/packets';
export { MqttSnError, ErrorCode, ErrorDescription, type ErrorCodeName, type ErrorCodeValue } from './errors';
export { hasWildcard, isValidTopicFilter, isValidTopicName, topicMatches } from './topics';
export { createTimerQueue, timerImplementation } from './timers';
export type { TimerQueue } from './timers/types';
export { isTopicId, MAX_TOPIC_ID, MIN_TOPIC_ID, parsePredefinedTopics, shortTopicFromId, shortTopicToId, type PredefinedTopicMap } from './topic-ids';
export * from './client';
export * from './gateway';
export * from './transport';
