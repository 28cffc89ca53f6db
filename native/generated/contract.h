// Generated from lib/twin-contract.ts by scripts/native-contract.ts (npm run build). Do not edit:
// change the table and rebuild; `npm test` fails while this file or the addon is stale.
#pragma once
#include <cstdint>

namespace mqttsn {

// Fingerprint of the contract; the addon exports it and JavaScript refuses another.
constexpr char kContractDigest[] = "2bc5348b2a5d1e74";

// Message type octets (lib/codec/packets.ts MsgType).
namespace msg {
enum Type : int32_t {
  ADVERTISE = 0x00,
  SEARCHGW = 0x01,
  GWINFO = 0x02,
  CONNECT = 0x04,
  CONNACK = 0x05,
  WILLTOPICREQ = 0x06,
  WILLTOPIC = 0x07,
  WILLMSGREQ = 0x08,
  WILLMSG = 0x09,
  REGISTER = 0x0a,
  REGACK = 0x0b,
  PUBLISH = 0x0c,
  PUBACK = 0x0d,
  PUBCOMP = 0x0e,
  PUBREC = 0x0f,
  PUBREL = 0x10,
  SUBSCRIBE = 0x12,
  SUBACK = 0x13,
  UNSUBSCRIBE = 0x14,
  UNSUBACK = 0x15,
  PINGREQ = 0x16,
  PINGRESP = 0x17,
  DISCONNECT = 0x18,
  WILLTOPICUPD = 0x1a,
  WILLTOPICRESP = 0x1b,
  WILLMSGUPD = 0x1c,
  WILLMSGRESP = 0x1d,
  ENCAPSULATED = 0xfe,
};

// Whether an octet is a message type of the specification.
constexpr bool Known(int32_t type) {
  switch (type) {
    case ADVERTISE:
    case SEARCHGW:
    case GWINFO:
    case CONNECT:
    case CONNACK:
    case WILLTOPICREQ:
    case WILLTOPIC:
    case WILLMSGREQ:
    case WILLMSG:
    case REGISTER:
    case REGACK:
    case PUBLISH:
    case PUBACK:
    case PUBCOMP:
    case PUBREC:
    case PUBREL:
    case SUBSCRIBE:
    case SUBACK:
    case UNSUBSCRIBE:
    case UNSUBACK:
    case PINGREQ:
    case PINGRESP:
    case DISCONNECT:
    case WILLTOPICUPD:
    case WILLTOPICRESP:
    case WILLMSGUPD:
    case WILLMSGRESP:
    case ENCAPSULATED:
      return true;
    default:
      return false;
  }
}
}  // namespace msg

namespace codec {

// Error codes the codec reports (lib/errors.ts ErrorCode, 6xx).
enum Error : int32_t {
  kTruncated = 601,
  kLengthMismatch = 602,
  kInvalidLength = 603,
  kReservedType = 604,
  kWrongSize = 605,
  kInvalidTopicId = 606,
  kInvalidQos = 607,
  kInvalidTopicIdType = 608,
  kInvalidProtocolId = 609,
  kInvalidClientId = 610,
  kInvalidUtf8 = 611,
  kInvalidTopic = 612,
  kInvalidMsgId = 613,
  kPacketTooLarge = 614,
  kInvalidField = 615,
  kInvalidEncapsulation = 616,
  kInvalidFlags = 617,
};

// Wire constants (lib/codec/ts/wire.ts, lib/codec/packets.ts).
constexpr int32_t kFlagDup = 0x80;
constexpr int32_t kMaskQos = 0x60;
constexpr int32_t kFlagRetain = 0x10;
constexpr int32_t kFlagWill = 0x08;
constexpr int32_t kFlagCleanSession = 0x04;
constexpr int32_t kMaskTopicIdType = 0x03;
constexpr int32_t kMaskEncapsulationRadius = 0x03;
constexpr int32_t kProtocolId = 0x01;
constexpr int32_t kLongFormMarker = 0x01;
constexpr int32_t kLongFormMinTotal = 258;
constexpr int32_t kMaxPacketSize = 65535;
constexpr int32_t kMaxClientIdBytes = 23;
constexpr int32_t kMaxWirelessNodeIdBytes = 252;

// Values JavaScript writes into an encode slot for a field that is not an int32 number.
constexpr int32_t kInvalid = static_cast<int32_t>(-2147483648LL);
constexpr int32_t kUndefined = -2147483647;
constexpr int32_t kNotObject = -2147483646;

// Decode result slots, read by lib/codec/native-codec.ts.
enum DecodeSlot : int32_t {
  kDResult = 0,      // 0 or an error code
  kDContext = 1,     // message type octet the error is about, or -1
  kDOuter = 2,       // 0xFE when the packet came inside an encapsulation, else 0
  kDType = 3,        // message type octet of the (inner) packet
  kDFlags = 4,       // raw flags octet
  kDA = 5,           // first numeric field
  kDB = 6,           // second numeric field
  kDC = 7,           // third numeric field
  kDVarStart = 8,    // variable part (text or bytes): start offset in the datagram
  kDVarEnd = 9,      // variable part: end offset
  kDAscii = 10,      // 1 when the text is all ASCII
  kDPresent = 11,    // 1 when an optional part is present
  kDEncRadius = 12,  // encapsulation: radius from Ctrl
  kDNodeStart = 13,  // encapsulation: wireless node id start offset
  kDNodeEnd = 14,    // encapsulation: wireless node id end offset
  kDecodeSlots = 15
};

// Encode input slots, written by lib/codec/native-codec.ts.
enum EncodeSlot : int32_t {
  kEType = 0,          // message type octet, -1 unknown, NOT_OBJECT for a non-object
  kEDup = 1,           // dup flag
  kEQos = 2,           // qos
  kERetain = 3,        // retain flag
  kEWill = 4,          // will flag
  kEClean = 5,         // cleanSession flag
  kETopicIdType = 6,   // topicIdType
  kEOneOctet = 7,      // gwId, radius or returnCode: the one-octet field of the type
  kEDuration = 8,      // duration
  kETopicId = 9,       // topicId
  kEMsgId = 10,        // msgId
  kEReturnCode = 11,   // returnCode
  kEOuter = 12,        // 0xFE to wrap the packet in an encapsulation, else 0
  kEEncRadius = 13,    // encapsulation radius
  kEOffset = 14,       // where to write in the output slab
  kEContext = 15,      // out: message type octet of an error, or -1
  kENeed = 16,         // out: octets needed when the slab is too small
  kEncodeSlots = 17
};

}  // namespace codec

namespace timers {

// Limits (lib/timers/arguments.ts).
constexpr double kMaxTimerId = 4294967295.0;

// The state array a queue keeps current, read by lib/timers/native-timers.ts.
enum StateSlot : int32_t {
  kNextDeadline = 0,   // earliest deadline, Infinity when empty
  kSize = 1,           // number of scheduled timers
  kStateSlots = 2
};

}  // namespace timers
}  // namespace mqttsn
