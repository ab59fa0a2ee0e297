// Identifiers and names, SecretBytes, the DHHC-1 secret representation
// (CRC-32, base64) and the key transform (SECURITY.md 1.3).

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <utility>

#include "auth/dhchap.h"
#include "auth/dhchap_internal.h"

namespace nvmeof::auth {

// ---- identifiers ----

size_t HashLength(HashId h) {
  switch (h) {
    case HashId::kSha256:
      return 32;
    case HashId::kSha384:
      return 48;
    case HashId::kSha512:
      return 64;
  }
  return 0;
}

size_t DhValueLength(DhGroup g) {
  switch (g) {
    case DhGroup::kNull:
      return 0;
    case DhGroup::kFfdhe2048:
      return 256;
    case DhGroup::kFfdhe3072:
      return 384;
    case DhGroup::kFfdhe4096:
      return 512;
    case DhGroup::kFfdhe6144:
      return 768;
    case DhGroup::kFfdhe8192:
      return 1024;
  }
  return 0;
}

std::string_view HashName(HashId h) {
  switch (h) {
    case HashId::kSha256:
      return "sha256";
    case HashId::kSha384:
      return "sha384";
    case HashId::kSha512:
      return "sha512";
  }
  return "unknown";
}

std::string_view DhGroupName(DhGroup g) {
  switch (g) {
    case DhGroup::kNull:
      return "null";
    case DhGroup::kFfdhe2048:
      return "ffdhe2048";
    case DhGroup::kFfdhe3072:
      return "ffdhe3072";
    case DhGroup::kFfdhe4096:
      return "ffdhe4096";
    case DhGroup::kFfdhe6144:
      return "ffdhe6144";
    case DhGroup::kFfdhe8192:
      return "ffdhe8192";
  }
  return "unknown";
}

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Result<HashId> ParseHashName(std::string_view name) {
  std::string n = Lower(name);
  if (n.size() > 6 && n.starts_with("hmac(") && n.back() == ')') {
    n = n.substr(5, n.size() - 6);
  }
  std::string compact;
  for (char c : n) {
    if (c != '-' && c != '_') compact.push_back(c);
  }
  for (HashId h : AllHashes()) {
    if (compact == HashName(h)) return h;
  }
  return InvalidArgumentError(
      "unknown DH-HMAC-CHAP hash (sha256, sha384 or sha512)");
}

Result<DhGroup> ParseDhGroupName(std::string_view name) {
  std::string n = Lower(name);
  for (DhGroup g : AllDhGroups()) {
    if (n == DhGroupName(g)) return g;
  }
  return InvalidArgumentError(
      "unknown DH group (null, ffdhe2048, ffdhe3072, ffdhe4096, ffdhe6144 or "
      "ffdhe8192)");
}

std::vector<HashId> AllHashes() {
  return {HashId::kSha256, HashId::kSha384, HashId::kSha512};
}

std::vector<DhGroup> AllDhGroups() {
  return {DhGroup::kNull,      DhGroup::kFfdhe2048, DhGroup::kFfdhe3072,
          DhGroup::kFfdhe4096, DhGroup::kFfdhe6144, DhGroup::kFfdhe8192};
}

namespace internal {

std::optional<HashId> HashFromId(uint8_t id) {
  if (id >= 1 && id <= 3) return static_cast<HashId>(id);
  return std::nullopt;
}

std::optional<DhGroup> DhGroupFromId(uint8_t id) {
  if (id <= 5) return static_cast<DhGroup>(id);
  return std::nullopt;
}

}  // namespace internal

// ---- SecretBytes ----

SecretBytes::SecretBytes(size_t n) : bytes_(n, 0) {}
SecretBytes::SecretBytes(std::span<const uint8_t> bytes)
    : bytes_(bytes.begin(), bytes.end()) {}
SecretBytes::SecretBytes(const SecretBytes& o) : bytes_(o.bytes_) {}
SecretBytes& SecretBytes::operator=(const SecretBytes& o) {
  if (this != &o) {
    Wipe();
    bytes_ = o.bytes_;
  }
  return *this;
}
SecretBytes::SecretBytes(SecretBytes&& o) noexcept
    : bytes_(std::move(o.bytes_)) {
  o.bytes_.clear();
}
SecretBytes& SecretBytes::operator=(SecretBytes&& o) noexcept {
  if (this != &o) {
    Wipe();
    // Swap rather than move-assign, so that the wiped buffer ends in `o`
    // and is released (already clean) there.
    bytes_.swap(o.bytes_);
    o.bytes_.clear();
  }
  return *this;
}
SecretBytes::~SecretBytes() { Wipe(); }

void SecretBytes::Wipe() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
  bytes_.clear();
}

// ---- CRC-32 and base64 ----

