// Key files: a DH-HMAC-CHAP secret (DHHC-1:XX:...:) or a TLS PSK
// (NVMeTLSkey-1:XX:...:) in a file that only its
// owner may read, as SPDK's keyring_file module requires. The target's
// keyring (keyring_file_add_key, the config's "keys") and the host tool's
// /etc/nvme/hostkey read their secrets through here.

#ifndef NVMEOF_AUTH_KEY_FILE_H_
#define NVMEOF_AUTH_KEY_FILE_H_

#include <string>
#include <string_view>

#include "auth/dhchap.h"

namespace nvmeof::auth {

// The key in `path`: a regular file (symbolic links followed) of at most
// 4 KiB whose mode gives the group and others nothing (0600 or 0400, as
// SPDK checks), holding one DHHC-1 secret (surrounding whitespace is
// ignored). Errors name the path and the reason, never the file's text.
Result<DhchapKey> ReadKeyFile(const std::string& path,
                              bool require_private = true);
// The same checks; the text with surrounding whitespace removed (a TLS PSK,
// NVMeTLSkey-1:..., or a DH-HMAC-CHAP secret: the caller parses it).
Result<SecretBytes> ReadKeyFileText(const std::string& path,
                                    bool require_private = true);

// A keyring key's name: 1..255 printable ASCII characters, no space or
// '/' (it may become a file name). Errors say which rule, not the name.
Status ValidateKeyName(std::string_view name);

}  // namespace nvmeof::auth

#endif  // NVMEOF_AUTH_KEY_FILE_H_
