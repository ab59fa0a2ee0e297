#include "tcp/tls_stream.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "base/annotations.h"
#include "nvmeof/log.h"

namespace nvmeof::tcp {
namespace {

// The largest TLS plaintext record (RFC 8446 5.1).
constexpr size_t kRecord = 16384;
// What one Write encrypts before it sends: 16 full records and their
// framing (5-byte header, type byte, 16-byte tag each).
constexpr size_t kOutBudget = 16 * (kRecord + 64);
// OpenSSL's read-ahead buffer: one recv brings this much.
constexpr size_t kReadAhead = 64 * 1024;

// The first byte of a TLS handshake record (ContentType handshake).
constexpr uint8_t kTlsHandshakeRecord = 0x16;

const char* kCiphers128 = "TLS_AES_128_GCM_SHA256";
const char* kCiphers256 = "TLS_AES_256_GCM_SHA384";
// psk_dhe_ke groups: the specification's ffdhe3072 (shall) and secp384r1
// (should), and what Linux's tlshd (GnuTLS) and SPDK (OpenSSL) offer first.
const char* kGroups = "X25519:P-256:P-384:ffdhe3072:ffdhe4096";

std::string SslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no detail from OpenSSL" : out;
}

// Server: the cipher suite must have the PSK's hash, or OpenSSL passes
// over the PSK (and, with no certificate, fails). A host that offers both
// suites (OpenSSL's default list puts AES-256 first) would then fail with
// a SHA-256 key: the first identity of the ClientHello's pre_shared_key
// extension names the hash ("NVMe0R01 ...": SHA-256, "...R02": SHA-384),
// and the suite is chosen by it.
int SuiteForIdentity(SSL* ssl, int* alert, void*) {
  (void)alert;
  const unsigned char* ext = nullptr;
  size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, 41 /* pre_shared_key */, &ext, &len) !=
          1 ||
      len < 4) {
    return SSL_CLIENT_HELLO_SUCCESS;  // no PSK: the handshake fails later
  }
  // identities<7..2^16-1>: u16 length, then u16 identity length, identity.
  const size_t id_len = (size_t{ext[2]} << 8) | ext[3];
  if (id_len < 8 || 4 + id_len > len) return SSL_CLIENT_HELLO_SUCCESS;
  const std::string_view id(reinterpret_cast<const char*>(ext + 4), id_len);
  // "NVMe<v><R|G><hh> ...": hh at 6..7.
  if (id.substr(0, 4) == "NVMe" && id.substr(6, 2) == "02") {
    SSL_set_ciphersuites(ssl, kCiphers256);
  } else {
    SSL_set_ciphersuites(ssl, kCiphers128);
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

SSL_CTX* NewContext(bool server) {
  SSL_CTX* ctx =
      SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_ciphersuites(ctx,
                           "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384");
  SSL_CTX_set1_groups_list(ctx, kGroups);
  SSL_CTX_set_num_tickets(ctx, 0);
  // A peer that closes without close_notify (Linux's kernel TLS does)
  // ends the stream as a FIN does: a PDU cut short is the PDU reader's to
  // find.
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_max_early_data(ctx, 0);
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_default_read_buffer_len(ctx, kReadAhead);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (server) SSL_CTX_set_client_hello_cb(ctx, &SuiteForIdentity, nullptr);
  return ctx;
}

SSL_CTX* Context(bool server) {
  static SSL_CTX* const server_ctx = NewContext(true);
  static SSL_CTX* const client_ctx = NewContext(false);
  return server ? server_ctx : client_ctx;
}

// The session a PSK makes for TLS 1.3: the cipher suite of its hash.
SSL_SESSION* PskSession(SSL* ssl, const TlsPsk& psk) {
  static constexpr unsigned char k128[] = {0x13, 0x01};
  static constexpr unsigned char k256[] = {0x13, 0x02};
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, psk.sha384 ? k256 : k128);
  if (cipher == nullptr) return nullptr;
  SSL_SESSION* sess = SSL_SESSION_new();
  if (sess == nullptr) return nullptr;
  if (SSL_SESSION_set1_master_key(sess, psk.key.data(), psk.key.size()) != 1 ||
      SSL_SESSION_set_cipher(sess, cipher) != 1 ||
      SSL_SESSION_set_protocol_version(sess, TLS1_3_VERSION) != 1) {
    SSL_SESSION_free(sess);
    return nullptr;
  }
  return sess;
}

