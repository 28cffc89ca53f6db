/** The MQTT-SN client: `MQTTSN` and the types of its events and results. */
export { MQTTSN, type MqttSnClientOptions } from './mqttsn';
export type {
  ClientState,
  ConnectedEvent,
  DisconnectedEvent,
  DiscoverRequestEvent,
  ErrorEvent,
  GatewayInfoEvent,
  KnownGateway,
  LogEvent,
  LogType,
  MessageInEvent,
  MqttSnClientEvents,
  PublishOptions,
  SubscribeResult,
  TopicIdTypeArg,
  TopicInfoEvent,
  TopicRef,
} from './types';
export { SETTING_NAMES as CLIENT_SETTING_NAMES } from './config';
export { CLIENT_ERRORS, type ClientErrorEntry } from './errors';
export {
  MqttSnClient,
  type ConnectInfo,
  type ManagedClientEvents,
  type ManagedPublishOptions,
  type ManagedSubscribeOptions,
  type MessageInfo,
  type TopicType,
} from './managed-client';
export type {
  DiscoveryOptions,
  GatewayAddress,
  HoldOptions,
  ManagedClientOptions,
  ManagedWill,
  ReconnectOptions,
} from './managed-options';
