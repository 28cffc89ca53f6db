/**
 * The MQTT-SN gateway: MQTT-SN clients over UDP bridged to an MQTT broker
 * (a configured URL, or an embedded one).
 */
export { MqttSnGateway } from './gateway';
export type { GatewayLogEntry, GatewayLogContext, GatewayClientEvent } from './gateway';
export { GatewayMetrics, startMetricsServer, type MetricsServer, type MetricsSource } from './metrics';
export { parseClientIdFile, type ClientIdBindings } from './client-id-rules';
export type { GatewayDtlsOptions } from './dtls-listener';
export type { GatewayOptions, GatewayMode, LogLevel, PredefinedTopics } from './options';
export type { GatewayStats } from './stats';
export type { SessionStore, StoredSession } from './session-store';
