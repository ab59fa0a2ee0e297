#include "auth/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace nvmeof::auth {

namespace {
constexpr size_t kMaxKeyFile = 4096;
}  // namespace

Result<SecretBytes> ReadKeyFileText(const std::string& path,
                                    bool require_private) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status(errno == ENOENT ? StatusCode::kNotFound
                                  : StatusCode::kInvalidArgument,
                  "key file " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgumentError("key file " + path + ": not a regular file");
  }
  if (require_private && (st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof(mode), "0%o",
                  static_cast<unsigned>(st.st_mode & 0777));
    return InvalidArgumentError(
        "key file " + path + ": mode " + mode +
        " lets others read it (it must be 0600 or 0400)");
  }
  if (st.st_size > static_cast<off_t>(kMaxKeyFile)) {
    ::close(fd);
    return InvalidArgumentError("key file " + path + ": larger than 4 KiB");
  }
  SecretBytes text(kMaxKeyFile);
  size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return InvalidArgumentError("key file " + path + ": " +
                                  std::strerror(e));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  std::string_view view(reinterpret_cast<const char*>(text.data()), got);
  while (!view.empty() && std::strchr(" \t\r\n", view.front()) != nullptr) {
    view.remove_prefix(1);
  }
  while (!view.empty() && std::strchr(" \t\r\n", view.back()) != nullptr) {
    view.remove_suffix(1);
  }
  return SecretBytes(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(view.data()), view.size()));
}

Result<DhchapKey> ReadKeyFile(const std::string& path, bool require_private) {
  NVMEOF_ASSIGN_OR_RETURN(SecretBytes text,
                          ReadKeyFileText(path, require_private));
  Result<DhchapKey> key = DhchapKey::Parse(std::string_view(
      reinterpret_cast<const char*>(text.data()), text.size()));
  if (!key.ok()) {
    return Status(key.status().code(),
                  "key file " + path + ": " + std::string(key.status().message()));
  }
  return key;
}

Status ValidateKeyName(std::string_view name) {
  if (name.empty() || name.size() > 255) {
    return InvalidArgumentError("a key name has 1 to 255 characters");
  }
  for (char c : name) {
    if (c <= ' ' || c > '~' || c == '/') {
      return InvalidArgumentError(
          "a key name is printable ASCII without spaces or '/'");
    }
  }
  return Status();
}

}  // namespace nvmeof::auth
