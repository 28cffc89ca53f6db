// Native retransmission timer queue, the twin of lib/timers/ts-timers.ts.
//
// A binary min-heap ordered by (deadline, scheduling sequence), so equal
// deadlines expire in scheduling order, plus an open-addressing hash table from
// timer id to node, so schedule, reschedule and cancel are O(log n).
//
// The JavaScript wrapper (lib/timers/native-timers.ts) checks arguments before
// calling in; the checks here only keep direct callers from corrupting state.
// To save boundary crossings the queue mirrors its earliest deadline and size
// into a caller-supplied Float64Array, and expire() writes due ids into a
// caller-supplied Uint32Array and returns their count.
#include "timers.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "generated/contract.h"

namespace mqttsn {
namespace {

constexpr uint32_t kNone = 0xffffffffu;
constexpr const char* kInvalidArgument = "ERR_MQTTSN_INVALID_ARGUMENT";

// Maps uint32 timer ids to node numbers. Linear probing with backward-shift
// deletion (no tombstones); the load factor stays at or below one half.
class IdTable {
 public:
  IdTable() { Reset(16); }

  uint32_t Find(uint32_t id) const {
    for (uint32_t i = Slot(id);; i = (i + 1) & mask_) {
      const Entry& e = entries_[i];
      if (e.node == kNone) return kNone;
      if (e.id == id) return e.node;
    }
  }

  // Inserts an id known to be absent.
  void Insert(uint32_t id, uint32_t node) {
    if ((count_ + 1) * 2 > entries_.size()) Grow();
    Place(id, node);
    ++count_;
  }

  // Removes `id`; returns its node or kNone.
  uint32_t Erase(uint32_t id) {
    uint32_t i = Slot(id);
    for (;; i = (i + 1) & mask_) {
      const Entry& e = entries_[i];
      if (e.node == kNone) return kNone;
      if (e.id == id) break;
    }
    const uint32_t node = entries_[i].node;
    // Shift later members of the probe run back so lookups never hit a hole.
    uint32_t hole = i;
    for (uint32_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      Entry& e = entries_[j];
      if (e.node == kNone) break;
      const uint32_t home = Slot(e.id);
      // Move e into the hole unless its home lies cyclically in (hole, j].
      const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (!stays) {
        entries_[hole] = e;
        hole = j;
      }
    }
    entries_[hole].node = kNone;
    --count_;
    return node;
  }

  void Reset(size_t capacity) {
    entries_.assign(capacity, Entry{0, kNone});
    mask_ = static_cast<uint32_t>(capacity - 1);
    count_ = 0;
  }

 private:
  struct Entry {
    uint32_t id;
    uint32_t node;
  };

  uint32_t Slot(uint32_t id) const {
    // Fibonacci hashing spreads sequential ids (the common case) evenly.
    return static_cast<uint32_t>((static_cast<uint64_t>(id) * 0x9E3779B97F4A7C15ull) >> 32) & mask_;
  }

  void Place(uint32_t id, uint32_t node) {
    uint32_t i = Slot(id);
    while (entries_[i].node != kNone) i = (i + 1) & mask_;
    entries_[i] = Entry{id, node};
  }

  void Grow() {
    std::vector<Entry> old;
    old.swap(entries_);
    entries_.assign(old.size() * 2, Entry{0, kNone});
    mask_ = static_cast<uint32_t>(entries_.size() - 1);
    for (const Entry& e : old) {
      if (e.node != kNone) Place(e.id, e.node);
    }
  }

  std::vector<Entry> entries_;
  uint32_t mask_ = 0;
  size_t count_ = 0;
};

// The heap proper, free of any Node-API type.
class Heap {
 public:
  size_t size() const { return heap_.size(); }

  double NextDeadline() const {
    return heap_.empty() ? std::numeric_limits<double>::infinity() : heap_[0].deadline;
  }

