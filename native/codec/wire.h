// Wire constants and helpers shared by the decoder and the encoder: the twin
// of lib/codec/ts/wire.ts. The constants themselves come from the generated
// contract (lib/twin-contract.ts).
#pragma once
#include <cstdint>

#include "../generated/contract.h"

namespace mqttsn {
namespace codec {

// QoS from the flags octet: 0b11 is -1.
inline int QosFromFlags(int flags) {
  int bits = (flags & kMaskQos) >> 5;
  return bits == 3 ? -1 : bits;
}

// Flags bits for a QoS value (-1 -> 0b11).
inline int QosToFlags(int qos) { return ((qos == -1 ? 3 : qos) << 5) & kMaskQos; }

// The topic id no topic may have; 0x0000 is reserved too, except where noted.
constexpr int kReservedTopicId = 0xffff;

}  // namespace codec
}  // namespace mqttsn
