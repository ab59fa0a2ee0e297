// The computations of DH-HMAC-CHAP (SECURITY.md 1.3) over OpenSSL 3: hash,
// HMAC, FFDHE (RFC 7919 groups, the shared secret padded to the group
// size), the augmented challenge and the two responses; randomness and the
// sequence numbers.

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/dh.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <atomic>
#include <random>
#include <string>
#include <utility>

#include "auth/dhchap.h"
#include "auth/dhchap_internal.h"

namespace nvmeof::auth {

namespace {

const EVP_MD* Md(HashId h) {
  switch (h) {
    case HashId::kSha256:
      return EVP_sha256();
    case HashId::kSha384:
      return EVP_sha384();
    case HashId::kSha512:
      return EVP_sha512();
  }
  return nullptr;
}

const char* OsslDigestName(HashId h) {
  switch (h) {
    case HashId::kSha256:
      return "SHA256";
    case HashId::kSha384:
      return "SHA384";
    case HashId::kSha512:
      return "SHA512";
  }
  return nullptr;
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// RAII for the OpenSSL objects used here.
struct BnFree {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
struct BldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct BnCtxFree {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};

}  // namespace

// ---- hash and HMAC ----

Result<std::vector<uint8_t>> Hash(HashId h, std::span<const uint8_t> data) {
  const EVP_MD* md = Md(h);
  if (md == nullptr) return InvalidArgumentError("unknown hash");
  std::vector<uint8_t> out(HashLength(h));
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) !=
          1 ||
      len != out.size()) {
    return InternalError("EVP_Digest failed");
  }
  return out;
}

Result<SecretBytes> Hmac(HashId h, std::span<const uint8_t> key,
                         std::span<const std::span<const uint8_t>> parts) {
  const char* digest = OsslDigestName(h);
  if (digest == nullptr) return InvalidArgumentError("unknown hash");
  // Fetched once; OpenSSL's method objects are thread-safe to share.
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) return InternalError("EVP_MAC HMAC unavailable");
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  if (ctx == nullptr) return InternalError("EVP_MAC_CTX_new failed");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                       const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_end(),
  };
  // A null key means "reuse the previous one" to EVP_MAC_init.
  static const uint8_t kNoKey = 0;
  SecretBytes out(HashLength(h));
  size_t len = 0;
  bool ok = EVP_MAC_init(ctx, key.empty() ? &kNoKey : key.data(), key.size(),
                         params) == 1;
  for (size_t i = 0; ok && i < parts.size(); ++i) {
    if (!parts[i].empty()) {
      ok = EVP_MAC_update(ctx, parts[i].data(), parts[i].size()) == 1;
    }
  }
  ok = ok && EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1 &&
       len == out.size();
  EVP_MAC_CTX_free(ctx);  // clears the key schedule
  if (!ok) return InternalError("HMAC failed");
  return out;
}

// ---- FFDHE ----

struct DhKeyPair::Impl {
  Pkey key;
  Bn p;  // the group's prime, for the range check of the peer's value
};

DhKeyPair::DhKeyPair(DhKeyPair&&) noexcept = default;
DhKeyPair& DhKeyPair::operator=(DhKeyPair&&) noexcept = default;
DhKeyPair::~DhKeyPair() = default;

namespace {

// OSSL_PARAM wants a mutable char* for a string it only reads.
char* GroupName(DhGroup g) { return const_cast<char*>(DhGroupName(g).data()); }

Result<Pkey> GroupParameters(DhGroup g) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr));
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, GroupName(g),
                                       0),
      OSSL_PARAM_construct_end(),
  };
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEY_PARAMETERS, params) !=
          1) {
    return InternalError("FFDHE group parameters unavailable");
  }
  return Pkey(raw);
}

Result<Bn> GetBn(const EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) {
    return InternalError("EVP_PKEY_get_bn_param failed");
  }
  return Bn(bn);
}

// A key (pair, or public only when `priv` is null) of group `g` from its
// values.
Result<Pkey> KeyFromData(DhGroup g, const BIGNUM* pub, const BIGNUM* priv) {
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                      GroupName(g), 0) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub) != 1 ||
      (priv != nullptr &&
       OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv) !=
           1)) {
    return InternalError("OSSL_PARAM_BLD failed");
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(
      OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(
          ctx.get(), &raw,
          priv != nullptr ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
          params.get()) != 1) {
    return InternalError("EVP_PKEY_fromdata failed");
  }
  return Pkey(raw);
}

}  // namespace