  void Schedule(uint32_t id, double deadline) {
    const uint32_t node = table_.Find(id);
    if (node == kNone) {
      const uint32_t fresh = Allocate(id);
      table_.Insert(id, fresh);
      heap_.push_back(Item{deadline, sequence_++, fresh});
      SiftUp(heap_.size() - 1);
      return;
    }
    // A reschedule takes a fresh sequence number: its key only grows unless
    // the deadline moved earlier.
    const size_t pos = position_[node];
    const bool earlier = deadline < heap_[pos].deadline;
    heap_[pos].deadline = deadline;
    heap_[pos].sequence = sequence_++;
    if (earlier) {
      SiftUp(pos);
    } else {
      SiftDown(pos);
    }
  }

  bool Cancel(uint32_t id) {
    const uint32_t node = table_.Erase(id);
    if (node == kNone) return false;
    RemoveAt(position_[node]);
    return true;
  }

  bool Has(uint32_t id) const { return table_.Find(id) != kNone; }

  // Pops due ids into out[0..capacity); returns how many.
  uint32_t Expire(double now, uint32_t* out, uint32_t capacity) {
    uint32_t count = 0;
    while (count < capacity && !heap_.empty() && heap_[0].deadline <= now) {
      const uint32_t id = ids_[heap_[0].node];
      out[count++] = id;
      table_.Erase(id);
      RemoveAt(0);
    }
    return count;
  }

  // Empties the queue and gives its memory back, like the TypeScript twin.
  void Clear() {
    std::vector<Item>().swap(heap_);
    std::vector<uint32_t>().swap(ids_);
    std::vector<uint32_t>().swap(position_);
    std::vector<uint32_t>().swap(free_);
    table_.Reset(16);
    sequence_ = 0;
  }

 private:
  struct Item {
    double deadline;
    uint64_t sequence;
    uint32_t node;
  };

  static bool Before(const Item& a, const Item& b) {
    return a.deadline < b.deadline || (a.deadline == b.deadline && a.sequence < b.sequence);
  }

  uint32_t Allocate(uint32_t id) {
    if (!free_.empty()) {
      const uint32_t node = free_.back();
      free_.pop_back();
      ids_[node] = id;
      return node;
    }
    ids_.push_back(id);
    position_.push_back(0);
    return static_cast<uint32_t>(ids_.size() - 1);
  }

  void SiftUp(size_t pos) {
    const Item item = heap_[pos];
    while (pos > 0) {
      const size_t parent = (pos - 1) >> 1;
      if (!Before(item, heap_[parent])) break;
      heap_[pos] = heap_[parent];
      position_[heap_[pos].node] = static_cast<uint32_t>(pos);
      pos = parent;
    }
    heap_[pos] = item;
    position_[item.node] = static_cast<uint32_t>(pos);
  }

  void SiftDown(size_t pos) {
    const size_t count = heap_.size();
    const Item item = heap_[pos];
    const size_t first_leaf = count >> 1;
    while (pos < first_leaf) {
      size_t child = 2 * pos + 1;
      if (child + 1 < count && Before(heap_[child + 1], heap_[child])) ++child;
      if (!Before(heap_[child], item)) break;
      heap_[pos] = heap_[child];
      position_[heap_[pos].node] = static_cast<uint32_t>(pos);
      pos = child;
    }
    heap_[pos] = item;
    position_[item.node] = static_cast<uint32_t>(pos);
  }

  // Removes the item at `pos` (its id is already out of the table).
  void RemoveAt(size_t pos) {
    free_.push_back(heap_[pos].node);
    const size_t last = heap_.size() - 1;
    if (pos == last) {
      heap_.pop_back();
      return;
    }
    heap_[pos] = heap_[last];
    heap_.pop_back();
    if (pos > 0 && Before(heap_[pos], heap_[(pos - 1) >> 1])) {
      SiftUp(pos);
    } else {
      SiftDownToLeaf(pos);
    }
  }

