// A BIO that keeps datagram boundaries: each BIO_write is one outgoing
// datagram and each BIO_read returns one whole incoming datagram, so OpenSSL's
// DTLS sizes its records and handshake fragments for one datagram each (as it
// does over a UDP socket) while the octets cross to JavaScript, which owns the
// socket.
#pragma once
#include <openssl/bio.h>

#include <deque>
#include <string>
#include <vector>

namespace mqttsn {

struct DatagramPipe {
  std::deque<std::string> incoming;
  std::vector<std::string> outgoing;
  // The peer's address and port as text: what the cookie is bound to.
  std::string peer;
  // IP + UDP header octets, subtracted from the link MTU (28 for IPv4, 48 for IPv6).
  long mtu_overhead = 28;
  // The last alert sent or received, as text ("received: bad record mac").
  std::string alert;
};

// A new BIO over a new pipe; freeing the BIO frees the pipe.
BIO* NewDatagramBio();
DatagramPipe* PipeOf(BIO* bio);

}  // namespace mqttsn
