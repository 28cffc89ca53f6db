// The batched UDP engine: a UDP socket on Node's own libuv loop that receives
// with recvmmsg, decodes every datagram with the codec core where it lands and
// crosses into JavaScript once per batch; sends queued by JavaScript during a
// turn leave in sendmmsg calls, the hot packets encoded here on the way out.
//
// Nothing is built per datagram on this side. Received octets are copied into a
// JavaScript-owned slab and their decoded fields, sender and offsets written
// into a shared Int32Array (lib/transport/native-udp.ts reads the same layout);
// a slab is never written again once handed out, so JavaScript may keep slices
// of it. Sends are described the same way: a shared Int32Array of descriptors
// and a shared slab holding raw datagrams and payloads.
#include "udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cstring>
#include <vector>

#include "codec/decode.h"
#include "codec/encode.h"

namespace mqttsn {
namespace {

// Receive layout: one record of kRecvStride int32 per datagram.
enum RecvField {
  kRStart = 0,   // offset of the datagram in the receive slab
  kRLength,      // its length
  kRFamily,      // 4 or 6
  kRPort,
  kRAddr,        // 1 word (IPv4, host order) or 4 words (IPv6, big-endian words)
  kRResult = kRAddr + 4,  // 0 or the codec error code
  kRDecode,      // the codec's decode slots (DecodeSlot), offsets relative to the datagram
  kRecvStride = kRDecode + codec::kDecodeSlots
};

// Send layout: a header, then one record of kSendStride int32 per datagram.
enum SendHeader { kSFailures = 0, kSErrno, kSEncodeError, kSEncodeContext, kSendHeader };
enum SendField {
  kSKind = 0,    // 0: raw octets at [start, start+length); 1: encode the packet in kSEncode
  kSFamily,
  kSPort,
  kSAddr,        // as kRAddr
  kSStart = kSAddr + 4,
  kSLength,      // raw octets, or the payload of an encoded packet
  kSShortTopic,  // a short topic name as (first << 8 | second), or -1
  kSEncode,      // the codec's encode slots (EncodeSlot)
  kSendStride = kSEncode + codec::kEncodeSlots
};

constexpr int kMaxBatch = 64;       // datagrams per crossing into JavaScript (libuv reads at most 20 per recvmmsg)
constexpr int kMaxSend = 64;        // send records per flush (one sendmmsg call)
constexpr int kSendChunk = kMaxSend;
constexpr size_t kDatagramMax = 64 * 1024;
constexpr size_t kRecvChunks = 20;  // libuv 1.46 reads at most 20 datagrams per recvmmsg

enum BindFlag { kReuseAddress = 1, kReusePort = 2, kBroadcast = 4, kV6Only = 8, kSearchToFirst = 16 };

// A classic BPF program for a SO_REUSEPORT group: it sees the UDP payload and
// returns the index of the socket to deliver to. A SEARCHGW (03 01 radius),
// plain or inside a forwarder's encapsulation (the header's length octet
// first, 0xFE second, the SEARCHGW right after the header), goes to socket 0,
// the one bound first, which answers discovery; for anything else it returns
// an index past the group and the kernel falls back to its hash of the
// sender's address. Multicast and broadcast reach every socket whatever it
// returns: only unicast is steered.
const sock_filter kSearchToFirstProgram[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),                  // 0: A = payload length
    BPF_STMT(BPF_ST, 0),                                    // 1: M[0] = A
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 3, 0, 2),           // 2: three octets? 3 : 5
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 0),                  // 3: A = length and type
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x0301, 11, 12),    // 4: SEARCHGW? 16 : 17
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 1),                  // 5: A = type
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xfe, 0, 10),       // 6: encapsulated? 7 : 17
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),                  // 7: A = header length
    BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 3),                 // 8: A += 3 (a SEARCHGW after it)
    BPF_STMT(BPF_MISC | BPF_TAX, 0),                        // 9: X = A
    BPF_STMT(BPF_LD | BPF_MEM, 0),                          // 10: A = payload length
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 5),           // 11: header + 3 octets? 12 : 17
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),                  // 12: A = header length
    BPF_STMT(BPF_MISC | BPF_TAX, 0),                        // 13: X = A
    BPF_STMT(BPF_LD | BPF_H | BPF_IND, 0),                  // 14: A = inner length and type
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x0301, 0, 1),      // 15: SEARCHGW? 16 : 17
    BPF_STMT(BPF_RET | BPF_K, 0),                           // 16: the first socket
    BPF_STMT(BPF_RET | BPF_K, 0xffffffff),                  // 17: the kernel's hash
};

