// MQTT-SN v1.2 codec core: pure C++ over bytes, no Node-API. The twin of
// lib/codec/ts/decode.ts and lib/codec/ts/encode.ts; the checks run in the
// same order (docs/codec.md) so both report the same first error.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace mqttsn {
namespace codec {

// Error codes (lib/errors.ts ErrorCode, codec range).
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

// Decode result slots (lib/codec/native-codec.ts reads the same indexes).
enum DecodeSlot {
  kDResult = 0,   // 0 or an error code
  kDContext,      // message type octet the error is about, or -1
  kDOuter,        // 0xFE when the packet came inside an encapsulation, else 0
  kDType,         // message type octet of the (inner) packet
  kDFlags,        // raw flags octet
  kDA,            // first numeric field
  kDB,            // second numeric field
  kDC,            // third numeric field
  kDVarStart,     // variable part (text or bytes) start offset in the datagram
  kDVarEnd,       // ... and end offset
  kDAscii,        // 1 when the text is all ASCII
  kDPresent,      // 1 when an optional part is present
  kDEncRadius,    // encapsulation: radius from Ctrl
  kDNodeStart,    // encapsulation: wireless node id start
  kDNodeEnd,      // ... and end
  kDecodeSlots
};

// Encode input slots (written by lib/codec/native-codec.ts).
enum EncodeSlot {
  kEType = 0,     // message type octet, -1 unknown, kNotObject for a non-object
  kEDup,
  kEQos,
  kERetain,
  kEWill,
  kEClean,
  kETopicIdType,
  kEGwId,         // gwId / radius / returnCode (the one-octet field of the type)
  kEDuration,
  kETopicId,
  kEMsgId,
  kEReturnCode,
  kEOuter,        // 0xFE to wrap the packet in an encapsulation, else 0
  kEEncRadius,
  kEOffset,       // where to write in the output slab
  kEContext,      // out: message type octet of an error, or -1
  kENeed,         // out: octets needed when the slab is too small
  kEncodeSlots
};

// Sentinels the JavaScript side writes for values that are not integers.
constexpr int32_t kInvalid = INT32_MIN;
constexpr int32_t kUndefined = INT32_MIN + 1;
constexpr int32_t kNotObject = INT32_MIN + 2;

// Smallest total the 3-octet length form may declare (see LONG_FORM_MIN_TOTAL).
constexpr int32_t kLongFormMinTotal = 258;

inline bool KnownType(int t) {
  return (t >= 0x00 && t <= 0x02) || (t >= 0x04 && t <= 0x10) || (t >= 0x12 && t <= 0x18) ||
         (t >= 0x1a && t <= 0x1d);
}

inline int QosFromFlags(int flags) {
  int bits = (flags & 0x60) >> 5;
  return bits == 3 ? -1 : bits;
}

// ---------------------------------------------------------------- text rules

// Well-formed UTF-8 (RFC 3629); *ascii tells whether every octet is < 0x80.
inline bool ValidUtf8(const uint8_t* d, size_t s, size_t e, bool* ascii) {
  bool allAscii = true;
  size_t i = s;
  while (i < e) {
    uint8_t b = d[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    allAscii = false;
    size_t need;
    uint8_t lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b == 0xe0) lo = 0xa0;
      else if (b == 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b == 0xf0) lo = 0x90;
      else if (b == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (i + need >= e) return false;
    uint8_t second = d[i + 1];
    if (second < lo || second > hi) return false;
    for (size_t k = 2; k <= need; k++) {
      uint8_t c = d[i + k];
      if (c < 0x80 || c > 0xbf) return false;
    }
    i += need + 1;
  }
  *ascii = allAscii;
  return true;
}

// Encoding checks topic names and filters on UTF-16 code units: '+', '#', '/'
// and NUL are single units in both UTF-8 and UTF-16, so these templates take either.
template <typename Unit>
inline bool ValidTopicName(const Unit* d, size_t s, size_t e) {
  if (e <= s) return false;
  for (size_t i = s; i < e; i++) {
    Unit c = d[i];
    if (c == 0x00 || c == 0x2b || c == 0x23) return false;
  }
  return true;
}

template <typename Unit>
inline bool ValidTopicFilter(const Unit* d, size_t s, size_t e) {
  if (e <= s) return false;
  for (size_t i = s; i < e; i++) {
    Unit c = d[i];
    if (c == 0x00) return false;
    if (c == 0x2b || c == 0x23) {
      if (i > s && d[i - 1] != 0x2f) return false;
      if (c == 0x23 && i != e - 1) return false;
      if (c == 0x2b && i + 1 < e && d[i + 1] != 0x2f) return false;
    }
  }
  return true;
}

// Topic text as decoding checks it (names and filters): present and free of
// NUL. Where '+' and '#' may stand is left to the protocol layer, which answers
// with a return code instead of dropping the datagram.
inline bool TopicText(const uint8_t* d, size_t s, size_t e) {
  if (e <= s) return false;
  for (size_t i = s; i < e; i++) {
    if (d[i] == 0x00) return false;
  }
  return true;
}

inline bool ShortTopicUnit(unsigned c) { return c >= 0x01 && c <= 0x7f; }

// UTF-8 length of UTF-16 text, or -1 for a lone surrogate.
inline int64_t Utf8Length(const char16_t* t, size_t n) {
  int64_t bytes = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned c = t[i];
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c < 0xd800 || c > 0xdfff) bytes += 3;
    else if (c <= 0xdbff && i + 1 < n) {
      unsigned d = t[i + 1];
      if (d < 0xdc00 || d > 0xdfff) return -1;
      bytes += 4;
      i++;
    } else {
      return -1;
    }
  }
  return bytes;
}