Result<DhKeyPair> DhKeyPair::Generate(DhGroup g) {
  if (g == DhGroup::kNull || DhValueLength(g) == 0) {
    return InvalidArgumentError("DhKeyPair needs an FFDHE group");
  }
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr));
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, GroupName(g),
                                       0),
      OSSL_PARAM_construct_end(),
  };
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_params(ctx.get(), params) != 1 ||
      EVP_PKEY_generate(ctx.get(), &raw) != 1) {
    return InternalError("FFDHE key generation failed");
  }
  DhKeyPair kp;
  kp.group_ = g;
  kp.impl_ = std::make_unique<Impl>();
  kp.impl_->key = Pkey(raw);
  NVMEOF_ASSIGN_OR_RETURN(kp.impl_->p,
                          GetBn(kp.impl_->key.get(), OSSL_PKEY_PARAM_FFC_P));
  NVMEOF_ASSIGN_OR_RETURN(Bn pub,
                          GetBn(kp.impl_->key.get(), OSSL_PKEY_PARAM_PUB_KEY));
  kp.public_.resize(DhValueLength(g));
  if (BN_bn2binpad(pub.get(), kp.public_.data(),
                   static_cast<int>(kp.public_.size())) < 0) {
    return InternalError("FFDHE public value does not fit the group");
  }
  return kp;
}

Result<DhKeyPair> DhKeyPair::FromPrivate(DhGroup g,
                                         std::span<const uint8_t> x) {
  if (g == DhGroup::kNull || DhValueLength(g) == 0) {
    return InvalidArgumentError("DhKeyPair needs an FFDHE group");
  }
  NVMEOF_ASSIGN_OR_RETURN(Pkey group, GroupParameters(g));
  NVMEOF_ASSIGN_OR_RETURN(Bn p, GetBn(group.get(), OSSL_PKEY_PARAM_FFC_P));
  NVMEOF_ASSIGN_OR_RETURN(Bn gen, GetBn(group.get(), OSSL_PKEY_PARAM_FFC_G));
  Bn priv(BN_secure_new());
  Bn pub(BN_new());
  Bn p_minus_1(BN_dup(p.get()));
  std::unique_ptr<BN_CTX, BnCtxFree> bnctx(BN_CTX_secure_new());
  if (!priv || !pub || !p_minus_1 || !bnctx ||
      BN_bin2bn(x.data(), static_cast<int>(x.size()), priv.get()) == nullptr ||
      !BN_sub_word(p_minus_1.get(), 1)) {
    return InternalError("BIGNUM allocation failed");
  }
  if (BN_cmp(priv.get(), BN_value_one()) <= 0 ||
      BN_cmp(priv.get(), p_minus_1.get()) >= 0) {
    return InvalidArgumentError("DH private value out of range");
  }
  if (BN_mod_exp(pub.get(), gen.get(), priv.get(), p.get(), bnctx.get()) != 1) {
    return InternalError("BN_mod_exp failed");
  }
  DhKeyPair kp;
  kp.group_ = g;
  kp.impl_ = std::make_unique<Impl>();
  NVMEOF_ASSIGN_OR_RETURN(kp.impl_->key, KeyFromData(g, pub.get(), priv.get()));
  kp.impl_->p = std::move(p);
  kp.public_.resize(DhValueLength(g));
  if (BN_bn2binpad(pub.get(), kp.public_.data(),
                   static_cast<int>(kp.public_.size())) < 0) {
    return InternalError("FFDHE public value does not fit the group");
  }
  return kp;
}