LogLimiter& HandshakeLog() {
  static LogLimiter limiter(std::chrono::seconds(1), 10);
  return limiter;
}

class TlsStream final : public ByteStream {
 public:
  TlsStream(Fd fd, std::shared_ptr<const TlsServerParams> server)
      : plain_(std::move(fd)), server_(std::move(server)) {
    phase_ = Phase::kSniff;
  }
  TlsStream(Fd fd, std::shared_ptr<const TlsClientParams> client)
      : plain_(std::move(fd)), client_(std::move(client)) {
    phase_ = Phase::kHandshake;
  }
  ~TlsStream() override {
    if (ssl_ != nullptr) SSL_free(ssl_);  // frees the BIO too
  }

  int fd() const override { return plain_.fd(); }

  ssize_t Read(const iovec* iov, size_t count) override {
    switch (phase_) {
      case Phase::kPlain:
        return plain_.Read(iov, count);
      case Phase::kSniff:
        if (!Sniff()) return -1;
        if (phase_ == Phase::kPlain) return plain_.Read(iov, count);
        [[fallthrough]];
      case Phase::kHandshake:
        if (!Handshake()) return eof_ ? 0 : -1;
        break;
      case Phase::kOpen:
        break;
      case Phase::kFailed:
        errno = ECONNRESET;
        return -1;
    }
    return ReadRecords(iov, count);
  }

  ssize_t Write(const iovec* iov, size_t count) override {
    switch (phase_) {
      case Phase::kPlain:
        return plain_.Write(iov, count);
      case Phase::kSniff:
        // A server sends nothing before the host spoke.
        errno = EAGAIN;
        return -1;
      case Phase::kHandshake:
        if (!Handshake()) {
          if (eof_) errno = EPIPE;
          return -1;
        }
        break;
      case Phase::kOpen:
        break;
      case Phase::kFailed:
        errno = EPIPE;
        return -1;
    }
    return WriteRecords(iov, count);
  }

  bool HasBufferedInput() const override {
    return phase_ == Phase::kOpen && !starved_ && SSL_has_pending(ssl_) == 1;
  }
  bool HasPendingOutput() const override { return out_head_ < out_.size(); }

  uint32_t Interest(uint32_t want) const override {
    const uint32_t out = HasPendingOutput() ? uint32_t{EPOLLOUT} : 0u;
    switch (phase_) {
      case Phase::kSniff:
        return EPOLLIN;
      case Phase::kHandshake:
        return EPOLLIN | out;
      case Phase::kOpen:
        return want | out;
      case Phase::kPlain:
      case Phase::kFailed:
        return want;
    }
    return want;
  }

  std::string tls_identity() const override {
    return phase_ == Phase::kOpen ? identity_ : std::string();
  }

  void ShutdownWrite() override {
    if (phase_ == Phase::kOpen && !shut_) {
      // close_notify, then the FIN.
      SSL_shutdown(ssl_);
      shut_ = true;
      FlushOut();
    }
    plain_.ShutdownWrite();
  }
  void Close() override { plain_.Close(); }
  Result<SocketAddress> LocalAddress() const override {
    return plain_.LocalAddress();
  }
  Result<SocketAddress> PeerAddress() const override {
    return plain_.PeerAddress();
  }

 private:
  enum class Phase : uint8_t {
    kSniff,      // server: waiting for the first byte
    kHandshake,  // TLS handshake in progress
    kOpen,       // TLS established
    kPlain,      // server in mode "allowed": the host speaks plain NVMe/TCP
    kFailed,     // the handshake or a record failed: nothing more moves
  };

  // ---- the BIO under the SSL: reads the socket, collects writes ----

