// The DTLS context: role, credentials, ciphers, and the server's stateless
// cookie exchange (RFC 6347 4.2.1). A ClientHello from an unknown address is
// answered by DTLSv1_listen on one shared listening SSL with a
// HelloVerifyRequest whose cookie is an HMAC of the peer's address under a
// rotating secret; no per-peer state exists until a ClientHello comes back
// with a valid cookie, and a reply larger than its request is never sent.
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstring>

#include "dtls.h"
#include "dtls_bio.h"

namespace mqttsn {

void ThrowDtlsError(Napi::Env env, int code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("dtlsCode", Napi::Number::New(env, code));
  error.ThrowAsJavaScriptException();
}

std::string TakeOpenSslErrors() {
  std::string text;
  char line[256];
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(e);
    if (reason == nullptr) {
      ERR_error_string_n(e, line, sizeof line);
      reason = line;
    }
    if (text.find(reason) != std::string::npos) continue;
    if (!text.empty()) text += "; ";
    text += reason;
  }
  return text;
}

namespace {

uint64_t NowMs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// Cookie secrets live this long, and cookies made under the previous one stay valid as long again.
constexpr uint64_t kSecretLifetimeMs = 60 * 1000;
// Retransmission timeouts double from the configured start up to this.
constexpr uint32_t kMaxRetransmitUs = 16 * 1000 * 1000;
constexpr unsigned char kSessionContext[] = "mqtt-sn";

std::string StringOption(Napi::Object options, const char* name) {
  Napi::Value value = options.Get(name);
  return value.IsString() ? value.As<Napi::String>().Utf8Value() : std::string();
}

bool BoolOption(Napi::Object options, const char* name) {
  Napi::Value value = options.Get(name);
  return value.IsBoolean() && value.As<Napi::Boolean>().Value();
}

std::string BufferText(Napi::Value value) {
  if (!value.IsBuffer()) return std::string();
  Napi::Buffer<char> buffer = value.As<Napi::Buffer<char>>();
  return std::string(buffer.Data(), buffer.Length());
}

std::unordered_map<std::string, std::string> KeyTable(Napi::Object object) {
  std::unordered_map<std::string, std::string> table;
  Napi::Array names = object.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    Napi::Value name = names.Get(i);
    table[name.ToString().Utf8Value()] = BufferText(object.Get(name));
  }
  return table;
}

// Reads every certificate of a PEM text; returns how many `use` accepted, or -1 on failure.
template <typename Use>
int ForEachCertificate(const std::string& pem, Use use) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return -1;
  int count = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    const bool ok = use(cert, count);
    X509_free(cert);
    if (!ok) {
      count = -1;
      break;
    }
    ++count;
  }
  BIO_free(bio);
  // The loop ends on "no start line": not an error.
  ERR_clear_error();
  return count;
}

}  // namespace

// OpenSSL's callbacks, with access to the context's private state.
struct DtlsCallbacks {
  static int GenerateCookie(SSL* ssl, unsigned char* cookie, unsigned int* length) {
    DtlsContext* self = DtlsContext::Of(ssl);
    self->RotateSecretIfDue();
    self->CookieFor(PipeOf(SSL_get_rbio(ssl))->peer, self->secret_, cookie);
    *length = DtlsContext::kCookieLength;
    return 1;
  }

  static int VerifyCookie(SSL* ssl, const unsigned char* cookie, unsigned int length) {
    if (length != DtlsContext::kCookieLength) return 0;
    DtlsContext* self = DtlsContext::Of(ssl);
    self->RotateSecretIfDue();
    const std::string& peer = PipeOf(SSL_get_rbio(ssl))->peer;
    uint8_t expected[EVP_MAX_MD_SIZE];
    for (const uint8_t* secret : {self->secret_, self->previous_secret_}) {
      self->CookieFor(peer, secret, expected);
      if (CRYPTO_memcmp(expected, cookie, length) == 0) return 1;
    }
    return 0;
  }