// Steers the unicast SEARCHGWs of the group `fd` belongs to (see above); 0 or -errno.
int AttachSearchToFirst(int fd) {
  sock_fprog program;
  program.len = sizeof(kSearchToFirstProgram) / sizeof(kSearchToFirstProgram[0]);
  program.filter = const_cast<sock_filter*>(kSearchToFirstProgram);
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &program, sizeof(program)) == 0 ? 0 : -errno;
}

void WriteAddress(const sockaddr* sa, int32_t* rec) {
  if (sa->sa_family == AF_INET6) {
    const sockaddr_in6* a6 = reinterpret_cast<const sockaddr_in6*>(sa);
    rec[kRFamily] = 6;
    rec[kRPort] = ntohs(a6->sin6_port);
    const uint8_t* b = a6->sin6_addr.s6_addr;
    for (int w = 0; w < 4; w++) {
      rec[kRAddr + w] = static_cast<int32_t>((uint32_t(b[w * 4]) << 24) | (uint32_t(b[w * 4 + 1]) << 16) |
                                             (uint32_t(b[w * 4 + 2]) << 8) | uint32_t(b[w * 4 + 3]));
    }
  } else {
    const sockaddr_in* a4 = reinterpret_cast<const sockaddr_in*>(sa);
    rec[kRFamily] = 4;
    rec[kRPort] = ntohs(a4->sin_port);
    rec[kRAddr] = static_cast<int32_t>(ntohl(a4->sin_addr.s_addr));
  }
}

// The destination of a send record; false for a malformed one.
bool ReadAddress(const int32_t* rec, sockaddr_storage* out, socklen_t* length) {
  std::memset(out, 0, sizeof(*out));
  int32_t port = rec[kSPort];
  if (port < 0 || port > 0xffff) return false;
  if (rec[kSFamily] == 6) {
    sockaddr_in6* a6 = reinterpret_cast<sockaddr_in6*>(out);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    uint8_t* b = a6->sin6_addr.s6_addr;
    for (int w = 0; w < 4; w++) {
      uint32_t v = static_cast<uint32_t>(rec[kSAddr + w]);
      b[w * 4] = uint8_t(v >> 24);
      b[w * 4 + 1] = uint8_t(v >> 16);
      b[w * 4 + 2] = uint8_t(v >> 8);
      b[w * 4 + 3] = uint8_t(v);
    }
    *length = sizeof(sockaddr_in6);
    return true;
  }
  if (rec[kSFamily] != 4) return false;
  sockaddr_in* a4 = reinterpret_cast<sockaddr_in*>(out);
  a4->sin_family = AF_INET;
  a4->sin_port = htons(static_cast<uint16_t>(port));
  a4->sin_addr.s_addr = htonl(static_cast<uint32_t>(rec[kSAddr]));
  *length = sizeof(sockaddr_in);
  return true;
}

template <typename T>
bool TypedArrayOf(const Napi::Value& v, napi_typedarray_type want, T** data, size_t* length) {
  if (!v.IsTypedArray()) return false;
  Napi::TypedArray array = v.As<Napi::TypedArray>();
  if (array.TypedArrayType() != want) return false;
  *data = reinterpret_cast<T*>(static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset());
  *length = array.ElementLength();
  return true;
}