  // SiftDown for an item that most likely belongs near the bottom (the last
  // item moved into a hole): walk the hole down along the smaller children
  // without comparing against the item, then sift the item up from there.
  // About half the comparisons of SiftDown, and the child choice is branchless.
  void SiftDownToLeaf(size_t start) {
    const size_t count = heap_.size();
    const Item item = heap_[start];
    size_t pos = start;
    for (size_t child = 2 * pos + 1; child + 1 < count; child = 2 * pos + 1) {
      child += Before(heap_[child + 1], heap_[child]) ? 1 : 0;
      heap_[pos] = heap_[child];
      position_[heap_[pos].node] = static_cast<uint32_t>(pos);
      pos = child;
    }
    if (2 * pos + 1 < count) {
      const size_t child = 2 * pos + 1;
      heap_[pos] = heap_[child];
      position_[heap_[pos].node] = static_cast<uint32_t>(pos);
      pos = child;
    }
    while (pos > start) {
      const size_t parent = (pos - 1) >> 1;
      if (!Before(item, heap_[parent])) break;
      heap_[pos] = heap_[parent];
      position_[heap_[pos].node] = static_cast<uint32_t>(pos);
      pos = parent;
    }
    heap_[pos] = item;
    position_[item.node] = static_cast<uint32_t>(pos);
  }

  std::vector<Item> heap_;
  std::vector<uint32_t> ids_;       // node -> timer id
  std::vector<uint32_t> position_;  // node -> heap position
  std::vector<uint32_t> free_;      // recycled node numbers
  IdTable table_;
  uint64_t sequence_ = 0;
};

// What a queue instance and its bound methods share. Refcounted: the wrapper
// object and each bound method hold one reference, so a method kept after its
// queue was collected still finds live memory.
struct Core {
  Heap heap;
  double* state = nullptr;  // [earliest deadline, size], read by JavaScript
  uint32_t* out = nullptr;  // due ids written by expire()
  uint32_t out_capacity = 0;
  Napi::ObjectReference state_ref;  // keep both arrays, and so the pointers, alive
  Napi::ObjectReference out_ref;
  int refs = 1;

  void Publish() {
    state[timers::kNextDeadline] = heap.NextDeadline();
    state[timers::kSize] = static_cast<double>(heap.size());
  }

