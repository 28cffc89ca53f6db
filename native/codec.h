#pragma once
#include <napi.h>

namespace mqttsn {
// Returns the object exported as `codec`.
Napi::Object InitCodec(Napi::Env env);
}  // namespace mqttsn
