// Decoder: the twin of lib/codec/ts/decode.ts. Checks run in the order of
// docs/codec.md ("Decode rule order"), as there, so both report the same first error.
#pragma once
#include <cstddef>
#include <cstdint>

#include "text.h"
#include "wire.h"

namespace mqttsn {
namespace codec {

class Decoder {
 public:
  Decoder(const uint8_t* d, size_t len, int32_t* slots) : d_(d), len_(len), r_(slots) {}

  // Returns 0 with the fields in the slots, or an error code (context in kDContext).
  int32_t Run() {
    r_[kDOuter] = 0;
    r_[kDContext] = -1;
    return Frame(0, false);
  }

 private:
  const uint8_t* d_;
  size_t len_;
  int32_t* r_;

  int32_t Fail(int32_t code, int ctx) {
    r_[kDContext] = ctx;
    return code;
  }
  int U16(size_t i) const { return (d_[i] << 8) | d_[i + 1]; }

  int32_t Frame(size_t off, bool nested) {
    size_t n = len_ - off;
    if (n < 2) return Fail(kTruncated, -1);
    uint8_t b0 = d_[off];
    size_t total, header;
    if (b0 == kLongFormMarker) {
      if (n < 4) return Fail(kTruncated, -1);
      total = static_cast<size_t>(U16(off + 1));
      if (total < static_cast<size_t>(kLongFormMinTotal)) return Fail(kInvalidLength, -1);
      header = 3;
    } else if (b0 == 0x00) {
      return Fail(kInvalidLength, -1);
    } else {
      total = b0;
      header = 1;
    }
    int type = d_[off + header];
    if (type == msg::ENCAPSULATED) return Encapsulated(off, n, total, header, nested);
    if (!msg::Known(type)) return Fail(kReservedType, -1);
    if (total != n) return Fail(kLengthMismatch, type);
    return Body(type, off + header + 1, off + n);
  }

  int32_t Encapsulated(size_t off, size_t n, size_t total, size_t header, bool nested) {
    const int type = msg::ENCAPSULATED;
    if (nested || header != 1 || total < 3) return Fail(kInvalidEncapsulation, type);
    if (total > n) return Fail(kTruncated, type);
    if (total == n) return Fail(kInvalidEncapsulation, type);
    uint8_t ctrl = d_[off + 2];
    if (ctrl & ~kMaskEncapsulationRadius) return Fail(kInvalidFlags, type);
    r_[kDOuter] = msg::ENCAPSULATED;
    r_[kDEncRadius] = ctrl & kMaskEncapsulationRadius;
    r_[kDNodeStart] = static_cast<int32_t>(off + 3);
    r_[kDNodeEnd] = static_cast<int32_t>(off + total);
    return Frame(off + total, true);
  }

  void Var(size_t s, size_t e) {
    r_[kDVarStart] = static_cast<int32_t>(s);
    r_[kDVarEnd] = static_cast<int32_t>(e);
  }

  int32_t ClientId(size_t s, size_t e, int type) {
    bool ascii = true;
    if (!ValidUtf8(d_, s, e, &ascii)) return Fail(kInvalidUtf8, type);
    if (e - s < 1 || e - s > kMaxClientIdBytes) return Fail(kInvalidClientId, type);
    r_[kDAscii] = ascii;
    Var(s, e);
    return 0;
  }

  // A topic name (REGISTER, WILLTOPIC) or filter (SUBSCRIBE, UNSUBSCRIBE).
  int32_t TopicName(size_t s, size_t e, int type) {
    bool ascii = true;
    if (!ValidUtf8(d_, s, e, &ascii)) return Fail(kInvalidUtf8, type);
    if (!TopicText(d_, s, e)) return Fail(kInvalidTopic, type);
    r_[kDAscii] = ascii;
    Var(s, e);
    return 0;
  }

  int32_t SubscriptionTopic(size_t s, size_t e, int idType, int type) {
    if (idType == 0) return TopicName(s, e, type);
    if (e - s != 2) return Fail(kWrongSize, type);
    int id = U16(s);
    if (idType == 2) {
      if (!ShortTopicUnit(d_[s]) || !ShortTopicUnit(d_[s + 1])) return Fail(kInvalidTopic, type);
    } else if (id == 0 || id == kReservedTopicId) {
      return Fail(kInvalidTopicId, type);
    }
    r_[kDA] = id;
    return 0;
  }

