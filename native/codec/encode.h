// Encoder: the twin of lib/codec/ts/encode.ts. Every field is checked in the
// order of docs/codec.md ("Encode rule order") before an octet is written.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "text.h"
#include "wire.h"

namespace mqttsn {
namespace codec {

// A JavaScript value handed to the encoder: text, bytes, undefined or other.
struct Arg {
  enum Kind { kOther, kUndefined, kText, kBytes } kind = kOther;
  const char16_t* text = nullptr;
  const uint8_t* bytes = nullptr;
  size_t length = 0;
};

class Encoder {
 public:
  Encoder(int32_t* slots, const Arg& text, const Arg& bytes, const Arg& nodeId, uint8_t* out, size_t capacity)
      : f_(slots), text_(text), bytes_(bytes), nodeId_(nodeId), out_(out), cap_(capacity) {}

  // Returns the octets written (> 0), 0 when the slab is too small (kENeed set),
  // or minus an error code (context in kEContext).
  int32_t Run() {
    f_[kEContext] = -1;
    if (f_[kEOuter] != msg::ENCAPSULATED) return Packet(0);
    const int type = msg::ENCAPSULATED;
    int32_t radius = f_[kEEncRadius];
    if (radius < 0 || radius > kMaskEncapsulationRadius) return Fail(kInvalidField, type);
    if (nodeId_.kind != Arg::kBytes && nodeId_.kind != Arg::kUndefined) return Fail(kInvalidField, type);
    size_t nodeLen = nodeId_.kind == Arg::kBytes ? nodeId_.length : 0;
    if (nodeLen > static_cast<size_t>(kMaxWirelessNodeIdBytes)) return Fail(kInvalidEncapsulation, type);
    size_t header = 3 + nodeLen;
    int32_t inner = Packet(header);
    if (inner <= 0) {
      if (inner == 0) f_[kENeed] += static_cast<int32_t>(header);
      return inner;
    }
    uint8_t* o = out_;
    o[0] = static_cast<uint8_t>(header);
    o[1] = msg::ENCAPSULATED;
    o[2] = static_cast<uint8_t>(radius);
    if (nodeLen > 0) std::memcpy(o + 3, nodeId_.bytes, nodeLen);
    return static_cast<int32_t>(header) + inner;
  }

 private:
  int32_t* f_;
  const Arg& text_;
  const Arg& bytes_;
  const Arg& nodeId_;
  uint8_t* out_;
  size_t cap_;
  // Where the current frame is written and where its body starts.
  uint8_t* frame_ = nullptr;
  size_t body_ = 0;
  size_t total_ = 0;

  int32_t Fail(int32_t code, int ctx) {
    f_[kEContext] = ctx;
    return -code;
  }