  static BIO_METHOD* Method() {
    static BIO_METHOD* const method = [] {
      BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                                   "nvmeof-tcp");
      BIO_meth_set_write_ex(m, &TlsStream::BioWrite);
      BIO_meth_set_read_ex(m, &TlsStream::BioRead);
      BIO_meth_set_ctrl(m, &TlsStream::BioCtrl);
      BIO_meth_set_create(m, [](BIO* b) {
        BIO_set_init(b, 1);
        return 1;
      });
      return m;
    }();
    return method;
  }

  static int BioWrite(BIO* b, const char* data, size_t len, size_t* written) {
    auto* s = static_cast<TlsStream*>(BIO_get_data(b));
    s->out_.insert(s->out_.end(), data, data + len);
    *written = len;
    return 1;
  }

  static int BioRead(BIO* b, char* buf, size_t len, size_t* got) {
    auto* s = static_cast<TlsStream*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    iovec iov{buf, len};
    const ssize_t n = s->plain_.Read(&iov, 1);
    if (n > 0) {
      *got = static_cast<size_t>(n);
      return 1;
    }
    if (n == 0) {
      s->eof_ = true;
      return 0;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      BIO_set_retry_read(b);
      return 0;
    }
    s->io_errno_ = errno;
    return 0;
  }

  static long BioCtrl(BIO* b, int cmd, long, void*) {
    auto* s = static_cast<TlsStream*>(BIO_get_data(b));
    switch (cmd) {
      case BIO_CTRL_FLUSH:
        return 1;
      case BIO_CTRL_EOF:
        return s != nullptr && s->eof_ ? 1 : 0;
      default:
        return 0;
    }
  }

  // ---- setup ----

  // Server: decides between TLS and plain from the first byte.
  bool Sniff() {
    uint8_t first = 0;
    const ssize_t n = recv(plain_.fd(), &first, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) return false;  // errno: EAGAIN, or the connection's error
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (first == kTlsHandshakeRecord) {
      phase_ = Phase::kHandshake;
      return true;
    }
    if (server_->mode == TlsMode::kRequired) {
      Refuse(
          "sent plain NVMe/TCP (no TLS ClientHello) to a listener that "
          "requires TLS");
      errno = ECONNREFUSED;
      return false;
    }
    phase_ = Phase::kPlain;
    return true;
  }

  bool StartSsl() {
    const bool server = server_ != nullptr;
    SSL_CTX* ctx = Context(server);
    if (ctx == nullptr || (ssl_ = SSL_new(ctx)) == nullptr) {
      Refuse("TLS setup failed: " + SslErrors());
      return false;
    }
    BIO* bio = BIO_new(Method());
    if (bio == nullptr) {
      Refuse("TLS setup failed: " + SslErrors());
      return false;
    }
    BIO_set_data(bio, this);
    SSL_set_bio(ssl_, bio, bio);
    SSL_set_app_data(ssl_, this);
    out_.reserve(kOutBudget + 2 * (kRecord + 64));
    if (server) {
      SSL_set_accept_state(ssl_);
      SSL_set_psk_find_session_callback(ssl_, &TlsStream::FindSession);
      if (server_->allow_psk_only)
        SSL_set_options(ssl_, SSL_OP_ALLOW_NO_DHE_KEX);
    } else {
      SSL_set_connect_state(ssl_);
      SSL_set_ciphersuites(ssl_,
                           client_->psk.sha384 ? kCiphers256 : kCiphers128);
      SSL_set_psk_use_session_callback(ssl_, &TlsStream::UseSession);
      identity_ = client_->identity;
    }
    return true;
  }

  static int FindSession(SSL* ssl, const unsigned char* identity, size_t len,
                         SSL_SESSION** sess) {
    auto* s = static_cast<TlsStream*>(SSL_get_app_data(ssl));
    *sess = nullptr;
    s->identity_.assign(reinterpret_cast<const char*>(identity), len);
    if (!s->server_->find_psk) {
      s->psk_error_ = "no keys are configured";
      return 1;
    }
    Result<TlsPsk> psk = s->server_->find_psk(s->identity_);
    if (!psk.ok()) {
      s->psk_error_ = std::string(psk.status().message());
      return 1;  // an unknown identity: the handshake fails
    }
    *sess = PskSession(ssl, *psk);
    if (*sess == nullptr) s->psk_error_ = "TLS setup failed: " + SslErrors();
    return 1;
  }

  static int UseSession(SSL* ssl, const EVP_MD* md, const unsigned char** id,
                        size_t* idlen, SSL_SESSION** sess) {
    auto* s = static_cast<TlsStream*>(SSL_get_app_data(ssl));
    const TlsClientParams& c = *s->client_;
    *sess = nullptr;
    if (md != nullptr &&
        EVP_MD_get_type(md) != (c.psk.sha384 ? NID_sha384 : NID_sha256)) {
      return 1;  // a retry for another hash: this PSK has none
    }
    *sess = PskSession(ssl, c.psk);
    if (*sess == nullptr) return 0;
    *id = reinterpret_cast<const unsigned char*>(c.identity.data());
    *idlen = c.identity.size();
    return 1;
  }

  // One step of the handshake: true once it is done; false with errno
  // EAGAIN while it waits, or another errno (logged) when it failed.
  bool Handshake() {
    if (ssl_ == nullptr && !StartSsl()) {
      errno = ECONNRESET;
      return false;
    }
    ERR_clear_error();
    const int r = SSL_do_handshake(ssl_);
    const int err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_, r);
    const std::string detail = err == SSL_ERROR_SSL ? SslErrors() : "";
    // What the handshake wrote (its flight, or an alert) goes now.
    if (!FlushOut() && errno != EAGAIN) {
      io_errno_ = errno;
    }
    if (r == 1) {
      phase_ = Phase::kOpen;
      NVMEOF_LOG(kDebug, "TLS with %s: %s, %s, identity \"%s\"", Peer().c_str(),
                 SSL_get_version(ssl_), SSL_get_cipher_name(ssl_),
                 identity_.c_str());
      return true;
    }
    if (err == SSL_ERROR_WANT_READ && io_errno_ == 0) {
      errno = EAGAIN;
      return false;
    }
    std::string why;
    if (!psk_error_.empty()) {
      why = psk_error_;
    } else if (eof_) {
      why = "the peer closed the connection";
    } else if (io_errno_ != 0) {
      why = std::strerror(io_errno_);
    } else if (detail.find("binder does not verify") != std::string::npos) {
      why = "the peer's PSK is not this one (" + detail + ")";
    } else {
      why = detail.empty() ? "TLS error " + std::to_string(err) : detail;
    }
    Refuse("TLS handshake failed: " + why);
    errno = eof_ ? 0 : ECONNRESET;
    return false;
  }

  void Refuse(const std::string& why) {
    phase_ = Phase::kFailed;
    uint64_t held = 0;
    if (!HandshakeLog().Allow(&held)) return;
    NVMEOF_LOG(kWarn, "TLS: %s %s%s%s: %s%s", server_ ? "host" : "controller",
               Peer().c_str(), identity_.empty() ? "" : ", identity \"",
               identity_.empty() ? "" : (identity_ + "\"").c_str(), why.c_str(),
               held != 0 ? (" (" + std::to_string(held) +
                            " more TLS failures since the last message)")
                               .c_str()
                         : "");
  }

  std::string Peer() const {
    Result<SocketAddress> p = plain_.PeerAddress();
    return p.ok() ? p->ToString() : "(unknown)";
  }

  // ---- records ----

  // Sends what is collected; true when nothing is left (false: errno).
  bool FlushOut() {
    while (out_head_ < out_.size()) {
      iovec iov{out_.data() + out_head_, out_.size() - out_head_};
      const ssize_t n = plain_.Write(&iov, 1);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      out_head_ += static_cast<size_t>(n);
    }
    out_.clear();  // keeps its capacity
    out_head_ = 0;
    return true;
  }

  ssize_t WriteRecords(const iovec* iov, size_t count) {
    if (!FlushOut()) return -1;
    size_t taken = 0;
    size_t staged = 0;
    for (size_t i = 0; i < count && out_.size() < kOutBudget; ++i) {
      const auto* p = static_cast<const uint8_t*>(iov[i].iov_base);
      size_t left = iov[i].iov_len;
      while (left > 0 && out_.size() < kOutBudget) {
        if (staged == 0 && left >= kRecord) {
          // Whole records straight from the caller's buffer.
          size_t n = std::min(left, kOutBudget - out_.size());
          n = std::max(kRecord, n - n % kRecord);
          if (!Encrypt(p, n)) return -1;
          p += n;
          left -= n;
          taken += n;
          continue;
        }
        const size_t n = std::min(left, kRecord - staged);
        std::memcpy(staging_ + staged, p, n);
        staged += n;
        p += n;
        left -= n;
        taken += n;
        if (staged == kRecord) {
          if (!Encrypt(staging_, staged)) return -1;
          staged = 0;
        }
      }
    }
    if (staged > 0 && !Encrypt(staging_, staged)) return -1;
    if (!FlushOut() && errno != EAGAIN) return -1;
    return static_cast<ssize_t>(taken);
  }

  bool Encrypt(const void* p, size_t n) {
    size_t written = 0;
    NVMEOF_IGNORE_READS_BEGIN();  // the caller's data, read by OpenSSL
    const int r = SSL_write_ex(ssl_, p, n, &written);
    NVMEOF_IGNORE_READS_END();
    if (r == 1 && written == n) return true;
    Refuse("TLS write failed: " + SslErrors());
    errno = EPIPE;
    return false;
  }

  ssize_t ReadRecords(const iovec* iov, size_t count) {
    size_t total = 0;
    for (size_t i = 0; i < count; ++i) {
      auto* p = static_cast<uint8_t*>(iov[i].iov_base);
      size_t filled = 0;
      while (filled < iov[i].iov_len) {
        size_t got = 0;
        ERR_clear_error();
        const int r =
            SSL_read_ex(ssl_, p + filled, iov[i].iov_len - filled, &got);
        if (r == 1) {
          starved_ = false;
          filled += got;
          total += got;
          continue;
        }
        const int err = SSL_get_error(ssl_, r);
        if (err == SSL_ERROR_WANT_READ && io_errno_ == 0) {
          starved_ = true;
          return Done(total, EAGAIN);
        }
        if (err == SSL_ERROR_ZERO_RETURN ||
            (err == SSL_ERROR_SYSCALL && eof_ && io_errno_ == 0)) {
          // close_notify, or the end of the connection.
          eof_ = true;
          return static_cast<ssize_t>(total);
        }
        if (err == SSL_ERROR_SYSCALL && io_errno_ != 0) {
          phase_ = Phase::kFailed;
          return Done(total, io_errno_);
        }
        Refuse("TLS record failed: " + SslErrors());
        return Done(total, ECONNRESET);
      }
    }
    // A read may have made output (a KeyUpdate's answer).
    if (HasPendingOutput()) FlushOut();
    return static_cast<ssize_t>(total);
  }

  ssize_t Done(size_t total, int err) {
    if (HasPendingOutput()) FlushOut();
    if (total > 0) return static_cast<ssize_t>(total);
    errno = err;
    return -1;
  }

  SocketStream plain_;
  std::shared_ptr<const TlsServerParams> server_;
  std::shared_ptr<const TlsClientParams> client_;
  SSL* ssl_ = nullptr;
  Phase phase_;
  bool eof_ = false;      // the socket reached its end
  bool starved_ = false;  // the last read wanted bytes the socket lacked
  bool shut_ = false;     // close_notify sent
  int io_errno_ = 0;      // a socket error under the SSL
  std::string identity_;
  std::string psk_error_;     // why find_psk found nothing (no secret in it)
  std::vector<uint8_t> out_;  // records to send: [out_head_, size)
  size_t out_head_ = 0;
  uint8_t staging_[kRecord];  // small iovecs gathered into one record
};

}  // namespace

std::unique_ptr<ByteStream> MakeServerStream(
    Fd fd, std::shared_ptr<const TlsServerParams> tls) {
  if (tls == nullptr || tls->mode == TlsMode::kNone) {
    return std::make_unique<SocketStream>(std::move(fd));
  }
  return std::make_unique<TlsStream>(std::move(fd), std::move(tls));
}

std::unique_ptr<ByteStream> MakeClientStream(
    Fd fd, std::shared_ptr<const TlsClientParams> tls) {
  if (tls == nullptr) return std::make_unique<SocketStream>(std::move(fd));
  return std::make_unique<TlsStream>(std::move(fd), std::move(tls));
}

}  // namespace nvmeof::tcp
