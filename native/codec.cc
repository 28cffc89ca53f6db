// Node-API glue for the codec (codec/decode.h, codec/encode.h), the twin of
// lib/codec/native-codec.ts. Designed around the cost of
// crossing the boundary: decode writes numbers and offsets into a shared
// Int32Array and JavaScript builds the packet object (slicing text and payload
// from the datagram itself); encode reads numbers from a shared Int32Array and
// writes into a shared output slab that JavaScript hands out in pieces.
#include <vector>

#include "codec.h"
#include "codec/decode.h"
#include "codec/encode.h"

namespace mqttsn {
namespace {

using codec::Arg;

struct CodecState {
  int32_t* decodeSlots = nullptr;
  int32_t* encodeSlots = nullptr;
  uint8_t* slab = nullptr;
  size_t slabLength = 0;
  napi_ref decodeRef = nullptr;
  napi_ref encodeRef = nullptr;
  napi_ref slabRef = nullptr;
  // UTF-16 text of the current encode call; long strings spill to `spill`.
  char16_t text[4096];
  std::vector<char16_t> spill;
};

CodecState* StateOf(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv) {
  void* data = nullptr;
  napi_get_cb_info(env, info, argc, argv, nullptr, &data);
  return static_cast<CodecState*>(data);
}

napi_value Int(napi_env env, int32_t v) {
  napi_value out;
  napi_create_int32(env, v, &out);
  return out;
}

// The data of a typed array of `want` type; false for anything else.
// napi_get_typedarray_info itself rejects anything but a typed array (one call, not two).
bool TypedData(napi_env env, napi_value v, napi_typedarray_type want, size_t* length, void** data) {
  napi_typedarray_type type;
  if (napi_get_typedarray_info(env, v, &type, length, data, nullptr, nullptr) != napi_ok) return false;
  return type == want;
}

// Uint8Array data (Buffer included); false for anything else.
bool Uint8Data(napi_env env, napi_value v, uint8_t** data, size_t* length) {
  void* raw = nullptr;
  if (!TypedData(env, v, napi_uint8_array, length, &raw)) return false;
  *data = static_cast<uint8_t*>(raw);
  return true;
}

// Int32Array data of at least `minLength` elements; false for anything else.
bool Int32Data(napi_env env, napi_value v, size_t minLength, int32_t** out) {
  size_t length = 0;
  void* raw = nullptr;
  if (!TypedData(env, v, napi_int32_array, &length, &raw) || length < minLength) return false;
  *out = static_cast<int32_t*>(raw);
  return true;
}

void Replace(napi_env env, napi_ref* ref, napi_value value) {
  if (*ref) napi_delete_reference(env, *ref);
  napi_create_reference(env, value, 1, ref);
}

// bind(decodeSlots: Int32Array, encodeSlots: Int32Array): registers the shared arrays.
napi_value Bind(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CodecState* state = StateOf(env, info, &argc, argv);
  int32_t* d = nullptr;
  int32_t* e = nullptr;
  if (argc < 2 || !Int32Data(env, argv[0], codec::kDecodeSlots, &d) ||
      !Int32Data(env, argv[1], codec::kEncodeSlots, &e)) {
    napi_throw_type_error(env, nullptr, "bind(decodeSlots, encodeSlots) needs two Int32Arrays");
    return nullptr;
  }
  Replace(env, &state->decodeRef, argv[0]);
  Replace(env, &state->encodeRef, argv[1]);
  state->decodeSlots = d;
  state->encodeSlots = e;
  return nullptr;
}

// setOutput(slab: Buffer): the memory encode() writes into.
napi_value SetOutput(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CodecState* state = StateOf(env, info, &argc, argv);
  uint8_t* data = nullptr;
  size_t length = 0;
  if (argc < 1 || !Uint8Data(env, argv[0], &data, &length)) {
    napi_throw_type_error(env, nullptr, "setOutput(slab) needs a Buffer");
    return nullptr;
  }
  Replace(env, &state->slabRef, argv[0]);
  state->slab = data;
  state->slabLength = length;
  return nullptr;
}

// decode(datagram): 0 with the fields in the decode slots, or an error code.
napi_value Decode(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CodecState* state = StateOf(env, info, &argc, argv);
  if (!state->decodeSlots) {
    napi_throw_error(env, nullptr, "codec.bind() was not called");
    return nullptr;
  }
  uint8_t* data = nullptr;
  size_t length = 0;
  if (argc < 1 || !Uint8Data(env, argv[0], &data, &length)) {
    state->decodeSlots[codec::kDContext] = -1;
    return Int(env, codec::kInvalidField);
  }
  codec::Decoder decoder(data, length, state->decodeSlots);
  return Int(env, decoder.Run());
}

// Classifies one argument of encode().
void ReadArg(napi_env env, CodecState* state, napi_value v, bool wantText, Arg* arg) {
  napi_valuetype kind;
  napi_typeof(env, v, &kind);
  if (kind == napi_undefined) {
    arg->kind = Arg::kUndefined;
    return;
  }
  if (wantText && kind == napi_string) {
    size_t copied = 0;
    const size_t room = sizeof(state->text) / sizeof(state->text[0]);
    napi_get_value_string_utf16(env, v, state->text, room, &copied);
    if (copied < room - 1) {
      arg->text = state->text;
    } else {
      size_t length = 0;
      napi_get_value_string_utf16(env, v, nullptr, 0, &length);
      state->spill.resize(length + 1);
      napi_get_value_string_utf16(env, v, state->spill.data(), length + 1, &copied);
      arg->text = state->spill.data();
    }
    arg->kind = Arg::kText;
    arg->length = copied;
    return;
  }
  uint8_t* data = nullptr;
  size_t length = 0;
  if (!wantText && Uint8Data(env, v, &data, &length)) {
    arg->kind = Arg::kBytes;
    arg->bytes = data;
    arg->length = length;
    return;
  }
  arg->kind = Arg::kOther;
}

// encode(text, bytes, nodeId): octets written at slots[kEOffset] of the slab,
// 0 when the slab is too small (slots[kENeed]), or minus an error code.
napi_value Encode(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CodecState* state = StateOf(env, info, &argc, argv);
  if (!state->encodeSlots || !state->slab) {
    napi_throw_error(env, nullptr, "codec.bind() and codec.setOutput() were not called");
    return nullptr;
  }
  Arg text, bytes, nodeId;
  if (argc > 0) ReadArg(env, state, argv[0], true, &text);
  if (argc > 1) ReadArg(env, state, argv[1], false, &bytes);
  if (argc > 2) ReadArg(env, state, argv[2], false, &nodeId);
  int32_t* slots = state->encodeSlots;
  int32_t offset = slots[codec::kEOffset];
  if (offset < 0 || static_cast<size_t>(offset) > state->slabLength) offset = static_cast<int32_t>(state->slabLength);
  codec::Encoder encoder(slots, text, bytes, nodeId, state->slab + offset, state->slabLength - offset);
  return Int(env, encoder.Run());
}

void Finalize(napi_env env, void* data, void*) {
  CodecState* state = static_cast<CodecState*>(data);
  if (state->decodeRef) napi_delete_reference(env, state->decodeRef);
  if (state->encodeRef) napi_delete_reference(env, state->encodeRef);
  if (state->slabRef) napi_delete_reference(env, state->slabRef);
  delete state;
}

}  // namespace

Napi::Object InitCodec(Napi::Env env) {
  Napi::Object exports = Napi::Object::New(env);
  CodecState* state = new CodecState();
  napi_add_finalizer(env, exports, state, Finalize, nullptr, nullptr);
  const struct {
    const char* name;
    napi_callback cb;
  } functions[] = {{"bind", Bind}, {"setOutput", SetOutput}, {"decode", Decode}, {"encode", Encode}};
  for (const auto& f : functions) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, state, &fn);
    exports.Set(f.name, Napi::Value(env, fn));
  }
  exports.Set("decodeSlots", Napi::Number::New(env, codec::kDecodeSlots));
  exports.Set("encodeSlots", Napi::Number::New(env, codec::kEncodeSlots));
  return exports;
}

}  // namespace mqttsn