  int32_t Body(int type, size_t s, size_t e) {
    size_t len = e - s;
    r_[kDType] = type;
    switch (type) {
      case msg::ADVERTISE:
        if (len != 3) return Fail(kWrongSize, type);
        r_[kDA] = d_[s];
        r_[kDB] = U16(s + 1);
        return 0;
      case msg::SEARCHGW:
      case msg::CONNACK:
      case msg::WILLTOPICRESP:
      case msg::WILLMSGRESP:
        if (len != 1) return Fail(kWrongSize, type);
        r_[kDA] = d_[s];
        return 0;
      case msg::GWINFO:
        if (len < 1) return Fail(kTruncated, type);
        r_[kDA] = d_[s];
        r_[kDPresent] = len > 1;
        Var(s + 1, e);
        return 0;
      case msg::CONNECT: {
        if (len < 4) return Fail(kTruncated, type);
        int flags = d_[s];
        if (flags & ~(kFlagWill | kFlagCleanSession)) return Fail(kInvalidFlags, type);
        if (d_[s + 1] != kProtocolId) return Fail(kInvalidProtocolId, type);
        r_[kDFlags] = flags;
        r_[kDB] = U16(s + 2);
        return ClientId(s + 4, e, type);
      }
      case msg::WILLTOPICREQ:
      case msg::WILLMSGREQ:
      case msg::PINGRESP:
        if (len != 0) return Fail(kWrongSize, type);
        return 0;
      case msg::WILLTOPIC:
      case msg::WILLTOPICUPD: {
        if (len == 0) {
          r_[kDPresent] = 0;
          return 0;
        }
        int flags = d_[s];
        if (flags & ~(kMaskQos | kFlagRetain)) return Fail(kInvalidFlags, type);
        if (QosFromFlags(flags) < 0) return Fail(kInvalidQos, type);
        r_[kDFlags] = flags;
        r_[kDPresent] = 1;
        return TopicName(s + 1, e, type);
      }
      case msg::WILLMSG:
      case msg::WILLMSGUPD:
        Var(s, e);
        return 0;
      case msg::REGISTER: {
        if (len < 4) return Fail(kTruncated, type);
        int topicId = U16(s);
        if (topicId == kReservedTopicId) return Fail(kInvalidTopicId, type);
        int msgId = U16(s + 2);
        if (msgId == 0) return Fail(kInvalidMsgId, type);
        r_[kDA] = topicId;
        r_[kDB] = msgId;
        return TopicName(s + 4, e, type);
      }
      case msg::REGACK: {
        if (len != 5) return Fail(kWrongSize, type);
        int topicId = U16(s);
        int msgId = U16(s + 2);
        if (msgId == 0) return Fail(kInvalidMsgId, type);
        int rc = d_[s + 4];
        if (rc == 0 && (topicId == 0 || topicId == kReservedTopicId)) return Fail(kInvalidTopicId, type);
        r_[kDA] = topicId;
        r_[kDB] = msgId;
        r_[kDC] = rc;
        return 0;
      }
      case msg::PUBLISH: {
        if (len < 5) return Fail(kTruncated, type);
        int flags = d_[s];
        if (flags & ~(kFlagDup | kMaskQos | kFlagRetain | kMaskTopicIdType)) return Fail(kInvalidFlags, type);
        int idType = flags & kMaskTopicIdType;
        int qos = QosFromFlags(flags);
        if (idType == 3 || (qos == -1 && idType == 0)) return Fail(kInvalidTopicIdType, type);
        if ((flags & kFlagDup) && qos <= 0) return Fail(kInvalidFlags, type);
        int topicId = U16(s + 1);
        if (idType == 2) {
          if (!ShortTopicUnit(d_[s + 1]) || !ShortTopicUnit(d_[s + 2])) return Fail(kInvalidTopic, type);
        } else if (topicId == 0 || topicId == kReservedTopicId) {
          return Fail(kInvalidTopicId, type);
        }
        int msgId = U16(s + 3);
        if (qos > 0 && msgId == 0) return Fail(kInvalidMsgId, type);
        r_[kDFlags] = flags;
        r_[kDA] = topicId;
        r_[kDB] = msgId;
        Var(s + 5, e);
        return 0;
      }
      case msg::PUBACK:
        if (len != 5) return Fail(kWrongSize, type);
        r_[kDA] = U16(s);
        r_[kDB] = U16(s + 2);
        r_[kDC] = d_[s + 4];
        return 0;
      case msg::PUBCOMP:
      case msg::PUBREC:
      case msg::PUBREL:
      case msg::UNSUBACK: {
        if (len != 2) return Fail(kWrongSize, type);
        int msgId = U16(s);
        if (msgId == 0) return Fail(kInvalidMsgId, type);
        r_[kDB] = msgId;
        return 0;
      }
      case msg::SUBSCRIBE:
      case msg::UNSUBSCRIBE: {
        if (len < 3) return Fail(kTruncated, type);
        int flags = d_[s];
        int allowed = type == msg::SUBSCRIBE ? (kFlagDup | kMaskQos | kMaskTopicIdType) : kMaskTopicIdType;
        if (flags & ~allowed) return Fail(kInvalidFlags, type);
        if (type == msg::SUBSCRIBE && QosFromFlags(flags) < 0) return Fail(kInvalidQos, type);
        int idType = flags & kMaskTopicIdType;
        if (idType == 3) return Fail(kInvalidTopicIdType, type);
        int msgId = U16(s + 1);
        if (msgId == 0) return Fail(kInvalidMsgId, type);
        r_[kDFlags] = flags;
        r_[kDB] = msgId;
        return SubscriptionTopic(s + 3, e, idType, type);
      }
      case msg::SUBACK: {
        if (len != 6) return Fail(kWrongSize, type);
        int flags = d_[s];
        if (flags & ~kMaskQos) return Fail(kInvalidFlags, type);
        if (QosFromFlags(flags) < 0) return Fail(kInvalidQos, type);
        int msgId = U16(s + 3);
        if (msgId == 0) return Fail(kInvalidMsgId, type);
        r_[kDFlags] = flags;
        r_[kDA] = U16(s + 1);
        r_[kDB] = msgId;
        r_[kDC] = d_[s + 5];
        return 0;
      }
      case msg::PINGREQ:
        if (len == 0) {
          r_[kDPresent] = 0;
          return 0;
        }
        r_[kDPresent] = 1;
        return ClientId(s, e, type);
      case msg::DISCONNECT:
        if (len == 0) {
          r_[kDPresent] = 0;
          return 0;
        }
        if (len != 2) return Fail(kWrongSize, type);
        r_[kDPresent] = 1;
        r_[kDA] = U16(s);
        return 0;
      default:
        return Fail(kReservedType, -1);
    }
  }
};

}  // namespace codec
}  // namespace mqttsn
