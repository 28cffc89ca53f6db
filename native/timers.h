#pragma once
#include <napi.h>

namespace mqttsn {
// Returns the TimerQueue class exported as `TimerQueue`.
Napi::Function InitTimers(Napi::Env env);
}  // namespace mqttsn