  void Release() {
    if (--refs == 0) delete this;
  }
};

void ReleaseCore(napi_env /*env*/, void* data, void* /*hint*/) { static_cast<Core*>(data)->Release(); }

napi_value ThrowInvalid(napi_env env, const char* message) {
  napi_value code;
  napi_value text;
  napi_value error;
  napi_create_string_utf8(env, kInvalidArgument, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text);
  napi_create_type_error(env, code, text, &error);
  napi_throw(env, error);
  return nullptr;
}

bool ReadId(napi_env env, napi_value value, uint32_t* id) {
  double number;
  if (napi_get_value_double(env, value, &number) != napi_ok || !(number >= 0 && number <= timers::kMaxTimerId) ||
      std::floor(number) != number) {
    ThrowInvalid(env, "Timer id must be an integer from 0 to 4294967295.");
    return false;
  }
  *id = static_cast<uint32_t>(number);
  return true;
}

// The operations, shared by the prototype methods and the bound fast methods.
napi_value DoSchedule(napi_env env, Core* core, const napi_value* argv) {
  uint32_t id;
  double deadline;
  if (!ReadId(env, argv[0], &id)) return nullptr;
  if (napi_get_value_double(env, argv[1], &deadline) != napi_ok || !std::isfinite(deadline)) {
    return ThrowInvalid(env, "Timer deadline must be a finite number.");
  }
  core->heap.Schedule(id, deadline);
  core->Publish();
  return nullptr;
}

napi_value DoCancel(napi_env env, Core* core, const napi_value* argv) {
  uint32_t id;
  if (!ReadId(env, argv[0], &id)) return nullptr;
  const bool removed = core->heap.Cancel(id);
  if (removed) core->Publish();
  napi_value result;
  napi_get_boolean(env, removed, &result);
  return result;
}

napi_value DoHas(napi_env env, Core* core, const napi_value* argv) {
  uint32_t id;
  if (!ReadId(env, argv[0], &id)) return nullptr;
  napi_value result;
  napi_get_boolean(env, core->heap.Has(id), &result);
  return result;
}

napi_value DoExpire(napi_env env, Core* core, const napi_value* argv) {
  double now;
  if (napi_get_value_double(env, argv[0], &now) != napi_ok || std::isnan(now)) {
    return ThrowInvalid(env, "The current time must be a number.");
  }
  const uint32_t count = core->heap.Expire(now, core->out, core->out_capacity);
  if (count > 0) core->Publish();
  napi_value result;
  napi_create_uint32(env, count, &result);
  return result;
}

napi_value DoClear(napi_env /*env*/, Core* core, const napi_value* /*argv*/) {
  core->heap.Clear();
  core->Publish();
  return nullptr;
}

using Operation = napi_value (*)(napi_env, Core*, const napi_value*);

// A plain Node-API callback bound to one Core: calling it skips the
// ObjectWrap unwrap, which costs more than the queue operation itself.
template <Operation op>
napi_value Fast(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void* data;
  napi_get_cb_info(env, info, &argc, argv, nullptr, &data);
  return op(env, static_cast<Core*>(data), argv);
}

struct MethodSpec {
  const char* name;
  napi_callback callback;
};

constexpr MethodSpec kFastMethods[] = {
    {"schedule", Fast<DoSchedule>}, {"cancel", Fast<DoCancel>}, {"has", Fast<DoHas>},
    {"expire", Fast<DoExpire>},     {"clear", Fast<DoClear>},
};

// new TimerQueue(state: Float64Array(>=2), out: Uint32Array(>=1))
//
// The prototype carries the methods; each instance also gets own, bound copies
// of them that run without unwrapping, and those are what callers reach.
class TimerQueue : public Napi::ObjectWrap<TimerQueue> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "TimerQueue",
                       {
                           InstanceMethod<&TimerQueue::Method<DoSchedule>>("schedule"),
                           InstanceMethod<&TimerQueue::Method<DoCancel>>("cancel"),
                           InstanceMethod<&TimerQueue::Method<DoHas>>("has"),
                           InstanceMethod<&TimerQueue::Method<DoExpire>>("expire"),
                           InstanceMethod<&TimerQueue::Method<DoClear>>("clear"),
                       });
  }

  explicit TimerQueue(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TimerQueue>(info) {
    napi_env env = info.Env();
    if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsTypedArray()) {
      ThrowInvalid(env, "TimerQueue expects (Float64Array state, Uint32Array out).");
      return;
    }
    Napi::TypedArray state = info[0].As<Napi::TypedArray>();
    Napi::TypedArray out = info[1].As<Napi::TypedArray>();
    if (state.TypedArrayType() != napi_float64_array || state.ElementLength() < timers::kStateSlots ||
        out.TypedArrayType() != napi_uint32_array || out.ElementLength() < 1) {
      ThrowInvalid(env, "TimerQueue expects a Float64Array of 2 and a non-empty Uint32Array.");
      return;
    }
    core_ = new Core();
    core_->state_ref = Napi::Persistent(info[0].As<Napi::Object>());
    core_->out_ref = Napi::Persistent(info[1].As<Napi::Object>());
    core_->state = state.As<Napi::Float64Array>().Data();
    core_->out = out.As<Napi::Uint32Array>().Data();
    core_->out_capacity = static_cast<uint32_t>(out.ElementLength());
    core_->Publish();

    napi_value self = info.This();
    for (const MethodSpec& method : kFastMethods) {
      napi_value fn;
      if (napi_create_function(env, method.name, NAPI_AUTO_LENGTH, method.callback, core_, &fn) != napi_ok) return;
      ++core_->refs;
      if (napi_add_finalizer(env, fn, core_, ReleaseCore, nullptr, nullptr) != napi_ok) {
        --core_->refs;
        return;
      }
      napi_property_descriptor property = {method.name, nullptr, nullptr, nullptr, nullptr, fn, napi_default, nullptr};
      if (napi_define_properties(env, self, 1, &property) != napi_ok) return;
    }
  }

  ~TimerQueue() override {
    if (core_ != nullptr) core_->Release();
  }

 private:
  template <Operation op>
  Napi::Value Method(const Napi::CallbackInfo& info) {
    napi_env env = info.Env();
    if (core_ == nullptr) return Napi::Value(env, ThrowInvalid(env, "TimerQueue was not constructed properly."));
    napi_value argv[2] = {info[0], info[1]};
    return Napi::Value(env, op(env, core_, argv));
  }

  Core* core_ = nullptr;
};

}  // namespace

Napi::Function InitTimers(Napi::Env env) { return TimerQueue::Define(env); }

}  // namespace mqttsn