class UdpEngine : public Napi::ObjectWrap<UdpEngine> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "UdpEngine",
                       {InstanceMethod<&UdpEngine::Bind>("bind"),
                        InstanceMethod<&UdpEngine::SetReceiveSlab>("setReceiveSlab"),
                        InstanceMethod<&UdpEngine::SetSendSlab>("setSendSlab"),
                        InstanceMethod<&UdpEngine::LocalAddress>("localAddress"),
                        InstanceMethod<&UdpEngine::Flush>("flush"),
                        InstanceMethod<&UdpEngine::Connect>("connect"),
                        InstanceMethod<&UdpEngine::AddMembership>("addMembership"),
                        InstanceMethod<&UdpEngine::SetMulticastInterface>("setMulticastInterface"),
                        InstanceMethod<&UdpEngine::Ref>("ref"),
                        InstanceMethod<&UdpEngine::Unref>("unref"),
                        InstanceMethod<&UdpEngine::UsingRecvmmsg>("usingRecvmmsg"),
                        InstanceMethod<&UdpEngine::Close>("close")});
  }

  // new UdpEngine(onBatch, onError, receiveRecords, sendRecords)
  explicit UdpEngine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UdpEngine>(info) {
    Napi::Env env = info.Env();
    size_t n = 0;
    if (info.Length() < 4 || !info[0].IsFunction() || !info[1].IsFunction() ||
        !TypedArrayOf(info[2], napi_int32_array, &records_, &n) || n < size_t(kMaxBatch * kRecvStride) ||
        !TypedArrayOf(info[3], napi_int32_array, &sends_, &n) ||
        n < size_t(kSendHeader + kMaxSend * kSendStride)) {
      Napi::TypeError::New(env, "UdpEngine(onBatch, onError, receiveRecords, sendRecords)")
          .ThrowAsJavaScriptException();
      return;
    }
    onBatch_ = Napi::Persistent(info[0].As<Napi::Function>());
    onError_ = Napi::Persistent(info[1].As<Napi::Function>());
    keep_[0] = Napi::Persistent(info[2].As<Napi::Object>());
    keep_[1] = Napi::Persistent(info[3].As<Napi::Object>());
    env_ = env;
  }

  ~UdpEngine() override {
    // Only reached once the handle is closed (an open handle keeps the object referenced),
    // or at environment teardown, when the handle is closed without calling back.
    if (handle_) {
      handle_->data = nullptr;
      if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(handle_))) {
        uv_close(reinterpret_cast<uv_handle_t*>(handle_), [](uv_handle_t* h) { delete reinterpret_cast<uv_udp_t*>(h); });
      }
    }
  }

 private:
  Napi::Env env_ = nullptr;
  Napi::FunctionReference onBatch_, onError_, onClose_;
  Napi::ObjectReference keep_[2];
  Napi::ObjectReference slabRef_, sendSlabRef_;
  int32_t* records_ = nullptr;
  int32_t* sends_ = nullptr;
  uint8_t* sendSlab_ = nullptr;
  size_t sendSlabLength_ = 0;
  uint8_t* slab_ = nullptr;
  size_t slabLength_ = 0;
  size_t slabUsed_ = 0;
  int count_ = 0;
  uv_udp_t* handle_ = nullptr;
  bool closing_ = false;
  std::vector<uint8_t> encoded_;

  // What libuv reads into: one per thread, shared by every engine on its loop.
  // Safe because each datagram is copied out to a slab in the callback that reports it.
  static std::vector<uint8_t>& ReadBuffer() {
    thread_local std::vector<uint8_t> buffer;
    if (buffer.empty()) buffer.resize(kRecvChunks * kDatagramMax);
    return buffer;
  }

  // bind(family, address, port, flags, receiveBufferBytes, sendBufferBytes): 0 or minus errno.
  Napi::Value Bind(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (handle_) return Napi::Number::New(env, -EINVAL);
    int family = info[0].As<Napi::Number>().Int32Value() == 6 ? AF_INET6 : AF_INET;
    std::string address = info[1].As<Napi::String>().Utf8Value();
    int port = info[2].As<Napi::Number>().Int32Value();
    int flags = info[3].As<Napi::Number>().Int32Value();
    int rcvbuf = info[4].As<Napi::Number>().Int32Value();
    int sndbuf = info[5].As<Napi::Number>().Int32Value();

    sockaddr_storage local;
    std::memset(&local, 0, sizeof(local));
    socklen_t localLength;
    if (family == AF_INET6) {
      sockaddr_in6* a6 = reinterpret_cast<sockaddr_in6*>(&local);
      a6->sin6_family = AF_INET6;
      a6->sin6_port = htons(static_cast<uint16_t>(port));
      if (!address.empty() && inet_pton(AF_INET6, address.c_str(), &a6->sin6_addr) != 1) {
        return Napi::Number::New(env, -EINVAL);
      }
      localLength = sizeof(sockaddr_in6);
    } else {
      sockaddr_in* a4 = reinterpret_cast<sockaddr_in*>(&local);
      a4->sin_family = AF_INET;
      a4->sin_port = htons(static_cast<uint16_t>(port));
      if (!address.empty() && inet_pton(AF_INET, address.c_str(), &a4->sin_addr) != 1) {
        return Napi::Number::New(env, -EINVAL);
      }
      localLength = sizeof(sockaddr_in);
    }

    // The socket is made here rather than by libuv: SO_REUSEPORT must be set before
    // bind, and libuv 1.46 has no flag for it.
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return Napi::Number::New(env, -errno);
    const int one = 1;
    int rc = 0;
    if ((flags & kReuseAddress) && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) rc = -errno;
    if (!rc && (flags & kReusePort) && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) rc = -errno;
    if (!rc && (flags & kBroadcast) && setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) != 0) rc = -errno;
    if (!rc && family == AF_INET6) {
      const int v6only = (flags & kV6Only) ? 1 : 0;
      if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) != 0) rc = -errno;
    }
    if (!rc && rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) != 0) rc = -errno;
    if (!rc && sndbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) != 0) rc = -errno;
    if (!rc && ::bind(fd, reinterpret_cast<sockaddr*>(&local), localLength) != 0) rc = -errno;
    // After bind: the program belongs to the port's group, which the socket has just joined.
    if (!rc && (flags & kReusePort) && (flags & kSearchToFirst)) rc = AttachSearchToFirst(fd);
    if (rc) {
      ::close(fd);
      return Napi::Number::New(env, rc);
    }

    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    handle_ = new uv_udp_t();
    // AF_UNSPEC: libuv makes no socket of its own; UV_UDP_RECVMMSG still applies to the one opened below.
    rc = uv_udp_init_ex(loop, handle_, AF_UNSPEC | UV_UDP_RECVMMSG);
    if (rc == 0) {
      handle_->data = this;
      rc = uv_udp_open(handle_, fd);
      if (rc == 0) rc = uv_udp_recv_start(handle_, OnAlloc, OnReceive);
      if (rc != 0) {
        uv_close(reinterpret_cast<uv_handle_t*>(handle_), [](uv_handle_t* h) { delete reinterpret_cast<uv_udp_t*>(h); });
        handle_ = nullptr;
        return Napi::Number::New(env, rc);
      }
    } else {
      delete handle_;
      handle_ = nullptr;
      ::close(fd);
      return Napi::Number::New(env, rc);
    }
    Napi::ObjectWrap<UdpEngine>::Ref();  // an open socket keeps its engine alive
    return Napi::Number::New(env, 0);
  }

  // setReceiveSlab(slab): the memory the next datagrams are copied into.
  Napi::Value SetReceiveSlab(const Napi::CallbackInfo& info) {
    size_t length = 0;
    uint8_t* data = nullptr;
    if (!TypedArrayOf(info[0], napi_uint8_array, &data, &length)) {
      Napi::TypeError::New(info.Env(), "setReceiveSlab(slab) needs a Buffer")
          .ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    slabRef_ = Napi::Persistent(info[0].As<Napi::Object>());
    slab_ = data;
    slabLength_ = length;
    slabUsed_ = 0;
    return info.Env().Undefined();
  }

  // setSendSlab(slab): where send records point (raw datagrams and payloads).
  Napi::Value SetSendSlab(const Napi::CallbackInfo& info) {
    size_t length = 0;
    uint8_t* data = nullptr;
    if (!TypedArrayOf(info[0], napi_uint8_array, &data, &length)) {
      Napi::TypeError::New(info.Env(), "setSendSlab(slab) needs a Buffer").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    sendSlabRef_ = Napi::Persistent(info[0].As<Napi::Object>());
    sendSlab_ = data;
    sendSlabLength_ = length;
    return info.Env().Undefined();
  }

  // localAddress(): [family, address, port] or undefined.
  Napi::Value LocalAddress(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!handle_ || closing_) return env.Undefined();
    sockaddr_storage sa;
    int length = sizeof(sa);
    if (uv_udp_getsockname(handle_, reinterpret_cast<sockaddr*>(&sa), &length) != 0) return env.Undefined();
    char name[INET6_ADDRSTRLEN] = {0};
    int port;
    int family;
    if (sa.ss_family == AF_INET6) {
      const sockaddr_in6* a6 = reinterpret_cast<const sockaddr_in6*>(&sa);
      uv_ip6_name(a6, name, sizeof(name));
      port = ntohs(a6->sin6_port);
      family = 6;
    } else {
      const sockaddr_in* a4 = reinterpret_cast<const sockaddr_in*>(&sa);
      uv_ip4_name(a4, name, sizeof(name));
      port = ntohs(a4->sin_port);
      family = 4;
    }
    Napi::Array out = Napi::Array::New(env, 3);
    out.Set(uint32_t(0), Napi::Number::New(env, family));
    out.Set(uint32_t(1), Napi::String::New(env, name));
    out.Set(uint32_t(2), Napi::Number::New(env, port));
    return out;
  }

  static void OnAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
    UdpEngine* self = static_cast<UdpEngine*>(h->data);
    if (!self) {
      *buf = uv_buf_init(nullptr, 0);
      return;
    }
    // Big enough for libuv to read a full recvmmsg batch of maximum-size datagrams.
    std::vector<uint8_t>& buffer = ReadBuffer();
    *buf = uv_buf_init(reinterpret_cast<char*>(buffer.data()), static_cast<unsigned int>(buffer.size()));
  }

  static void OnReceive(uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr, unsigned flags) {
    UdpEngine* self = static_cast<UdpEngine*>(h->data);
    if (!self || self->closing_) return;
    if (nread < 0) {
      self->Deliver();
      self->ReportError(static_cast<int>(nread));
      return;
    }
    if (addr == nullptr) {
      // The end of a recvmmsg batch (UV_UDP_MMSG_FREE) or nothing more to read.
      self->Deliver();
      return;
    }
    self->Add(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread), addr);
    // Without recvmmsg libuv reports datagrams one by one and no batch end.
    if (!(flags & UV_UDP_MMSG_CHUNK)) self->Deliver();
  }

  // Copies one datagram into the slab and decodes it into its record.
  void Add(const uint8_t* data, size_t length, const sockaddr* addr) {
    if (count_ == kMaxBatch || !slab_ || slabUsed_ + length > slabLength_) {
      Deliver(length);
      if (closing_ || !slab_ || slabUsed_ + length > slabLength_) return;
    }
    int32_t* rec = records_ + count_ * kRecvStride;
    uint8_t* at = slab_ + slabUsed_;
    if (length > 0) std::memcpy(at, data, length);
    rec[kRStart] = static_cast<int32_t>(slabUsed_);
    rec[kRLength] = static_cast<int32_t>(length);
    WriteAddress(addr, rec);
    codec::Decoder decoder(at, length, rec + kRDecode);
    rec[kRResult] = decoder.Run();
    slabUsed_ = (slabUsed_ + length + 7) & ~size_t(7);
    if (slabUsed_ > slabLength_) slabUsed_ = slabLength_;
    count_++;
  }

  // Hands the records so far to JavaScript: onBatch(count, slabUsed, need), where
  // `need` > 0 asks for a fresh slab of at least that many octets.
  void Deliver(size_t need = 0) {
    if (count_ == 0 && need == 0) return;
    Napi::HandleScope scope(env_);
    int count = count_;
    count_ = 0;
    bool full = need > 0 && (!slab_ || slabUsed_ + need > slabLength_);
    onBatch_.MakeCallback(Value(), {Napi::Number::New(env_, count), Napi::Number::New(env_, full ? double(need) : 0.0)});
    RaiseIfThrown();
  }

  void ReportError(int code) {
    Napi::HandleScope scope(env_);
    onError_.MakeCallback(Value(), {Napi::Number::New(env_, code)});
    RaiseIfThrown();
  }

  // A listener's exception becomes the process's uncaught exception, as with node:dgram.
  void RaiseIfThrown() {
    if (env_.IsExceptionPending()) {
      Napi::Error error = env_.GetAndClearPendingException();
      napi_fatal_exception(env_, error.Value());
    }
  }

  // flush(count): sends the first `count` send records; returns how many failed
  // (the header then holds the last errno and the last encoding error).
  Napi::Value Flush(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int count = info[0].As<Napi::Number>().Int32Value();
    if (count < 0 || count > kMaxSend) count = 0;
    int32_t* header = sends_;
    header[kSFailures] = 0;
    header[kSErrno] = 0;
    header[kSEncodeError] = 0;
    header[kSEncodeContext] = -1;
    if (!handle_ || closing_) {
      header[kSFailures] = count;
      header[kSErrno] = EBADF;
      return Napi::Number::New(env, count);
    }
    uv_os_fd_t fd;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(handle_), &fd) != 0) fd = -1;
    for (int first = 0; first < count; first += kSendChunk) {
      int n = count - first < kSendChunk ? count - first : kSendChunk;
      SendChunk(fd, header, first, n);
    }
    return Napi::Number::New(env, header[kSFailures]);
  }

  void SendChunk(int fd, int32_t* header, int first, int n) {
    mmsghdr msgs[kSendChunk];
    iovec iov[kSendChunk];
    sockaddr_storage to[kSendChunk];
    int index[kSendChunk];
    size_t room = 0;
    for (int i = 0; i < n; i++) {
      const int32_t* rec = sends_ + kSendHeader + (first + i) * kSendStride;
      if (rec[kSKind] == 1 && rec[kSLength] > 0) room += size_t(rec[kSLength]) + 16;
      else if (rec[kSKind] == 1) room += 16;
    }
    if (encoded_.size() < room) encoded_.resize(room);
    size_t used = 0;
    int ready = 0;
    for (int i = 0; i < n; i++) {
      int32_t* rec = sends_ + kSendHeader + (first + i) * kSendStride;
      socklen_t toLength = 0;
      int32_t start = rec[kSStart], length = rec[kSLength];
      if (!ReadAddress(rec, &to[ready], &toLength) || start < 0 || length < 0 ||
          size_t(start) + size_t(length) > sendSlabLength_) {
        header[kSFailures]++;
        header[kSErrno] = EINVAL;
        continue;
      }
      uint8_t* data = sendSlab_ + start;
      size_t size = size_t(length);
      if (rec[kSKind] == 1) {
        int32_t written = Encode(rec, data, size, encoded_.data() + used, encoded_.size() - used);
        if (written <= 0) {
          header[kSFailures]++;
          header[kSEncodeError] = written < 0 ? -written : codec::kPacketTooLarge;
          header[kSEncodeContext] = rec[kSEncode + codec::kEContext];
          continue;
        }
        data = encoded_.data() + used;
        size = size_t(written);
        used += size;
      }
      iov[ready].iov_base = data;
      iov[ready].iov_len = size;
      std::memset(&msgs[ready], 0, sizeof(mmsghdr));
      msgs[ready].msg_hdr.msg_name = &to[ready];
      msgs[ready].msg_hdr.msg_namelen = toLength;
      msgs[ready].msg_hdr.msg_iov = &iov[ready];
      msgs[ready].msg_hdr.msg_iovlen = 1;
      index[ready] = first + i;
      ready++;
    }
    int sent = 0;
    bool waited = false;
    while (sent < ready) {
      int rc = fd < 0 ? -1 : sendmmsg(fd, msgs + sent, unsigned(ready - sent), 0);
      if (rc > 0) {
        sent += rc;
        continue;
      }
      int err = fd < 0 ? EBADF : errno;
      if (err == EINTR) continue;
      if ((err == EAGAIN || err == ENOBUFS) && !waited) {
        // The send buffer is full: give the kernel a moment rather than drop the batch.
        pollfd p = {fd, POLLOUT, 0};
        poll(&p, 1, 5);
        waited = true;
        continue;
      }
      // This datagram fails (ICMP errors surface on a later send too); the rest still go.
      header[kSFailures]++;
      header[kSErrno] = err;
      (void)index;
      sent++;
    }
  }

  // Encodes the packet of a send record; the payload (or nothing) is `data`.
  int32_t Encode(int32_t* rec, const uint8_t* data, size_t size, uint8_t* out, size_t capacity) {
    int32_t* slots = rec + kSEncode;
    codec::Arg text, bytes, nodeId;
    nodeId.kind = codec::Arg::kUndefined;
    bytes.kind = codec::Arg::kBytes;
    bytes.bytes = data;
    bytes.length = size;
    char16_t shortName[2];
    int32_t shortTopic = rec[kSShortTopic];
    if (shortTopic >= 0) {
      shortName[0] = char16_t((shortTopic >> 8) & 0xff);
      shortName[1] = char16_t(shortTopic & 0xff);
      text.kind = codec::Arg::kText;
      text.text = shortName;
      text.length = 2;
    } else {
      text.kind = codec::Arg::kUndefined;
    }
    slots[codec::kEOuter] = 0;
    codec::Encoder encoder(slots, text, bytes, nodeId, out, capacity);
    return encoder.Run();
  }

  // connect(family, port, w0, w1, w2, w3): connects the socket to one peer (port -1:
  // disconnects), so ICMP errors about that peer reach the socket; 0 or minus errno.
  Napi::Value Connect(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!handle_ || closing_) return Napi::Number::New(env, -EBADF);
    int32_t rec[kSendStride] = {0};
    rec[kSFamily] = info[0].As<Napi::Number>().Int32Value();
    rec[kSPort] = info[1].As<Napi::Number>().Int32Value();
    if (rec[kSPort] < 0) return Napi::Number::New(env, uv_udp_connect(handle_, nullptr));
    for (int w = 0; w < 4; w++) rec[kSAddr + w] = static_cast<int32_t>(info[2 + w].As<Napi::Number>().Uint32Value());
    sockaddr_storage to;
    socklen_t length;
    if (!ReadAddress(rec, &to, &length)) return Napi::Number::New(env, -EINVAL);
    return Napi::Number::New(env, uv_udp_connect(handle_, reinterpret_cast<sockaddr*>(&to)));
  }

  Napi::Value AddMembership(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!handle_ || closing_) return Napi::Number::New(env, -EBADF);
    std::string group = info[0].As<Napi::String>().Utf8Value();
    std::string iface = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : std::string();
    return Napi::Number::New(env, uv_udp_set_membership(handle_, group.c_str(), iface.empty() ? nullptr : iface.c_str(),
                                                        UV_JOIN_GROUP));
  }

  Napi::Value SetMulticastInterface(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!handle_ || closing_) return Napi::Number::New(env, -EBADF);
    std::string iface = info[0].As<Napi::String>().Utf8Value();
    return Napi::Number::New(env, uv_udp_set_multicast_interface(handle_, iface.c_str()));
  }

  Napi::Value Ref(const Napi::CallbackInfo& info) {
    if (handle_ && !closing_) uv_ref(reinterpret_cast<uv_handle_t*>(handle_));
    return info.Env().Undefined();
  }

  Napi::Value Unref(const Napi::CallbackInfo& info) {
    if (handle_ && !closing_) uv_unref(reinterpret_cast<uv_handle_t*>(handle_));
    return info.Env().Undefined();
  }

  Napi::Value UsingRecvmmsg(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), handle_ != nullptr && !closing_ && uv_udp_using_recvmmsg(handle_) == 1);
  }

  // close(done): stops receiving and closes the socket; done() runs once it is closed.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!handle_ || closing_) {
      if (info[0].IsFunction()) info[0].As<Napi::Function>().Call({});
      return env.Undefined();
    }
    closing_ = true;
    count_ = 0;
    if (info[0].IsFunction()) onClose_ = Napi::Persistent(info[0].As<Napi::Function>());
    uv_udp_recv_stop(handle_);
    uv_close(reinterpret_cast<uv_handle_t*>(handle_), OnClosed);
    return env.Undefined();
  }

  static void OnClosed(uv_handle_t* h) {
    UdpEngine* self = static_cast<UdpEngine*>(h->data);
    delete reinterpret_cast<uv_udp_t*>(h);
    if (!self) return;
    self->handle_ = nullptr;
    Napi::HandleScope scope(self->env_);
    if (!self->onClose_.IsEmpty()) {
      Napi::FunctionReference done = std::move(self->onClose_);
      done.MakeCallback(self->Value(), {});
      self->RaiseIfThrown();
    }
    self->Napi::ObjectWrap<UdpEngine>::Unref();
  }
};

