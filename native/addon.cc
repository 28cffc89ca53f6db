// Entry point of the addon: each part registers its own exports.
#include <napi.h>

#include "codec.h"
#include "dtls.h"
#include "generated/contract.h"
#include "timers.h"
#ifdef MQTTSN_UDP
#include "udp.h"  // the batched UDP engine needs recvmmsg/sendmmsg (Linux)
#endif

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("codec", mqttsn::InitCodec(env));
  exports.Set("TimerQueue", mqttsn::InitTimers(env));
  exports.Set("contract", Napi::String::New(env, mqttsn::kContractDigest));
  exports.Set("dtls", mqttsn::InitDtls(env));
#ifdef MQTTSN_UDP
  exports.Set("udp", mqttsn::InitUdp(env));
#endif
  return exports;
}

NODE_API_MODULE(mqttsn, Init)
