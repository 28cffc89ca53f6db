/**
 * The MQTT-SN gateway: MQTT-SN clients over UDP bridged to an MQTT broker
 * (a configured URL, or an embedded one).
 */
export { MqttSnGateway } from './gateway';
export type { GatewayLogEntry, GatewayClientEvent } from './gateway';
export type { GatewayOptions, GatewayMode, LogLevel, PredefinedTopics } from './options';
export type { GatewayStats } from './stats';