  static unsigned int ServerPsk(SSL* ssl, const char* identity, unsigned char* psk, unsigned int max) {
    DtlsContext* self = DtlsContext::Of(ssl);
    if (identity == nullptr) return 0;
    auto found = self->psk_keys_.find(identity);
    if (found == self->psk_keys_.end() || found->second.size() > max) return 0;
    std::memcpy(psk, found->second.data(), found->second.size());
    return static_cast<unsigned int>(found->second.size());
  }

  static unsigned int ClientPsk(SSL* ssl, const char*, char* identity, unsigned int max_identity, unsigned char* psk,
                                unsigned int max_psk) {
    DtlsContext* self = DtlsContext::Of(ssl);
    if (self->psk_identity_.size() + 1 > max_identity || self->psk_key_.size() > max_psk) return 0;
    std::memcpy(identity, self->psk_identity_.c_str(), self->psk_identity_.size() + 1);
    std::memcpy(psk, self->psk_key_.data(), self->psk_key_.size());
    return static_cast<unsigned int>(self->psk_key_.size());
  }

  // Keeps the last alert as text, so a failed handshake can say why.
  static void Info(const SSL* ssl, int where, int value) {
    if ((where & SSL_CB_ALERT) == 0) return;
    BIO* bio = SSL_get_rbio(ssl);
    if (bio == nullptr) return;
    std::string text = (where & SSL_CB_READ) ? "the peer sent alert \"" : "alert sent to the peer \"";
    PipeOf(bio)->alert = text + SSL_alert_desc_string_long(value) + "\"";
  }

  // First retransmission after the configured time, then doubling.
  static unsigned int RetransmitTimer(SSL* ssl, unsigned int previous_us) {
    if (previous_us == 0) return DtlsContext::Of(ssl)->retransmit_us();
    return previous_us >= kMaxRetransmitUs / 2 ? kMaxRetransmitUs : previous_us * 2;
  }
};

Napi::Function DtlsContext::Define(Napi::Env env) {
  return DefineClass(env, "DtlsContext",
                     {
                         InstanceMethod<&DtlsContext::Accept>("accept"),
                         InstanceMethod<&DtlsContext::SetPskKeys>("setPskKeys"),
                     });
}

DtlsContext* DtlsContext::Of(const SSL* ssl) {
  return static_cast<DtlsContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
}

DtlsContext::DtlsContext(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DtlsContext>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    ThrowDtlsError(env, kInvalidArgument, "DtlsContext expects an options object.");
    return;
  }
  RAND_bytes(secret_, kSecretLength);
  RAND_bytes(previous_secret_, kSecretLength);
  secret_born_ms_ = NowMs();
  Configure(env, info[0].As<Napi::Object>());
}

