#include "dtls_bio.h"

#include <cstring>

namespace mqttsn {
namespace {

int PipeWrite(BIO* bio, const char* data, int length) {
  BIO_clear_retry_flags(bio);
  if (length < 0) return -1;
  PipeOf(bio)->outgoing.emplace_back(data, static_cast<size_t>(length));
  return length;
}

int PipeRead(BIO* bio, char* out, int capacity) {
  BIO_clear_retry_flags(bio);
  DatagramPipe* pipe = PipeOf(bio);
  if (pipe->incoming.empty()) {
    BIO_set_retry_read(bio);
    return -1;
  }
  const std::string& datagram = pipe->incoming.front();
  // Like recv(2) on a datagram socket: what does not fit is discarded.
  const size_t n = datagram.size() < static_cast<size_t>(capacity) ? datagram.size() : static_cast<size_t>(capacity);
  std::memcpy(out, datagram.data(), n);
  pipe->incoming.pop_front();
  return static_cast<int>(n);
}

long PipeControl(BIO* bio, int command, long, void*) {
  DatagramPipe* pipe = PipeOf(bio);
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_PENDING:
      return pipe->incoming.empty() ? 0 : static_cast<long>(pipe->incoming.front().size());
    case BIO_CTRL_WPENDING:
      return 0;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
      return pipe->mtu_overhead;
    default:
      // The MTU is set explicitly (SSL_OP_NO_QUERY_MTU); peer and timeout
      // controls are not needed because JavaScript owns the socket and timers.
      return 0;
  }
}

int PipeCreate(BIO* bio) {
  BIO_set_data(bio, new DatagramPipe());
  BIO_set_init(bio, 1);
  return 1;
}

int PipeDestroy(BIO* bio) {
  delete PipeOf(bio);
  BIO_set_data(bio, nullptr);
  BIO_set_init(bio, 0);
  return 1;
}

BIO_METHOD* PipeMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "mqtt-sn datagram pipe");
    BIO_meth_set_write(m, PipeWrite);
    BIO_meth_set_read(m, PipeRead);
    BIO_meth_set_ctrl(m, PipeControl);
    BIO_meth_set_create(m, PipeCreate);
    BIO_meth_set_destroy(m, PipeDestroy);
    return m;
  }();
  return method;
}

}  // namespace

BIO* NewDatagramBio() { return BIO_new(PipeMethod()); }

DatagramPipe* PipeOf(BIO* bio) { return static_cast<DatagramPipe*>(BIO_get_data(bio)); }

}  // namespace mqttsn