// Writes well-formed UTF-16 as UTF-8; returns octets written.
inline size_t WriteUtf8(const char16_t* t, size_t n, uint8_t* out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t c = t[i];
    if (c < 0x80) {
      out[o++] = static_cast<uint8_t>(c);
    } else if (c < 0x800) {
      out[o++] = static_cast<uint8_t>(0xc0 | (c >> 6));
      out[o++] = static_cast<uint8_t>(0x80 | (c & 0x3f));
    } else if (c >= 0xd800 && c <= 0xdbff) {
      uint32_t cp = 0x10000 + ((c - 0xd800) << 10) + (t[++i] - 0xdc00);
      out[o++] = static_cast<uint8_t>(0xf0 | (cp >> 18));
      out[o++] = static_cast<uint8_t>(0x80 | ((cp >> 12) & 0x3f));
      out[o++] = static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3f));
      out[o++] = static_cast<uint8_t>(0x80 | (cp & 0x3f));
    } else {
      out[o++] = static_cast<uint8_t>(0xe0 | (c >> 12));
      out[o++] = static_cast<uint8_t>(0x80 | ((c >> 6) & 0x3f));
      out[o++] = static_cast<uint8_t>(0x80 | (c & 0x3f));
    }
  }
  return o;
}

// ---------------------------------------------------------------- decoding

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
    if (b0 == 0x01) {
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
    if (type == 0xfe) return Encapsulated(off, n, total, header, nested);
    if (!KnownType(type)) return Fail(kReservedType, -1);
    if (total != n) return Fail(kLengthMismatch, type);
    return Body(type, off + header + 1, off + n);
  }

  int32_t Encapsulated(size_t off, size_t n, size_t total, size_t header, bool nested) {
    const int type = 0xfe;
    if (nested || header != 1 || total < 3) return Fail(kInvalidEncapsulation, type);
    if (total > n) return Fail(kTruncated, type);
    if (total == n) return Fail(kInvalidEncapsulation, type);
    uint8_t ctrl = d_[off + 2];
    if (ctrl & ~0x03) return Fail(kInvalidFlags, type);
    r_[kDOuter] = 0xfe;
    r_[kDEncRadius] = ctrl & 0x03;
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
    if (e - s < 1 || e - s > 23) return Fail(kInvalidClientId, type);
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
    } else if (id == 0 || id == 0xffff) {
      return Fail(kInvalidTopicId, type);
    }
    r_[kDA] = id;
    return 0;
  }

  int32_t Body(int type, size_t s, size_t e) {
    size_t len = e - s;
    r_[kDType] = type;
    switch (type) {
      case 0x00:
        if (len != 3) return Fail(kWrongSize, type);
        r_[kDA] = d_[s];
        r_[kDB] = U16(s + 1);
        return 0;
      case 0x01:
      case 0x05:
      case 0x1b:
      case 0x1d:
        if (len != 1) return Fail(kWrongSize, type);
        r_[kDA] = d_[s];
        return 0;
      case 0x02:
        if (len < 1) return Fail(kTruncated, type);
        r_[kDA] = d_[s];
        r_[kDPresent] = len > 1;
        Var(s + 1, e);
        return 0;
      case 0x04: {
        if (len < 4) return Fail(kTruncated, type);
        int flags = d_[s];
        if (flags & ~(0x08 | 0x04)) return Fail(kInvalidFlags, type);
        if (d_[s + 1] != 0x01) return Fail(kInvalidProtocolId, type);
        r_[kDFlags] = flags;
        r_[kDB] = U16(s + 2);
        return ClientId(s + 4, e, type);
      }
      case 0x06:
      case 0x08:
      case 0x17:
        if (len != 0) return Fail(kWrongSize, type);
        return 0;
      case 0x07:
      case 0x1a: {
        if (len == 0) {
          r_[kDPresent] = 0;
          return 0;
        }
        int flags = d_[s];
        if (flags & ~(0x60 | 0x10)) return Fail(kInvalidFlags, type);
        if (QosFromFlags(flags) < 0) return Fail(kInvalidQos, type);
        r_[kDFlags] = flags;
        r_[kDPresent] = 1;
        return TopicName(s + 1, e, type);
      }
      case 0x09:
      case 0x1c:
        Var(s, e);
        return 0;
      case 0x0a: {
        if (len < 4) return Fail(kTruncated, type);
        int topicId = U16(s);
        if (topicId == 0xffff) return Fail(kInvalidTopicId, type);
        int msgId = U16(s + 2);
        if (msgId == 0) return Fail(kInvalidMsgId, type);
        r_[kDA] = topicId;
        r_[kDB] = msgId;
        return TopicName(s + 4, e, type);
      }
      case 0x0b: {
        if (len != 5) return Fail(kWrongSize, type);
        int topicId = U16(s);
        int msgId = U16(s + 2);
        if (msgId == 0) return Fail(kInvalidMsgId, type);
        int rc = d_[s + 4];
        if (rc == 0 && (topicId == 0 || topicId == 0xffff)) return Fail(kInvalidTopicId, type);
        r_[kDA] = topicId;
        r_[kDB] = msgId;
        r_[kDC] = rc;
        return 0;
      }
      case 0x0c: {
        if (len < 5) return Fail(kTruncated, type);
        int flags = d_[s];
        if (flags & ~(0x80 | 0x60 | 0x10 | 0x03)) return Fail(kInvalidFlags, type);
        int idType = flags & 0x03;
        int qos = QosFromFlags(flags);
        if (idType == 3 || (qos == -1 && idType == 0)) return Fail(kInvalidTopicIdType, type);
        if ((flags & 0x80) && qos <= 0) return Fail(kInvalidFlags, type);
        int topicId = U16(s + 1);
        if (idType == 2) {
          if (!ShortTopicUnit(d_[s + 1]) || !ShortTopicUnit(d_[s + 2])) return Fail(kInvalidTopic, type);
        } else if (topicId == 0 || topicId == 0xffff) {
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
      case 0x0d:
        if (len != 5) return Fail(kWrongSize, type);
        r_[kDA] = U16(s);
        r_[kDB] = U16(s + 2);
        r_[kDC] = d_[s + 4];
        return 0;
      case 0x0e:
      case 0x0f:
      case 0x10:
      case 0x15: {
        if (len != 2) return Fail(kWrongSize, type);
        int msgId = U16(s);
        if (msgId == 0) return Fail(kInvalidMsgId, type);
        r_[kDB] = msgId;
        return 0;
      }
      case 0x12:
      case 0x14: {
        if (len < 3) return Fail(kTruncated, type);
        int flags = d_[s];
        int allowed = type == 0x12 ? (0x80 | 0x60 | 0x03) : 0x03;
        if (flags & ~allowed) return Fail(kInvalidFlags, type);
        if (type == 0x12 && QosFromFlags(flags) < 0) return Fail(kInvalidQos, type);
        int idType = flags & 0x03;
        if (idType == 3) return Fail(kInvalidTopicIdType, type);
        int msgId = U16(s + 1);
        if (msgId == 0) return Fail(kInvalidMsgId, type);
        r_[kDFlags] = flags;
        r_[kDB] = msgId;
        return SubscriptionTopic(s + 3, e, idType, type);
      }
      case 0x13: {
        if (len != 6) return Fail(kWrongSize, type);
        int flags = d_[s];
        if (flags & ~0x60) return Fail(kInvalidFlags, type);
        if (QosFromFlags(flags) < 0) return Fail(kInvalidQos, type);
        int msgId = U16(s + 3);
        if (msgId == 0) return Fail(kInvalidMsgId, type);
        r_[kDFlags] = flags;
        r_[kDA] = U16(s + 1);
        r_[kDB] = msgId;
        r_[kDC] = d_[s + 5];
        return 0;
      }
      case 0x16:
        if (len == 0) {
          r_[kDPresent] = 0;
          return 0;
        }
        r_[kDPresent] = 1;
        return ClientId(s, e, type);
      case 0x18:
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

// ---------------------------------------------------------------- encoding

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
    if (f_[kEOuter] != 0xfe) return Packet(0);
    const int type = 0xfe;
    int32_t radius = f_[kEEncRadius];
    if (radius < 0 || radius > 3) return Fail(kInvalidField, type);
    if (nodeId_.kind != Arg::kBytes && nodeId_.kind != Arg::kUndefined) return Fail(kInvalidField, type);
    size_t nodeLen = nodeId_.kind == Arg::kBytes ? nodeId_.length : 0;
    if (nodeLen > 252) return Fail(kInvalidEncapsulation, type);
    size_t header = 3 + nodeLen;
    int32_t inner = Packet(header);
    if (inner <= 0) {
      if (inner == 0) f_[kENeed] += static_cast<int32_t>(header);
      return inner;
    }
    uint8_t* o = out_;
    o[0] = static_cast<uint8_t>(header);
    o[1] = 0xfe;
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
    if (*v == 0 || *v == 0xffff) {
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
    if (*n < 1 || *n > 23) {
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
      if (body + 4 > 0xffff) return Fail(kPacketTooLarge, type);
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
      frame_[0] = 0x01;
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
    if (type < 0 || (type != 0xfe && !KnownType(type))) return Fail(kReservedType, -1);
    int32_t err = 0;
    switch (type) {
      case 0x00: {
        int32_t gwId, duration;
        MQTTSN_TRY(U8(kEGwId, type, &gwId, &err));
        MQTTSN_TRY(U16(kEDuration, type, &duration, &err));
        MQTTSN_FRAME(3);
        Put8(0, gwId);
        Put16(1, duration);
        return Done();
      }
      case 0x01:
      case 0x05:
      case 0x1b:
      case 0x1d: {
        int32_t v;
        MQTTSN_TRY(U8(kEGwId, type, &v, &err));
        MQTTSN_FRAME(1);
        Put8(0, v);
        return Done();
      }
      case 0x02: {
        int32_t gwId;
        size_t n;
        MQTTSN_TRY(U8(kEGwId, type, &gwId, &err));
        MQTTSN_TRY(Bytes(type, &n, &err));
        MQTTSN_FRAME(1 + static_cast<int64_t>(n));
        Put8(0, gwId);
        PutBytes(1, n);
        return Done();
      }
      case 0x04: {
        bool will, clean;
        int32_t duration;
        int64_t n;
        MQTTSN_TRY(Bool(kEWill, type, &will, &err));
        MQTTSN_TRY(Bool(kEClean, type, &clean, &err));
        MQTTSN_TRY(U16(kEDuration, type, &duration, &err));
        MQTTSN_TRY(ClientId(type, &n, &err));
        MQTTSN_FRAME(4 + n);
        Put8(0, (will ? 0x08 : 0) | (clean ? 0x04 : 0));
        Put8(1, 0x01);
        Put16(2, duration);
        PutText(4);
        return Done();
      }
      case 0x06:
      case 0x08:
      case 0x17:
        MQTTSN_FRAME(0);
        return Done();
      case 0x07:
      case 0x1a: {
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
        Put8(0, (qos << 5) | (retain ? 0x10 : 0));
        PutText(1);
        return Done();
      }
      case 0x09:
      case 0x1c: {
        size_t n;
        MQTTSN_TRY(Bytes(type, &n, &err));
        MQTTSN_FRAME(static_cast<int64_t>(n));
        PutBytes(0, n);
        return Done();
      }
      case 0x0a: {
        int32_t topicId, msgId;
        int64_t n;
        MQTTSN_TRY(U16(kETopicId, type, &topicId, &err));
        if (topicId == 0xffff) return Fail(kInvalidTopicId, type);
        MQTTSN_TRY(MsgId(type, &msgId, &err));
        MQTTSN_TRY(TopicName(type, &n, &err));
        MQTTSN_FRAME(4 + n);
        Put16(0, topicId);
        Put16(2, msgId);
        PutText(4);
        return Done();
      }
      case 0x0b: {
        int32_t topicId, msgId, rc;
        MQTTSN_TRY(U16(kETopicId, type, &topicId, &err));
        MQTTSN_TRY(MsgId(type, &msgId, &err));
        MQTTSN_TRY(U8(kEReturnCode, type, &rc, &err));
        if (rc == 0 && (topicId == 0 || topicId == 0xffff)) return Fail(kInvalidTopicId, type);
        MQTTSN_FRAME(5);
        Put16(0, topicId);
        Put16(2, msgId);
        Put8(4, rc);
        return Done();
      }
      case 0x0c: {
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
        Put8(0, (dup ? 0x80 : 0) | (((qos == -1 ? 3 : qos) << 5) & 0x60) | (retain ? 0x10 : 0) | idType);
        Put16(1, topicId);
        Put16(3, msgId);
        PutBytes(5, n);
        return Done();
      }
      case 0x0d: {
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
      case 0x0e:
      case 0x0f:
      case 0x10:
      case 0x15: {
        int32_t msgId;
        MQTTSN_TRY(MsgId(type, &msgId, &err));
        MQTTSN_FRAME(2);
        Put16(0, msgId);
        return Done();
      }
      case 0x12:
      case 0x14: {
        bool subscribe = type == 0x12;
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
        Put8(0, (dup ? 0x80 : 0) | (qos << 5) | idType);
        Put16(1, msgId);
        if (idType == 0) PutText(3);
        else Put16(3, topicId);
        return Done();
      }
      case 0x13: {
        int32_t qos, topicId, msgId, rc;
        MQTTSN_TRY(Qos(type, false, &qos, &err));
        MQTTSN_TRY(U16(kETopicId, type, &topicId, &err));
        MQTTSN_TRY(MsgId(type, &msgId, &err));
        MQTTSN_TRY(U8(kEReturnCode, type, &rc, &err));
        MQTTSN_FRAME(6);
        Put8(0, qos << 5);
        Put16(1, topicId);
        Put16(3, msgId);
        Put8(5, rc);
        return Done();
      }
      case 0x16: {
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
      case 0x18: {
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
      case 0xfe:
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
