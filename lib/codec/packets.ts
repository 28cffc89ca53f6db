/**
 * MQTT-SN v1.2 packets as plain objects. Field names are documented once, in
 * docs/codec.md; the rules each field obeys on the wire are enforced by
 * decode() and encode() alike.
 */

/** Message type octets (v1.2 §5.2.2). Note PUBCOMP (0x0E) precedes PUBREC (0x0F). */
export const MsgType = {
  ADVERTISE: 0x00,
  SEARCHGW: 0x01,
  GWINFO: 0x02,
  CONNECT: 0x04,
  CONNACK: 0x05,
  WILLTOPICREQ: 0x06,
  WILLTOPIC: 0x07,
  WILLMSGREQ: 0x08,
  WILLMSG: 0x09,
  REGISTER: 0x0a,
  REGACK: 0x0b,
  PUBLISH: 0x0c,
  PUBACK: 0x0d,
  PUBCOMP: 0x0e,
  PUBREC: 0x0f,
  PUBREL: 0x10,
  SUBSCRIBE: 0x12,
  SUBACK: 0x13,
  UNSUBSCRIBE: 0x14,
  UNSUBACK: 0x15,
  PINGREQ: 0x16,
  PINGRESP: 0x17,
  DISCONNECT: 0x18,
  WILLTOPICUPD: 0x1a,
  WILLTOPICRESP: 0x1b,
  WILLMSGUPD: 0x1c,
  WILLMSGRESP: 0x1d,
  ENCAPSULATED: 0xfe,
} as const;

export type PacketType = keyof typeof MsgType;

/** Packet type name by message type octet; undefined for reserved octets. */
export const PacketTypeName: Readonly<Record<number, PacketType | undefined>> = Object.fromEntries(
  Object.entries(MsgType).map(([name, code]) => [code, name as PacketType]),
);

/** TopicIdType, bits 1-0 of the flags octet. */
export const TopicIdType = {
  /** A topic id registered with REGISTER; in SUBSCRIBE/UNSUBSCRIBE: a topic name or filter. */
  NORMAL: 0,
  /** A pre-defined topic id known to both sides in advance. */
  PREDEFINED: 1,
  /** A two-character short topic name carried in the topic id field. */
  SHORT: 2,
} as const;
export type TopicIdTypeValue = 0 | 1 | 2;

/** Return codes (v1.2 §5.3.10). */
export const ReturnCode = {
  ACCEPTED: 0,
  CONGESTION: 1,
  INVALID_TOPIC_ID: 2,
  NOT_SUPPORTED: 3,
} as const;

/** QoS as MQTT-SN knows it: -1 is the connectionless publish (flags 0b11). */
export type QoS = -1 | 0 | 1 | 2;
/** QoS allowed where -1 is not (SUBSCRIBE, SUBACK, wills). */
export type SessionQoS = 0 | 1 | 2;

/** Largest total packet size the 3-octet length form can express. */
export const MAX_PACKET_SIZE = 65535;
/** Client ids are 1 to 23 octets of UTF-8. */
export const MAX_CLIENT_ID_BYTES = 23;