namespace internal {

namespace {

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

constexpr char kB64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int B64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

uint32_t Crc32(std::span<const uint8_t> data) {
  uint32_t c = 0xFFFFFFFFu;
  for (uint8_t b : data) c = kCrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string Base64Encode(std::span<const uint8_t> data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
    out.push_back(kB64[(v >> 6) & 63]);
    out.push_back(kB64[v & 63]);
  }
  size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t v = data[i] << 16;
    if (rest == 2) v |= data[i + 1] << 8;
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kB64[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::optional<SecretBytes> Base64Decode(std::string_view text) {
  // Padding: only at the end, at most two, and only to complete a quad.
  size_t pad = 0;
  while (!text.empty() && text.back() == '=' && pad < 2) {
    text.remove_suffix(1);
    ++pad;
  }
  if (pad > 0 && (text.size() + pad) % 4 != 0) return std::nullopt;
  if (text.size() % 4 == 1) return std::nullopt;
  SecretBytes out(text.size() * 3 / 4);
  size_t n = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = B64Value(c);
    if (v < 0) {
      OPENSSL_cleanse(&acc, sizeof(acc));
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.data()[n++] = static_cast<uint8_t>(acc >> bits);
    }
  }
  OPENSSL_cleanse(&acc, sizeof(acc));
  if (n != out.size()) return std::nullopt;  // not reached: lengths agree
  return out;
}

}  // namespace internal

// ---- DHHC-1 ----

namespace {

constexpr std::string_view kPrefix = "DHHC-1:";

bool ValidSecretLength(size_t n) { return n == 32 || n == 48 || n == 64; }

}  // namespace

Result<DhchapKey> DhchapKey::Parse(std::string_view text) {
  while (!text.empty() &&
         std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  if (!text.starts_with(kPrefix)) {
    return InvalidArgumentError("DH-HMAC-CHAP key: not a DHHC-1 secret");
  }
  text.remove_prefix(kPrefix.size());
  if (text.size() < 3 || text[2] != ':' ||
      !std::isdigit(static_cast<unsigned char>(text[0])) ||
      !std::isdigit(static_cast<unsigned char>(text[1]))) {
    return InvalidArgumentError(
        "DH-HMAC-CHAP key: the hash id is not two digits and a ':'");
  }
  int transform = (text[0] - '0') * 10 + (text[1] - '0');
  if (transform > 3) {
    return InvalidArgumentError(
        "DH-HMAC-CHAP key: hash id must be 00, 01, 02 or 03");
  }
  text.remove_prefix(3);
  if (!text.empty() && text.back() == ':') text.remove_suffix(1);
  std::optional<SecretBytes> raw = internal::Base64Decode(text);
  if (!raw) return InvalidArgumentError("DH-HMAC-CHAP key: bad base64");
  if (raw->size() < 4 || !ValidSecretLength(raw->size() - 4)) {
    return InvalidArgumentError(
        "DH-HMAC-CHAP key: the secret must be 32, 48 or 64 bytes");
  }
  size_t len = raw->size() - 4;
  std::span<const uint8_t> bytes = raw->span();
  if (internal::Crc32(bytes.first(len)) != internal::GetLe32(bytes, len)) {
    return InvalidArgumentError("DH-HMAC-CHAP key: CRC mismatch");
  }
  DhchapKey key;
  key.transform = static_cast<uint8_t>(transform);
  key.secret = SecretBytes(bytes.first(len));
  return key;
}

Result<DhchapKey> DhchapKey::Generate(uint8_t transform, size_t length) {
  if (transform > 3) {
    return InvalidArgumentError("DH-HMAC-CHAP key: transform must be 0..3");
  }
  if (!ValidSecretLength(length)) {
    return InvalidArgumentError(
        "DH-HMAC-CHAP key: the secret must be 32, 48 or 64 bytes");
  }
  NVMEOF_ASSIGN_OR_RETURN(std::vector<uint8_t> random,
                          internal::RandomBytes(length));
  DhchapKey key;
  key.transform = transform;
  key.secret = SecretBytes(random);
  OPENSSL_cleanse(random.data(), random.size());
  return key;
}

std::string DhchapKey::Format() const {
  SecretBytes raw(secret.size() + 4);
  std::copy(secret.span().begin(), secret.span().end(), raw.data());
  internal::PutLe32(std::span<uint8_t>(raw.data(), raw.size()), secret.size(),
                    internal::Crc32(secret.span()));
  std::string out(kPrefix);
  out.push_back(static_cast<char>('0' + transform / 10));
  out.push_back(static_cast<char>('0' + transform % 10));
  out.push_back(':');
  out += internal::Base64Encode(raw.span());
  out.push_back(':');
  return out;
}

Result<SecretBytes> TransformKey(const DhchapKey& key, std::string_view nqn) {
  if (key.secret.empty()) {
    return InvalidArgumentError("DH-HMAC-CHAP key: empty secret");
  }
  if (key.transform == 0) return key.secret;
  std::optional<HashId> h = internal::HashFromId(key.transform);
  if (!h) return InvalidArgumentError("DH-HMAC-CHAP key: bad transform");
  static constexpr std::string_view kSuffix = "NVMe-over-Fabrics";
  const std::span<const uint8_t> parts[] = {
      {reinterpret_cast<const uint8_t*>(nqn.data()), nqn.size()},
      {reinterpret_cast<const uint8_t*>(kSuffix.data()), kSuffix.size()},
  };
  return Hmac(*h, key.secret.span(), parts);
}

Result<DhchapKey> GenerateForNqn(uint8_t transform, size_t length,
                                 std::string_view nqn,
                                 std::span<const uint8_t> secret) {
  if (transform > 3) {
    return InvalidArgumentError("DH-HMAC-CHAP key: transform must be 0..3");
  }
  // As nvme-cli: a transformed secret is as long as its hash.
  if (transform != 0 && length != HashLength(static_cast<HashId>(transform))) {
    return InvalidArgumentError(
        "DH-HMAC-CHAP key: a transformed secret is as long as its hash");
  }
  DhchapKey key;
  if (secret.empty()) {
    NVMEOF_ASSIGN_OR_RETURN(key, DhchapKey::Generate(transform, length));
  } else {
    if (secret.size() != length || !ValidSecretLength(length)) {
      return InvalidArgumentError(
          "DH-HMAC-CHAP key: the secret must be 32, 48 or 64 bytes and "
          "`length` long");
    }
    key.transform = transform;
    key.secret = SecretBytes(secret);
  }
  if (transform != 0) {
    NVMEOF_ASSIGN_OR_RETURN(key.secret, TransformKey(key, nqn));
  }
  return key;
}

}  // namespace nvmeof::auth