// parseAddress(address, out: Int32Array): writes the address words into out[0..3]
// (as kRAddr) and returns 4 or 6, or 0 when `address` is not an IP literal.
Napi::Value ParseAddress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t* out = nullptr;
  size_t length = 0;
  if (!info[0].IsString() || !TypedArrayOf(info[1], napi_int32_array, &out, &length) || length < 4) {
    return Napi::Number::New(env, 0);
  }
  std::string text = info[0].As<Napi::String>().Utf8Value();
  in_addr a4;
  in6_addr a6;
  if (inet_pton(AF_INET, text.c_str(), &a4) == 1) {
    out[0] = static_cast<int32_t>(ntohl(a4.s_addr));
    return Napi::Number::New(env, 4);
  }
  std::string bare = text.substr(0, text.find('%'));
  if (inet_pton(AF_INET6, bare.c_str(), &a6) == 1) {
    for (int w = 0; w < 4; w++) {
      const uint8_t* b = a6.s6_addr + w * 4;
      out[w] = static_cast<int32_t>((uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3]);
    }
    return Napi::Number::New(env, 6);
  }
  return Napi::Number::New(env, 0);
}

// formatAddress(family, w0, w1, w2, w3): the address as text.
Napi::Value FormatAddress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  char name[INET6_ADDRSTRLEN] = {0};
  if (info[0].As<Napi::Number>().Int32Value() == 6) {
    in6_addr a6;
    for (int w = 0; w < 4; w++) {
      uint32_t v = info[1 + w].As<Napi::Number>().Uint32Value();
      a6.s6_addr[w * 4] = uint8_t(v >> 24);
      a6.s6_addr[w * 4 + 1] = uint8_t(v >> 16);
      a6.s6_addr[w * 4 + 2] = uint8_t(v >> 8);
      a6.s6_addr[w * 4 + 3] = uint8_t(v);
    }
    inet_ntop(AF_INET6, &a6, name, sizeof(name));
  } else {
    in_addr a4;
    a4.s_addr = htonl(info[1].As<Napi::Number>().Uint32Value());
    inet_ntop(AF_INET, &a4, name, sizeof(name));
  }
  return Napi::String::New(env, name);
}

}  // namespace

Napi::Object InitUdp(Napi::Env env) {
  Napi::Object exports = Napi::Object::New(env);
  exports.Set("UdpEngine", UdpEngine::Define(env));
  exports.Set("parseAddress", Napi::Function::New(env, ParseAddress, "parseAddress"));
  exports.Set("formatAddress", Napi::Function::New(env, FormatAddress, "formatAddress"));
  const struct {
    const char* name;
    int value;
  } constants[] = {{"recvStride", kRecvStride},   {"recvDecode", kRDecode},  {"maxBatch", kMaxBatch},
                   {"sendHeader", kSendHeader},   {"sendStride", kSendStride}, {"sendEncode", kSEncode},
                   {"maxSend", kMaxSend},         {"datagramMax", int(kDatagramMax)}};
  for (const auto& c : constants) exports.Set(c.name, Napi::Number::New(env, c.value));
  return exports;
}

}  // namespace mqttsn
