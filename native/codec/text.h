// Text rules shared by decoding and encoding: UTF-8 validity and the shape of
// topic names, topic filters and short topic names. The twin of lib/codec/text.ts.
#pragma once
#include <cstddef>
#include <cstdint>

namespace mqttsn {
namespace codec {

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

constexpr int kNul = 0x00;
constexpr int kPlus = 0x2b;
constexpr int kHash = 0x23;
constexpr int kSlash = 0x2f;

// Encoding checks topic names and filters on UTF-16 code units: '+', '#', '/'
// and NUL are single units in both UTF-8 and UTF-16, so these templates take either.
template <typename Unit>
inline bool ValidTopicName(const Unit* d, size_t s, size_t e) {
  if (e <= s) return false;
  for (size_t i = s; i < e; i++) {
    Unit c = d[i];
    if (c == kNul || c == kPlus || c == kHash) return false;
  }
  return true;
}

template <typename Unit>
inline bool ValidTopicFilter(const Unit* d, size_t s, size_t e) {
  if (e <= s) return false;
  for (size_t i = s; i < e; i++) {
    Unit c = d[i];
    if (c == kNul) return false;
    if (c == kPlus || c == kHash) {
      if (i > s && d[i - 1] != kSlash) return false;
      if (c == kHash && i != e - 1) return false;
      if (c == kPlus && i + 1 < e && d[i + 1] != kSlash) return false;
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
    if (d[i] == kNul) return false;
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

}  // namespace codec
}  // namespace mqttsn