bool DtlsContext::Configure(Napi::Env env, Napi::Object options) {
  server_ = BoolOption(options, "server");
  ERR_clear_error();
  ctx_ = SSL_CTX_new(server_ ? DTLS_server_method() : DTLS_client_method());
  if (ctx_ == nullptr) {
    ThrowDtlsError(env, kHandshake, "Cannot create a DTLS context: " + TakeOpenSslErrors());
    return false;
  }
  SSL_CTX_set_app_data(ctx_, this);
  SSL_CTX_set_min_proto_version(ctx_, DTLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx_, DTLS1_2_VERSION);
  SSL_CTX_set_options(ctx_, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_info_callback(ctx_, DtlsCallbacks::Info);

  Napi::Value mtu = options.Get("linkMtu");
  if (mtu.IsNumber()) link_mtu_ = static_cast<long>(mtu.As<Napi::Number>().Int64Value());
  Napi::Value retransmit = options.Get("retransmitMs");
  if (retransmit.IsNumber()) retransmit_us_ = static_cast<uint32_t>(retransmit.As<Napi::Number>().DoubleValue() * 1000);

  const std::string ciphers = StringOption(options, "ciphers");
  if (!ciphers.empty() && SSL_CTX_set_cipher_list(ctx_, ciphers.c_str()) != 1) {
    ERR_clear_error();
    ThrowDtlsError(env, kInvalidArgument, "No usable DTLS 1.2 cipher in \"" + ciphers + "\".");
    return false;
  }
  if (!LoadCredentials(env, options)) return false;

  if (server_) {
    SSL_CTX_set_cookie_generate_cb(ctx_, DtlsCallbacks::GenerateCookie);
    SSL_CTX_set_cookie_verify_cb(ctx_, DtlsCallbacks::VerifyCookie);
    SSL_CTX_set_session_id_context(ctx_, kSessionContext, sizeof kSessionContext - 1);
    SSL_CTX_set_psk_server_callback(ctx_, DtlsCallbacks::ServerPsk);
    Napi::Value keys = options.Get("pskKeys");
    if (keys.IsObject()) psk_keys_ = KeyTable(keys.As<Napi::Object>());
  } else {
    psk_identity_ = StringOption(options, "pskIdentity");
    psk_key_ = BufferText(options.Get("pskKey"));
    if (!psk_identity_.empty()) SSL_CTX_set_psk_client_callback(ctx_, DtlsCallbacks::ClientPsk);
  }
  return true;
}

bool DtlsContext::LoadCredentials(Napi::Env env, Napi::Object options) {
  const std::string cert = StringOption(options, "cert");
  const std::string key = StringOption(options, "key");
  const std::string ca = StringOption(options, "ca");
  if (cert.empty() != key.empty()) {
    ThrowDtlsError(env, kCredentials, "Cannot acquire security credentials: a certificate needs its private key and a key its certificate.");
    return false;
  }
  if (!cert.empty()) {
    const int loaded = ForEachCertificate(cert, [this](X509* x509, int index) {
      return index == 0 ? SSL_CTX_use_certificate(ctx_, x509) == 1 : SSL_CTX_add1_chain_cert(ctx_, x509) == 1;
    });
    if (loaded <= 0) {
      ThrowDtlsError(env, kCertificate, "Cannot find specified certificate: no PEM certificate could be read.");
      return false;
    }
    BIO* bio = BIO_new_mem_buf(key.data(), static_cast<int>(key.size()));
    EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    const bool used = pkey != nullptr && SSL_CTX_use_PrivateKey(ctx_, pkey) == 1;
    EVP_PKEY_free(pkey);
    if (!used || SSL_CTX_check_private_key(ctx_) != 1) {
      const std::string why = TakeOpenSslErrors();
      ThrowDtlsError(env, kCredentials,
                     pkey == nullptr ? "Cannot acquire security credentials: the private key is not readable PEM (or is encrypted)."
                                     : "Cannot acquire security credentials: " + why + ".");
      return false;
    }
  }
  if (!ca.empty()) {
    X509_STORE* store = SSL_CTX_get_cert_store(ctx_);
    const int loaded = ForEachCertificate(ca, [store](X509* x509, int) { return X509_STORE_add_cert(store, x509) == 1; });
    if (loaded <= 0) {
      ThrowDtlsError(env, kCertStore, "Cannot open certificate store: no PEM certificate could be read from the CA.");
      return false;
    }
  }
  const bool verify_peer = BoolOption(options, "verifyPeer");
  if (server_) {
    if (BoolOption(options, "requireClientCert")) {
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    } else if (verify_peer) {
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    }
  } else if (verify_peer) {
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (BoolOption(options, "systemCa")) SSL_CTX_set_default_verify_paths(ctx_);
  }
  ERR_clear_error();
  return true;
}

DtlsContext::~DtlsContext() {
  for (auto& entry : sessions_) SSL_SESSION_free(entry.second);
  if (listener_ != nullptr) SSL_free(listener_);
  if (accepted_ != nullptr) SSL_free(accepted_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

SSL* DtlsContext::NewSsl(const std::string& peer, bool ipv6) {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return nullptr;
  BIO* bio = NewDatagramBio();
  PipeOf(bio)->peer = peer;
  PipeOf(bio)->mtu_overhead = ipv6 ? 48 : 28;
  SSL_set_bio(ssl, bio, bio);
  DTLS_set_link_mtu(ssl, link_mtu_);
  DTLS_set_timer_cb(ssl, DtlsCallbacks::RetransmitTimer);
  if (server_) {
    SSL_set_accept_state(ssl);
  } else {
    SSL_set_connect_state(ssl);
  }
  return ssl;
}

SSL* DtlsContext::TakeAccepted() {
  SSL* ssl = accepted_;
  accepted_ = nullptr;
  return ssl;
}

void DtlsContext::CookieFor(const std::string& peer, const uint8_t* secret, uint8_t* out) const {
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret, kSecretLength, reinterpret_cast<const unsigned char*>(peer.data()), peer.size(), mac,
       &length);
  std::memcpy(out, mac, kCookieLength);
}

void DtlsContext::RotateSecretIfDue() {
  const uint64_t now = NowMs();
  if (now - secret_born_ms_ < kSecretLifetimeMs) return;
  std::memcpy(previous_secret_, secret_, kSecretLength);
  RAND_bytes(secret_, kSecretLength);
  secret_born_ms_ = now;
}

void DtlsContext::RememberSession(const std::string& peer, SSL* ssl) {
  SSL_SESSION* session = SSL_get1_session(ssl);
  if (session == nullptr) return;
  auto found = sessions_.find(peer);
  if (found != sessions_.end()) SSL_SESSION_free(found->second);
  sessions_[peer] = session;
}

void DtlsContext::ResumeSession(const std::string& peer, SSL* ssl) {
  auto found = sessions_.find(peer);
  if (found != sessions_.end()) SSL_set_session(ssl, found->second);
}

// accept(datagram: Buffer, peer: string, ipv6: boolean): Buffer | null | true
//   a HelloVerifyRequest to send back, nothing to send, or true when the
//   ClientHello carried a valid cookie (construct a Connection to take it).
Napi::Value DtlsContext::Accept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!server_ || ctx_ == nullptr || info.Length() < 3 || !info[0].IsBuffer() || !info[1].IsString()) {
    ThrowDtlsError(env, kInvalidArgument, "accept(datagram, peer, ipv6) needs a server context.");
    return env.Null();
  }
  Napi::Buffer<char> datagram = info[0].As<Napi::Buffer<char>>();
  const std::string peer = info[1].As<Napi::String>().Utf8Value();
  const bool ipv6 = info[2].ToBoolean().Value();
  if (accepted_ != nullptr) {
    SSL_free(accepted_);
    accepted_ = nullptr;
  }
  if (listener_ == nullptr) listener_ = NewSsl(peer, ipv6);
  if (listener_ == nullptr) return env.Null();
  DatagramPipe* pipe = PipeOf(SSL_get_rbio(listener_));
  pipe->peer = peer;
  pipe->mtu_overhead = ipv6 ? 48 : 28;
  pipe->incoming.clear();
  pipe->outgoing.clear();
  pipe->incoming.emplace_back(datagram.Data(), datagram.Length());

  ERR_clear_error();
  BIO_ADDR* address = BIO_ADDR_new();
  const int listened = DTLSv1_listen(listener_, address);
  BIO_ADDR_free(address);
  ERR_clear_error();
  pipe->incoming.clear();
  if (listened > 0) {
    accepted_ = listener_;
    listener_ = nullptr;
    return Napi::Boolean::New(env, true);
  }
  std::vector<std::string> replies;
  replies.swap(pipe->outgoing);
  if (listened < 0) {
    SSL_free(listener_);
    listener_ = nullptr;
    return env.Null();
  }
  // Never amplify: one reply, no larger than what arrived.
  if (replies.size() != 1 || replies[0].size() > datagram.Length()) return env.Null();
  return Napi::Buffer<char>::Copy(env, replies[0].data(), replies[0].size());
}

// setPskKeys({ identity: Buffer }): replaces the server's key table (takes effect for new handshakes).
Napi::Value DtlsContext::SetPskKeys(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    ThrowDtlsError(env, kInvalidArgument, "setPskKeys expects an object of identity to key.");
    return env.Undefined();
  }
  psk_keys_ = KeyTable(info[0].As<Napi::Object>());
  return env.Undefined();
}

Napi::Object InitDtls(Napi::Env env) {
  Napi::Object dtls = Napi::Object::New(env);
  dtls.Set("Context", DtlsContext::Define(env));
  dtls.Set("Connection", DefineDtlsConnection(env));
  return dtls;
}

}  // namespace mqttsn
