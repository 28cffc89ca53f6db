// DTLS 1.2 on the OpenSSL that Node carries: a context (role, credentials,
// ciphers, cookie secret) and one connection per peer. The connection never
// touches a socket: ciphertext datagrams go in and out as octets, plaintext
// comes out, and JavaScript drives the retransmission timer
// (lib/transport/dtls.ts).
#pragma once
#include <napi.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

namespace mqttsn {

// Codes shared with lib/errors.ts (the reference class's SSL errors).
enum DtlsErrorCode : int {
  kCertStore = 271,
  kCertificate = 272,
  kCredentials = 273,
  kChain = 275,
  kHandshake = 276,
  kVerify = 280,
  kClientCert = 281,
  kServerCert = 282,
  kEncrypt = 283,
  kDecrypt = 284,
  kInvalidArgument = 706,
};

// What an operation on a connection produced (a bit set returned to JavaScript).
enum DtlsResult : int {
  kOutput = 1,      // ciphertext datagrams to send: takeOutput()
  kData = 2,        // plaintext received: takeData()
  kConnected = 4,   // the handshake has just completed
  kClosed = 8,      // the peer sent close_notify
  kFailed = 16,     // fatal: errorCode / errorMessage
};

// Throws a JavaScript Error carrying `dtlsCode`.
void ThrowDtlsError(Napi::Env env, int code, const std::string& message);
// OpenSSL's queued errors as one line (and clears the queue).
std::string TakeOpenSslErrors();

class DtlsContext : public Napi::ObjectWrap<DtlsContext> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit DtlsContext(const Napi::CallbackInfo& info);
  ~DtlsContext() override;

  static DtlsContext* Of(const SSL* ssl);
  bool server() const { return server_; }
  // A new SSL in this context's role over a fresh datagram pipe.
  SSL* NewSsl(const std::string& peer, bool ipv6);
  // The connection DTLSv1_listen accepted, handed over once.
  SSL* TakeAccepted();
  // Client-side session resumption, per peer.
  void RememberSession(const std::string& peer, SSL* ssl);
  void ResumeSession(const std::string& peer, SSL* ssl);
  uint32_t retransmit_us() const { return retransmit_us_; }

 private:
  friend struct DtlsCallbacks;
  bool Configure(Napi::Env env, Napi::Object options);
  bool LoadCredentials(Napi::Env env, Napi::Object options);
  Napi::Value Accept(const Napi::CallbackInfo& info);
  Napi::Value SetPskKeys(const Napi::CallbackInfo& info);
  void CookieFor(const std::string& peer, const uint8_t* secret, uint8_t* out) const;
  void RotateSecretIfDue();

  SSL_CTX* ctx_ = nullptr;
  bool server_ = false;
  long link_mtu_ = 1280;
  uint32_t retransmit_us_ = 1000000;
  std::string psk_identity_;
  std::string psk_key_;
  std::unordered_map<std::string, std::string> psk_keys_;
  SSL* listener_ = nullptr;
  SSL* accepted_ = nullptr;
  std::map<std::string, SSL_SESSION*> sessions_;
  static constexpr size_t kSecretLength = 32;
  static constexpr size_t kCookieLength = 16;
  uint8_t secret_[kSecretLength];
  uint8_t previous_secret_[kSecretLength];
  uint64_t secret_born_ms_ = 0;
};

Napi::Function DefineDtlsConnection(Napi::Env env);

// Exports { Context, Connection }.
Napi::Object InitDtls(Napi::Env env);

}  // namespace mqttsn
