// One DTLS association with one peer. Every operation feeds or drains the
// datagram pipe and returns a DtlsResult bit set; JavaScript then takes the
// ciphertext to send and the plaintext received, and re-arms the
// retransmission timer from nextTimeout().
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <vector>

#include "dtls.h"
#include "dtls_bio.h"

namespace mqttsn {
namespace {

bool IsChainError(long result) {
  switch (result) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_INVALID_CA:
      return true;
    default:
      return false;
  }
}

std::string CommonName(X509* cert) {
  char name[256];
  const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
  return n > 0 ? std::string(name, static_cast<size_t>(n)) : std::string();
}

class DtlsConnection : public Napi::ObjectWrap<DtlsConnection> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "DtlsConnection",
                       {
                           InstanceMethod<&DtlsConnection::Start>("start"),
                           InstanceMethod<&DtlsConnection::Receive>("receive"),
                           InstanceMethod<&DtlsConnection::Write>("write"),
                           InstanceMethod<&DtlsConnection::Timeout>("timeout"),
                           InstanceMethod<&DtlsConnection::Shutdown>("shutdown"),
                           InstanceMethod<&DtlsConnection::TakeOutput>("takeOutput"),
                           InstanceMethod<&DtlsConnection::TakeData>("takeData"),
                           InstanceMethod<&DtlsConnection::NextTimeout>("nextTimeout"),
                           InstanceMethod<&DtlsConnection::Info>("info"),
                           InstanceMethod<&DtlsConnection::Error>("error"),
                           InstanceMethod<&DtlsConnection::Free>("free"),
                       });
  }

  // new Connection(context, peer: string, ipv6: boolean, hostname?: string)
  // A client context starts a new handshake; a server context takes the
  // connection its last accept() admitted.
  explicit DtlsConnection(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DtlsConnection>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsString()) {
      ThrowDtlsError(env, kInvalidArgument, "Connection expects (context, peer, ipv6, hostname?).");
      return;
    }
    context_ = DtlsContext::Unwrap(info[0].As<Napi::Object>());
    if (context_ == nullptr) return;
    context_ref_ = Napi::Persistent(info[0].As<Napi::Object>());
    peer_ = info[1].As<Napi::String>().Utf8Value();
    if (context_->server()) {
      ssl_ = context_->TakeAccepted();
      if (ssl_ == nullptr) {
        ThrowDtlsError(env, kInvalidArgument, "No accepted DTLS handshake to take over.");
        return;
      }
      return;
    }
    ssl_ = context_->NewSsl(peer_, info[2].ToBoolean().Value());
    if (ssl_ == nullptr) {
      ThrowDtlsError(env, kHandshake, "Cannot create a DTLS connection: " + TakeOpenSslErrors());
      return;
    }
    context_->ResumeSession(peer_, ssl_);
    if (info.Length() > 3 && info[3].IsString()) {
      const std::string host = info[3].As<Napi::String>().Utf8Value();
      if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str()) != 1) {
        ERR_clear_error();
        SSL_set1_host(ssl_, host.c_str());
        SSL_set_tlsext_host_name(ssl_, host.c_str());
      }
    }
  }

  ~DtlsConnection() override { Release(); }

 private:
  DatagramPipe* pipe() const { return PipeOf(SSL_get_rbio(ssl_)); }

  bool Usable(Napi::Env env) {
    if (ssl_ != nullptr) return true;
    ThrowDtlsError(env, kInvalidArgument, "The DTLS connection is closed.");
    return false;
  }

  int Fail(int code, const std::string& message) {
    if (!failed_) {
      failed_ = true;
      error_code_ = code;
      error_message_ = message;
    }
    return kFailed;
  }

  // Why a handshake failed, in the reference's SSL error terms.
  int HandshakeFailure() {
    const std::string openssl = TakeOpenSslErrors();
    const std::string& alert = pipe()->alert;
    const long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK) {
      const std::string what = X509_verify_cert_error_string(verify);
      if (IsChainError(verify)) return Fail(kChain, "Cannot verify certificate chain: " + what + ".");
      return Fail(kVerify, "Error verifying certificate: " + what + ".");
    }
    if (openssl.find("peer did not return a certificate") != std::string::npos) {
      return Fail(kClientCert, "Could not find client certificate: the peer sent none and one is required.");
    }
    std::string message = "Error during handshake";
    if (!alert.empty()) message += ": " + alert;
    if (!openssl.empty()) message += " (" + openssl + ")";
    return Fail(kHandshake, message + ".");
  }

  // Runs the handshake or reads whatever plaintext is ready.
  int Drive() {
    int result = 0;
    ERR_clear_error();
    if (!connected_ && !failed_) {
      const int r = SSL_do_handshake(ssl_);
      if (r == 1) {
        connected_ = true;
        result |= kConnected;
        if (!context_->server()) context_->RememberSession(peer_, ssl_);
      } else {
        const int e = SSL_get_error(ssl_, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) result |= HandshakeFailure();
      }
    }
    if (connected_ && !failed_ && !closed_) result |= ReadAll();
    return result | Pending();
  }

  int ReadAll() {
    static char buffer[SSL3_RT_MAX_PLAIN_LENGTH];
    for (;;) {
      const int n = SSL_read(ssl_, buffer, sizeof buffer);
      if (n > 0) {
        data_.emplace_back(buffer, static_cast<size_t>(n));
        continue;
      }
      const int e = SSL_get_error(ssl_, n);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
      if (e == SSL_ERROR_ZERO_RETURN) {
        closed_ = true;
        SSL_shutdown(ssl_);  // answers with our own close_notify
        ERR_clear_error();
        return kClosed;
      }
      const std::string openssl = TakeOpenSslErrors();
      const std::string& alert = pipe()->alert;
      return Fail(kDecrypt, "Error decrypting data" + (alert.empty() ? std::string() : ": " + alert) +
                                (openssl.empty() ? std::string() : " (" + openssl + ")") + ".");
    }
  }

  int Pending() const {
    return (pipe()->outgoing.empty() ? 0 : kOutput) | (data_.empty() ? 0 : kData) | (failed_ ? kFailed : 0);
  }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    if (!Usable(info.Env())) return info.Env().Null();
    return Napi::Number::New(info.Env(), Drive());
  }

  Napi::Value Receive(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable(env)) return env.Null();
    if (info.Length() < 1 || !info[0].IsBuffer()) {
      ThrowDtlsError(env, kInvalidArgument, "receive expects a Buffer.");
      return env.Null();
    }
    Napi::Buffer<char> datagram = info[0].As<Napi::Buffer<char>>();
    pipe()->incoming.emplace_back(datagram.Data(), datagram.Length());
    const int result = Drive();
    pipe()->incoming.clear();
    return Napi::Number::New(env, result);
  }

  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable(env)) return env.Null();
    if (info.Length() < 1 || !info[0].IsBuffer()) {
      ThrowDtlsError(env, kInvalidArgument, "write expects a Buffer.");
      return env.Null();
    }
    if (!connected_ || failed_ || closed_) {
      return Napi::Number::New(env, Fail(kEncrypt, "Error encrypting data: the DTLS connection is not established."));
    }
    Napi::Buffer<char> plaintext = info[0].As<Napi::Buffer<char>>();
    ERR_clear_error();
    const int n = SSL_write(ssl_, plaintext.Data(), static_cast<int>(plaintext.Length()));
    int result = 0;
    if (n <= 0) result = Fail(kEncrypt, "Error encrypting data: " + TakeOpenSslErrors() + ".");
    return Napi::Number::New(env, result | Pending());
  }

  Napi::Value Timeout(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable(env)) return env.Null();
    ERR_clear_error();
    int result = 0;
    if (DTLSv1_handle_timeout(ssl_) < 0 && !connected_) result = HandshakeFailure();
    ERR_clear_error();
    return Napi::Number::New(env, result | Pending());
  }

  // Sends close_notify (once the handshake is done); the connection is then unusable for data.
  Napi::Value Shutdown(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable(env)) return env.Null();
    if (connected_ && !failed_ && !closed_) {
      ERR_clear_error();
      SSL_shutdown(ssl_);
      ERR_clear_error();
    }
    closed_ = true;
    return Napi::Number::New(env, Pending());
  }

  static Napi::Value TakeList(Napi::Env env, std::vector<std::string>& list) {
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) out.Set(i, Napi::Buffer<char>::Copy(env, list[i].data(), list[i].size()));
    list.clear();
    return out;
  }

  Napi::Value TakeOutput(const Napi::CallbackInfo& info) {
    if (!Usable(info.Env())) return info.Env().Null();
    return TakeList(info.Env(), pipe()->outgoing);
  }

  Napi::Value TakeData(const Napi::CallbackInfo& info) { return TakeList(info.Env(), data_); }

  // Milliseconds until the retransmission timer fires, or -1 when it is not running.
  Napi::Value NextTimeout(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable(env)) return env.Null();
    struct timeval left = {0, 0};
    if (DTLSv1_get_timeout(ssl_, &left) != 1) return Napi::Number::New(env, -1);
    return Napi::Number::New(env, static_cast<double>(left.tv_sec) * 1000 + (left.tv_usec + 999) / 1000);
  }

  // { identity, cipher, resumed, dataMtu }: identity is the PSK identity the
  // peer used or the common name of its certificate.
  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable(env)) return env.Null();
    Napi::Object out = Napi::Object::New(env);
    std::string identity;
    const char* psk = SSL_get_psk_identity(ssl_);
    if (psk != nullptr && context_->server()) identity = psk;
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (cert != nullptr) {
      if (identity.empty()) identity = CommonName(cert);
      X509_free(cert);
    }
    out.Set("identity", identity);
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_);
    out.Set("cipher", cipher != nullptr ? SSL_CIPHER_get_name(cipher) : "");
    out.Set("resumed", Napi::Boolean::New(env, SSL_session_reused(ssl_) == 1));
    out.Set("dataMtu", Napi::Number::New(env, static_cast<double>(DTLS_get_data_mtu(ssl_))));
    return out;
  }

  // { code, message } of the failure, or null.
  Napi::Value Error(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!failed_) return env.Null();
    Napi::Object out = Napi::Object::New(env);
    out.Set("code", Napi::Number::New(env, error_code_));
    out.Set("message", error_message_);
    return out;
  }

  Napi::Value Free(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  void Release() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    ssl_ = nullptr;
    if (!context_ref_.IsEmpty()) context_ref_.Reset();
  }

  DtlsContext* context_ = nullptr;
  Napi::ObjectReference context_ref_;
  SSL* ssl_ = nullptr;
  std::string peer_;
  std::vector<std::string> data_;
  bool connected_ = false;
  bool closed_ = false;
  bool failed_ = false;
  int error_code_ = 0;
  std::string error_message_;
};

}  // namespace

Napi::Function DefineDtlsConnection(Napi::Env env) { return DtlsConnection::Define(env); }

}  // namespace mqttsn
