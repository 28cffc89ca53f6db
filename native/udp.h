#pragma once
#include <napi.h>

namespace mqttsn {
// Returns the batched UDP engine exported as `udp` (class and layout constants).
Napi::Object InitUdp(Napi::Env env);
}  // namespace mqttsn
