/**
 * Public types of the MQTT-SN client: event payloads and the values its
 * methods take and return. Payload fields are the reference class's event
 * parameters spelled in camelCase.
 */

/** 0: registered topic id (a topic name or filter in subscribe), 1: pre-defined id, 2: short topic name. */
export type TopicIdTypeArg = 0 | 1 | 2;

/** A topic id as the methods take it: a number (or its decimal text) for types 0 and 1, two characters for type 2. */
export type TopicRef = number | string;

/** Where the client stands with its gateway. */
export type ClientState = 'disconnected' | 'connecting' | 'active' | 'asleep' | 'awake' | 'disconnecting';

export interface ConnectedEvent {
  /** 0 when the connection is up; otherwise an error code (see docs/client.md). */
  statusCode: number;
  description: string;
}

export interface DisconnectedEvent {
  /** 0 after disconnect(); otherwise the reason as an error code. */
  statusCode: number;
  description: string;
}

export interface MessageInEvent {
  /** 0 for QoS -1 and 0. */
  msgId: number;
  /** The id as it arrived: a number, or the two characters of a short topic name. */
  topicId: number | string;
  topicIdType: TopicIdTypeArg;
  /** The topic name when the client knows it (registered, subscribed by name, pre-defined map, short name). */
  topicName: string | undefined;
  qos: -1 | 0 | 1 | 2;
  message: Buffer;
  retained: boolean;
  duplicate: boolean;
  /** Settable by a listener for QoS 1: the return code of the PUBACK (0 accepts, 1-3 reject). */
  returnCode: number;
}

export interface TopicInfoEvent {
  topicId: number;
  topicName: string;
  /** Settable: the return code of the REGACK (0 accepts; anything else rejects the id). */
  returnCode: number;
}

export interface GatewayInfoEvent {
  messageType: 'GWINFO' | 'ADVERTISE';
  gatewayId: number;
  /** host:port ([v6]:port for IPv6). */
  gatewayAddress: string;
  /** ADVERTISE: seconds until the next advertisement; 0 for GWINFO. */
  interval: number;
}

export interface DiscoverRequestEvent {
  radius: number;
  /** Settable: the gateway to announce (prefilled with the one this client knows best). */
  gatewayId: number;
  /** Settable: host:port of that gateway. */
  gatewayAddress: string;
  /** Settable: true answers the SEARCHGW with a GWINFO. */
  respond: boolean;
}

export interface ErrorEvent {
  errorCode: number;
  description: string;
}

export type LogType = 'Info' | 'Packet' | 'Reconnect' | 'Session';

export interface LogEvent {
  /** 1 info, 2 verbose, 3 debug. */
  logLevel: number;
  message: string;
  logType: LogType;
}

/** The client's events and their single payload argument. */
export interface MqttSnClientEvents {
  connected: [ConnectedEvent];
  disconnected: [DisconnectedEvent];
  messageIn: [MessageInEvent];
  topicInfo: [TopicInfoEvent];
  gatewayInfo: [GatewayInfoEvent];
  discoverRequest: [DiscoverRequestEvent];
  error: [ErrorEvent];
  log: [LogEvent];
}

export interface SubscribeResult {
  /** The id the gateway assigned (0 for a wildcard filter). */
  topicId: number;
  /** The QoS the gateway granted. */
  qos: 0 | 1 | 2;
}

/** Per-call options of publishMessage()/publishData(), an extension beyond the reference class. */
export interface PublishOptions {
  /** Overrides the Retain setting for this publish only. */
  retain?: boolean;
}

/** A gateway the client knows of, from configuration, GWINFO or ADVERTISE. */
export interface KnownGateway {
  gatewayId: number;
  host: string;
  port: number;
  /** Where it came from. */
  source: 'config' | 'GWINFO' | 'ADVERTISE' | 'connect';
}