Result<SecretBytes> DhKeyPair::SharedSecret(
    std::span<const uint8_t> peer) const {
  const size_t len = DhValueLength(group_);
  if (!impl_ || len == 0) return FailedPreconditionError("no DH key pair");
  if (peer.size() != len) {
    return InvalidArgumentError("DH value length does not match the group");
  }
  // RFC 7919 5.1: 1 < Y < p-1 is the whole check a safe prime needs.
  Bn y(BN_bin2bn(peer.data(), static_cast<int>(peer.size()), nullptr));
  Bn p_minus_1(BN_dup(impl_->p.get()));
  if (!y || !p_minus_1 || !BN_sub_word(p_minus_1.get(), 1)) {
    return InternalError("BIGNUM allocation failed");
  }
  if (BN_cmp(y.get(), BN_value_one()) <= 0 ||
      BN_cmp(y.get(), p_minus_1.get()) >= 0) {
    return InvalidArgumentError("DH value out of range");
  }
  NVMEOF_ASSIGN_OR_RETURN(Pkey peer_key, KeyFromData(group_, y.get(), nullptr));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, impl_->key.get(), nullptr));
  SecretBytes out(len);
  size_t out_len = len;
  // The range check above replaces OpenSSL's (slower) full validation.
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_dh_pad(ctx.get(), 1) != 1 ||
      EVP_PKEY_derive_set_peer_ex(ctx.get(), peer_key.get(), 0) != 1 ||
      EVP_PKEY_derive(ctx.get(), out.data(), &out_len) != 1 || out_len != len) {
    return InternalError("FFDHE derivation failed");
  }
  return out;
}

// ---- the challenge and the responses ----

Result<std::vector<uint8_t>> AugmentedChallenge(HashId h,
                                                std::span<const uint8_t> ks,
                                                std::span<const uint8_t> c) {
  if (ks.empty()) return std::vector<uint8_t>(c.begin(), c.end());
  NVMEOF_ASSIGN_OR_RETURN(std::vector<uint8_t> hks, Hash(h, ks));
  const std::span<const uint8_t> parts[] = {c};
  Result<SecretBytes> ca = Hmac(h, hks, parts);
  OPENSSL_cleanse(hks.data(), hks.size());
  if (!ca.ok()) return ca.status();
  return std::vector<uint8_t>(ca->span().begin(), ca->span().end());
}

namespace {

// HMAC_H(key, challenge || le32(seq) || le16(t_id) || byte || label ||
// nqn1 || 0x00 || nqn2): both responses (SECURITY.md 1.3).
Result<std::vector<uint8_t>> Response(HashId h, std::span<const uint8_t> key,
                                      std::span<const uint8_t> challenge,
                                      uint32_t seqnum, uint16_t t_id,
                                      uint8_t byte, std::string_view label,
                                      std::string_view nqn1,
                                      std::string_view nqn2) {
  uint8_t seq[4], tid[2];
  internal::PutLe32(seq, 0, seqnum);
  internal::PutLe16(tid, 0, t_id);
  const uint8_t zero = 0;
  const std::span<const uint8_t> parts[] = {
      challenge, seq,         tid,         {&byte, 1},
      Bytes(label), Bytes(nqn1), {&zero, 1}, Bytes(nqn2),
  };
  NVMEOF_ASSIGN_OR_RETURN(SecretBytes r, Hmac(h, key, parts));
  return std::vector<uint8_t>(r.span().begin(), r.span().end());
}

}  // namespace

Result<std::vector<uint8_t>> HostResponse(HashId h, std::span<const uint8_t> kh,
                                          std::span<const uint8_t> ca,
                                          uint32_t s1, uint16_t t_id,
                                          uint8_t sc_c,
                                          std::string_view hostnqn,
                                          std::string_view subnqn) {
  return Response(h, kh, ca, s1, t_id, sc_c, "HostHost", hostnqn, subnqn);
}

Result<std::vector<uint8_t>> ControllerResponse(HashId h,
                                                std::span<const uint8_t> kc,
                                                std::span<const uint8_t> cb,
                                                uint32_t s2, uint16_t t_id,
                                                std::string_view subnqn,
                                                std::string_view hostnqn) {
  return Response(h, kc, cb, s2, t_id, 0, "Controller", subnqn, hostnqn);
}

bool SameResponse(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && !a.empty() &&
         CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// ---- randomness ----

namespace internal {

Result<std::vector<uint8_t>> RandomBytes(size_t n) {
  std::vector<uint8_t> out(n);
  if (n > 0 && RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
    return InternalError("RAND_bytes failed");
  }
  return out;
}

namespace {

uint32_t SeqnumSeed() {
  uint32_t seed = 0;
  if (RAND_bytes(reinterpret_cast<uint8_t*>(&seed), sizeof(seed)) != 1) {
    seed = std::random_device{}();
  }
  return seed;
}

}  // namespace

uint32_t NextSequenceNumber() {
  static std::atomic<uint32_t> counter{SeqnumSeed()};
  uint32_t v;
  do {
    v = counter.fetch_add(1, std::memory_order_relaxed) + 1;
  } while (v == 0);
  return v;
}

}  // namespace internal

}  // namespace nvmeof::auth