  // Field readers: each returns false after recording the error in *err.
  // An integer from 0 to `max` (the sentinels are all negative).
  bool UInt(int slot, int32_t max, int type, int32_t* v, int32_t* err) {
    int32_t x = f_[slot];
    if (x < 0 || x > max) {
      *err = Fail(kInvalidField, type);
      return false;
    }
    *v = x;
    return true;
  }
  bool U8(int slot, int type, int32_t* v, int32_t* err) { return UInt(slot, 0xff, type, v, err); }
  bool U16(int slot, int type, int32_t* v, int32_t* err) { return UInt(slot, 0xffff, type, v, err); }
  bool MsgId(int type, int32_t* v, int32_t* err) {
    if (!U16(kEMsgId, type, v, err)) return false;
    if (*v == 0) {
      *err = Fail(kInvalidMsgId, type);
      return false;
    }
    return true;
  }
  bool Bool(int slot, int type, bool* v, int32_t* err) {
    int32_t x = f_[slot];
    if (x == 1) *v = true;
    else if (x == 0 || x == kUndefined) *v = false;
    else {
      *err = Fail(kInvalidField, type);
      return false;
    }
    return true;
  }
  bool Qos(int type, bool allowMinusOne, int32_t* v, int32_t* err) {
    int32_t x = f_[kEQos];
    if (x == kUndefined) x = 0;
    if (x == 0 || x == 1 || x == 2 || (allowMinusOne && x == -1)) {
      *v = x;
      return true;
    }
    *err = Fail(kInvalidQos, type);
    return false;
  }
  bool IdType(int type, int32_t* v, int32_t* err) {
    int32_t x = f_[kETopicIdType];
    if (x == kUndefined) x = 0;
    if (x == 0 || x == 1 || x == 2) {
      *v = x;
      return true;
    }
    *err = Fail(kInvalidTopicIdType, type);
    return false;
  }
  bool TopicId(int type, int32_t* v, int32_t* err) {
    if (!U16(kETopicId, type, v, err)) return false;
    if (*v == 0 || *v == kReservedTopicId) {
      *err = Fail(kInvalidTopicId, type);
      return false;
    }
    return true;
  }
  bool Text(int type, int64_t* n, int32_t* err) {
    if (text_.kind != Arg::kText) {
      *err = Fail(kInvalidField, type);
      return false;
    }
    *n = Utf8Length(text_.text, text_.length);
    if (*n < 0) {
      *err = Fail(kInvalidUtf8, type);
      return false;
    }
    return true;
  }
  bool ClientId(int type, int64_t* n, int32_t* err) {
    if (!Text(type, n, err)) return false;
    if (*n < 1 || *n > kMaxClientIdBytes) {
      *err = Fail(kInvalidClientId, type);
      return false;
    }
    return true;
  }
  bool TopicName(int type, int64_t* n, int32_t* err) {
    if (!Text(type, n, err)) return false;
    if (!ValidTopicName(text_.text, 0, text_.length)) {
      *err = Fail(kInvalidTopic, type);
      return false;
    }
    return true;
  }
  bool ShortTopic(int type, int32_t* err) {
    if (text_.kind != Arg::kText) {
      *err = Fail(kInvalidField, type);
      return false;
    }
    if (text_.length != 2 || !ShortTopicUnit(text_.text[0]) || !ShortTopicUnit(text_.text[1])) {
      *err = Fail(kInvalidTopic, type);
      return false;
    }
    return true;
  }
  bool Bytes(int type, size_t* n, int32_t* err) {
    if (bytes_.kind == Arg::kUndefined) {
      *n = 0;
      return true;
    }
    if (bytes_.kind != Arg::kBytes) {
      *err = Fail(kInvalidField, type);
      return false;
    }
    *n = bytes_.length;
    return true;
  }

  // Reserves the frame for `body` octets after the type octet at out_+at.
  // Returns 1, 0 when the slab is too small, or minus an error code.
  int32_t Frame(size_t at, int type, int64_t body) {
    size_t header;
    if (body + 2 <= 255) {
      total_ = static_cast<size_t>(body + 2);
      header = 2;
    } else {
      if (body + 4 > kMaxPacketSize) return Fail(kPacketTooLarge, type);
      total_ = static_cast<size_t>(body + 4);
      header = 4;
    }
    if (at + total_ > cap_) {
      f_[kENeed] = static_cast<int32_t>(total_);
      return 0;
    }
    frame_ = out_ + at;
    if (header == 2) {
      frame_[0] = static_cast<uint8_t>(total_);
      frame_[1] = static_cast<uint8_t>(type);
    } else {
      frame_[0] = kLongFormMarker;
      frame_[1] = static_cast<uint8_t>(total_ >> 8);
      frame_[2] = static_cast<uint8_t>(total_ & 0xff);
      frame_[3] = static_cast<uint8_t>(type);
    }
    body_ = header;
    return 1;
  }
  void Put8(size_t i, int32_t v) { frame_[body_ + i] = static_cast<uint8_t>(v); }
  void Put16(size_t i, int32_t v) {
    frame_[body_ + i] = static_cast<uint8_t>(v >> 8);
    frame_[body_ + i + 1] = static_cast<uint8_t>(v & 0xff);
  }
  void PutText(size_t i) { WriteUtf8(text_.text, text_.length, frame_ + body_ + i); }
  void PutBytes(size_t i, size_t n) {
    if (n > 0) std::memcpy(frame_ + body_ + i, bytes_.bytes, n);
  }
  int32_t Done() { return static_cast<int32_t>(total_); }

#define MQTTSN_FRAME(body)                       \
  do {                                           \
    int32_t r__ = Frame(at, type, (body));       \
    if (r__ <= 0) return r__;                    \
  } while (0)
#define MQTTSN_TRY(call) \
  do {                   \
    if (!(call)) return err; \
  } while (0)