export interface Advertise { type: 'ADVERTISE'; gwId: number; duration: number }
export interface SearchGw { type: 'SEARCHGW'; radius: number }
/** gwAdd is present only when a client answers on behalf of a gateway. */
export interface GwInfo { type: 'GWINFO'; gwId: number; gwAdd?: Buffer }
export interface Connect {
  type: 'CONNECT';
  will: boolean;
  cleanSession: boolean;
  /** Keep-alive in seconds. */
  duration: number;
  clientId: string;
}
export interface Connack { type: 'CONNACK'; returnCode: number }
export interface WillTopicReq { type: 'WILLTOPICREQ' }
/** willTopic '' is the two-octet empty form that deletes the will. */
export interface WillTopic { type: 'WILLTOPIC'; qos: SessionQoS; retain: boolean; willTopic: string }
export interface WillMsgReq { type: 'WILLMSGREQ' }
export interface WillMsg { type: 'WILLMSG'; willMsg: Buffer }
export interface Register { type: 'REGISTER'; topicId: number; msgId: number; topicName: string }
export interface Regack { type: 'REGACK'; topicId: number; msgId: number; returnCode: number }
export interface Publish {
  type: 'PUBLISH';
  dup: boolean;
  qos: QoS;
  retain: boolean;
  topicIdType: TopicIdTypeValue;
  /** A number for normal and pre-defined ids; a two-character string for a short name. */
  topicId: number | string;
  msgId: number;
  payload: Buffer;
}
/** topicId is the raw 16-bit field: some gateways echo a short name's octets here. */
export interface Puback { type: 'PUBACK'; topicId: number; msgId: number; returnCode: number }
export interface Pubcomp { type: 'PUBCOMP'; msgId: number }
export interface Pubrec { type: 'PUBREC'; msgId: number }
export interface Pubrel { type: 'PUBREL'; msgId: number }
export interface Subscribe {
  type: 'SUBSCRIBE';
  dup: boolean;
  qos: SessionQoS;
  topicIdType: TopicIdTypeValue;
  msgId: number;
  /** NORMAL: the topic name or filter; PREDEFINED: a number; SHORT: a two-character string. */
  topicId: number | string;
}
export interface Suback { type: 'SUBACK'; qos: SessionQoS; topicId: number; msgId: number; returnCode: number }
export interface Unsubscribe {
  type: 'UNSUBSCRIBE';
  topicIdType: TopicIdTypeValue;
  msgId: number;
  /** As in SUBSCRIBE. */
  topicId: number | string;
}
export interface Unsuback { type: 'UNSUBACK'; msgId: number }
/** clientId is present only when a sleeping client wakes up to collect its messages. */
export interface PingReq { type: 'PINGREQ'; clientId?: string }
export interface PingResp { type: 'PINGRESP' }
/** duration (seconds) is present only when a client goes to sleep. */
export interface Disconnect { type: 'DISCONNECT'; duration?: number }
export interface WillTopicUpd { type: 'WILLTOPICUPD'; qos: SessionQoS; retain: boolean; willTopic: string }
export interface WillTopicResp { type: 'WILLTOPICRESP'; returnCode: number }
export interface WillMsgUpd { type: 'WILLMSGUPD'; willMsg: Buffer }
export interface WillMsgResp { type: 'WILLMSGRESP'; returnCode: number }
/** A forwarder's wrapper (0xFE) around one complete MQTT-SN packet. */
export interface Encapsulated {
  type: 'ENCAPSULATED';
  /** Ctrl bits 1-0: broadcast radius, used gateway to forwarder. */
  radius: number;
  wirelessNodeId: Buffer;
  packet: Packet;
}

export type Packet =
  | Advertise | SearchGw | GwInfo | Connect | Connack | WillTopicReq | WillTopic | WillMsgReq | WillMsg
  | Register | Regack | Publish | Puback | Pubcomp | Pubrec | Pubrel | Subscribe | Suback | Unsubscribe
  | Unsuback | PingReq | PingResp | Disconnect | WillTopicUpd | WillTopicResp | WillMsgUpd | WillMsgResp
  | Encapsulated;

/** The packet interface of one packet type, e.g. PacketOf<'PUBLISH'>. */
export type PacketOf<T extends PacketType> = Extract<Packet, { type: T }>;

/** One codec implementation: the TypeScript one or the native addon. */
export interface Codec {
  readonly name: 'native' | 'ts';
  /** Encodes one packet; throws MqttSnError on invalid input. */
  encode(packet: Packet): Buffer;
  /** Decodes exactly one datagram; throws MqttSnError on malformed input. */
  decode(datagram: Uint8Array): Packet;
}
