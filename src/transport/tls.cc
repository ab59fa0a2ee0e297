#include "nvmeof/tls.h"

#include <cstring>

namespace nvmeof {

std::string_view TlsModeName(TlsMode mode) {
  switch (mode) {
    case TlsMode::kNone:
      return "none";
    case TlsMode::kAllowed:
      return "allowed";
    case TlsMode::kRequired:
      return "required";
  }
  return "none";
}

Result<TlsMode> ParseTlsMode(std::string_view name) {
  for (TlsMode m : {TlsMode::kNone, TlsMode::kAllowed, TlsMode::kRequired}) {
    if (name == TlsModeName(m)) return m;
  }
  std::string why = "'";
  why.append(name);
  why.append("' is not a TLS mode (none, allowed, required)");
  return InvalidArgumentError(why);
}

TlsPsk::~TlsPsk() {
  if (!key.empty()) explicit_bzero(key.data(), key.size());
}

}  // namespace nvmeof