  // Encodes the packet described by the slots at out_+at; Run wraps it when kEOuter asks.
  int32_t Packet(size_t at) {
    int32_t type = f_[kEType];
    if (type == kNotObject) return Fail(kInvalidField, -1);
    if (!msg::Known(type)) return Fail(kReservedType, -1);
    int32_t err = 0;
    switch (type) {
      case msg::ADVERTISE: {
        int32_t gwId, duration;
        MQTTSN_TRY(U8(kEOneOctet, type, &gwId, &err));
        MQTTSN_TRY(U16(kEDuration, type, &duration, &err));
        MQTTSN_FRAME(3);
        Put8(0, gwId);
        Put16(1, duration);
        return Done();
      }
      case msg::SEARCHGW:
      case msg::CONNACK:
      case msg::WILLTOPICRESP:
      case msg::WILLMSGRESP: {
        int32_t v;
        MQTTSN_TRY(U8(kEOneOctet, type, &v, &err));
        MQTTSN_FRAME(1);
        Put8(0, v);
        return Done();
      }
      case msg::GWINFO: {
        int32_t gwId;
        size_t n;
        MQTTSN_TRY(U8(kEOneOctet, type, &gwId, &err));
        MQTTSN_TRY(Bytes(type, &n, &err));
        MQTTSN_FRAME(1 + static_cast<int64_t>(n));
        Put8(0, gwId);
        PutBytes(1, n);
        return Done();
      }
      case msg::CONNECT: {
        bool will, clean;
        int32_t duration;
        int64_t n;
        MQTTSN_TRY(Bool(kEWill, type, &will, &err));
        MQTTSN_TRY(Bool(kEClean, type, &clean, &err));
        MQTTSN_TRY(U16(kEDuration, type, &duration, &err));
        MQTTSN_TRY(ClientId(type, &n, &err));
        MQTTSN_FRAME(4 + n);
        Put8(0, (will ? kFlagWill : 0) | (clean ? kFlagCleanSession : 0));
        Put8(1, kProtocolId);
        Put16(2, duration);
        PutText(4);
        return Done();
      }
      case msg::WILLTOPICREQ:
      case msg::WILLMSGREQ:
      case msg::PINGRESP:
        MQTTSN_FRAME(0);
        return Done();
      case msg::WILLTOPIC:
      case msg::WILLTOPICUPD: {
        if (text_.kind != Arg::kText) return Fail(kInvalidField, type);
        if (text_.length == 0) {
          MQTTSN_FRAME(0);
          return Done();
        }
        int32_t qos;
        bool retain;
        int64_t n;
        MQTTSN_TRY(Qos(type, false, &qos, &err));
        MQTTSN_TRY(Bool(kERetain, type, &retain, &err));
        MQTTSN_TRY(TopicName(type, &n, &err));
        MQTTSN_FRAME(1 + n);
        Put8(0, QosToFlags(qos) | (retain ? kFlagRetain : 0));
        PutText(1);
        return Done();
      }
      case msg::WILLMSG:
      case msg::WILLMSGUPD: {
        size_t n;
        MQTTSN_TRY(Bytes(type, &n, &err));
        MQTTSN_FRAME(static_cast<int64_t>(n));
        PutBytes(0, n);
        return Done();
      }
      case msg::REGISTER: {
        int32_t topicId, msgId;
        int64_t n;
        MQTTSN_TRY(U16(kETopicId, type, &topicId, &err));
        if (topicId == kReservedTopicId) return Fail(kInvalidTopicId, type);
        MQTTSN_TRY(MsgId(type, &msgId, &err));
        MQTTSN_TRY(TopicName(type, &n, &err));
        MQTTSN_FRAME(4 + n);
        Put16(0, topicId);
        Put16(2, msgId);
        PutText(4);
        return Done();
      }
      case msg::REGACK: {
        int32_t topicId, msgId, rc;
        MQTTSN_TRY(U16(kETopicId, type, &topicId, &err));
        MQTTSN_TRY(MsgId(type, &msgId, &err));
        MQTTSN_TRY(U8(kEReturnCode, type, &rc, &err));
        if (rc == 0 && (topicId == 0 || topicId == kReservedTopicId)) return Fail(kInvalidTopicId, type);
        MQTTSN_FRAME(5);
        Put16(0, topicId);
        Put16(2, msgId);
        Put8(4, rc);
        return Done();
      }
      case msg::PUBLISH: {
        bool dup, retain;
        int32_t qos, idType, topicId = 0, msgId;
        size_t n;
        MQTTSN_TRY(Bool(kEDup, type, &dup, &err));
        MQTTSN_TRY(Qos(type, true, &qos, &err));
        MQTTSN_TRY(Bool(kERetain, type, &retain, &err));
        MQTTSN_TRY(IdType(type, &idType, &err));
        if (qos == -1 && idType == 0) return Fail(kInvalidTopicIdType, type);
        if (dup && qos <= 0) return Fail(kInvalidFlags, type);
        if (idType == 2) {
          MQTTSN_TRY(ShortTopic(type, &err));
          topicId = (text_.text[0] << 8) | text_.text[1];
        } else {
          MQTTSN_TRY(TopicId(type, &topicId, &err));
        }
        if (qos > 0) {
          MQTTSN_TRY(MsgId(type, &msgId, &err));
        } else if (f_[kEMsgId] == kUndefined) {
          msgId = 0;
        } else {
          MQTTSN_TRY(U16(kEMsgId, type, &msgId, &err));
        }
        MQTTSN_TRY(Bytes(type, &n, &err));
        MQTTSN_FRAME(5 + static_cast<int64_t>(n));
        Put8(0, (dup ? kFlagDup : 0) | QosToFlags(qos) | (retain ? kFlagRetain : 0) | idType);
        Put16(1, topicId);
        Put16(3, msgId);
        PutBytes(5, n);
        return Done();
      }
      case msg::PUBACK: {
        int32_t topicId, msgId, rc;
        MQTTSN_TRY(U16(kETopicId, type, &topicId, &err));
        MQTTSN_TRY(U16(kEMsgId, type, &msgId, &err));
        MQTTSN_TRY(U8(kEReturnCode, type, &rc, &err));
        MQTTSN_FRAME(5);
        Put16(0, topicId);
        Put16(2, msgId);
        Put8(4, rc);
        return Done();
      }
      case msg::PUBCOMP:
      case msg::PUBREC:
      case msg::PUBREL:
      case msg::UNSUBACK: {
        int32_t msgId;
        MQTTSN_TRY(MsgId(type, &msgId, &err));
        MQTTSN_FRAME(2);
        Put16(0, msgId);
        return Done();
      }
      case msg::SUBSCRIBE:
      case msg::UNSUBSCRIBE: {
        bool subscribe = type == msg::SUBSCRIBE;
        bool dup = false;
        int32_t qos = 0, idType, msgId, topicId = 0;
        int64_t n = 2;
        if (subscribe) {
          MQTTSN_TRY(Bool(kEDup, type, &dup, &err));
          MQTTSN_TRY(Qos(type, false, &qos, &err));
        }
        MQTTSN_TRY(IdType(type, &idType, &err));
        MQTTSN_TRY(MsgId(type, &msgId, &err));
        if (idType == 0) {
          MQTTSN_TRY(Text(type, &n, &err));
          if (!ValidTopicFilter(text_.text, 0, text_.length)) return Fail(kInvalidTopic, type);
        } else if (idType == 2) {
          MQTTSN_TRY(ShortTopic(type, &err));
          topicId = (text_.text[0] << 8) | text_.text[1];
        } else {
          MQTTSN_TRY(TopicId(type, &topicId, &err));
        }
        MQTTSN_FRAME(3 + n);
        Put8(0, (dup ? kFlagDup : 0) | QosToFlags(qos) | idType);
        Put16(1, msgId);
        if (idType == 0) PutText(3);
        else Put16(3, topicId);
        return Done();
      }
      case msg::SUBACK: {
        int32_t qos, topicId, msgId, rc;
        MQTTSN_TRY(Qos(type, false, &qos, &err));
        MQTTSN_TRY(U16(kETopicId, type, &topicId, &err));
        MQTTSN_TRY(MsgId(type, &msgId, &err));
        MQTTSN_TRY(U8(kEReturnCode, type, &rc, &err));
        MQTTSN_FRAME(6);
        Put8(0, QosToFlags(qos));
        Put16(1, topicId);
        Put16(3, msgId);
        Put8(5, rc);
        return Done();
      }
      case msg::PINGREQ: {
        if (text_.kind == Arg::kUndefined) {
          MQTTSN_FRAME(0);
          return Done();
        }
        int64_t n;
        MQTTSN_TRY(ClientId(type, &n, &err));
        MQTTSN_FRAME(n);
        PutText(0);
        return Done();
      }
      case msg::DISCONNECT: {
        if (f_[kEDuration] == kUndefined) {
          MQTTSN_FRAME(0);
          return Done();
        }
        int32_t duration;
        MQTTSN_TRY(U16(kEDuration, type, &duration, &err));
        MQTTSN_FRAME(2);
        Put16(0, duration);
        return Done();
      }
      case msg::ENCAPSULATED:
        // Only reachable for a packet nested in an encapsulation (Run handles the outer one).
        return Fail(kInvalidEncapsulation, type);
      default:
        return Fail(kReservedType, -1);
    }
  }
#undef MQTTSN_FRAME
#undef MQTTSN_TRY
};

}  // namespace codec
}  // namespace mqttsn
